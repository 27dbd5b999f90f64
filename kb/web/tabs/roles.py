"""The 我要遵守什么？ tab: pick who you are, read the duties, prohibitions and penalties that apply, by topic.

Mounted by ``kb.web.app.public_tabs``; the items come from :mod:`kb.register.roles` over the live register and the
parsed corpus. Every text is escaped before it enters HTML.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.register.parties import register_party_views
from kb.register.roles import KIND_ORDER, RoleItem, by_topic, find_role, load_roles, role_items
from kb.web.render import esc


def item_html(item: RoleItem) -> str:
    """One item: kind, plain reading and citation on the folded line; the verbatim text when opened."""
    cite = f"《{item.title}》{item.article}".strip()
    return (
        f'<details class="kb-card kb-role-item"><summary class="kb-card-h">'
        f'<span class="kb-role-kind k-{esc(item.kind)}">{esc(item.kind)}</span>{esc(item.reading)}'
        f' <span class="kb-role-cite">—— {esc(cite)}</span></summary>'
        f'<div class="kb-card-path">{esc(item.section)}</div>'
        f'<div class="kb-passage">{esc(item.text)}</div></details>'
    )


def role_html(name: str, items: list[RoleItem]) -> str:
    """The whole view of a role: counts, then the items grouped by topic."""
    role = find_role(name)
    if role is None:
        return ""
    counts = Counter(i.kind for i in items)
    head = f"{role.name}：共 {len(items)} 条（" + "，".join(f"{k} {counts[k]}" for k in KIND_ORDER) + "）"
    parts = [f'<div class="kb-role"><div class="kb-sources-h">{esc(head)}</div>'
             f'<div class="kb-card-path">{esc(role.note)}。每条下面是原文，点开即可查看；“不能/要/违反的后果”'
             "是从原文摘出的一句话读法，以原文为准。</div>"]
    for topic, group in by_topic(items):
        parts.append(f'<div class="kb-role-topic">{esc(topic)}（{len(group)}）</div>')
        parts.extend(item_html(i) for i in group)
    parts.append("</div>")
    return "".join(parts)


def build_roles_tab(ctx: Any, ui: Any = None) -> None:
    """我要遵守什么？: a role picker and the cited items that apply to it."""
    names = [r.name for r in load_roles()]
    pick = gr.Radio(choices=names, value=None, label="我是……（选择你的身份）", elem_id="roles-pick")
    body = gr.HTML(elem_id="roles-body")

    def show(name: str | None) -> str:
        """The role's items, once the index is ready."""
        if not name:
            return ""
        if not ctx.ready.is_set() or ctx.error:
            return '<div class="kb-status">索引准备中，请稍候……</div>'
        register = ctx.kb.register
        records = list(register.records)
        items = role_items(find_role(name), records, register_party_views(register), ctx.documents())
        return role_html(name, items)

    pick.change(fn=show, inputs=[pick], outputs=[body], show_progress="minimal", api_visibility="undocumented")
