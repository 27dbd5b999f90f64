"""The shipped corpus's vectors (corpus/vectors.npz, chunks and sentences): complete, the engine's own, used by a
build, never mixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from indexing import sentence_vectors, store
from indexing.build import build_index
from indexing.config import PACKAGE_CORPUS, Settings
from indexing.shipped_vectors import PATH, shipped_vectors, write_shipped_vectors

REGEN = "run `python -m indexing.shipped_vectors` after changing the corpus, the chunker or the model"


def test_they_cover_every_chunk_of_the_shipped_corpus(built_settings: Settings, embeddings) -> None:
    shipped = shipped_vectors(embeddings.model_id)
    assert shipped, f"{PATH} is missing or made by another model than {embeddings.model_id}: {REGEN}"
    keys = json.loads((store.live_generation(built_settings) / "vector_keys.json").read_text(encoding="utf-8"))
    missing = [k for k in keys if k not in shipped]
    assert not missing, f"{len(missing)} of {len(keys)} chunks have no shipped vector: {REGEN}"


def test_they_equal_what_the_engine_computes(built_settings: Settings, embeddings) -> None:
    gen = store.live_generation(built_settings)
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["embed_text"] for line in lines[:: max(1, len(lines) // 12)]]
    shipped = shipped_vectors(embeddings.model_id)
    want = np.stack([shipped[store.chunk_key(SimpleNamespace(embed_text=t))] for t in texts])
    assert np.allclose(embeddings.encode(texts), want, atol=1e-6)


def test_another_model_or_a_damaged_file_gets_none(tmp_path: Path, embeddings) -> None:
    assert shipped_vectors("some-other-model") == {}
    bad = tmp_path / "vectors.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert shipped_vectors(embeddings.model_id, bad) == {}
    assert shipped_vectors(embeddings.model_id, tmp_path / "absent.npz") == {}


def test_a_build_takes_them_and_embeds_only_new_text(tmp_path: Path, embeddings) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "laws").mkdir(parents=True)
    rel = "laws/planning-eia-regs-2009.md"
    lines = (PACKAGE_CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    (corpus / "MANIFEST.tsv").write_text("\n".join([lines[0], *(ln for ln in lines if f"\t{rel}\t" in ln)]) + "\n",
                                         encoding="utf-8")
    shutil.copy(PACKAGE_CORPUS / rel, corpus / rel)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    first = build_index(settings, embeddings=embeddings)
    assert first.status == "built" and first.embedded == 0 and first.reused == first.n_chunks > 5
    (corpus / rel).write_text((corpus / rel).read_text(encoding="utf-8") + "\n第四十条 本条为测试新增。\n",
                              encoding="utf-8")
    second = build_index(settings, embeddings=embeddings, rebuild=True)  # no previous-generation vectors
    assert second.embedded == 1 and second.reused == second.n_chunks - 1


def test_writing_them_round_trips(small_index: Path, tmp_path: Path, embeddings) -> None:
    gen = store.live_generation(Settings(data_dir=small_index / "data", corpus_dir=small_index / "corpus"))
    out = tmp_path / "vectors.npz"
    n = write_shipped_vectors(gen, out)
    keys = json.loads((gen / "vector_keys.json").read_text(encoding="utf-8"))
    vectors = np.load(gen / "vectors.npy")
    sentence_keys = json.loads((gen / sentence_vectors.KEYS).read_text(encoding="utf-8"))
    sentences = np.load(gen / sentence_vectors.VECTORS)
    got = shipped_vectors(embeddings.model_id, out)
    assert n == len(set(keys) | set(sentence_keys)) == len(got)
    assert all(np.array_equal(got[k], v) for k, v in zip(keys, vectors, strict=True))
    assert all(np.array_equal(got[k], v) for k, v in zip(sentence_keys, sentences, strict=True))
