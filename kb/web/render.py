"""Answers, citations and source cards as safe HTML (pure functions), and the answer as plain text for the clipboard.

Everything a user or a document contributes is shown as text: it is HTML-escaped before it goes into any HTML
built here (the plan holds literal ``<p>`` tags, a question may hold ``<script>``).
"""

from __future__ import annotations

import html
import re
from typing import Any


def esc(text: object) -> str:
    """HTML-escape any value for use as text (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


_NEWLINES = re.compile(r"(?:\r?\n)+")


def esc_lines(text: str) -> str:
    """Escape text and keep its line breaks as <br>, runs of them as one (a blank line would end the
    HTML block inside the chatbot's markdown renderer)."""
    return _NEWLINES.sub("<br>", esc(text))


_CITE_MARK = re.compile(r"\[(\d{1,2})\]")


def answer_text_html(text: str) -> str:
    """The answer text as HTML: escaped, line breaks kept, [n] markers styled."""
    return _CITE_MARK.sub(r'<span class="kb-cite">[\1]</span>', esc_lines(text))


def highlight_html(text: str, span: tuple[int, int] | list[int] | None) -> str:
    """Escape ``text`` and wrap ``text[span]`` in <mark> (no mark when the span is missing or invalid)."""
    if span:
        s, e = int(span[0]), int(span[1])
        if 0 <= s < e <= len(text):
            before, after = text[:s].lstrip("\r\n"), text[e:].rstrip("\r\n")
            return f"{esc_lines(before)}<mark>{esc_lines(text[s:e])}</mark>{esc_lines(after)}"
    return esc_lines(text.strip("\r\n"))


def highlight_terms_html(text: str, term: str) -> str:
    """Escape ``text`` and mark every case-insensitive occurrence of ``term``."""
    if not term:
        return esc(text)
    out, pos = [], 0
    low, t = text.lower(), term.lower()
    while True:
        i = low.find(t, pos)
        if i < 0:
            break
        out += [esc(text[pos:i]), "<mark>", esc(text[i : i + len(term)]), "</mark>"]
        pos = i + len(term)
    out.append(esc(text[pos:]))
    return "".join(out)


def location_label(article: str | None, page: int | None) -> str:
    """"第十条 · 第3页" style location of a citation ("" when it has neither)."""
    parts = [article or "", f"第{page}页" if page else ""]
    return " · ".join(p for p in parts if p)


def _card_location(c: Any) -> str:
    """Article and page of a citation, leaving out an article the section path already ends with."""
    article = getattr(c, "article", None)
    if article and c.section and c.section.split(" > ")[-1].startswith(article):
        article = None
    return location_label(article, getattr(c, "page", None))


def source_cards_html(citations: list[Any], abstained: bool = False, open_first: int = 1) -> str:
    """Numbered source cards: title, section path, article or page, the passage with its answering span marked.

    The first ``open_first`` cards show their passage; the others are folded to one line (click to open),
    so that the answer stays in view.
    """
    if not citations:
        return ""
    head = "最接近的段落（不足以回答）" if abstained else f"来源（{len(citations)}）"
    cards = []
    for i, c in enumerate(citations):
        loc = _card_location(c)
        summary = f'<span class="kb-card-n">[{int(c.n)}]</span>{esc(c.title)}'
        status = getattr(c, "status", "")
        if status:
            by = getattr(c, "replaced_by", "")
            by_text = f"，由《{esc(by)}》取代" if by else ""
            summary += (f'<span class="kb-repealed" title="该文件已废止，请以现行规定为准">'
                        f'（已于{esc(status)}{by_text}）</span>')
        if c.section:
            summary += f'<span class="kb-card-sec"> · {esc(c.section.split(" > ")[-1])}</span>'
        details = (
            (f'<div class="kb-card-path">{esc(c.section)}</div>' if c.section else "")
            + (f'<div class="kb-card-loc">{esc(loc)}</div>' if loc else "")
            + f'<div class="kb-passage">{highlight_html(c.text, getattr(c, "highlight", None))}</div>'
        )
        is_open = " open" if i < open_first else ""
        cards.append(
            f'<details class="kb-card"{is_open}><summary class="kb-card-h">{summary}</summary>{details}</details>'
        )
    return f'<div class="kb-sources"><div class="kb-sources-h">{head}</div>{"".join(cards)}</div>'


def answer_html(text: str, citations: list[Any] | None = None, abstained: bool = False, note: str = "") -> str:
    """One assistant message: an optional note, the answer text, then the source cards."""
    parts = ['<div class="kb-a">']
    if note:
        parts.append(f'<div class="kb-note">{esc(note)}</div>')
    parts.append(f'<div class="kb-text">{answer_text_html(text)}</div>')
    if citations:
        parts.append(source_cards_html(citations, abstained))
    parts.append("</div>")
    return "".join(parts)


def question_html(question: str) -> str:
    """A user message shown as text."""
    return f'<div class="kb-q">{esc_lines(question)}</div>'


def wait_html(message: str) -> str:
    """A placeholder assistant message while the answer is being prepared."""
    return f'<div class="kb-a"><span class="kb-wait">{esc(message)}</span></div>'


def answer_plain_text(question: str, text: str, citations: list[Any], abstained: bool = False) -> str:
    """The answer with its sources as plain text, for the clipboard."""
    lines = [f"问：{question.strip()}", f"答：{text.strip()}"]
    if citations:
        lines += ["", "最接近的段落（不足以回答）：" if abstained else "来源："]
        for c in citations:
            loc = location_label(getattr(c, "article", None), getattr(c, "page", None))
            where = " > ".join(x for x in (c.title, c.section) if x)
            lines.append(f"[{c.n}] {where}{('（' + loc + '）') if loc else ''}")
            lines.append("    " + c.text.strip().replace("\n", "\n    "))
    return "\n".join(lines)
