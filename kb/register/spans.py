"""Cutting a document's text into spans: section bodies, lines, and trimmed pieces between separators."""

from __future__ import annotations

import re

from indexing.types import Document, Section

_LIST_MARK = re.compile(r"\s*(?:\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]{1,3}[）)])\s*")
# An article label ("第十二条之一") and a list item mark ("（三）") opening a piece of text; the quiz reads
# law articles with the same two.
ARTICLE_LABEL = re.compile(r"第[一二三四五六七八九十百零〇两]+条(?:之[一二三四五六七八九十]+)?[\s\u3000]*")
LIST_ITEM = re.compile(r"^[（(][一二三四五六七八九十\d]{1,3}[）)]")
_EDGE_PUNCT = "，,；;。：:、 \u3000\t"
CLAUSE_SPLIT = re.compile(r"[，,：:]")


def line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the non-empty lines of ``text[start:end]``."""
    out = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        if text[pos:stop].strip():
            out.append((pos, stop))
        pos = stop + 1
    return out


def body_start(doc: Document, s: Section) -> int:
    """Where the text after a section's heading begins (robust to a relative ``body_start``)."""
    if s.start <= s.body_start <= s.end and (s.body_start > s.start or not s.heading):
        return s.body_start
    pos = min(s.start + len(s.heading), s.end)
    while pos < s.end and doc.text[pos] in " \u3000\t":
        pos += 1
    return pos


def split_spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Pieces of ``text[start:end]`` cut after each match of ``pattern``, trimmed of edge punctuation."""
    out = []
    pos = start
    for m in pattern.finditer(text, start, end):
        out.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return [t for t in (trim(text, a, b) for a, b in out) if t[1] > t[0]]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start] in _EDGE_PUNCT or text[start] == "\n"):
        start += 1
    m = _LIST_MARK.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    m = ARTICLE_LABEL.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    while end > start and (text[end - 1] in _EDGE_PUNCT or text[end - 1] == "\n"):
        end -= 1
    return start, end
