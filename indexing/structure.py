"""Heading hierarchy of a normalised Document.

Plans: 一、 (h1) / （一） or (一) (h2) / 1. or 1、 (h3) / （1） (h4) / 专栏N (box). Laws and lists: 第X编
(part) / 第X章 (chapter) / 第X节 (section) / 第X条 (article), then 附表/附录/附件 (h1) with 一、 (h2)
inside; 款 (paragraphs) and 项 （一） inside an article are body text, not sections.

Guards against false headings:
- a heading starts a paragraph (plans) or a line (laws, lists); cross-references such as
  "依照本法第十条" are mid-line and so never match, and 第X条 must be followed by a space;
- a heading is short and not a sentence (:func:`indexing.normalize.is_heading_like`): lines of 32+
  characters containing ，。；！ and lines ending in 。；！？ are body (第X条 is exempt);
- numbering must continue the sequence under the same parent (一、 after 三、 is not a heading, so a
  专栏's own 一、/二、 stay inside it); a numbered line inside a 专栏 that has a later twin (same level
  and number) before the next top-level heading belongs to the 专栏's own list;
- 一、 headings in laws and lists are only taken after the last article (their tables), never inside one.

A 专栏 (box) is a leaf: it spans its title, its table (rows joined by single newlines), the notes
(注, ①…) and numbered items that follow; it ends at the next paragraph that is none of these or at the
next accepted heading. Section spans tile the text: a section ends where the next heading of the same
or a higher rank (or, for a box, its first paragraph outside the box) begins.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from indexing.normalize import (
    RE_APPENDIX,
    RE_ARTICLE,
    RE_BOX,
    RE_CHAPTER,
    RE_H1,
    RE_H2,
    RE_H3,
    RE_H4,
    RE_NOTE,
    RE_PART,
    RE_SECTION,
    is_heading_like,
)
from indexing.types import Document, Section

RANK = {"part": 1, "h1": 1, "chapter": 2, "h2": 2, "section": 3, "h3": 3, "article": 4, "h4": 4,
        "preamble": 100}
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}


@dataclass
class _Line:
    start: int
    end: int  # exclusive, before the newline
    text: str
    para_start: bool  # first line of a paragraph (after a blank line or at the start)


@dataclass
class _Para:
    first: _Line
    start: int
    has_tab: bool  # some line of the paragraph is a table row


def cn_number(s: str) -> int:
    """Value of a Chinese numeral such as "十", "二十三", "一百零二" (or of ASCII digits)."""
    if s.isdigit():
        return int(s)
    total = current = 0
    for ch in s:
        if ch in _CN_DIGIT:
            current = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            total += (current or 1) * _CN_UNIT[ch]
            current = 0
    return total + current


def parse_sections(doc: Document) -> list[Section]:
    """All sections of a document in document order (parents before their children)."""
    lines = _lines(doc.text)
    builder = _Builder(doc.text)
    articles = sum(1 for line in lines if RE_ARTICLE.match(line.text))
    if doc.kind in ("law", "regulation", "list") or articles >= 3:
        _parse_law(lines, builder)
    else:
        _parse_plan(lines, builder)
    return builder.finish()


def section_at(sections: Sequence[Section], pos: int) -> Section | None:
    """The deepest section containing position ``pos`` of Document.text, or None."""
    i = bisect.bisect_right(sections, pos, key=lambda s: s.start)
    for j in range(i - 1, -1, -1):
        if sections[j].start <= pos < sections[j].end:
            return sections[j]
    return None


def section_path(sections: Sequence[Section], pos: int) -> str:
    """Heading path of the deepest section at ``pos``, joined with " > " ("" outside any section)."""
    section = section_at(sections, pos)
    return " > ".join(section.path) if section else ""


def box_header(doc: Document, section: Section) -> tuple[str, str]:
    """A 专栏 table's title line and its column-header line ("" when the table has none)."""
    lines = doc.text[section.start:section.end].split("\n", 2)
    header = lines[1] if len(lines) > 1 and "\t" in lines[1] else ""
    return lines[0], header


def _lines(text: str) -> list[_Line]:
    out = []
    at = 0
    blank_before = True
    for chunk in text.split("\n"):
        if chunk:
            out.append(_Line(at, at + len(chunk), chunk, blank_before))
            blank_before = False
        else:
            blank_before = True
        at += len(chunk) + 1
    return out


