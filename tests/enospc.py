"""Run `kb` as on a full disk: every file opened for writing inside a new index generation fails with ENOSPC.

    python tests/enospc.py index --rebuild      # KB_DATA_DIR / KB_CORPUS_DIR as for `kb`

The live generation and everything outside the index stay writable, so the old index keeps serving. The fault is
injected where the operating system would raise it (opening a file for writing), with no root and no tmpfs.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path


def _guarded(opener: Callable, index_dir: Path, live: str) -> Callable:
    def open_for_a_full_disk(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(m in mode for m in "wax+"):
            path = Path(os.path.abspath(file))
            if path.is_relative_to(index_dir):
                generation = path.relative_to(index_dir).parts[0]
                if generation.startswith("g-") and generation != live:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return opener(file, mode, *args, **kwargs)

    return open_for_a_full_disk


def install() -> None:
    """Make writes into any generation other than the live one fail with ENOSPC for this process."""
    from indexing import store
    from indexing.config import get_settings

    settings = get_settings()
    index_dir = Path(os.path.abspath(settings.index_dir))
    live = store.live_generation(settings)
    guarded = _guarded(io.open, index_dir, live.name if live else "")
    builtins.open = guarded
    io.open = guarded  # pathlib's write_text/open go through io.open


if __name__ == "__main__":
    install()
    from kb.cli import main

    sys.exit(main(sys.argv[1:]))
