"""The Gradio web app: 问答 with cited sources, 义务与期限, 文档, and (with a password) 管理.

Everything a user or a document contributes to the page is shown as text: it is HTML-escaped before it
goes into any HTML we build (the plan holds literal ``<p>`` tags, a question may hold ``<script>``).
The page loads nothing from outside the machine (no web fonts, no CDN; analytics are off in
indexing.config).

The app starts serving at once; a background thread opens the index (building it first when it is
missing) and the page shows the progress until it is ready. Tabs are built by small functions that
take an `AppContext`; `public_tabs` lists them, which is where a new tab (the 测验 tab) goes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
import logging
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

# isort: off
from indexing.config import Settings  # first: it sets the offline environment that gradio reads
import gradio as gr

# isort: on
from starlette.middleware import Middleware

from kb.inputs import UnknownFilterError
from kb.register.parties import register_party_views
from kb.textclean import clean_question, clean_text
from kb.web.api import register_api
from kb.web.guard import ExportJanitor, LoginThrottle, UploadGuard, WebLimits
from kb.web.tabs.register import (
    BINDING_LEGEND,
    FOCUS_JS,
    LABEL_CELLS_JS,
    REGISTER_CSS,
    apply_filters,
    focus_html,
    focus_in,
    narrowed_choices,
    party_cell,
    party_choices,
    party_detail_html,
    place_choices,
    question_problem,
)
from kb.web.tabs.roles import ROLES_CSS

log = logging.getLogger(__name__)

ALL = "全部"
# The obligations filters when nothing is chosen (text, year, due before, party, domain, document, binding,
# dated only, place): what the page opens with and what 重置 restores.
OB_FILTER_DEFAULTS = ("", ALL, "", ALL, ALL, "", ALL, True, ALL)
ALLOWED_UPLOADS = (".txt", ".md", ".pdf")
UPLOAD_SUBDIR = "uploads"
STREAM_STEP_CHARS = 6  # characters per streamed piece of an extractive answer
STREAM_STEP_S = 0.01
STREAM_MAX_STEPS = 40  # a long answer streams in bigger pieces, so that streaming takes under a second
READY_WAIT_S = 1800.0  # how long a question waits for the first index build
MAX_SEARCH_HITS = 60
QUEUE_MAX_SIZE = 256  # questions and other queued events waiting at once, all clients together
OB_HEADERS = ["年份", "期限", "截止日期", "责任主体", "领域", "文件", "内容"]

EXAMPLES: dict[str, list[str]] = {
    "政府官员": [
        "2017年底前要完成哪些任务？",
        "到2020年北疆未达标城市细颗粒物年均浓度要下降多少？",
        "乌鲁木齐市建成区黑臭水体治理要在什么时候完成？",
    ],
    "培训讲师": [
        "秸秆收集利用率要在哪年达到多少？",
        "建设项目环境影响报告书应当包括哪些内容？",
        "排污许可证的有效期是多久？",
    ],
    "公众": [
        "发现污染环境的行为可以向哪里举报？",
        "饮用水水源保护区内禁止哪些行为？",
        "夜间施工噪声有什么规定？",
    ],
}

CSS = """
.gradio-container { width: 100% !important; max-width: 1100px !important; margin: 0 auto; }
#kb-title h1 { font-size: 1.35rem; margin: 0.2rem 0; }
#kb-title p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.9rem; }
.kb-status { padding: 0.5rem 0.75rem; border-radius: 6px; background: #fff7e6; border: 1px solid #f0c36d;
  color: #6b4a00; font-size: 0.92rem; }
.kb-status.kb-error { background: #fdecea; border-color: #e57373; color: #8a1f11; }
.kb-q, .kb-a { white-space: normal; word-break: break-word; }
.kb-a .kb-text { line-height: 1.65; }
.kb-a .kb-note { color: var(--body-text-color-subdued); font-size: 0.85rem; margin-bottom: 0.3rem; }
.kb-a .kb-wait { color: var(--body-text-color-subdued); }
.kb-cite { color: #1f5fa8; font-weight: 600; font-size: 0.85em; }
.kb-sources { margin-top: 0.6rem; display: flex; flex-direction: column; gap: 0.45rem; }
.kb-sources-h { font-weight: 600; font-size: 0.9rem; }
.kb-card { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.45rem 0.6rem;
  background: var(--background-fill-secondary); font-size: 0.88rem; }
.kb-card-h { font-weight: 600; cursor: pointer; }
details.kb-card > summary { list-style-position: inside; }
details.kb-card:not([open]) > summary { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.kb-card-n { display: inline-block; min-width: 1.8em; color: #1f5fa8; }
.kb-card-sec { font-weight: normal; color: var(--body-text-color-subdued); }
.kb-card-path, .kb-card-loc { color: var(--body-text-color-subdued); font-size: 0.82rem; margin-top: 0.1rem; }
.kb-passage { margin-top: 0.3rem; line-height: 1.6; max-height: 16rem; overflow-y: auto; }
.kb-passage mark, .kb-section mark, .kb-hits mark { background: #ffe58f; color: inherit; padding: 0 1px; }
.kb-timeline { display: flex; flex-direction: column; gap: 3px; font-size: 0.85rem; }
.kb-tl-row { display: flex; align-items: center; gap: 0.4rem; }
.kb-tl-year { width: 4.6em; text-align: right; flex: none; }
.kb-tl-bar { height: 0.9rem; background: #4a8fd8; border-radius: 2px; min-width: 2px; }
.kb-tl-n { color: var(--body-text-color-subdued); }
.kb-tl-undated { margin-top: 0.3rem; color: var(--body-text-color-subdued); }
#ob-table { max-width: 100%; overflow-x: auto; }
.kb-section { white-space: pre-wrap; line-height: 1.7; word-break: break-word; }
.kb-section-h { font-weight: 600; margin-bottom: 0.2rem; }
.kb-section-path { color: var(--body-text-color-subdued); font-size: 0.85rem; margin-bottom: 0.4rem; }
.kb-hits { display: flex; flex-direction: column; gap: 0.35rem; font-size: 0.88rem; }
.kb-hit-h { font-weight: 600; }
.kb-ob { line-height: 1.65; }
.kb-ob dt { font-weight: 600; float: left; clear: left; width: 5.5em; }
.kb-ob dd { margin-left: 6em; }
.kb-stats table { border-collapse: collapse; font-size: 0.88rem; }
.kb-stats td, .kb-stats th { border: 1px solid var(--border-color-primary); padding: 2px 8px; text-align: left; }
@media (max-width: 640px) {
  .gradio-container { padding: 0 6px !important; }
  #kb-title h1 { font-size: 1.1rem; }
  .kb-ob dt { float: none; width: auto; }
  .kb-ob dd { margin-left: 0; }
}
"""

# Copies the plain-text answer with its sources; navigator.clipboard needs a secure context
# (localhost is one), so a hidden textarea is the fallback elsewhere.
COPY_JS = """
(text) => {
  if (!text) { return text; }
  const fallback = () => {
    const ta = document.createElement('textarea');
    ta.value = text; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } catch (e) {}
    document.body.removeChild(ta);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).catch(fallback);
  } else { fallback(); }
  return text;
}
"""


# Keeps the newest question at the top of the chat while its answer streams in below it (the chatbot's own
# autoscroll would jump to the bottom of the source cards and hide the answer on small screens), and the
# question inside the window (on a phone the page is scrolled down to the question box).
PAGE_JS = """
() => {
  let seen = 0;
  const follow = () => {
    const asked = document.querySelectorAll('#kb-chat [data-testid=user]');
    if (asked.length < seen) { seen = asked.length; }
    if (asked.length === seen) { return; }
    seen = asked.length;
    const last = asked[asked.length - 1];
    const box = last.closest('[role=log]');
    if (box) {
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
    const top = last.getBoundingClientRect().top;  // on a phone the chat itself may be above the window
    if (top < 0 || top > window.innerHeight - 80) { window.scrollBy(0, top - 8); }
  };
  new MutationObserver(follow).observe(document.body, {childList: true, subtree: true});
}
"""


# --- text to safe HTML --------------------------------------------------------------------------


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


def stream_pieces(text: str, step: int = STREAM_STEP_CHARS) -> Iterator[str]:
    """Growing prefixes of ``text``, ``step`` characters at a time (the last one is the whole text)."""
    for end in range(step, len(text), step):
        yield text[:end]
    yield text


# --- uploads --------------------------------------------------------------------------------------


class UploadRejected(ValueError):
    """An uploaded file that may not enter the corpus; the message is Chinese and shown to the admin."""


_UNSAFE_CHARS = re.compile(r"[^\w\-]+")


def safe_upload_name(name: str) -> str:
    """A safe file name for an upload: the last path component, NFKC, only word characters and '-'.

    "../../etc/passwd.md" -> "passwd.md"; "<script>报告.md" -> "script_报告.md". Raises UploadRejected for a
    type other than txt, md or pdf.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    dot = base.rfind(".")
    stem, ext = (base[:dot], base[dot:].lower()) if dot >= 0 else (base, "")
    if ext not in ALLOWED_UPLOADS:
        raise UploadRejected(f"不支持的文件类型“{ext or '无扩展名'}”，只接受 txt、md、pdf。")
    stem = _UNSAFE_CHARS.sub("_", stem).strip("._-")[:80] or "upload"
    return stem + ext


def check_upload(path: Path, max_mb: int) -> None:
    """Reject an empty, oversized, or mislabelled file (a PDF must look like one; text must not be binary)."""
    size = path.stat().st_size
    if size == 0:
        raise UploadRejected("文件为空。")
    if size > max_mb * 1024 * 1024:
        raise UploadRejected(f"文件过大（{size / 1024 / 1024:.1f} MB），上限为 {max_mb} MB。")
    with path.open("rb") as fh:
        head = fh.read(8192)
    if path.suffix.lower() == ".pdf":
        if not head.startswith(b"%PDF-"):
            raise UploadRejected("文件扩展名为 .pdf，但内容不是 PDF。")
    elif b"\x00" in head:
        raise UploadRejected("文件扩展名为文本，但内容是二进制数据。")


def save_upload(src: Path, original_name: str, corpus_dir: Path, max_mb: int) -> Path:
    """Check an upload and copy it into ``corpus_dir/uploads`` under a sanitised, unused name."""
    name = safe_upload_name(original_name)
    check_upload(src, max_mb)
    folder = (corpus_dir / UPLOAD_SUBDIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stem, ext = os.path.splitext(name)
    target = folder / name
    n = 2
    while target.exists():
        target = folder / f"{stem}-{n}{ext}"
        n += 1
    if not target.resolve().is_relative_to(corpus_dir.resolve()):  # defence in depth; cannot happen
        raise UploadRejected("文件名不安全。")
    tmp = folder / f".{uuid.uuid4().hex}.part"
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def validate_document(path: Path, corpus_dir: Path) -> str:
    """Load a saved upload with the corpus loader; returns its title or raises UploadRejected."""
    from indexing.loaders import LoadError, load_document

    try:
        doc = load_document(path, corpus_dir, None)
    except LoadError as e:
        raise UploadRejected(getattr(e, "reason", "") or str(e)) from e
    if not doc.text.strip():
        raise UploadRejected("文件中没有可提取的文字。")
    return doc.title


def password_ok(given: str | None, expected: str) -> bool:
    """Constant-time password check; an empty expected password never matches."""
    if not expected:
        return False
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


# --- obligations ----------------------------------------------------------------------------------


def short_title(title: str) -> str:
    """A document title shortened for narrow table cells (中华人民共和国 dropped, 新疆维吾尔自治区 -> 新疆)."""
    return (title or "").replace("中华人民共和国", "").replace("新疆维吾尔自治区", "新疆") or title


def ob_row(ob: Any, party: str | None = None) -> list[str]:
    """One table row of an obligation (OB_HEADERS order); ``party`` replaces the verbatim party cell."""
    return [
        str(ob.year) if ob.year else "",
        ob.deadline_text or "",
        ob.deadline_date or "",
        (ob.party or "") if party is None else party,
        ob.domain or "",
        short_title(ob.title),
        ob.action or "",
    ]


def timeline_html(obligations: list[Any]) -> str:
    """Counts of obligations per deadline year as horizontal bars, and the number without a year."""
    counts: dict[int, int] = {}
    undated = 0
    for ob in obligations:
        if ob.year:
            counts[int(ob.year)] = counts.get(int(ob.year), 0) + 1
        else:
            undated += 1
    if not counts and not undated:
        return '<div class="kb-timeline">没有符合条件的义务。</div>'
    top = max(counts.values(), default=1)
    rows = []
    for year in sorted(counts):
        width = max(1.0, 100.0 * counts[year] / top)
        rows.append(
            f'<div class="kb-tl-row"><span class="kb-tl-year">{year}</span>'
            f'<span class="kb-tl-bar" style="width:{width:.0f}%"></span>'
            f'<span class="kb-tl-n">{counts[year]}</span></div>'
        )
    if undated:
        rows.append(f'<div class="kb-tl-undated">另有 <span class="kb-tl-n">{undated}</span> 条未规定年份</div>')
    return f'<div class="kb-timeline" aria-label="按年份统计">{"".join(rows)}</div>'


def obligation_detail_html(ob: Any) -> str:
    """The source passage of one obligation, with its action marked, and its fields."""
    passage = ob.passage or ob.action or ""
    i = passage.find(ob.action) if ob.action else -1
    span = (i, i + len(ob.action)) if i >= 0 else None
    fields = [
        ("文件", ob.title),
        ("章节", ob.section),
        ("条款", getattr(ob, "article", None) or ""),
        ("期限", " ".join(x for x in (ob.deadline_text, f"（{ob.deadline_date}）" if ob.deadline_date else "") if x)),
        ("责任主体", ob.party),
        ("领域", ob.domain),
        ("约束性", getattr(ob, "binding", "") or ""),
    ]
    target = getattr(ob, "target", None)
    if target is not None:
        fields.append(("目标", f"{target.indicator} {target.comparator}{target.value}{target.unit}".strip()))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in fields if v)
    return (
        f'<div class="kb-ob"><dl>{dl}</dl><div class="kb-card"><div class="kb-card-h">原文</div>'
        f'<div class="kb-passage">{highlight_html(passage, span)}</div></div></div>'
    )


def obligations_csv(obligations: list[Any]) -> str:
    """CSV of obligations (kb.register.export.to_csv when present, else the table columns)."""
    try:
        from kb.register.export import to_csv

        return to_csv(obligations)
    except ImportError:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(OB_HEADERS)
        writer.writerows(ob_row(ob) for ob in obligations)
        return buf.getvalue()


def obligations_ics(obligations: list[Any]) -> str:
    """iCalendar (RFC 5545) of the obligations that have a deadline (kb.register.export.to_ics)."""
    from kb.register.export import to_ics

    return to_ics(obligations)


# --- documents ------------------------------------------------------------------------------------


def section_label(section: Any) -> str:
    """A section's heading indented by its level, for the section list."""
    return "\u3000" * max(0, int(section.level) - 1) + section.heading.strip()


def section_at(sections: list[Any], pos: int) -> int | None:
    """Index of the deepest section whose span holds ``pos``."""
    best: int | None = None
    for i, s in enumerate(sections):
        if s.start <= pos < s.end and (best is None or s.level >= sections[best].level):
            best = i
    return best


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
        f'<div class="kb-section-h">{esc(doc.title)}</div>'
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


# --- the application context -----------------------------------------------------------------------


def _new_export_dir() -> Path:
    """A private folder for exports inside gradio's file cache (served from there without a copy)."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="kb-export-", dir=cache))


@dataclass
class AppContext:
    """What every tab needs: settings, the knowledge base, readiness, caches, and an export folder."""

    settings: Settings
    kb: Any  # kb.service.KnowledgeBase
    ready: threading.Event = field(default_factory=threading.Event)
    status: str = "正在启动……"
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    export_dir: Path = field(default_factory=lambda: _new_export_dir())
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    limits: WebLimits = field(default_factory=WebLimits)
    login_throttle: LoginThrottle = field(init=False)
    janitor: ExportJanitor = field(init=False)
    _docs: list[tuple[Any, list[Any]]] | None = None
    _docs_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.login_throttle = LoginThrottle(self.limits)
        self.janitor = ExportJanitor(self.export_dir, self.limits)

    def set_status(self, message: str) -> None:
        """Record (and print) a progress message shown on the page until the index is ready."""
        self.status = message
        print(message, flush=True)

    def documents(self) -> list[tuple[Any, list[Any]]]:
        """The parsed corpus documents with their section trees (loaded once)."""
        with self._docs_lock:
            if self._docs is None:
                from indexing.build import load_corpus

                warnings: list[str] = []
                self._docs = load_corpus(self.settings, warnings)
                for w in warnings:
                    log.warning("%s", w)
            return self._docs

    def document(self, doc_id: str) -> tuple[Any, list[Any]] | None:
        """One document and its sections by id."""
        for doc, sections in self.documents():
            if doc.doc_id == doc_id:
                return doc, sections
        return None

    def obligations(self, **filters: Any) -> list[Any]:
        """The register, filtered with kb.register.query.query."""
        from kb.register.query import query

        return list(query(self.kb.register, **filters))

    def reset_caches(self) -> None:
        """Forget the parsed documents (after a re-index)."""
        with self._docs_lock:
            self._docs = None

    def warm_up(self) -> None:
        """Open the index (building it when missing), load the register and documents, run one query."""
        try:
            self.set_status("正在加载嵌入模型……")
            _ = self.kb.embeddings
            self.set_status("正在打开索引（如索引不存在将先建立索引，首次运行需要几分钟）……")
            self.kb.open()
            self.set_status("正在载入义务清单与文档……")
            _ = self.kb.register
            self.documents()
            self.kb.ask("秸秆收集利用率")
            self.status = "就绪"
            print(f"知识库已就绪（{time.monotonic() - self.started:.1f} 秒）。", flush=True)
        except Exception as e:  # shown on the page; the server keeps running
            log.exception("warm-up failed")
            self.error = f"索引加载失败：{type(e).__name__}: {e}"
            self.status = self.error
        finally:
            self.ready.set()

    def start_warm_up(self) -> threading.Thread:
        """Run `warm_up` in a daemon thread."""
        thread = threading.Thread(target=self.warm_up, name="kb-warm-up", daemon=True)
        thread.start()
        return thread

    def status_text(self) -> str:
        """The current progress message with the time spent so far."""
        if self.error or self.ready.is_set():
            return self.status
        return f"{self.status}（已用时 {int(time.monotonic() - self.started)} 秒）"

    def status_html(self) -> str:
        """The progress banner ("" once ready without error)."""
        if self.ready.is_set() and not self.error:
            return ""
        cls = "kb-status kb-error" if self.error else "kb-status"
        return f'<div class="{cls}">{esc(self.status_text())}</div>'

    def export_file(self, name: str, content: str) -> str:
        """Write an export into a fresh sub-folder (so that concurrent users never share a file)."""
        self.janitor.sweep()
        folder = self.export_dir / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(content, encoding="utf-8")
        return str(path)

    def cached_export(self, name: str, obligations: list[Any], render: Callable[[list[Any]], str]) -> str:
        """The export of exactly these obligations, written once and then reused (the files never change)."""
        ids = "\n".join(ob.ob_id for ob in obligations)
        key = hashlib.sha1(f"{name}\n{id(self.kb.register)}\n{ids}".encode()).hexdigest()[:16]
        path = self.export_dir / key / name
        if not path.exists():
            self.janitor.sweep()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{uuid.uuid4().hex}.part")
            tmp.write_text(render(obligations), encoding="utf-8")
            os.replace(tmp, path)
        return str(path)


# --- tabs -----------------------------------------------------------------------------------------

TabBuilder = Callable[[AppContext, Any], None]


def build_chat_tab(ctx: AppContext, ui: Any) -> None:
    """问答: streamed answers with numbered source cards, examples per user group, copy and clear."""
    chatbot = gr.Chatbot(
        label="问答",
        show_label=False,
        elem_id="kb-chat",
        height=600,
        autoscroll=False,  # PAGE_JS scrolls the new question to the top instead
        latex_delimiters=[],
        sanitize_html=True,
        render_markdown=True,
        buttons=[],
        feedback_options=None,
        placeholder="请输入关于新疆环境保护“十三五”规划或相关法律法规的问题。回答只引用原文，并列出来源。",
    )
    questions = gr.State([])
    with gr.Row(equal_height=True):
        msg = gr.Textbox(
            show_label=False,
            placeholder="例如：秸秆收集利用率要在哪年达到多少？",
            lines=1,
            max_lines=4,
            scale=5,
            elem_id="kb-question",
            autofocus=True,
        )
        send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="kb-send")
    with gr.Row():
        copy_btn = gr.Button("复制回答及来源", size="sm", min_width=130, elem_id="kb-copy")
        clear_btn = gr.Button("清空对话", size="sm", min_width=130, elem_id="kb-clear")
    copy_text = gr.Textbox(visible="hidden", elem_id="kb-copy-text")
    with gr.Accordion("检索范围", open=False):
        # Choices arrive when the index is ready; a value sent through the API is checked in respond().
        scope = gr.Dropdown(choices=[(ALL, "")], value="", label="只在以下文件中检索", allow_custom_value=True,
                            elem_id="kb-scope")
    ui.scope = scope
    datasets = []
    with gr.Accordion("示例问题（点击即提问）", open=True, elem_id="kb-examples"), gr.Row():
        for group, items in EXAMPLES.items():
            datasets.append(
                gr.Dataset(
                    components=[msg],
                    samples=[[q] for q in items],
                    label=group,
                    type="values",
                    layout="table",
                    min_width=240,
                    elem_classes=["kb-examples"],
                )
            )

    def respond(
        message: str, history: list[dict], asked: list[str], doc_id: str
    ) -> Iterator[tuple[list[dict], list[str], str, str]]:
        """Answer one question, streaming the text, then the source cards."""
        problem = question_problem(message, ctx.settings.max_question_chars)
        if problem:  # nothing is asked; the text stays in the box to be shortened
            gr.Warning(problem)
            yield history, asked, gr.skip(), gr.skip()
            return
        message = clean_question(message or "") or clean_text(message or "").strip()
        if not message:
            yield history, asked, "", gr.skip()
            return
        history = [*history, {"role": "user", "content": question_html(message)}]
        history.append({"role": "assistant", "content": wait_html("正在检索……")})
        yield history, asked, "", gr.skip()
        deadline = time.monotonic() + READY_WAIT_S
        while not ctx.ready.wait(1.0):
            history[-1]["content"] = wait_html(f"索引准备中，请稍候。{ctx.status_text()}")
            yield history, asked, "", gr.skip()
            if time.monotonic() > deadline:
                break
        if ctx.error or not ctx.ready.is_set():
            history[-1]["content"] = answer_html(ctx.error or "索引尚未就绪，请稍后再试。")
            yield history, asked, "", gr.skip()
            return
        try:
            filters = ctx.kb.filters(doc_ids=[doc_id]) if doc_id else None
        except UnknownFilterError as e:  # a document id the index does not hold (sent through the API)
            history[-1]["content"] = answer_html(f"检索范围有误：{e}")
            yield history, asked, "", gr.skip()
            return
        ans = None
        pieces: list[str] = []
        try:  # the service calls the LLM (when configured) once, streaming its unverified text first
            for item in ctx.kb.ask_stream(message, k=5, filters=filters, history=list(asked)):
                if isinstance(item, str):
                    pieces.append(item)
                    history[-1]["content"] = answer_html("".join(pieces))
                    yield history, asked, "", gr.skip()
                else:
                    ans = item
        except Exception as e:  # a failed question must not break the chat
            log.exception("question failed")
            history[-1]["content"] = answer_html(f"处理问题时出错（{type(e).__name__}），请换个说法再试。")
            yield history, asked, "", gr.skip()
            return
        resolved = getattr(ans, "resolved_question", None)
        note = f"理解为：{resolved}" if resolved and resolved != message else ""
        final_text = ans.answer
        streamed = bool(pieces)
        if not streamed:
            step = max(STREAM_STEP_CHARS, -(-len(final_text) // STREAM_MAX_STEPS))
            for part in stream_pieces(final_text, step):
                history[-1]["content"] = answer_html(part, note=note)
                yield history, asked, "", gr.skip()
                time.sleep(STREAM_STEP_S)
        history[-1]["content"] = answer_html(final_text, ans.citations, ans.abstained, note=note)
        if ans.route != "invalid":  # an empty or unreadable question is no context for a follow-up
            asked = [*asked, resolved or message]
        plain = answer_plain_text(message, final_text, ans.citations, ans.abstained)
        yield history, asked, "", plain

    ask_event = gr.on(
        triggers=[msg.submit, send.click],
        fn=respond,
        inputs=[msg, chatbot, questions, scope],
        outputs=[chatbot, questions, msg, copy_text],
        concurrency_id="ask",
        concurrency_limit=4,
        show_progress="hidden",
        api_name="chat",  # the streamed chat (HTML); the JSON answer is the "ask" endpoint of kb.web.api
        api_visibility="undocumented",
    )

    for ds in datasets:
        ds.click(
            fn=lambda sample: sample[0] if sample else "", inputs=[ds], outputs=[msg], show_progress="hidden",
            api_visibility="undocumented",
        ).then(
            fn=respond,
            inputs=[msg, chatbot, questions, scope],
            outputs=[chatbot, questions, msg, copy_text],
            concurrency_id="ask",
            concurrency_limit=4,
            show_progress="hidden",
            api_visibility="undocumented",
        )

    copy_btn.click(fn=None, inputs=[copy_text], outputs=None, js=COPY_JS).then(
        fn=lambda t: gr.Info("已复制回答及来源。") if t else gr.Warning("还没有可复制的回答。"),
        inputs=[copy_text],
        outputs=None,
        api_visibility="undocumented",
    )
    clear_btn.click(
        fn=lambda: ([], [], "", ""),
        outputs=[chatbot, questions, msg, copy_text],
        cancels=[ask_event],
        api_visibility="undocumented",
    )
    # the chatbot's own trash button clears the messages; forget the follow-up history with them
    chatbot.clear(fn=lambda: ([], ""), outputs=[questions, copy_text], api_visibility="undocumented")


def build_obligations_tab(ctx: AppContext, ui: Any) -> None:
    """义务与期限: the searchable, filterable register with a timeline, source passages and exports."""
    with gr.Row():
        text = gr.Textbox(label="搜索", placeholder="关键词，如：黑臭水体、排污许可", scale=3, elem_id="ob-text")
        year = gr.Dropdown(choices=[ALL], value=ALL, label="年份", scale=1, min_width=110, elem_id="ob-year")
        due = gr.Textbox(label="截止于（含）之前", placeholder="YYYY-MM-DD", scale=1, min_width=130, elem_id="ob-due")
    with gr.Row():
        party = gr.Dropdown(choices=[ALL], value=ALL, label="责任主体", elem_id="ob-party")
        place = gr.Dropdown(choices=[ALL], value=ALL, label="地点", elem_id="ob-place")
        domain = gr.Dropdown(choices=[ALL], value=ALL, label="领域", elem_id="ob-domain")
        doc = gr.Dropdown(choices=[(ALL, "")], value="", label="文件", elem_id="ob-doc")
        binding = gr.Dropdown(choices=[ALL, "约束性", "预期性"], value=ALL, label="约束性", elem_id="ob-binding",
                              info="约束性：必须完成的硬指标；预期性：努力争取的目标")
    dated = gr.Checkbox(value=True, label="只看有明确期限的义务", elem_id="ob-dated")
    gr.Markdown(BINDING_LEGEND, elem_id="ob-legend")
    with gr.Row():
        search = gr.Button("查询", variant="primary", size="sm", min_width=130, elem_id="ob-search")
        reset = gr.Button("重置", size="sm", min_width=130, elem_id="ob-reset")
        csv_btn = gr.DownloadButton("导出 CSV", size="sm", min_width=130, elem_id="ob-csv")
        ics_btn = gr.DownloadButton("导出日历（ICS）", size="sm", min_width=130, elem_id="ob-ics")
    summary = gr.Markdown(elem_id="ob-summary")
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            table = gr.Dataframe(
                headers=OB_HEADERS,
                datatype="str",
                interactive=False,
                wrap=True,
                max_height=520,
                column_widths=["7%", "12%", "11%", "14%", "8%", "14%", "34%"],
                elem_id="ob-table",
                label="义务清单（点击一行查看原文）",
            )
            detail = gr.HTML(elem_id="ob-detail")  # right after the table, so that on a phone it follows the row
        with gr.Column(scale=1, min_width=180):
            gr.Markdown("**按年份统计**")
            timeline = gr.HTML(elem_id="ob-timeline")
    ids = gr.State([])
    inputs = [text, year, due, party, domain, doc, binding, dated, place]

    def run(q: str, y: str, due_before: str, p: str, dom: str, doc_id: str, bind: str, only_dated: bool,
            pl: str = ALL) -> tuple:
        """Filter the register and refresh the table, timeline and export files."""
        if not ctx.ready.is_set() or ctx.error:
            return [], "", "索引准备中……", [], gr.skip(), gr.skip(), "", gr.Button(visible=False)
        due_before = (due_before or "").strip()
        if due_before and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", due_before):
            gr.Warning("截止日期格式应为 YYYY-MM-DD，例如 2017-12-31。")
            due_before = ""
        if re.fullmatch(r"\d{4}", due_before):
            due_before += "-12-31"
        elif re.fullmatch(r"\d{4}-\d{2}", due_before):
            due_before += "-31"
        if due_before:
            try:
                date.fromisoformat(due_before)
            except ValueError:
                gr.Warning(f"无效的日期：{esc(due_before)}")
                due_before = ""
        obs = ctx.obligations(
            due_before=due_before or None,
            year=int(y) if y and y != ALL and y.isdigit() else None,
            doc=doc_id or None,
            domain=dom if dom and dom != ALL else None,
            text=(q or "").strip() or None,
            binding=bind if bind and bind != ALL else None,
        )
        views = register_party_views(ctx.kb.register)
        obs = apply_filters(obs, views, p, pl)
        dated_obs = [ob for ob in obs if ob.deadline_date]
        if only_dated:
            info = f"共 **{len(dated_obs)}** 条有明确期限的义务"
            if len(obs) > len(dated_obs):
                info += f"（另有 {len(obs) - len(dated_obs)} 条未规定期限，取消勾选“只看有明确期限的义务”即可查看）"
            obs = dated_obs
        else:
            info = f"共 **{len(obs)}** 条义务，其中 {len(dated_obs)} 条有明确期限。"
        csv_path = ctx.cached_export("义务与期限.csv", obs, obligations_csv)
        ics_path = ctx.cached_export("义务与期限.ics", obs, obligations_ics)
        rows, ob_ids = [ob_row(ob, party_cell(ob, views)) for ob in obs], [ob.ob_id for ob in obs]
        return rows, timeline_html(obs), info, ob_ids, csv_path, ics_path, "", gr.Button(visible=False)

    target = gr.State(None)
    open_btn = gr.Button("在文档中打开此处", size="sm", visible=False, elem_id="ob-open")
    outputs = [table, timeline, summary, ids, csv_btn, ics_btn, detail, open_btn]
    gr.on(
        triggers=[search.click, text.submit, due.submit, year.change, party.change, domain.change, doc.change,
                  binding.change, dated.change, place.change],
        fn=run,
        inputs=inputs,
        outputs=outputs,
        show_progress="minimal",
        api_visibility="private",  # UI updates only; the JSON endpoint is kb.web.api's "obligations"
    )
    reset.click(
        fn=lambda: OB_FILTER_DEFAULTS, outputs=inputs, api_visibility="undocumented"
    ).then(fn=run, inputs=inputs, outputs=outputs, api_visibility="undocumented")

    def show(ob_ids: list[str], evt: gr.SelectData) -> tuple[str, Any, Any]:
        """Show the source passage of the selected row."""
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        hidden = gr.Button(visible=False)
        if not isinstance(row, int) or not 0 <= row < len(ob_ids):
            return "", None, hidden
        for ob in ctx.obligations():
            if ob.ob_id == ob_ids[row]:
                views = register_party_views(ctx.kb.register)
                return (obligation_detail_html(ob) + party_detail_html(ob, views), (ob.doc_id, ob.start, ob.end),
                        gr.Button(visible=True))
        return "", None, hidden

    table.select(fn=show, inputs=[ids], outputs=[detail, target, open_btn], api_visibility="undocumented").then(
        fn=None, js="() => document.querySelector('#ob-detail')?.scrollIntoView({block: 'start'})")

    def narrow(y: str, dom: str, doc_id: str, p: str, pl: str) -> tuple:
        """Party and place choices with counts under the year, domain and document filters."""
        if not ctx.ready.is_set() or ctx.error:
            return gr.skip(), gr.skip()
        obs = ctx.obligations(year=int(y) if y and y != ALL and y.isdigit() else None, doc=doc_id or None,
                              domain=dom if dom and dom != ALL else None)
        return narrowed_choices(obs, register_party_views(ctx.kb.register), p, pl)

    gr.on(triggers=[year.change, domain.change, doc.change], fn=narrow, inputs=[year, domain, doc, party, place],
          outputs=[party, place], show_progress="hidden", api_visibility="undocumented")
    ui.ob_inputs, ui.ob_outputs, ui.ob_run = inputs, outputs, run
    ui.ob_year, ui.ob_party, ui.ob_domain, ui.ob_doc, ui.ob_place = year, party, domain, doc, place
    ui.ob_target, ui.ob_open = target, open_btn


def build_documents_tab(ctx: AppContext, ui: Any) -> None:
    """文档: browse each document by its section tree, read a section, search within a document."""
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

    def search(doc_id: str, q: str) -> Any:
        """Find a term in the document; list the sections it occurs in."""
        found = ctx.document(doc_id) if doc_id else None
        q = (q or "").strip()
        if not found or not q:
            return gr.update(choices=[], value=None, visible=False)
        d, sections = found
        results = search_document(d, sections, q)
        if not results:
            gr.Info(f"本文件中没有找到“{esc(q)}”。")  # toasts render HTML
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

    doc.change(fn=choose_doc, inputs=[doc, focus], outputs=[section, body, hits, term],
               api_visibility="undocumented")
    section.change(fn=show_section, inputs=[doc, section, term, focus], outputs=[body], api_name="section")
    prev_btn.click(fn=lambda d, i: step(d, i, -1), inputs=[doc, section], outputs=[section],
                   api_visibility="undocumented")
    next_btn.click(fn=lambda d, i: step(d, i, 1), inputs=[doc, section], outputs=[section],
                   api_visibility="undocumented")
    gr.on(triggers=[find.click, term.submit], fn=search, inputs=[doc, term], outputs=[hits],
          api_visibility="undocumented")
    hits.change(fn=lambda d, c, q: (open_hit(c), hit_focus(d, c, q)), inputs=[doc, hits, term],
                outputs=[section, focus], api_visibility="undocumented")
    # a selected section equal to the current one does not fire .change: render explicitly after a hit
    hits.select(fn=lambda d, c, q: show_section(d, open_hit(c), q, hit_focus(d, c, q)) if c else gr.skip(),
                inputs=[doc, hits, term], outputs=[body], api_visibility="undocumented")
    ui.doc_select, ui.doc_section, ui.doc_body, ui.doc_focus = doc, section, body, focus

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

    ui.open_target = open_target


def build_admin_tab(ctx: AppContext, ui: Any) -> None:
    """管理: after the password, upload documents, re-index with progress, and see index statistics."""
    authed = gr.State(False)
    with gr.Column(visible=True) as login_box:
        gr.Markdown("管理功能需要输入管理员密码。")
        with gr.Row():
            password = gr.Textbox(label="管理员密码", type="password", scale=3, elem_id="admin-password")
            login = gr.Button("登录", variant="primary", scale=1, min_width=72, elem_id="admin-login")
        login_msg = gr.Markdown(elem_id="admin-login-msg")
    with gr.Column(visible=False) as panel:
        gr.Markdown(f"**上传文件**（txt、md、pdf，每个不超过 {ctx.settings.max_upload_mb} MB；保存到语料目录的 "
                    f"`{UPLOAD_SUBDIR}/` 下，重建索引后生效）")
        files = gr.File(file_count="multiple", file_types=list(ALLOWED_UPLOADS), type="filepath",
                        label="选择文件", elem_id="admin-files")
        upload_btn = gr.Button("上传到语料库", elem_id="admin-upload")
        upload_msg = gr.Markdown(elem_id="admin-upload-msg")
        with gr.Row():
            rebuild = gr.Checkbox(label="完全重建（忽略已有向量）", value=False, elem_id="admin-rebuild")
            index_btn = gr.Button("重建索引", variant="primary", elem_id="admin-index")
        index_msg = gr.HTML(elem_id="admin-index-msg")
        stats_btn = gr.Button("刷新统计", size="sm", elem_id="admin-stats-refresh")
        stats = gr.HTML(elem_id="admin-stats")
        logout = gr.Button("退出管理", size="sm", elem_id="admin-logout")

    def do_login(given: str, request: gr.Request = None) -> tuple:
        """Check the password in constant time; never log it. Wrong tries make this client wait, without sleeping."""
        client = request.client.host if request is not None and request.client else "unknown"
        refused = (False, "", gr.Column(visible=True), gr.Column(visible=False), "")
        wait = ctx.login_throttle.wait_s(client)
        if wait > 0:
            return *refused, f"尝试次数过多，请 {math.ceil(wait)} 秒后再试。"
        if password_ok(given, ctx.settings.admin_password):
            ctx.login_throttle.succeeded(client)
            log.info("admin login")
            return True, "", gr.Column(visible=False), gr.Column(visible=True), stats_html(), ""
        wait = ctx.login_throttle.failed(client)
        log.warning("admin login refused")
        return *refused, "密码错误，请重试。" + (f"请 {math.ceil(wait)} 秒后再试。" if wait > 0 else "")

    def stats_html() -> str:
        """Index statistics of the live generation, per document."""
        if not ctx.ready.is_set():
            return '<div class="kb-stats">索引准备中……</div>'
        try:
            index = ctx.kb.open()
            meta = index.meta
        except Exception as e:  # statistics are informative only
            return f'<div class="kb-stats">无法读取索引：{esc(e)}</div>'
        per_doc: dict[str, list[int]] = {}
        for c in index.chunks:
            row = per_doc.setdefault(c.title, [0, 0])
            row[0] += 1
            row[1] += len(c.text)
        try:
            n_obs = len(ctx.obligations())
        except Exception:
            n_obs = 0
        rows = "".join(f"<tr><td>{esc(t)}</td><td>{n}</td><td>{chars}</td></tr>" for t, (n, chars) in
                       sorted(per_doc.items()))
        warnings = "".join(f"<li>{esc(w)}</li>" for w in meta.warnings)
        stages = "；".join(f"{esc(k)} {v:.1f}s" for k, v in (meta.stats or {}).items())
        return (
            '<div class="kb-stats">'
            f"<p>版本 {esc(meta.generation)}，建立于 {esc(meta.created)}；模型 {esc(meta.model_id)}；"
            f"{meta.n_docs} 个文档，{meta.n_chunks} 个片段，{meta.n_tokens} 个词元；义务 {n_obs} 条。</p>"
            f"<p>各阶段耗时：{stages or '—'}</p>"
            + (f"<p>警告：</p><ul>{warnings}</ul>" if warnings else "")
            + f"<table><tr><th>文件</th><th>片段</th><th>字数</th></tr>{rows}</table></div>"
        )

    def guarded_stats(ok: bool) -> str:
        """Statistics for a logged-in admin only."""
        return stats_html() if ok else ""

    def do_upload(ok: bool, paths: list[str] | None) -> tuple[str, Any]:
        """Save each uploaded file into the corpus under a safe name, rejecting bad ones."""
        if not ok:
            return "请先登录。", gr.skip()
        if not paths:
            return "请选择要上传的文件。", gr.skip()
        lines = []
        for p in paths:
            src = Path(p)
            try:
                saved = save_upload(src, src.name, ctx.settings.corpus_dir, ctx.settings.max_upload_mb)
                try:
                    title = validate_document(saved, ctx.settings.corpus_dir)
                except UploadRejected:
                    saved.unlink(missing_ok=True)
                    raise
                rel = saved.relative_to(ctx.settings.corpus_dir.resolve()).as_posix()
                lines.append(f"- 已保存：{esc(src.name)} → `{esc(rel)}`（{esc(title)}）")
                log.info("admin uploaded %s", rel)
            except UploadRejected as e:
                lines.append(f"- 已拒绝：{esc(src.name)}：{esc(e)}")
            except OSError as e:
                lines.append(f"- 已拒绝：{esc(src.name)}：保存失败（{esc(e.strerror or e)}）")
        lines.append("\n上传的文件在重建索引后才能被检索。")
        return "\n".join(lines), None

    def do_index(ok: bool, full: bool) -> Iterator[tuple[str, str]]:
        """Re-index in a worker thread, reporting progress every half second."""
        if not ok:
            yield "请先登录。", gr.skip()
            return
        if not ctx.build_lock.acquire(blocking=False):
            yield '<div class="kb-status">已有索引任务在运行，请稍候。</div>', gr.skip()
            return
        try:
            result: dict[str, Any] = {}

            def work() -> None:
                try:
                    result["report"] = ctx.kb.build(
                        rebuild=bool(full),
                        progress=lambda stage, done, total: result.update(stage=(stage, done, total)),
                    )
                except Exception as e:  # reported on the page; the live index stays as it was
                    log.exception("re-index failed")
                    result["error"] = e

            t0 = time.monotonic()
            worker = threading.Thread(target=work, name="kb-reindex", daemon=True)
            worker.start()
            while worker.is_alive():
                worker.join(0.5)
                elapsed = time.monotonic() - t0
                stage, done, total = result.get("stage", ("准备", 0, 0))
                step = f"{stage} {done}/{total}" if total else stage
                progress = f"正在重建索引：{step}，已用时 {elapsed:.0f} 秒（旧索引在完成前继续服务）"
                yield f'<div class="kb-status">{progress}</div>', gr.skip()
            if "error" in result:
                e = result["error"]
                yield f'<div class="kb-status kb-error">重建失败，原索引保持不变：{esc(e)}</div>', stats_html()
                return
            ctx.reset_caches()
            ctx.kb.open()
            report = result["report"]
            yield f'<div class="kb-section">{esc(report.summary())}</div>', stats_html()
        finally:
            ctx.build_lock.release()

    gr.on(
        triggers=[login.click, password.submit],
        fn=do_login,
        inputs=[password],
        outputs=[authed, password, login_box, panel, stats, login_msg],
        api_visibility="private",
        queue=False,  # answered at once, outside the question queue: a flood of tries cannot fill it
    )
    upload_btn.click(fn=do_upload, inputs=[authed, files], outputs=[upload_msg, files], api_visibility="private")
    index_btn.click(fn=do_index, inputs=[authed, rebuild], outputs=[index_msg, stats], api_visibility="private",
                    concurrency_id="admin-index", concurrency_limit=1)
    stats_btn.click(fn=guarded_stats, inputs=[authed], outputs=[stats], api_visibility="private")
    logout.click(
        fn=lambda: (False, gr.Column(visible=True), gr.Column(visible=False), "", ""),
        outputs=[authed, login_box, panel, stats, login_msg],
        api_visibility="private",
    )


def public_tabs() -> list[tuple[str, str, TabBuilder]]:
    """The public tabs as (label, id, builder); each builder is called inside its gr.Tab."""
    from kb.web.tabs.quiz import build_quiz_tab
    from kb.web.tabs.roles import build_roles_tab

    return [
        ("问答", "chat", build_chat_tab),
        ("义务与期限", "obligations", build_obligations_tab),
        ("我要遵守什么？", "roles", build_roles_tab),
        ("文档", "docs", build_documents_tab),
        ("测验", "quiz", build_quiz_tab),
    ]


class _UI:
    """A bag for components that one tab exposes to another (set by the tab builders)."""

    def __getattr__(self, name: str) -> Any:  # only reached when a builder did not set it
        return None


def populate(ctx: AppContext, ui: _UI) -> dict[Any, Any]:
    """Fill the choices that depend on the index (documents, years, parties, domains); stop the timer when ready."""
    updates: dict[Any, Any] = {ui.status: ctx.status_html()}
    if not ctx.ready.is_set():
        updates[ui.timer] = gr.Timer(active=True)
        return updates
    updates[ui.timer] = gr.Timer(active=False)
    updates[ui.populated] = True
    if ctx.error:
        return updates
    kind_order = {"plan": 0, "law": 1, "regulation": 2, "list": 3}
    docs = sorted(ctx.documents(), key=lambda ds: kind_order.get(ds[0].kind, 9))  # stable: corpus order within
    doc_choices = [(d.title, d.doc_id) for d, _ in docs]
    first = doc_choices[0][1] if doc_choices else None
    if ui.scope is not None:
        updates[ui.scope] = gr.update(choices=[(ALL, ""), *doc_choices])
    if ui.doc_select is not None:
        updates[ui.doc_select] = gr.update(choices=doc_choices, value=first)
    if ui.ob_year is not None:
        obs = ctx.obligations()
        years = sorted({str(ob.year) for ob in obs if ob.year})
        domains = sorted({ob.domain for ob in obs if ob.domain})
        ob_docs = sorted({(ob.title, ob.doc_id) for ob in obs})
        updates[ui.ob_year] = gr.update(choices=[ALL, *years])
        updates[ui.ob_party] = gr.update(choices=party_choices(obs, register_party_views(ctx.kb.register)))
        updates[ui.ob_place] = gr.update(choices=place_choices(obs))
        updates[ui.ob_domain] = gr.update(choices=[ALL, *domains])
        updates[ui.ob_doc] = gr.update(choices=[(ALL, ""), *ob_docs])
        values = ui.ob_run(*OB_FILTER_DEFAULTS)
        updates.update(dict(zip(ui.ob_outputs, values, strict=True)))
    return updates


def build_app(ctx: AppContext) -> Any:
    """The Gradio Blocks of the whole app (not launched)."""
    ui = _UI()
    with gr.Blocks(title="新疆环境保护规划知识库", analytics_enabled=False, fill_width=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# 新疆环境保护“十三五”规划知识库\n"
            "离线检索《新疆维吾尔自治区环境保护“十三五”规划》及 18 部国家法律法规；回答均引用原文并标明出处。",
            elem_id="kb-title",
        )
        ui.status = gr.HTML(ctx.status_html, elem_id="kb-status")  # a callable: evaluated at each page load
        ui.timer = gr.Timer(1.0, active=True)
        with gr.Tabs(elem_id="kb-tabs") as tabs:
            for label, tab_id, builder in public_tabs():
                with gr.Tab(label, id=tab_id, elem_id=f"tab-{tab_id}"):
                    builder(ctx, ui)
            if ctx.settings.admin_password:
                with gr.Tab("管理", id="admin", elem_id="tab-admin"):
                    build_admin_tab(ctx, ui)
        ui.tabs = tabs
        if ui.ob_open is not None and ui.open_target is not None:
            ui.ob_open.click(
                fn=ui.open_target,
                inputs=[ui.ob_target],
                outputs=[tabs, ui.doc_select, ui.doc_section, ui.doc_body, ui.doc_focus],
                api_visibility="undocumented",
            )
        populated = gr.State(False)
        ui.populated = populated
        register_api(ctx)
        targets = [t for t in (ui.status, ui.timer, populated, ui.scope, ui.doc_select, ui.ob_year, ui.ob_party,
                               ui.ob_place, ui.ob_domain, ui.ob_doc, *(ui.ob_outputs or [])) if t is not None]

        def refresh(done: bool) -> dict[Any, Any]:
            """Populate the page once the index is ready (once per page session)."""
            if done:
                return {ui.timer: gr.Timer(active=False)}
            return populate(ctx, ui)

        ui.timer.tick(fn=refresh, inputs=[populated], outputs=targets, show_progress="hidden",
                      api_visibility="private")
        demo.load(fn=refresh, inputs=[populated], outputs=targets, show_progress="hidden", api_visibility="private")
    return demo


def theme() -> Any:
    """A theme that uses locally installed fonts only (the default one fetches web fonts)."""
    sans = ["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"]
    mono = ["Noto Sans Mono CJK SC", "ui-monospace", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=sans, font_mono=mono)


def create_context(settings: Settings, kb: Any = None) -> AppContext:
    """An AppContext over ``kb`` (a new KnowledgeBase when None)."""
    if kb is None:
        from kb.api import KnowledgeBase

        kb = KnowledgeBase(settings, progress=lambda m: print(m, flush=True))
    ctx = AppContext(settings=settings, kb=kb)
    if hasattr(kb, "_progress"):
        kb._progress = ctx.set_status
    if hasattr(kb, "background_repair"):
        kb.background_repair = True  # a damaged index is rebuilt while the previous generation serves
    return ctx


def launch(demo: Any, ctx: AppContext, host: str, port: int, block: bool = True) -> Any:
    """Configure the queue and start the server."""
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX_SIZE)
    return demo.launch(
        server_name=host,
        server_port=port,
        theme=theme(),
        css=CSS + REGISTER_CSS + ROLES_CSS,
        js=f"() => {{ ({PAGE_JS})(); ({LABEL_CELLS_JS})(); ({FOCUS_JS})(); }}",
        max_file_size=f"{ctx.settings.max_upload_mb}mb",
        footer_links=[],
        show_error=False,
        quiet=True,
        prevent_thread_lock=not block,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        allowed_paths=[str(ctx.export_dir)],
        app_kwargs={"middleware": [Middleware(UploadGuard, uploads=demo.upload_file_set,
                                              enabled=bool(ctx.settings.admin_password),
                                              max_file_mb=ctx.settings.max_upload_mb, limits=ctx.limits)]},
    )


def _interrupt(signum: int, frame: Any) -> None:
    """Signal handler: turn SIGTERM into KeyboardInterrupt, which gradio's launch loop exits on."""
    raise KeyboardInterrupt


def port_in_use_message(host: str, port: int) -> str | None:
    """A Chinese message naming KB_PORT / --port when ``host:port`` cannot be bound, else None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"无法在 {host}:{port} 启动网页服务：地址无效（{e}）。请用 KB_HOST 或 --host 指定监听地址。"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            return (f"无法在 {host}:{port} 启动网页服务：端口已被占用或无权使用（{e.strerror or e}）。"
                    f"请用环境变量 KB_PORT 或参数 --port 指定其他端口，例如：kb serve --port {port + 1}")
    return None


def serve(settings: Settings, host: str | None = None, port: int | None = None, kb: Any = None) -> int:
    """Serve the app (blocking); the index is opened, or built first, in the background with progress shown.

    The URL is printed only once the server is listening; a busy port is reported naming KB_PORT / --port.
    """
    host = host or settings.host
    port = int(port or settings.port)
    problem = port_in_use_message(host, port)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    ctx = create_context(settings, kb)
    demo = build_app(ctx)
    ctx.start_warm_up()
    ctx.janitor.start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl+C
    try:
        launch(demo, ctx, host, port, block=False)
        print(f"知识库网页：http://{host}:{port}  （按 Ctrl+C 退出）", flush=True)
        demo.block_thread()
    except OSError as e:  # the port was taken between the check and the launch
        print(port_in_use_message(host, port) or f"无法在 {host}:{port} 启动网页服务：{e}", file=sys.stderr,
              flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        demo.close()
        ctx.janitor.stop()
        shutil.rmtree(ctx.export_dir, ignore_errors=True)
    return 0
