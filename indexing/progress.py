"""Index-build progress as plain lines: stage, count and ETA, for a terminal, a log or the web page."""

from __future__ import annotations

import time
from collections.abc import Callable


def _duration(seconds: float) -> str:
    """A short Chinese duration: 45 秒, 3 分 20 秒."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{seconds // 60} 分 {seconds % 60:02d} 秒"


class BuildProgress:
    """A ``progress(stage, done, total)`` callback for indexing.build that writes one readable line to ``sink``.

    A line is written when a stage starts, when it ends, and at most every ``every_s`` seconds in between; while
    a stage has a count, the line carries it with the share done and the time left at the rate so far, e.g.
    ``正在建立索引：嵌入 320/1309 段（24%），已用 16 秒，预计还需 49 秒``.
    """

    def __init__(self, sink: Callable[[str], None], every_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 prefix: str = "正在建立索引") -> None:
        self.sink = sink
        self.every_s = every_s
        self.clock = clock
        self.prefix = prefix
        self.started = clock()
        self._stage = ""
        self._stage_started = self.started
        self._stage_done0 = 0
        self._last = -1e18

    def message(self, stage: str, done: int, total: int) -> str:
        """The line for this point of the build."""
        elapsed = self.clock() - self.started
        if total <= 0:
            return f"{self.prefix}：{stage}……（已用 {_duration(elapsed)}）"
        line = f"{self.prefix}：{stage} {done}/{total} 段（{100 * done // total}%），已用 {_duration(elapsed)}"
        spent = self.clock() - self._stage_started
        if done >= total:
            return line
        if done > self._stage_done0 and spent > 0:
            rate = (done - self._stage_done0) / spent
            return f"{line}，预计还需 {_duration((total - done) / rate)}"
        return f"{line}，正在估算剩余时间"

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Report a point of the build (throttled)."""
        now = self.clock()
        if stage != self._stage:
            self._stage, self._stage_started, self._stage_done0 = stage, now, done
        elif total > 0 and done < total and now - self._last < self.every_s:
            return
        self._last = now
        self.sink(self.message(stage, done, total))
