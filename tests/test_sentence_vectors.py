"""Sentence vectors (indexing.sentence_vectors): what is embedded, how it is stored and checked, and what it finds
that the chunk vectors miss. Real index of the shipped corpus, real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexing import sentence_vectors, store
from indexing.build import build_index
from indexing.config import Settings
from indexing.shipped_vectors import shipped_vectors
from indexing.types import Chunk
from kb.ask.retrieve import FusionConfig, Searcher

# The public's words for 大气污染防治法 第一百零七条 (对机动车所有人处五千元的罚款), one clause of a long article.
CATALYST_Q = "为了过尾气检测临时换个三元催化，被查出来车主要罚多少？"
CATALYST_EVIDENCE = "对机动车所有人处五千元的罚款"


def _chunk(text: str) -> Chunk:
    return Chunk(chunk_id="c", doc_id="d", title="t", kind="law", section="", start=0, end=len(text), text=text,
                 embed_text=text)


def _rank(hits, evidence: str) -> int | None:
    return next((i for i, (c, _) in enumerate(hits) if evidence in c.text.replace("\n", "")), None)


def test_units_are_the_sentences_of_each_chunk_with_their_rows() -> None:
    units = sentence_vectors.sentence_units([_chunk("第三条\n禁止焚烧秸秆。违者处以罚款；情节严重的，责令停业。"),
                                             _chunk("短。这一句足够长了吧！")])
    assert units.texts == ["禁止焚烧秸秆。", "违者处以罚款；", "情节严重的，责令停业。", "这一句足够长了吧！"]
    assert units.rows.tolist() == [0, 0, 0, 1]  # "第三条" and "短。" are under MIN_CHARS
    assert units.keys[0] == sentence_vectors.sentence_key("禁止焚烧秸秆。")


def test_best_rows_takes_each_chunks_closest_sentence_and_honours_the_mask() -> None:
    vectors = np.array([[1, 0], [0.6, 0.8], [0.8, 0.6], [0, 1]], dtype=np.float32)
    rows = np.array([0, 0, 1, 2], dtype=np.int32)
    query = np.array([1, 0], dtype=np.float32)
    assert sentence_vectors.best_rows(vectors, rows, query, k=3) == [(0, 1.0), (1, pytest.approx(0.8)), (2, 0.0)]
    mask = np.array([False, True, True])
    assert [r for r, _ in sentence_vectors.best_rows(vectors, rows, query, k=3, mask=mask)] == [1, 2]


def test_a_generation_holds_every_sentence_with_the_engines_vector(built_settings: Settings, embeddings) -> None:
    gen = store.live_generation(built_settings)
    chunks = store.read_chunks(gen)
    units = sentence_vectors.sentence_units(chunks)
    vectors, rows = sentence_vectors.open_sentence_vectors(gen, len(chunks), store.read_meta(gen).dimension)
    assert json.loads((gen / sentence_vectors.KEYS).read_text(encoding="utf-8")) == units.keys
    assert rows.tolist() == units.rows.tolist() and len(vectors) == len(units.texts) > len(chunks)
    sample = list(range(0, len(units.texts), len(units.texts) // 10))
    assert np.allclose(embeddings.encode([units.texts[i] for i in sample]), vectors[sample], atol=1e-6)
    shipped = shipped_vectors(embeddings.model_id)
    missing = [k for k in units.keys if k not in shipped]
    assert not missing, f"{len(missing)} sentences have no shipped vector: run `python -m indexing.shipped_vectors`"


def test_a_clause_of_a_long_article_is_found_by_its_sentence(knowledge_base) -> None:
    searcher = knowledge_base.searcher
    assert _rank(searcher.search(CATALYST_Q, k=3, mode="sentence"), CATALYST_EVIDENCE) is not None
    assert _rank(searcher.search(CATALYST_Q, k=8), CATALYST_EVIDENCE) is not None
    without = Searcher(searcher.index, searcher.embeddings, FusionConfig(w_sentence=0.0), searcher.tokenize)
    assert _rank(without.search(CATALYST_Q, k=8), CATALYST_EVIDENCE) is None


def _copy(small_index: Path, tmp_path: Path) -> tuple[Settings, Path]:
    shutil.copytree(small_index, tmp_path / "kb", symlinks=True)
    settings = Settings(data_dir=tmp_path / "kb" / "data", corpus_dir=tmp_path / "kb" / "corpus")
    return settings, store.live_generation(settings)


def test_an_index_without_sentence_vectors_must_be_rebuilt(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings, gen = _copy(small_index, tmp_path)
    (gen / sentence_vectors.VECTORS).unlink()
    with pytest.raises(store.IndexIncompatible, match="句向量"):
        store.open_index(settings, embeddings, embeddings.model_id, store.read_meta(gen).chunker_version)


def test_an_index_made_before_sentence_vectors_is_rebuilt(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings, gen = _copy(small_index, tmp_path)
    for name in sentence_vectors.FILES:
        (gen / name).unlink()
    report = build_index(settings, embeddings=embeddings)
    assert report.status == "built" and report.embedded == 0
    assert (store.live_generation(settings) / sentence_vectors.VECTORS).is_file()


def test_sentence_rows_outside_the_chunks_are_damage(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings, gen = _copy(small_index, tmp_path)
    rows = np.load(gen / sentence_vectors.ROWS)
    rows[-1] = 10**6
    np.save(gen / sentence_vectors.ROWS, rows)  # same size: only the content check can tell
    with pytest.raises(store.IndexCorrupt):
        store.open_index(settings, embeddings, embeddings.model_id, store.read_meta(gen).chunker_version)


def test_a_rebuild_reuses_the_previous_sentence_vectors(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings, gen = _copy(small_index, tmp_path)
    settings = Settings(data_dir=settings.data_dir, corpus_dir=settings.corpus_dir, shipped_vectors=False)
    known = store.read_vector_cache(gen, embeddings.model_id)
    keys = json.loads((gen / sentence_vectors.KEYS).read_text(encoding="utf-8"))
    assert set(keys) <= set(known)

    class Counting:
        def __init__(self) -> None:
            self.texts: list[str] = []
            self.model_id = embeddings.model_id

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.texts += texts
            return embeddings.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embeddings.embed_query(text)

    counting = Counting()
    law = next(settings.corpus_dir.glob("laws/*.md"))
    law.write_text(law.read_text(encoding="utf-8") + "\n第九十九条 本条为测试新增的一句话。\n", encoding="utf-8")
    report = build_index(settings, embeddings=counting)
    assert report.status == "built"
    assert "第九十九条 本条为测试新增的一句话。" in counting.texts
    assert len(counting.texts) <= 3  # the new chunk and its sentence; every other vector is reused
