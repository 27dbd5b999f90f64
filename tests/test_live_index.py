"""Many processes, one index: a serving KnowledgeBase follows `kb index` runs in other processes, and the
garbage collector never removes a generation a live reader holds. Real `kb index` processes, real Chroma.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from test_hardening import copy_small, run_kb

from indexing import leases, store
from kb.service import KnowledgeBase

OLD_Q = "规划实施后要不要做跟踪评价？"
NEW = [
    ("第三十五条 本条为测试新增：沙尘暴监测站每年校准一次。", "沙尘暴监测站多久校准一次？", "每年校准一次"),
    ("第三十六条 本条为测试新增：戈壁光伏电站每五年复核一次生态评估。", "戈壁光伏电站多久复核一次生态评估？",
     "每五年复核"),
]
LAW = "laws/planning-eia-regs-2009.md"


class Asker(threading.Thread):
    """Asks a question about the original content over and over while the index changes underneath."""

    def __init__(self, kb: KnowledgeBase) -> None:
        super().__init__(daemon=True)
        self.kb = kb
        self.stop = threading.Event()
        self.asked = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                ans = self.kb.ask(OLD_Q)
                if ans.abstained or "跟踪评价" not in ans.answer:
                    self.failures.append(ans.answer)
            except Exception as e:  # the point of the test: none may happen
                self.failures.append(f"{type(e).__name__}: {e}")
            self.asked += 1
            self.stop.wait(0.2)


def _index(settings, *args: str) -> None:
    done = run_kb(settings, "index", *args)
    assert done.returncode == 0, done.stderr[-3000:]


def test_app_follows_reindexing_and_keeps_leased_generations(small_index: Path, tmp_path: Path, embeddings) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    serving = KnowledgeBase(settings, embeddings=embeddings)
    first = serving.open().gen_dir.name
    idle = KnowledgeBase(settings, embeddings=embeddings)  # opens once, then never asks again
    held = idle.open()
    asker = Asker(serving)
    asker.start()
    try:
        # Two full rebuilds: without leases the collector would drop the generation `idle` still has open.
        _index(settings, "--rebuild")
        _index(settings, "--rebuild")
        live = store.live_generation(settings).name
        assert live != first and (settings.index_dir / first).is_dir()
        assert first in leases.leased_generations(settings.index_dir)
        hits = held.bm25_scores(["跟踪", "评价"])
        assert hits.max() > 0 and held.store._collection.count() == held.meta.n_chunks
        assert serving.open().gen_dir.name == live

        # Two incremental builds adding articles: the serving knowledge base answers them right away.
        law = settings.corpus_dir / LAW
        for text, question, fact in NEW:
            law.write_text(law.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")
            _index(settings)
            ans = serving.ask(question)
            assert not ans.abstained and fact in ans.answer, ans.answer
        assert serving.open().gen_dir.name == store.live_generation(settings).name
    finally:
        asker.stop.set()
        asker.join(timeout=120)
    assert asker.asked > 0 and asker.failures == []
    # Both readers' leases name what they hold; once `idle` lets go, the next build collects its generation.
    idle._follower.lease.release()
    follower = serving._follower
    follower.retired = dict.fromkeys(follower.retired, 0.0)  # end the grace period now
    follower.tick()
    assert first not in leases.leased_generations(settings.index_dir)
    _index(settings, "--rebuild")
    assert not (settings.index_dir / first).exists()


def test_leases_of_dead_processes_are_ignored(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    readers = tmp_path / leases.READERS
    readers.mkdir()
    (readers / f"{pid}-x.json").write_text(json.dumps({"pid": pid, "generations": ["g-dead"]}), encoding="utf-8")
    (readers / "broken.json").write_text("{", encoding="utf-8")
    lease = leases.ReaderLease(tmp_path)
    lease.hold(["g-alive", "g-alive", ""])
    assert leases.leased_generations(tmp_path) == {"g-alive"}
    assert not (readers / f"{pid}-x.json").exists()
    lease.release()
    assert leases.leased_generations(tmp_path) == set()
