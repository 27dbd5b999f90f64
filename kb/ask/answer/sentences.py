"""Sentences and clauses of a passage: splitting, headings, list lead-ins and list ends, the passage's header."""

from __future__ import annotations

import re

from indexing.types import Chunk
from kb.ask.answer.facts import TARGET_RE

MAX_LIST_CHARS = 300  # budget for a list introduced by "：" and its items
MAX_LIST_ITEMS = 10
_ENUM_RE = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|\d+[.、．])")
_CLAUSE_END = re.compile(r"[，,]|……")  # "……" joins the pieces of a quote
TRAILING_PUNCT = "。；;，,、：: \t"
_SENTENCE_FINAL = "。！？；!?;：:"


def is_heading(sentence: str) -> bool:
    """A heading line or label without a figure: no final punctuation, short, not a table row."""
    if sentence.startswith("#"):
        return True
    return (
        sentence[-1] not in _SENTENCE_FINAL
        and "\t" not in sentence
        and "|" not in sentence
        and len(sentence) <= 40
        and not TARGET_RE.search(sentence)
    )


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses of a text, split at commas and at the "……" joining the pieces of a quote."""
    spans, start = [], 0
    for m in _CLAUSE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if e > s]


def introduces(sentence: str) -> bool:
    """A sentence that introduces what follows it: a list lead-in ending in "：", or a title line (no final
    punctuation, not a table row) that survived as a candidate because it names a figure."""
    return sentence[-1] in "：:" or (sentence[-1] not in _SENTENCE_FINAL and "\t" not in sentence
                                    and "|" not in sentence and len(sentence) <= 60)


def paragraph_end(text: str, spans: list[tuple[int, int]], j: int) -> int:
    """End of the paragraph starting at sentence j: its sentences up to a line break, within MAX_LIST_CHARS."""
    end = spans[j][1]
    for s, e in spans[j + 1:]:
        if "\n" in text[end:s] or e - spans[j][0] > MAX_LIST_CHARS:
            break
        end = e
    return end


def lead_in(text: str, spans: list[tuple[int, int]], i: int) -> int | None:
    """Index of the sentence ending in "：" that introduces the list whose item is sentence i, if it is one."""
    if not _ENUM_RE.match(text[spans[i][0]:spans[i][1]]):
        return None
    j = i - 1
    while j >= 0 and _ENUM_RE.match(text[spans[j][0]:spans[j][1]]):
        j -= 1
    return j if j >= 0 and text[spans[j][1] - 1] in "：:" else None


def list_end(text: str, spans: list[tuple[int, int]], i: int) -> int:
    """Index one past the last item of the list introduced by sentence i (which ends with "：")."""
    j, total = i + 1, spans[i][1] - spans[i][0]
    while j < len(spans) and j - i <= MAX_LIST_ITEMS:
        s, e = spans[j]
        if not _ENUM_RE.match(text[s:e]) or total + e - s > MAX_LIST_CHARS:
            break
        total += e - s
        j += 1
    return j


def passage_header(chunk: Chunk) -> str:
    """What the index put before the passage's text: title, section path, table title and header."""
    if chunk.embed_text.endswith(chunk.text) and len(chunk.embed_text) > len(chunk.text):
        return chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)]
    return f"{chunk.title}\n{chunk.section}"
