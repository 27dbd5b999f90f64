"""First run: the build reports stage, count and time left; a question during a rebuild is answered at once.

Real `kb` processes over a copy of the session's small index; the lock is the indexer's own file lock.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from filelock import FileLock
from test_hardening import copy_small, run_kb

from indexing import store
from indexing.progress import BuildProgress

QUESTION = "规划实施后要不要做跟踪评价？"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_carry_stage_count_and_eta() -> None:
    lines: list[str] = []
    clock = _Clock()
    progress = BuildProgress(lines.append, every_s=2.0, clock=clock)
    progress("加载与切分", 0, 0)
    clock.now += 3
    progress("嵌入", 0, 400)
    clock.now += 10
    progress("嵌入", 100, 400)  # 10 per second so far: 30 s left
    clock.now += 1
    progress("嵌入", 110, 400)  # within 2 s of the last line: not written
    clock.now += 20
    progress("嵌入", 400, 400)
    progress("写入", 0, 0)
    assert lines[0] == "正在建立索引：加载与切分……（已用 0 秒）"
    assert lines[1] == "正在建立索引：嵌入 0/400 段（0%），已用 3 秒，正在估算剩余时间"
    assert lines[2] == "正在建立索引：嵌入 100/400 段（25%），已用 13 秒，预计还需 30 秒"
    assert lines[3] == "正在建立索引：嵌入 400/400 段（100%），已用 34 秒"
    assert lines[4] == "正在建立索引：写入……（已用 34 秒）"
    assert len(lines) == 5
    clock.now += 200
    assert BuildProgress(lines.append, clock=clock).message("嵌入", 0, 0).endswith("（已用 0 秒）")
    assert "3 分 54 秒" in progress.message("写入", 0, 0)


def test_kb_index_prints_stages_with_counts(small_index: Path, tmp_path: Path) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    done = run_kb(settings, "index", "--rebuild", env={"KB_SHIPPED_VECTORS": "0"})  # so that it embeds
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    stages = [line for line in lines if line.startswith("正在建立索引：")]
    assert any("加载与切分" in line for line in stages), lines
    counted = [re.search(r"嵌入 (\d+)/(\d+) 段", line) for line in stages]
    counted = [m for m in counted if m]
    assert counted and counted[-1].group(1) == counted[-1].group(2) != "0", stages
    assert any("写入" in line for line in stages)


def test_kb_ask_during_a_rebuild_answers_from_the_previous_index(small_index: Path, tmp_path: Path) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    live = store.live_generation(settings)
    meta_path = live / store.META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["model_id"] = "an-older-model@0"  # the index needs rebuilding for the present model
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    with FileLock(str(settings.index_dir / ".lock")):  # another indexer is at work
        done = run_kb(settings, "ask", "--json", QUESTION, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "先用上一版索引回答" in done.stderr
    out = json.loads(done.stdout)
    assert not out["abstained"] and "跟踪评价" in out["answer"]
    assert store.live_generation(settings) == live  # it answered; it did not build
    # With the indexer gone, the next question rebuilds for the present model and answers from the new index.
    again = run_kb(settings, "ask", "--json", QUESTION)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "正在建立索引：嵌入" in again.stderr
    assert store.live_generation(settings) != live
    assert "跟踪评价" in json.loads(again.stdout)["answer"]
