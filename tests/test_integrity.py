"""Integrity of every index file: truncating or corrupting any single file of the live generation gives a
clear Chinese message or a silent repair, never a traceback, and the same answers after `kb index`.

Real small index, real Chroma; `KnowledgeBase.build()` is what `kb index` runs (one `kb` process below too).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from test_hardening import copy_small, run_kb

from indexing import integrity, store
from indexing.chunker import JiebaChunker
from kb.service import KnowledgeBase

QUESTIONS = ("规划实施后要不要做跟踪评价？", "应税大气污染物的应纳税额怎么算？", "排污许可证有效期多长？")


def _answers(kb: KnowledgeBase) -> list[tuple]:
    out = []
    for q in QUESTIONS:
        ans = kb.ask(q)
        out.append((ans.answer, ans.abstained, [(c.doc_id, c.start, c.end) for c in ans.citations]))
    return out


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(path: Path) -> None:
    """Same size, different bytes: a run of bytes in the middle inverted."""
    data = bytearray(path.read_bytes())
    if not data:
        data = bytearray(b"\xff")
    mid = len(data) // 2
    for i in range(mid, min(len(data), mid + 64)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _stable(rel: str) -> str:
    """A generation file's path with Chroma's random segment folder name hidden."""
    parts = rel.split("/")
    return "/".join("<segment>" if len(p) == 36 and p.count("-") == 4 else p for p in parts)


@pytest.fixture(scope="module")
def baseline(small_index: Path, tmp_path_factory: pytest.TempPathFactory, embeddings) -> tuple[list, list[str]]:
    """The small index's answers and the stable names of its generation's files."""
    settings = copy_small(small_index, tmp_path_factory.mktemp("base") / "kb")
    gen = store.live_generation(settings)
    files = [*sorted(_stable(rel) for rel in store.read_meta(gen).files), store.META]
    return _answers(KnowledgeBase(settings, embeddings=embeddings)), files


def test_every_file_is_recorded(baseline) -> None:
    _, files = baseline
    for name in ("obligations.json", "chunks.jsonl", "vectors.npy", "vector_keys.json", "chroma/chroma.sqlite3",
                 "chroma/<segment>/data_level0.bin", "chroma/<segment>/header.bin", "bm25/vocab.index.json",
                 "bm25-bigrams/data.csc.index.npy"):
        assert name in files, files


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_each_damaged_file_is_reported_and_repaired(damage: str, baseline, small_index: Path, tmp_path: Path,
                                                    embeddings) -> None:
    expected, files = baseline
    hurt = _truncate if damage == "truncate" else _corrupt
    problems: dict[str, str] = {}
    for n, name in enumerate(files):
        settings = copy_small(small_index, tmp_path / f"kb{n}")
        settings.shipped_vectors = False  # so that a needless re-embedding shows in report.embedded
        gen = store.live_generation(settings)
        files = store.read_meta(gen).files
        rel = name if name == store.META else next(r for r in files if _stable(r) == name)
        if damage == "truncate" and not (gen / rel).stat().st_size:
            continue  # an empty file (hnswlib's link lists of a one-level graph) cannot be cut shorter
        hurt(gen / rel)
        try:
            detected = integrity.damaged_files(gen, store.read_meta(gen).files, checksums=True)
        except store.IndexCorrupt as e:  # meta.json itself: unreadable, named in Chinese
            detected = {rel: str(e)} if "索引元数据损坏" in str(e) else {}
        silent = Path(rel).name in integrity.VOLATILE and damage == "corrupt"
        if rel not in detected and not silent:
            problems[name] = "not detected"
            continue
        report = KnowledgeBase(settings, embeddings=embeddings).build()  # what `kb index` runs
        if rel in detected and not (report.status == "built" and any("索引" in w and "损坏" in w
                                                                     for w in report.warnings)):
            problems[name] = f"not repaired: {report.status} {report.warnings}"
            continue
        # With meta.json unreadable nothing vouches for the model that made the vectors: re-embedding is right.
        if rel in detected and rel not in (*integrity.VECTOR_FILES, store.META) and report.embedded:
            problems[name] = f"re-embedded {report.embedded} chunks although the vectors were intact"
        got = _answers(KnowledgeBase(settings, embeddings=embeddings))
        if got != expected:
            problems[name] = f"answers changed: {got}"
    assert problems == {}


def test_start_up_detects_and_repairs_a_corrupt_register(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    before = _answers(KnowledgeBase(settings, embeddings=embeddings))
    gen = store.live_generation(settings)
    _corrupt(gen / "obligations.json")
    messages: list[str] = []
    kb = KnowledgeBase(settings, embeddings=embeddings, progress=messages.append)
    assert _answers(kb) == before
    assert kb.open().gen_dir.name != gen.name
    assert any("索引文件损坏" in m and "obligations.json" in m for m in messages), messages


def test_serving_app_keeps_the_previous_generation_while_repairing(small_index: Path, tmp_path: Path,
                                                                   embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    kb = KnowledgeBase(settings, embeddings=embeddings)
    kb.build(repair=True)  # a second, identical generation: the previous good one
    before = _answers(kb)
    broken = store.live_generation(settings)
    _truncate(broken / "obligations.json")
    messages: list[str] = []
    serving = KnowledgeBase(settings, embeddings=embeddings, progress=messages.append)
    serving.background_repair = True
    first = serving.open()
    assert first.gen_dir.name != broken.name  # the previous generation serves at once
    assert _answers(serving) == before
    assert any("上一代索引" in m for m in messages), messages
    for thread in [t for t in threading.enumerate() if t.name == "kb-index-repair"]:
        thread.join(timeout=600)
    assert serving.open().gen_dir.name == store.live_generation(settings).name != broken.name
    assert _answers(serving) == before


def test_vector_self_check_catches_wrong_vectors(small_index: Path, tmp_path: Path, embeddings) -> None:
    """Vectors changed inside Chroma's database (which file sizes and checksums cannot see) are caught."""
    settings = copy_small(small_index, tmp_path / "kb")
    gen = store.live_generation(settings)
    con = sqlite3.connect(gen / "chroma" / "chroma.sqlite3")
    rows = con.execute("SELECT seq_id, vector FROM embeddings_queue WHERE vector IS NOT NULL").fetchall()
    assert rows
    for seq, blob in rows:  # every stored vector reversed: Chroma loads them into its HNSW index as they are
        con.execute("UPDATE embeddings_queue SET vector = ? WHERE seq_id = ?",
                    ((-np.frombuffer(blob, dtype=np.float32)).tobytes(), seq))
    con.commit()
    con.close()
    index = store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    with pytest.raises(store.IndexCorrupt, match="向量自检"):
        _ = index.store  # embedded questions search vectors.npy; Chroma's vectors are checked where they are used


def test_kb_ask_with_a_truncated_register_answers_without_traceback(small_index: Path, tmp_path: Path) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    _truncate(store.live_generation(settings) / "obligations.json")
    done = run_kb(settings, "ask", "--json", QUESTIONS[0])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "索引文件损坏" in done.stderr and "obligations.json" in done.stderr
    out = json.loads(done.stdout)
    assert not out["abstained"] and "跟踪评价" in out["answer"]
