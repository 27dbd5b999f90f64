"""Faults: a killed indexer, a damaged index, a full disk and two indexers at once.

In every case the previous index keeps serving (or is rebuilt when it is itself damaged), the user gets
a clear Chinese message, and the next `kb index` completes. Real `kb` processes on a small corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_hardening import REPO_ROOT, copy_small, index_view, kb_command, kb_env, run_kb

from indexing import store
from indexing.chunker import JiebaChunker
from indexing.config import Settings
from kb.service import KnowledgeBase

QUESTION = "规划实施后要不要做跟踪评价？"


def _generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.glob("g-*") if p.is_dir())


def _serves(settings: Settings, embeddings) -> None:
    """The live index opens, is consistent, and finds a known passage."""
    kb = KnowledgeBase(settings, embeddings=embeddings)
    hits = kb.searcher.search("规划 环境影响 跟踪评价", k=5)
    assert any("跟踪评价" in chunk.text for chunk, _ in hits)


def _popen_kb(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(kb_command(*args), cwd=REPO_ROOT, env=kb_env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")


def test_sigkill_mid_build_keeps_previous_index(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    before = index_view(settings, embeddings)
    proc = _popen_kb(settings, "index", "--rebuild")
    # The new generation directory appears after embedding, while the index files are written;
    # kill once Chroma has started writing into it (or shortly after the directory appears).
    new: Path | None = None
    seen_at = 0.0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if new is None:
            fresh = [g for g in _generations(settings) if g != before[2]]
            if fresh:
                new, seen_at = settings.index_dir / fresh[0], time.monotonic()
        if new is not None and ((new / "chroma" / "chroma.sqlite3").exists() or time.monotonic() - seen_at > 0.5):
            break
        time.sleep(0.002)
    assert proc.poll() is None, f"the indexer ended before it could be killed: {proc.communicate()}"
    assert new is not None, "no new generation appeared"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    # The killed build never went live; the previous generation serves as before.
    assert new.exists() and not (new / store.META).exists()
    assert store.live_generation(settings).name == before[2]
    assert index_view(settings, embeddings) == before
    _serves(settings, embeddings)

    # The next run (after an edit, so that it has work to do) takes the lock the dead process held,
    # clears its leftovers and completes.
    law = settings.corpus_dir / "laws" / "planning-eia-regs-2009.md"
    law.write_text(law.read_text(encoding="utf-8") + "\n第三十五条 本条为测试新增。\n", encoding="utf-8")
    done = run_kb(settings, "index")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "索引已建立：2 个文档" in done.stdout
    assert not new.exists()
    after = index_view(settings, embeddings)
    assert after[2] not in (before[2], new.name)
    assert after[1] == len(after[0]) and any("本条为测试新增" in text for _, text in after[0])
    assert set(_generations(settings)) == {before[2], after[2]}


DAMAGE = {
    "garbage sqlite": lambda gen: (gen / "chroma" / "chroma.sqlite3").write_bytes(b"not a database\x00" * 4096),
    "truncated sqlite": lambda gen: (gen / "chroma" / "chroma.sqlite3").write_bytes(b""),
    "missing chunks": lambda gen: (gen / "chunks.jsonl").unlink(),
    "garbage meta": lambda gen: (gen / store.META).write_text("{oops", encoding="utf-8"),
    "deleted generation": lambda gen: shutil.rmtree(gen),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_detected(damage: str, small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    DAMAGE[damage](store.live_generation(settings))
    with pytest.raises(store.IndexCorrupt, match="索引"):
        store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)


# Rebuilding re-embeds everything, so only the Chroma cases go all the way (a deleted Chroma folder: below).
@pytest.mark.parametrize("damage", ["garbage sqlite", "truncated sqlite"])
def test_damaged_chroma_is_rebuilt_at_open(damage: str, small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    before = index_view(settings, embeddings)
    DAMAGE[damage](settings.index_dir / before[2])
    messages: list[str] = []
    kb = KnowledgeBase(settings, embeddings=embeddings, progress=messages.append)
    index = kb.open()
    assert index.meta.generation != before[2]
    assert any("正在重建索引" in m for m in messages), messages
    assert [(c.chunk_id, c.text) for c in index.chunks] == before[0]
    assert index.store._collection.count() == before[1]
    ans = kb.ask(QUESTION)
    assert not ans.abstained and "跟踪评价" in ans.answer


def test_kb_ask_rebuilds_a_deleted_chroma_directory(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    before = index_view(settings, embeddings)
    shutil.rmtree(settings.index_dir / before[2] / "chroma")
    done = run_kb(settings, "ask", "--json", QUESTION)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "正在重建索引" in done.stderr
    out = json.loads(done.stdout)
    assert not out["abstained"] and "跟踪评价" in out["answer"]
    after = index_view(settings, embeddings)
    assert after[2] != before[2] and after[:2] == before[:2]


def test_full_disk_gives_clear_error_and_keeps_old_index(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    live = store.live_generation(settings).name
    # `kb index --rebuild` with every write into the new generation failing with ENOSPC (tests/enospc.py)
    failed = subprocess.run([sys.executable, str(Path(__file__).with_name("enospc.py")), "index", "--rebuild"],
                            cwd=REPO_ROOT, env=kb_env(settings), capture_output=True, text=True, encoding="utf-8",
                            timeout=600)
    assert failed.returncode != 0
    assert "磁盘空间不足" in failed.stderr and "原索引保持不变" in failed.stderr, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    # The old generation is live and whole, the half-written one is gone.
    assert store.live_generation(settings).name == live
    assert _generations(settings) == [live]
    asked = run_kb(settings, "ask", "--json", QUESTION)
    assert asked.returncode == 0, asked.stderr[-3000:]
    assert "跟踪评价" in json.loads(asked.stdout)["answer"]
    assert store.live_generation(settings).name == live

    # With space again, a rebuild goes through.
    report = KnowledgeBase(settings, embeddings=embeddings).build(rebuild=True)
    assert report.status == "built" and store.live_generation(settings).name == report.generation != live
    _serves(settings, embeddings)


def _holds_lock(pid: int, lock_file: Path) -> bool:
    """Whether process ``pid`` holds a lock on ``lock_file`` (read from /proc/locks, without touching it)."""
    try:
        inode = lock_file.stat().st_ino
        locks = Path("/proc/locks").read_text()
    except OSError:
        return False
    return any(f" {pid} " in line and line.split()[5].endswith(f":{inode}") for line in locks.splitlines())


def test_two_indexers_at_once(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    before = index_view(settings, embeddings)
    first = _popen_kb(settings, "index", "--rebuild")
    deadline = time.monotonic() + 300
    while not _holds_lock(first.pid, settings.index_dir / ".lock"):
        assert first.poll() is None, first.communicate()
        if time.monotonic() > deadline:  # a watchdog, not a speed check: /proc/locks shows the lock within seconds
            pytest.fail("the first indexer never took the lock (is /proc/locks readable?)")
        time.sleep(0.01)
    second = _popen_kb(settings, "index")
    out1, err1 = first.communicate(timeout=900)
    out2, err2 = second.communicate(timeout=900)
    assert first.returncode == 0, err1[-3000:]
    assert second.returncode == 0, err2[-3000:]
    assert "另一个索引进程正在运行" in err2
    assert "索引已建立" in out1
    # The second one waited, then found the first one's fresh index up to date.
    assert "索引已是最新" in out2
    after = index_view(settings, embeddings)
    assert after[2] != before[2] and after[:2] == before[:2]
    assert after[2] in out2
