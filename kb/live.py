"""Following the live index generation across processes: notice a new CURRENT cheaply, lease what is open.

A serving process keeps one generation open. Before each question ``IndexFollower.changed`` compares one
``stat`` of the CURRENT file with the last one seen; when another process (``kb index``, the admin tab) has
swapped in a new generation, the caller opens it aside and swaps its reference atomically, while questions
already running finish on the old objects. Every generation this process has open, and the one it just left
for ``GRACE_S`` seconds, is named in its reader lease, which the indexer's garbage collector honours.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from indexing import store
from indexing.config import Settings
from indexing.leases import ReaderLease

log = logging.getLogger(__name__)
GRACE_S = 120.0  # how long a generation left behind stays leased (questions in flight finish on it)
OPEN_TRIES = 3  # a generation may be collected between reading CURRENT and leasing it: read again


class IndexFollower:
    """The CURRENT pointer as last seen, the generations known to be damaged, and this process's lease."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease = ReaderLease(settings.index_dir)
        self.signature: tuple[int, int, int] | None = None
        self.bad: set[str] = set()  # damaged generations not to be reopened (a repair is under way)
        self.retired: dict[str, float] = {}  # generation -> when its grace period ends
        self.current: str | None = None
        self._lock = threading.Lock()

    def _pointer(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.settings.index_dir / store.CURRENT)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        """Whether CURRENT names another (not known-damaged) generation than the open one; one stat when not."""
        sig = self._pointer()
        if sig == self.signature:
            return False
        live = store.live_generation(self.settings)
        if live is None or live.name == self.current or live.name in self.bad:
            self.signature = sig
            return False
        return True

    def _hold(self, extra: str | None = None) -> None:
        now = time.monotonic()
        expired = [g for g, end in self.retired.items() if end <= now]
        for g in expired:
            del self.retired[g]
            store.close_client(self.settings.index_dir / g)
        self.lease.hold([g for g in (self.current, extra, *self.retired) if g])

    def tick(self) -> None:
        """Drop generations whose grace period is over from the lease (cheap when there are none)."""
        if self.retired and min(self.retired.values()) <= time.monotonic():
            with self._lock:
                self._hold()

    def open(self, embeddings, chunker_version: str, checksums: bool,
             gen_dir: Path | None = None) -> store.OpenIndex:
        """Lease and open the live generation (or ``gen_dir``); raises the store's KBIndexError subclasses."""
        for attempt in range(OPEN_TRIES):
            sig = self._pointer()
            target = gen_dir or store.live_generation(self.settings)
            with self._lock:
                self._hold(target.name if target else None)
            try:
                index = store.open_index(self.settings, embeddings, embeddings.model_id, chunker_version,
                                         gen_dir=target, checksums=checksums)
            except store.IndexCorrupt:
                if gen_dir is None and attempt + 1 < OPEN_TRIES and self._pointer() != sig:
                    continue  # swapped (and perhaps collected) while we opened it: read CURRENT again
                raise
            self.adopt(index.gen_dir.name, sig if gen_dir is None else self.signature)
            return index
        raise AssertionError("unreachable")

    def adopt(self, name: str, signature: tuple[int, int, int] | None) -> None:
        """Record ``name`` as the open generation; the one before it stays leased for GRACE_S."""
        with self._lock:
            if self.current and self.current != name:
                self.retired[self.current] = time.monotonic() + GRACE_S
            self.retired.pop(name, None)
            self.current = name
            self.signature = signature
            self._hold()

    def previous_good(self) -> Path | None:
        """The newest finished generation other than the live one (a fallback while the live one is repaired)."""
        live = store.live_generation(self.settings)
        gens = sorted(p for p in self.settings.index_dir.glob("g-*") if p.is_dir() and (p / store.META).exists())
        older = [g for g in gens if live is None or g.name != live.name]
        return older[-1] if older else None
