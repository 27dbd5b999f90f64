"""The 文档 tab: browse each document by its section tree, read a section, search within a document, and open the
passage of a register row (marked, and scrolled to by page.js).

Every text is escaped before it enters HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.service import KnowledgeBase
from kb.web.context import AppContext
from kb.web.render import esc, highlight_terms_html, location_label
from kb.web.toasts import inform

MAX_SEARCH_HITS = 60


@dataclass
class DocumentsView:
    """The components of the 文档 tab that its events use."""

    doc: Any
    section: Any
    prev_btn: Any
    next_btn: Any
    term: Any
    find: Any
    hits: Any
    body: Any
    focus: Any


def focus_in(focus: Any, doc_id: str, section: Any) -> bool:
    """Whether a focused passage (doc_id, start, end) starts inside this section of this document."""
    return bool(focus) and len(focus) >= 3 and focus[0] == doc_id and section.start <= int(focus[1]) < section.end


def focus_html(text: str, offset: int, focus: Any) -> str:
    """A section's text escaped, with the focused passage (document positions) marked as ``kb-focus``."""
    s = max(0, int(focus[1]) - offset)
    e = min(len(text), max(s + 1, int(focus[2]) - offset))
    return f'{esc(text[:s])}<mark class="kb-focus">{esc(text[s:e])}</mark>{esc(text[e:])}'


def section_label(section: Any) -> str:
    """A section's heading indented by its level, for the section list."""
    return "\u3000" * max(0, int(section.level) - 1) + section.heading.strip()


def section_at(sections: list[Any], pos: int) -> int | None:
    """Index of the deepest section whose span holds ``pos``."""
    found = KnowledgeBase.section_at(sections, pos)
    return None if found is None else next(i for i, s in enumerate(sections) if s is found)


def section_html(doc: Any, section: Any, term: str = "", focus: Any = None) -> str:
    """A section's text as escaped, line-preserving HTML with its heading path (and page, for PDFs); ``focus``
    (doc_id, start, end) inside the section is marked as the passage to scroll to, else ``term`` is marked."""
    text = doc.text[section.start : section.end]
    body = focus_html(text, section.start, focus) if focus_in(focus, doc.doc_id, section) else None
    page = doc.page_at(section.start) if hasattr(doc, "page_at") else None
    where = " > ".join(section.path)
    article = section.article if section.article and section.article not in (section.path or ("",))[-1] else None
    loc = location_label(article, page)
    return (
        f'<div class="kb-section-h">{esc(KnowledgeBase.document_label(doc))}</div>'
        f'<div class="kb-section-path">{esc(where)}{(" · " + esc(loc)) if loc else ""}</div>'
        f'<div class="kb-section">{body if body is not None else highlight_terms_html(text, term)}</div>'
    )


def search_document(doc: Any, sections: list[Any], term: str) -> list[tuple[int | None, int, str]]:
    """Occurrences of ``term`` in a document: (section index, position, snippet), at most MAX_SEARCH_HITS."""
    term = term.strip()
    if not term:
        return []
    hits: list[tuple[int | None, int, str]] = []
    low, t = doc.text.lower(), term.lower()
    pos = low.find(t)
    while pos >= 0 and len(hits) < MAX_SEARCH_HITS:
        a, b = max(0, pos - 40), min(len(doc.text), pos + len(term) + 40)
        snippet = ("…" if a else "") + doc.text[a:b].replace("\n", " ") + ("…" if b < len(doc.text) else "")
        hits.append((section_at(sections, pos), pos, snippet))
        pos = low.find(t, pos + len(term))
    return hits


def open_hit(choice: str) -> Any:
    """Open the section of a search hit."""
    if not choice or choice.startswith(":"):
        return gr.skip()
    return choice.split(":", 1)[0]


def hit_focus(doc_id: str, choice: str, q: str) -> Any:
    """The clicked hit's occurrence as the passage to mark and scroll to."""
    if not choice or ":" not in choice:
        return None
    pos = int(choice.split(":", 1)[1])
    return (doc_id, pos, pos + len((q or "").strip()))


def documents_layout() -> DocumentsView:
    """The document and section pickers, previous/next, the search box with its hits, and the section text."""
    with gr.Row():
        doc = gr.Dropdown(choices=[], label="文件", scale=2, min_width=280, elem_id="doc-select")
        section = gr.Dropdown(choices=[], label="章节", scale=3, min_width=280, elem_id="doc-section")
    with gr.Row():
        prev_btn = gr.Button("上一节", size="sm", min_width=100, elem_id="doc-prev")
        next_btn = gr.Button("下一节", size="sm", min_width=100, elem_id="doc-next")
    with gr.Row():
        term = gr.Textbox(label="在本文件中搜索", placeholder="关键词", scale=4, elem_id="doc-term")
        find = gr.Button("搜索", size="sm", scale=1, min_width=72, elem_id="doc-find")
    hits = gr.Radio(choices=[], label="搜索结果（点击打开所在章节）", visible=False, elem_id="doc-hits")
    body = gr.HTML(elem_id="doc-body")
    focus = gr.State(None)  # (doc_id, start, end): the passage opened from the register or a search hit
    return DocumentsView(doc, section, prev_btn, next_btn, term, find, hits, body, focus)


