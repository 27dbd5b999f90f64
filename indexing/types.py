"""Shared plain data types that flow from the corpus through the index to answers."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass
class Document:
    """One corpus document: its raw text, the normalised text we index, and the map between them.

    Normalisation only deletes characters (broken line joins, stray spaces, tags, the 目录 block,
    letterhead lines), so ``text[i] == raw[offsets[i]]`` for every i: any span of ``text`` maps back
    to the exact original characters.
    """

    doc_id: str
    title: str
    kind: str  # plan | law | regulation | list
    path: str  # path relative to the corpus root
    raw: str
    text: str
    offsets: list[int]
    sha256: str
    page_starts: list[int] = field(default_factory=list)  # offsets in ``text`` where PDF pages 2.. start
    meta: dict[str, str] = field(default_factory=dict)  # doc_number, issuer, dates, source, ...

    def page_at(self, pos: int) -> int | None:
        """1-based page number of a position in ``text`` (None for documents without pages)."""
        if not self.path.lower().endswith(".pdf"):
            return None
        return bisect.bisect_right(self.page_starts, pos) + 1

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``text`` span to the span of the raw text it was cut from."""
        if start >= end:
            raw_pos = self.offsets[start] if start < len(self.offsets) else len(self.raw)
            return raw_pos, raw_pos
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass
class Section:
    """A heading and the span of ``Document.text`` it governs (heading included)."""

    heading: str  # the heading line as written, e.g. "（二）全面推进水污染防治行动计划，持续改善水环境质量"
    kind: str  # part | chapter | section | article | h1 | h2 | h3 | h4 | box | preamble
    level: int  # 1 = top
    start: int
    end: int
    path: tuple[str, ...]  # headings from the top down to and including this one
    article: str | None = None  # "第十条" for law articles
    body_start: int = 0  # where the text after the heading line starts


@dataclass
class Chunk:
    """A retrievable unit: an exact span of one document, with what it needs to be cited."""

    chunk_id: str
    doc_id: str
    title: str
    kind: str
    section: str  # heading path joined with " > "
    start: int  # span in Document.text
    end: int
    text: str  # == Document.text[start:end]
    embed_text: str  # title + section path (+ table title/header) + body
    article: str | None = None
    page: int | None = None
    ntokens: int = 0


@dataclass
class Citation:
    """A numbered source passage backing an answer."""

    n: int
    doc_id: str
    title: str
    section: str
    text: str  # verbatim passage from the document
    start: int
    end: int
    score: float
    article: str | None = None
    page: int | None = None
    highlight: tuple[int, int] | None = None  # span inside ``text`` that answers the question
    status: str = ""  # "2022-06-05废止" when the document has been repealed; "" when in force
    replaced_by: str = ""  # title of the document that replaced a repealed one, when the manifest names it

    def to_dict(self) -> dict:
        """JSON shape used by `kb ask --json` (design.md)."""
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(float(self.score), 4),
            "article": self.article,
            "page": self.page,
            "highlight": list(self.highlight) if self.highlight else None,
            "status": self.status,
            "replaced_by": self.replaced_by,
        }


@dataclass
class Target:
    """A quantified target attached to an obligation or indicator."""

    indicator: str
    value: str
    unit: str = ""
    comparator: str = ""  # 达到 / 不低于 / 控制在 / 下降 / ≤ ...
    baseline_year: str = ""
    baseline_value: str = ""
    target_year: str = ""


@dataclass
class Obligation:
    """A structured, cited duty: what must be done, by whom, by when, to what target."""

    ob_id: str
    doc_id: str
    title: str
    section: str
    action: str  # verbatim clause
    deadline_kind: str  # by-date | end-of-year | from-year-on | annual | period | none
    deadline_text: str  # the original expression, e.g. "2017年底前"
    deadline_date: str  # ISO date the duty is due by ("" when none)
    year: int | None
    party: str  # "未明确" when the text names none
    party_source: str  # explicit | inherited | none
    domain: str
    start: int  # span of the cited passage in Document.text
    end: int
    passage: str  # verbatim cited passage (the sentence)
    target: Target | None = None
    binding: str = ""  # 约束性 | 预期性 | ""
    source: str = "text"  # text | table
    article: str | None = None
