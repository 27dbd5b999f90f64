"""Deletion-only normalisation of extracted text, so that ``text[i] == raw[offsets[i]]`` always holds.

What is deleted (and why), applied line by line and then at line joins:

- line furniture: trailing/leading spaces, ``\\r``, trailing tabs (empty cells at a row's end), the
  markdown ``#`` heading markers, HTML tags inside table cells (``<p>…</p>``; the cell text stays),
  LaTeX-style subscript markup (``PM _{2.5} `` -> ``PM2.5``);
- spaces that extraction put inside quantities (``2020 年`` -> ``2020年``, ``75 %``, ``第 1 至 107 类``),
  runs of spaces (one is kept), letter-spaced words (``危 险 废 物``), and, in plans, spaces between two
  CJK characters (wrapped table cells: ``重点行业 水污染防治 工程``);
- inner spaces of law headings (``第一章　总　　则`` -> ``第一章　总则``: the first separator is kept);
- whole lines: the LawRefBook header block up to ``<!-- INFO END -->`` (see :func:`law_header`), the
  letterhead above a plan notice's document number (see :func:`find_doc_number`), the 目录 block with
  its page numbers, PDF page-number lines and table headings repeated at the top of each PDF page,
  and a heading line repeated right after itself (``专栏6 …`` twice);
- line breaks: a paragraph broken by a page break mid-sentence is joined (``退\\n\\n牧还草``), a table
  broken by a page break is rejoined row to row, PDF lines wrapped mid-sentence are joined, and runs
  of blank lines collapse to one ``\\n\\n`` paragraph boundary.

Tabs between table cells are kept (including empty middle cells): a line with a tab is a table row and
its tabs mark the columns, which the structure parser and chunker rely on.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

INFO_END = "<!-- INFO END -->"

CN_NUM = "[一二三四五六七八九十百零〇两]+"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = _HAN + r"\u3001-\u303f\uff01-\uff60\u2018\u2019\u201c\u201d\u2026\u2014"

# Line shapes shared with the structure parser.
RE_H1 = re.compile(rf"^({CN_NUM})、")
RE_H2 = re.compile(rf"^[（(]({CN_NUM})[）)]")
RE_H3 = re.compile(r"^(\d{1,2})(?:[.．](?!\d)|、)")
RE_H4 = re.compile(r"^[（(](\d{1,2})[）)]")
RE_BOX = re.compile(r"^专栏\s*(\d+)")
RE_PART = re.compile(rf"^第({CN_NUM})编(?=[\s\u3000]|$)")
RE_CHAPTER = re.compile(rf"^第({CN_NUM})章(?=[\s\u3000]|$)")
RE_SECTION = re.compile(rf"^第({CN_NUM})节(?=[\s\u3000]|$)")
RE_ARTICLE = re.compile(rf"^第({CN_NUM})条(?:之({CN_NUM}))?(?=[\s\u3000]|$)")
RE_APPENDIX = re.compile(r"^附(?:表|录|件)[一二三四五六七八九十\d]*$")
RE_NOTE = re.compile(r"^(?:注|[\u2460-\u2473])")
RE_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,10}〔\d{4}〕\d+号$", re.M)
_HEADING_STARTS = (RE_H1, RE_H2, RE_H3, RE_H4, RE_BOX, RE_PART, RE_CHAPTER, RE_SECTION, RE_ARTICLE,
                   RE_APPENDIX)

_UNITS = "年月日号时分秒%％‰万亿千百个项座条款章节吨元天周米倍度亩头只台套次批类期位岁兆克升至到"
_TAG = r"</?(?:p|br|div|span|td|tr|th|table|tbody|thead|sub|sup|b|i|u|strong|em|font)\b[^<>\n]*>"
_RE_STRIP_END = re.compile(r"[\s\u3000\xa0]+$")
_RE_STRIP_START = re.compile(r"^[ \u3000\xa0\r]+")
_RE_CR = re.compile(r"\r")
_RE_MD_HEADING = re.compile(r"^#{1,6}[ \t]+")
_RE_TAGS = re.compile(rf"(?:{_TAG}[ \u3000]*)*{_TAG}", re.I)
_RE_SUBSCRIPT = re.compile(r"( ?)(_\{)[^{}\n]{1,12}(\})( (?=[）)，。；、：]))?")
_RE_NUM_UNIT = re.compile(rf"(?<=\d) +(?=[{_UNITS}])")
_RE_WORD_NUM = re.compile(rf"(?<=[{_HAN}，。、；：（]) +(?=\d[\d.\-～~/{_UNITS}]*[{_UNITS}])")
_RE_QUANTITY = re.compile(rf"^\d[\d.\-～~]*[{_UNITS}]")
_RE_MULTI_SPACE = re.compile(r"(?<=\S) ( +)")
_RE_LETTER_SPACED = re.compile(rf"(?<![{_HAN}])[{_HAN}](?: [{_HAN}]){{2,}}(?![{_HAN}])")
_RE_CELL_GAP = re.compile(rf"[{_CJK}] | [{_CJK}]")
_RE_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")
_RE_LAW_HEADING = re.compile(rf"^第{CN_NUM}[编章节]([\s\u3000]+)(.+)$")
_RE_TOC_TITLE = re.compile(r"^目\s*录$")
_RE_TOC_ENTRY = re.compile(r"(?:\t|\s{2,}|[.·…]{2,}|\s)\d{1,3}$")
_RE_PAGE_NUMBER = re.compile(r"^[—－\-–]+\s*\d{1,4}\s*[—－\-–]+$|^第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?$")

_SENTENCE_SPLIT = "，。；、：,;"
_OPEN_ENDS = "，、（《“—-"  # a line ending in one of these continues on the next line
_CONT_STARTS = "，、。；：）》”％%"  # a line starting with one of these continues the previous line


class _Line:
    """One raw line being cleaned: its current characters and, for each, its raw offset."""

    __slots__ = ("chars", "drop", "nl", "pos", "start")

    def __init__(self, raw: str, start: int, end: int) -> None:
        self.start = start
        self.chars = raw[start:end]
        self.pos = list(range(start, end))
        self.nl = end if end < len(raw) else -1  # raw index of the newline ending this line
        self.drop = False

    def cut(self, spans: list[tuple[int, int]]) -> None:
        """Delete the given (start, end) spans of ``chars`` (sorted, may touch or overlap)."""
        if not spans:
            return
        keep_chars: list[str] = []
        keep_pos: list[int] = []
        at = 0
        for a, b in spans:
            if a > at:
                keep_chars.append(self.chars[at:a])
                keep_pos.extend(self.pos[at:a])
            at = max(at, b)
        keep_chars.append(self.chars[at:])
        keep_pos.extend(self.pos[at:])
        self.chars = "".join(keep_chars)
        self.pos = keep_pos

    def delete(self, pattern: re.Pattern[str], groups: Sequence[int] = (0,)) -> None:
        """Delete the given groups of every match of ``pattern``."""
        spans = []
        for m in pattern.finditer(self.chars):
            for g in groups:
                if m.start(g) >= 0 and m.end(g) > m.start(g):
                    spans.append((m.start(g), m.end(g)))
        spans.sort()
        self.cut(spans)


def starts_block(line: str) -> bool:
    """True when a line opens a heading, numbered item, note or table row (never glued to the line above)."""
    return "\t" in line or bool(RE_NOTE.match(line)) or any(p.match(line) for p in _HEADING_STARTS)


def is_heading_like(line: str) -> bool:
    """Short enough and shaped like a heading: not a sentence (guards against body lines read as headings)."""
    s = line.strip()
    if not s or len(s) > 60 or s[-1] in "。；！？，、;":
        return False
    return not (len(s) >= 32 and any(c in s for c in "，。；！"))


def find_doc_number(raw: str) -> str:
    """The issuing document number on a line of its own near the top (e.g. "新环发〔2017〕124号"), or ""."""
    m = RE_DOC_NUMBER.search(raw[:3000])
    return m.group(0) if m else ""


def law_header(raw: str) -> tuple[str, list[str]]:
    """Title and history lines (adoption, revisions) of a LawRefBook header block; ("", []) if none."""
    head, sep, _ = raw.partition(INFO_END)
    if not sep:
        return "", []
    title = ""
    history = []
    for line in head.splitlines():
        s = line.strip().replace("\u3000", " ").strip()
        if not s:
            continue
        if s.startswith("#") and not title:
            title = s.lstrip("#").strip()
        else:
            history.append(s)
    return title, history


def normalize(raw: str, kind: str, fmt: str = "txt", page_starts: Sequence[int] = ()) -> tuple[str, list[int]]:
    """Clean extracted text by deletion only; returns (text, offsets) with ``text[i] == raw[offsets[i]]``.

    ``fmt`` is the source format ("txt", "md" or "pdf"); ``page_starts`` are the raw offsets where
    PDF pages 2.. begin (used to spot headings repeated at the top of each page).
    """
    lines = _split(raw)
    if fmt == "md":
        _drop_md_header(lines)
    for line in lines:
        if not line.drop:
            _clean(line, kind, fmt)
    if fmt == "txt":
        _drop_letterhead(lines)
    _drop_toc(lines)
    if fmt == "pdf":
        _drop_page_furniture(lines, page_starts)
    _drop_repeats(lines)
    return _assemble(lines, fmt)


def _split(raw: str) -> list[_Line]:
    lines = []
    start = 0
    while True:
        end = raw.find("\n", start)
        if end < 0:
            lines.append(_Line(raw, start, len(raw)))
            return lines
        lines.append(_Line(raw, start, end))
        start = end + 1


def _clean(line: _Line, kind: str, fmt: str) -> None:
    line.delete(_RE_CR)
    line.delete(_RE_TAGS)
    line.delete(_RE_STRIP_END)
    line.delete(_RE_STRIP_START)
    if fmt == "md":
        line.delete(_RE_MD_HEADING)
    if "_{" in line.chars:
        line.delete(_RE_SUBSCRIPT, (1, 2, 3, 4))
    if " " in line.chars:
        line.delete(_RE_NUM_UNIT)
        line.delete(_RE_WORD_NUM)
        line.delete(_RE_MULTI_SPACE, (1,))
        _delete_letter_spacing(line)
        if kind == "plan":
            line.delete(_RE_CJK_SPACE)
    m = _RE_LAW_HEADING.match(line.chars)
    if m and len(line.chars) <= 40:
        spans = [(m.start(1) + 1, m.end(1))]
        spans += [(m.start(2) + i, m.start(2) + i + 1) for i, c in enumerate(m.group(2)) if c in " \u3000"]
        line.cut(sorted(s for s in spans if s[1] > s[0]))


def _delete_letter_spacing(line: _Line) -> None:
    spans = []
    for m in _RE_LETTER_SPACED.finditer(line.chars):
        spans += [(m.start() + i, m.start() + i + 1) for i, c in enumerate(m.group()) if c == " "]
    line.cut(spans)


def _drop_md_header(lines: list[_Line]) -> None:
    for i, line in enumerate(lines):
        if line.chars.strip() == INFO_END:
            for earlier in lines[: i + 1]:
                earlier.drop = True
            return
    # No header block: the leading "# title" line is the document title, not indexed text.
    for line in lines:
        if line.chars.strip():
            if line.chars.startswith("# "):
                line.drop = True
            return


def _kept(lines: list[_Line]) -> list[_Line]:
    return [line for line in lines if not line.drop and line.chars]


def _drop_letterhead(lines: list[_Line]) -> None:
    top = _kept(lines)[:12]
    for k, line in enumerate(top):
        if RE_DOC_NUMBER.match(line.chars):
            before = top[:k]
            if all(len(b.chars) <= 30 and not any(c in b.chars for c in "，。；") for b in before):
                for b in [*before, line]:
                    b.drop = True
            return


def _drop_toc(lines: list[_Line]) -> None:
    for i, line in enumerate(lines):
        if not line.drop and _RE_TOC_TITLE.match(line.chars):
            j = i + 1
            entries = 0
            while j < len(lines) and (not lines[j].chars or _RE_TOC_ENTRY.search(lines[j].chars)):
                entries += bool(lines[j].chars)
                j += 1
            if entries:
                for dropped in lines[i:j]:
                    dropped.drop = True
            return


def _drop_page_furniture(lines: list[_Line], page_starts: Sequence[int]) -> None:
    for line in lines:
        if _RE_PAGE_NUMBER.match(line.chars):
            line.drop = True
    pages: dict[int, list[_Line]] = {}
    for line in _kept(lines):
        pages.setdefault(bisect.bisect_right(page_starts, line.start), []).append(line)
    previous_top: set[str] = set()
    for page in sorted(pages):
        top = pages[page][:4]
        top_text = {line.chars for line in top}
        for line in top:
            if line.chars in previous_top and not starts_block(line.chars.replace("\t", " ")):
                line.drop = True
        previous_top = top_text


def _drop_repeats(lines: list[_Line]) -> None:
    previous = None
    for line in _kept(lines):
        if previous is not None and line.chars == previous.chars and len(line.chars) >= 4 \
                and "\t" not in line.chars:
            line.drop = True
        else:
            previous = line


def _is_han(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"


def _page_break_join(prev: str, nxt: str) -> bool:
    """A .txt paragraph cut by a page break: the line before is mid-sentence and so is the next one."""
    if starts_block(nxt) or len(prev) < 12 or (is_heading_like(prev) and starts_block(prev.split("\t", 1)[0])):
        return False
    if not (_is_han(prev[-1]) or prev[-1] in _OPEN_ENDS):
        return False
    if not any(c in prev for c in _SENTENCE_SPLIT):
        return False  # a title or signature line, not a sentence
    return _is_han(nxt[0]) or nxt[0].isdigit() or nxt[0] in _CONT_STARTS


def _pdf_wrap(prev_line: str, nxt: str) -> bool:
    """A PDF prose line wrapped mid-sentence: long, no cell spaces, no terminal punctuation, continued."""
    if len(prev_line) < 12 or starts_block(nxt) or nxt.startswith("说明"):
        return False
    if RE_H1.match(prev_line) or RE_APPENDIX.match(prev_line):
        return False
    if _RE_CELL_GAP.search(RE_ARTICLE.sub("", prev_line, count=1).lstrip()):
        return False  # a space next to CJK text separates table cells: a table row, not wrapped prose
    if not (_is_han(prev_line[-1]) or prev_line[-1] in _OPEN_ENDS + "）》”"):
        return False
    if nxt[0] == "（":
        return not (RE_H2.match(nxt) or RE_H4.match(nxt))
    return _is_han(nxt[0]) or nxt[0] in _CONT_STARTS or bool(_RE_QUANTITY.match(nxt))


def _assemble(lines: list[_Line], fmt: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    pos: list[int] = []
    prev: _Line | None = None
    logical = ""  # the output line being built (physical lines joined so far)
    blank = False  # a blank or dropped line lies between prev and the current line
    for line in lines:
        if line.drop or not line.chars:
            blank = blank or prev is not None
            continue
        if prev is not None:
            sep = _separator(logical, prev.chars, line.chars, blank, fmt)
            if sep == "join":
                logical += line.chars
            else:
                chars.append("\n")
                pos.append(prev.nl)
                if sep == "para":
                    chars.append("\n")
                    pos.append(line.start - 1)
                logical = line.chars
        else:
            logical = line.chars
        chars.append(line.chars)
        pos.extend(line.pos)
        prev = line
        blank = False
    return "".join(chars), pos


def _separator(logical: str, prev_line: str, nxt: str, blank: bool, fmt: str) -> str:
    if fmt == "pdf" and _pdf_wrap(prev_line, nxt):
        return "join"
    if fmt == "txt" and blank:
        if "\t" in logical and "\t" in nxt:
            return "line"  # a table continued on the next page
        if _page_break_join(logical, nxt):
            return "join"
    return "para" if blank else "line"
