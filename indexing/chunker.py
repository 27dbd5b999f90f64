"""Structure-aware chunking: sentence-whole chunks with a jieba-token budget, as a LangChain TextSplitter."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import TextSplitter

from indexing.structure import box_header, parse_sections
from indexing.tokenize import DICT_VERSION, count_tokens
from indexing.types import Chunk, Document, Section

CHUNKER_VERSION = "jieba-struct-1"
DEFAULT_BUDGET = 160  # jieba words per chunk; chosen on the dev set (eval/RESULTS.md)
DEFAULT_OVERLAP = 1  # sentences repeated from the previous chunk of the same section
_SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』）)]*|\n+")
_CLAUSE_END = re.compile(r"[，,：:、]")


@dataclass
class _Unit:
    """A piece of text that must not be split further (a sentence or a table row)."""

    start: int
    end: int
    ntokens: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences in ``text[start:end]``; a sentence ends at 。！？； or a line break."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        stop = m.end() if not m.group().startswith("\n") else m.start()
        if text[pos:stop].strip():
            spans.append(_trim(text, pos, stop))
        pos = m.end()
    if pos < end and text[pos:end].strip():
        spans.append(_trim(text, pos, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    """Split an over-long sentence at clause marks (，：、) so no piece is far over budget."""
    pieces: list[tuple[int, int]] = []
    pos = start
    last_cut = start
    for m in _CLAUSE_END.finditer(text, start, end):
        if count_tokens(text[pos : m.end()]) > budget and last_cut > pos:
            pieces.append((pos, last_cut))
            pos = last_cut
        last_cut = m.end()
    pieces.append((pos, end))
    return [_trim(text, a, b) for a, b in pieces if text[a:b].strip()]


class JiebaChunker(TextSplitter):
    """Cut documents along their headings into sentence-whole chunks of about ``budget`` jieba words.

    Law articles stay whole where they fit; 专栏 tables are cut between rows and every chunk of a table
    repeats the table's title and column header in its embedded text.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET, overlap_sentences: int = DEFAULT_OVERLAP) -> None:
        super().__init__(chunk_size=budget, chunk_overlap=0, length_function=count_tokens)
        self.budget = budget
        self.overlap_sentences = overlap_sentences

    @property
    def version(self) -> str:
        """Identifier that changes whenever the chunks this splitter makes would change."""
        return f"{CHUNKER_VERSION}-b{self.budget}-o{self.overlap_sentences}-d{DICT_VERSION}"

    def split_text(self, text: str) -> list[str]:
        """LangChain entry point: sentence-whole pieces of plain text within the token budget."""
        units = self._units(text, 0, len(text), table=False)
        return [text[a:b] for a, b in self._pack(text, units)]

    def split_document(self, doc: Document, sections: list[Section] | None = None) -> list[Chunk]:
        """Chunks of one document, each an exact span of ``doc.text`` with its section path."""
        sections = parse_sections(doc) if sections is None else sections
        chunks: list[Chunk] = []
        for seg_start, seg_end, sec in self._segments(doc, sections):
            table = sec is not None and sec.kind == "box"
            prefix = ""
            if table:
                title, header = box_header(doc, sec)
                prefix = "\n".join(p for p in (title, header) if p)
            if sec is not None and sec.kind == "article" and count_tokens(doc.text[seg_start:seg_end]) <= (
                self.budget * 2
            ):
                spans = [_trim(doc.text, seg_start, seg_end)]
            else:
                units = self._units(doc.text, seg_start, seg_end, table=table)
                spans = self._pack(doc.text, units, overlap=0 if table else self.overlap_sentences)
            for a, b in spans:
                chunks.append(self._make_chunk(doc, sec, a, b, prefix))
        return chunks

    def _segments(self, doc: Document, sections: list[Section]) -> Iterator[tuple[int, int, Section | None]]:
        """Partition the text at every section start; a heading with no body joins the next segment."""
        starts = sorted({s.start for s in sections})
        by_start: dict[int, Section] = {}
        for s in sections:  # the deepest section starting at a position owns the segment
            if s.start not in by_start or s.level > by_start[s.start].level:
                by_start[s.start] = s
        bounds = [0, *starts, len(doc.text)]
        pending: int | None = None
        for a, b in itertools.pairwise(bounds):
            if a >= b or not doc.text[a:b].strip():
                continue
            sec = by_start.get(a)
            body_start = sec.body_start if sec is not None and sec.body_start > a else a
            if sec is not None and not doc.text[body_start:b].strip():
                pending = a if pending is None else pending
                continue
            yield (pending if pending is not None else a), b, sec
            pending = None
        if pending is not None:
            yield pending, len(doc.text), by_start.get(pending)

    def _units(self, text: str, start: int, end: int, table: bool) -> list[_Unit]:
        if table:
            spans = [
                _trim(text, m.start() + start, m.end() + start)
                for m in re.finditer(r"[^\n]+", text[start:end])
                if m.group().strip()
            ]
        else:
            spans = []
            for a, b in sentence_spans(text, start, end):
                if count_tokens(text[a:b]) > self.budget:
                    spans.extend(_split_long(text, a, b, self.budget))
                else:
                    spans.append((a, b))
        return [_Unit(a, b, count_tokens(text[a:b])) for a, b in spans]

    def _pack(self, text: str, units: list[_Unit], overlap: int = 0) -> list[tuple[int, int]]:
        """Greedily pack whole units up to the budget, repeating ``overlap`` trailing units."""
        out: list[tuple[int, int]] = []
        i = 0
        while i < len(units):
            j, used = i, 0
            while j < len(units) and (j == i or used + units[j].ntokens <= self.budget):
                used += units[j].ntokens
                j += 1
            out.append((units[i].start, units[j - 1].end))
            if j >= len(units):
                break
            back = min(overlap, j - i - 1)
            if back and sum(u.ntokens for u in units[j - back : j]) <= self.budget // 4:
                i = j - back
            else:
                i = j
        return out

    def _make_chunk(self, doc: Document, sec: Section | None, a: int, b: int, prefix: str) -> Chunk:
        body = doc.text[a:b]
        path = " > ".join(sec.path) if sec is not None else ""
        header = "\n".join(p for p in (doc.title, path, prefix) if p)
        return Chunk(
            chunk_id=f"{doc.doc_id}#{a}-{b}", doc_id=doc.doc_id, title=doc.title, kind=doc.kind, section=path,
            start=a, end=b, text=body, embed_text=f"{header}\n{body}",
            article=sec.article if sec is not None else None, page=doc.page_at(a), ntokens=count_tokens(body),
        )