def section_reader(ctx: AppContext) -> tuple[Callable[..., tuple], Callable[..., str], Callable[..., Any]]:
    """The handlers that choose a document, show a section and step between sections."""

    def choose_doc(doc_id: str, target: Any = None) -> tuple:
        """List a document's sections and show its first one (or the one holding the focused passage)."""
        found = ctx.document(doc_id) if doc_id else None
        if not found:
            return gr.update(choices=[], value=None), "", gr.update(choices=[], value=None, visible=False), ""
        d, sections = found
        choices = [(section_label(s), str(i)) for i, s in enumerate(sections)]
        at = section_at(sections, int(target[1])) if target and target[0] == doc_id else None
        first = str(at or 0) if sections else None
        html_body = (section_html(d, sections[int(first)], focus=target) if sections
                     else f'<div class="kb-section">{esc(d.text)}</div>')
        return gr.update(choices=choices, value=first), html_body, gr.update(choices=[], value=None, visible=False), ""

    def show_section(doc_id: str, idx: str, q: str, target: Any = None) -> str:
        """Render one section (the focused passage, else the search terms, marked)."""
        found = ctx.document(doc_id) if doc_id else None
        if not found or idx in (None, ""):
            return ""
        d, sections = found
        i = int(idx)
        return section_html(d, sections[i], (q or "").strip(), target) if 0 <= i < len(sections) else ""

    def step(doc_id: str, idx: str, delta: int) -> Any:
        """Move to the previous or next section."""
        found = ctx.document(doc_id) if doc_id else None
        if not found or idx in (None, ""):
            return gr.skip()
        i = min(max(0, int(idx) + delta), len(found[1]) - 1)
        return str(i)

    return choose_doc, show_section, step


def document_search(ctx: AppContext) -> Callable[[str, str], Any]:
    """The handler that finds a term in the chosen document."""

    def search(doc_id: str, q: str) -> Any:
        """Find a term in the document; list the sections it occurs in."""
        found = ctx.document(doc_id) if doc_id else None
        q = (q or "").strip()
        if not found or not q:
            return gr.update(choices=[], value=None, visible=False)
        d, sections = found
        results = search_document(d, sections, q)
        if not results:
            inform(f"本文件中没有找到“{esc(q)}”。")  # toasts render HTML
            return gr.update(choices=[], value=None, visible=False)
        grouped: dict[int | None, list[tuple[int, str]]] = {}
        for sec_i, pos, snippet in results:
            grouped.setdefault(sec_i, []).append((pos, snippet))
        choices = []
        for sec_i, found_here in grouped.items():
            head = sections[sec_i].heading.strip() if sec_i is not None else "（正文）"
            more = f"（{len(found_here)} 处）" if len(found_here) > 1 else ""
            key = f"{sec_i if sec_i is not None else ''}:{found_here[0][0]}"
            choices.append((f"{head}{more}：{found_here[0][1]}", key))
        label = f"搜索结果：{len(results)} 处，分布在 {len(grouped)} 个章节"
        if len(results) >= MAX_SEARCH_HITS:
            label += f"（仅统计前 {MAX_SEARCH_HITS} 处）"
        return gr.update(choices=choices, value=None, visible=True, label=label)

    return search


def target_opener(ctx: AppContext) -> Callable[[Any], tuple]:
    """The handler that opens the section holding a register row's passage (called by the app's wiring)."""

    def open_target(target: Any) -> tuple:
        """Open the document section holding an obligation's passage (from the 义务与期限 tab)."""
        if not target:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        doc_id, pos = target[0], target[1]
        found = ctx.document(doc_id)
        if not found:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        d, sections = found
        i = section_at(sections, int(pos))
        choices = [(section_label(s), str(j)) for j, s in enumerate(sections)]
        value = str(i) if i is not None else None
        body_html = section_html(d, sections[i], focus=tuple(target)) if i is not None else ""
        return (gr.Tabs(selected="docs"), doc_id, gr.update(choices=choices, value=value), body_html,
                tuple(target))

    return open_target


def wire_documents(view: DocumentsView, choose_doc: Callable[..., tuple], show_section: Callable[..., str],
                   step: Callable[..., Any], search: Callable[[str, str], Any]) -> None:
    """Choose, read, step and search; a search hit opens its section with the occurrence marked."""
    doc, section, term, hits, body, focus = view.doc, view.section, view.term, view.hits, view.body, view.focus
    doc.change(fn=choose_doc, inputs=[doc, focus], outputs=[section, body, hits, term],
               api_visibility="undocumented")
    section.change(fn=show_section, inputs=[doc, section, term, focus], outputs=[body], api_name="section")
    view.prev_btn.click(fn=lambda d, i: step(d, i, -1), inputs=[doc, section], outputs=[section],
                        api_visibility="undocumented")
    view.next_btn.click(fn=lambda d, i: step(d, i, 1), inputs=[doc, section], outputs=[section],
                        api_visibility="undocumented")
    gr.on(triggers=[view.find.click, term.submit], fn=search, inputs=[doc, term], outputs=[hits],
          api_visibility="undocumented")
    hits.change(fn=lambda d, c, q: (open_hit(c), hit_focus(d, c, q)), inputs=[doc, hits, term],
                outputs=[section, focus], api_visibility="undocumented")
    # a selected section equal to the current one does not fire .change: render explicitly after a hit
    hits.select(fn=lambda d, c, q: show_section(d, open_hit(c), q, hit_focus(d, c, q)) if c else gr.skip(),
                inputs=[doc, hits, term], outputs=[body], api_visibility="undocumented")


def build_documents_tab(ctx: AppContext, ui: Any) -> None:
    """文档: browse each document by its section tree, read a section, search within a document."""
    view = documents_layout()
    choose_doc, show_section, step = section_reader(ctx)
    wire_documents(view, choose_doc, show_section, step, document_search(ctx))
    ui.doc_select, ui.doc_section, ui.doc_body, ui.doc_focus = view.doc, view.section, view.body, view.focus
    ui.open_target = target_opener(ctx)
