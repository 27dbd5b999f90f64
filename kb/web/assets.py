"""The page's stylesheet and scripts, kept as files in kb/web/static/ and read once at start-up.

kb.css styles the whole page (answers and source cards, the register, the phone layout of its table, the role
view). page.js runs once when the page loads: it keeps the newest chat question at the top of the chat while its
answer streams in (the chatbot's own autoscroll would jump to the bottom of the source cards and hide the answer
on small screens), writes each register cell's column header into a data attribute that the phone CSS shows in
front of the value, and scrolls a newly shown focused passage of the 文档 tab into view once it is visible.
copy.js copies the plain-text answer with its sources; navigator.clipboard needs a secure context (localhost is
one), so a hidden textarea is the fallback elsewhere.

The files are served exactly as written: no comments in them, and no newline at the end of page.js.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")


@cache
def asset(name: str) -> str:
    """The text of ``static/<name>``, read once, byte for byte (UTF-8, line ends untouched)."""
    with (STATIC_DIR / name).open(encoding="utf-8", newline="") as fh:
        return fh.read()