class _Builder:
    """Keeps the stack of open sections; numbering counters are per (parent, kind)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sections: list[Section] = []
        self.stack: list[Section] = []
        self.box: Section | None = None
        self.counters: dict[tuple[int, str], int] = {}

    def parent_for(self, kind: str) -> Section | None:
        for sec in reversed(self.stack):
            if RANK[sec.kind] < RANK[kind]:
                return sec
        return None

    def expected(self, kind: str) -> int:
        return self.counters.get((id(self.parent_for(kind)), kind), 0) + 1

    def body_after(self, line: _Line, at: int | None = None) -> int:
        """First position after ``at`` (default: the line end) skipping spaces and newlines."""
        pos = line.end if at is None else at
        while pos < len(self.text) and self.text[pos] in " \u3000\n":
            pos += 1
        return pos

    def open(self, kind: str, line: _Line, heading: str, *, num: int | None = None,
             body_start: int | None = None, article: str | None = None) -> None:
        self.close_box(line.start)
        while self.stack and RANK[self.stack[-1].kind] >= RANK[kind]:
            self.stack.pop().end = line.start
        parent = self.stack[-1] if self.stack else None
        if num is not None:
            self.counters[(id(parent), kind)] = num
        start = 0 if kind == "preamble" else line.start
        sec = self._new(kind, heading, start, parent, body_start, article, line)
        self.stack.append(sec)

    def open_box(self, line: _Line) -> None:
        self.close_box(line.start)
        self.box = self._new("box", line.text, line.start, self.stack[-1] if self.stack else None, None,
                             None, line)

    def close_box(self, pos: int) -> None:
        if self.box is not None:
            self.box.end = pos
            self.box = None

    def _new(self, kind: str, heading: str, start: int, parent: Section | None, body_start: int | None,
             article: str | None, line: _Line) -> Section:
        sec = Section(
            heading=heading,
            kind=kind,
            level=parent.level + 1 if parent else 1,
            start=start,
            end=len(self.text),
            path=(parent.path if parent else ()) + (heading,),
            article=article,
            body_start=self.body_after(line) if body_start is None else body_start,
        )
        self.sections.append(sec)
        return sec

    def finish(self) -> list[Section]:
        self.close_box(len(self.text))
        return sorted(self.sections, key=lambda s: (s.start, s.level))


def _plan_candidate(text: str) -> tuple[str, int] | None:
    """(kind, number) when a line is shaped like a plan heading."""
    if m := RE_BOX.match(text):
        return "box", int(m.group(1))
    if not is_heading_like(text):
        return None
    for kind, rx in (("h1", RE_H1), ("h2", RE_H2), ("h4", RE_H4), ("h3", RE_H3)):
        if m := rx.match(text):
            return kind, cn_number(m.group(1))
    return None


def _paragraphs(lines: list[_Line]) -> list[_Para]:
    paras: list[_Para] = []
    for line in lines:
        if line.para_start or not paras:
            paras.append(_Para(line, line.start, "\t" in line.text))
        else:
            paras[-1].has_tab |= "\t" in line.text
    return paras


def _parse_plan(lines: list[_Line], b: _Builder) -> None:
    paras = _paragraphs(lines)
    box_mode: str | None = None
    for i, para in enumerate(paras):
        cand = _plan_candidate(para.first.text)
        accepted = cand is not None and cand[0] != "box" and cand[1] == b.expected(cand[0])
        if accepted and b.box is not None and cand[0] in ("h3", "h4") and _restarts_later(paras, i, cand, b):
            accepted = False
        if b.box is not None and not accepted and (cand is None or cand[0] != "box"):
            mode = _box_step(box_mode, para, cand)
            if mode is not None:
                box_mode = mode
                continue
            b.close_box(para.start)
        if cand is not None and cand[0] == "box":
            b.open_box(para.first)
            box_mode = "table" if para.has_tab else None
        elif accepted:
            kind, num = cand
            b.open(kind, para.first, para.first.text, num=num)
        elif not b.sections:
            b.open("preamble", para.first, para.first.text)


def _restarts_later(paras: list[_Para], i: int, cand: tuple[str, int], b: _Builder) -> bool:
    """A twin of ``cand`` comes before the next top-level heading: ``cand`` is a box's own list item."""
    stops = {("h1", b.expected("h1")), ("h2", b.expected("h2"))}
    for para in paras[i + 1:]:
        c = _plan_candidate(para.first.text)
        if c in stops:
            return False
        if c == cand:
            return True
    return False


def _box_step(mode: str | None, para: _Para, cand: tuple[str, int] | None) -> str | None:
    """The box's mode after ``para`` if it still belongs to the box, else None (the box ends)."""
    text = para.first.text
    if mode == "structured":
        return mode
    if para.has_tab:
        return "table"
    if RE_NOTE.match(text) or RE_H3.match(text):
        return "list" if mode in (None, "intro") else mode
    if mode is None:
        return "structured" if cand is not None else "intro"
    return None


def _parse_law(lines: list[_Line], b: _Builder) -> None:
    last_article_start = max((line.start for line in lines if RE_ARTICLE.match(line.text)), default=-1)
    last = {"part": 0, "chapter": 0, "article": 0}
    in_appendix = False
    for line in lines:
        text = line.text
        if m := RE_ARTICLE.match(text):
            num = cn_number(m.group(1))
            if last["article"] == 0 or num == last["article"] + 1 or (m.group(2) and num == last["article"]):
                last["article"] = num
                b.open("article", line, m.group(0), body_start=b.body_after(line, line.start + m.end()),
                       article=m.group(0))
                continue
        elif heading := _law_heading(text, line.start > last_article_start, in_appendix):
            kind, num = heading
            if kind == "appendix":
                in_appendix = True
                b.open("h1", line, text)
                continue
            expected = last[kind] + 1 if kind in last else b.expected(kind)
            if num == expected:
                if kind in last:
                    last[kind] = num
                b.open(kind, line, text, num=num)
                continue
        if not b.sections:
            b.open("preamble", line, text)


def _law_heading(text: str, after_articles: bool, in_appendix: bool) -> tuple[str, int] | None:
    """(kind, number) for 编/章/节 lines, and for 附表-style and 一、 lines after the last article."""
    if not is_heading_like(text):
        return None
    for kind, rx in (("part", RE_PART), ("chapter", RE_CHAPTER), ("section", RE_SECTION)):
        if m := rx.match(text):
            return kind, cn_number(m.group(1))
    if after_articles and RE_APPENDIX.match(text):
        return "appendix", 0
    if after_articles and (m := RE_H1.match(text)):
        return ("h2" if in_appendix else "h1"), cn_number(m.group(1))
    return None

