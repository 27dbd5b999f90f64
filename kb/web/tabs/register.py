"""What the web app adds for people reading it: the register's canonical party and place filters with counts,
the party cell and its citation, the 约束性/预期性 legend and the phone layout of the register; the focused
passage of the 文档 tab (a register row or a search hit, marked and scrolled to); the chat's question checks.

kb.web.app builds the tabs; this module holds these pieces so that the tabs change only where they call in
here. Every text is escaped before it enters HTML.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from kb.register.parties import PLAN_SUBJECT_LABEL, UNSPECIFIED, PartyView, canonical_order, has_party, party_counts
from kb.register.places import load_places, mentions, place_counts

ALL = "全部"

BINDING_LEGEND = (
    "**约束性**指标：必须完成、纳入考核的硬指标；**预期性**指标：努力争取的目标，主要靠引导和市场实现。"
    "责任主体“规划实施主体（继承）”：规划没有写明该项任务由谁负责时，采用规划“保障措施”中写明的实施主体"
    "（各级人民政府），并引用该句原文。"
)

# At phone width the table's rows become cards (one field a line, its header in front), so that no header
# is clipped and no date wraps one character a line; the row's detail follows the table directly.
REGISTER_CSS = """
.kb-party-cite { margin-top: 0.35rem; }
mark.kb-focus { background: #ffd666; outline: 2px solid #f0a020; }
@media (max-width: 640px) {
  #ob-table .header-table thead { visibility: collapse; }
  #ob-table .virtual-row { display: flex; flex-direction: column; border: 1px solid var(--border-color-primary);
    border-radius: 6px; padding: 0.3rem 0.5rem; background: var(--background-fill-secondary); }
  #ob-table .virtual-row [role=gridcell] { display: flex; align-items: baseline; width: 100% !important;
    min-width: 0 !important; max-width: none !important; height: auto !important; min-height: 0 !important;
    overflow: visible !important; border: none !important; padding: 1px 0 !important; }
  #ob-table .virtual-row [role=gridcell] > * { flex: 1; min-width: 0; height: auto !important;
    max-height: none !important; overflow: visible !important; padding: 0 !important; }
  #ob-table .virtual-row [role=gridcell]::before { content: attr(data-kb-label); flex: none; width: 4.5em;
    font-weight: 600; color: var(--body-text-color-subdued); }
}
"""

# Writes each cell's column header into a data attribute, which the phone CSS shows in front of the value.
LABEL_CELLS_JS = """
() => {
  const label = () => {
    const grid = document.querySelector('#ob-table [role=grid]');
    if (!grid) { return; }
    const heads = [...grid.querySelectorAll('thead th')].map(th => (th.getAttribute('title') || '').trim());
    grid.querySelectorAll('[role=gridcell][data-col]').forEach(cell => {
      const head = heads[Number(cell.getAttribute('data-col'))];
      if (head && cell.getAttribute('data-kb-label') !== head) { cell.setAttribute('data-kb-label', head); }
    });
  };
  new MutationObserver(label).observe(document.body, {childList: true, subtree: true});
}
"""


# Scrolls a newly shown focused passage (register row or search hit, <mark class="kb-focus">) into view once
# it is visible (it may arrive while its tab is still hidden).
FOCUS_JS = """
() => {
  const focus = () => {
    const m = document.querySelector('#doc-body mark.kb-focus:not([data-kb-seen])');
    if (m && m.offsetParent !== null) {
      m.setAttribute('data-kb-seen', '1');
      m.scrollIntoView({block: 'center'});
    }
  };
  new MutationObserver(focus).observe(document.body, {childList: true, subtree: true, attributes: true});
}
"""


def esc(text: object) -> str:
    """HTML-escape any value for use as text (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


def question_problem(message: str | None, max_chars: int) -> str:
    """Why a chat question cannot be asked (empty, or over the limit), in Chinese; "" when it can."""
    text = (message or "").strip()
    if not text:
        return "请输入问题，例如：秸秆收集利用率要在哪年达到多少？"
    if len(text) > max_chars:
        return f"问题太长（{len(text)} 字），请精简到 {max_chars} 字以内再提问。"
    return ""


def focus_in(focus: Any, doc_id: str, section: Any) -> bool:
    """Whether a focused passage (doc_id, start, end) starts inside this section of this document."""
    return bool(focus) and len(focus) >= 3 and focus[0] == doc_id and section.start <= int(focus[1]) < section.end


def focus_html(text: str, offset: int, focus: Any) -> str:
    """A section's text escaped, with the focused passage (document positions) marked as ``kb-focus``."""
    s = max(0, int(focus[1]) - offset)
    e = min(len(text), max(s + 1, int(focus[2]) - offset))
    return f'{esc(text[:s])}<mark class="kb-focus">{esc(text[s:e])}</mark>{esc(text[e:])}'


def _choices(counts: Counter[str], order: Sequence[str], selected: str) -> list[tuple[str, str]]:
    """(label with count, value) in ``order`` for every value with records; the selected one is always kept."""
    out: list[tuple[str, str]] = [(ALL, ALL)]
    for name in order:
        if counts.get(name) or name == selected:
            out.append((f"{name}（{counts.get(name, 0)}）", name))
    return out


def party_choices(records: Iterable[Any], views: dict[str, PartyView], selected: str = ALL) -> list[tuple[str, str]]:
    """The canonical parties of these records with their counts, in the vocabulary's order."""
    return _choices(party_counts(records, views), canonical_order(), selected)


def place_choices(records: Iterable[Any], selected: str = ALL) -> list[tuple[str, str]]:
    """The places named by these records with their counts, in the vocabulary's order."""
    order = list(dict.fromkeys(p.name for p in load_places()))
    return _choices(place_counts(records), order, selected)


def apply_filters(records: Iterable[Any], views: dict[str, PartyView], party: str | None,
                  place: str | None) -> list[Any]:
    """The records whose canonical party is ``party`` and whose text names ``place`` (ALL/None: any)."""
    out = list(records)
    if party and party != ALL:
        out = [ob for ob in out if has_party(ob, views, party)]
    if place and place != ALL:
        places = load_places()
        out = [ob for ob in out if mentions(ob, place, places)]
    return out


def party_cell(ob: Any, views: dict[str, PartyView]) -> str:
    """The 责任主体 cell: canonical group(s), with the verbatim party or its inheritance noted."""
    view = views.get(ob.ob_id)
    return view.label if view else (ob.party or UNSPECIFIED)


def party_detail_html(ob: Any, views: dict[str, PartyView]) -> str:
    """Where the record's party comes from; for an inherited plan subject, the sentence that states it."""
    view = views.get(ob.ob_id)
    if view is None:
        return ""
    noted = view.source_label in view.label  # an inherited party's label already says so
    text = f"责任主体：{view.label}" + ("" if noted else f"（{view.source_label}）")
    parts = [f'<div class="kb-card kb-party-cite"><div class="kb-card-h">{esc(text)}</div>']
    if view.source == "plan-subject" and view.citation:
        parts.append(f'<div class="kb-card-path">依据（{esc(PLAN_SUBJECT_LABEL)}）：{esc(ob.title)} · 保障措施</div>'
                     f'<div class="kb-passage">{esc(view.citation)}</div>')
    parts.append("</div>")
    return "".join(parts)


def narrowed_choices(records: Sequence[Any], views: dict[str, PartyView], party: str, place: str) -> tuple:
    """Dropdown updates for the party and place filters over ``records`` (the other filters applied)."""
    import gradio as gr

    return (gr.update(choices=party_choices(records, views, party or ALL)),
            gr.update(choices=place_choices(records, place or ALL)))

