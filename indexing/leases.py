"""Reader leases: each process that has an index generation open says so in a small file, and the garbage
collector keeps every generation named in the lease of a live process.

Layout: ``<index_dir>/readers/<pid>-<random>.json`` holding ``{"pid": 123, "generations": ["g-…"]}``.
A lease whose process is gone (killed, crashed) is ignored and removed by the next collector.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import uuid
from pathlib import Path

log = logging.getLogger(__name__)
READERS = "readers"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ReaderLease:
    """One reader's lease file; ``hold`` rewrites it atomically, ``release`` removes it (also at exit)."""

    def __init__(self, index_dir: Path) -> None:
        self.dir = index_dir / READERS
        self.path = self.dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        self.generations: tuple[str, ...] = ()
        atexit.register(self.release)

    def hold(self, generations: list[str]) -> None:
        """Declare the generations this reader has open (replacing the previous declaration)."""
        names = tuple(dict.fromkeys(g for g in generations if g))
        if names == self.generations and self.path.exists():
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "generations": list(names)}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:  # a read-only index still serves; only the collector's courtesy is lost
            log.warning("cannot write the reader lease %s: %s", self.path, e)
            return
        self.generations = names

    def release(self) -> None:
        """Remove the lease file."""
        self.generations = ()
        try:
            self.path.unlink()
        except OSError:
            pass


def leased_generations(index_dir: Path, clean: bool = True) -> set[str]:
    """Generations named by the leases of live processes; leases of dead processes are removed when ``clean``."""
    held: set[str] = set()
    folder = index_dir / READERS
    if not folder.is_dir():
        return held
    for path in folder.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pid = int(data["pid"])
            names = [str(g) for g in data["generations"]]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written or unreadable: its owner rewrites it atomically
        if pid_alive(pid):
            held.update(names)
        elif clean:
            try:
                path.unlink()
            except OSError:
                pass
    return held
