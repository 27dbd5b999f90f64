"""The 义务与期限 tab: the searchable, filterable register with a timeline, source passages and exports.

The register's canonical party and place filters with counts, the party cell and its citation, and the
约束性/预期性 legend are here too (the phone layout of the table is in static/kb.css and page.js). Every text is
escaped before it enters HTML.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.register.parties import (
    PLAN_SUBJECT_LABEL,
    UNSPECIFIED,
    PartyView,
    canonical_order,
    has_party,
    party_counts,
    register_party_views,
)
from kb.register.places import load_places, mentions, place_counts
from kb.web.context import ALL, AppContext
from kb.web.render import esc, highlight_html
from kb.web.toasts import warn

# The filters when nothing is chosen (text, year, due before, party, domain, document, binding, dated only, place):
# what the page opens with and what 重置 restores.
OB_FILTER_DEFAULTS = ("", ALL, "", ALL, ALL, "", ALL, True, ALL)
OB_HEADERS = ["年份", "期限", "截止日期", "责任主体", "领域", "文件", "内容"]

BINDING_LEGEND = (
    "**约束性**指标：必须完成、纳入考核的硬指标；**预期性**指标：努力争取的目标，主要靠引导和市场实现。"
    "责任主体“规划实施主体（继承）”：规划没有写明该项任务由谁负责时，采用规划“保障措施”中写明的实施主体"
    "（各级人民政府），并引用该句原文。"
)


@dataclass
class RegisterView:
    """The components of the 义务与期限 tab that its events use."""

    text: Any
    year: Any
    due: Any
    party: Any
    place: Any
    domain: Any
    doc: Any
    binding: Any
    dated: Any
    search: Any
    reset: Any
    csv_btn: Any
    ics_btn: Any
    summary: Any
    table: Any
    detail: Any
    timeline: Any
    ids: Any
    target: Any
    open_btn: Any

    @property
    def inputs(self) -> list[Any]:
        """The filters, in the order `run` takes them."""
        return [self.text, self.year, self.due, self.party, self.domain, self.doc, self.binding, self.dated,
                self.place]

    @property
    def outputs(self) -> list[Any]:
        """What `run` refreshes, in the order it returns them."""
        return [self.table, self.timeline, self.summary, self.ids, self.csv_btn, self.ics_btn, self.detail,
                self.open_btn]


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
    return (gr.update(choices=party_choices(records, views, party or ALL)),
            gr.update(choices=place_choices(records, place or ALL)))


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


def obligation_detail_html(ob: Any, party: str | None = None) -> str:
    """The source passage of one obligation, with its action marked, and its fields; ``party`` (the table's
    责任主体 cell, which names an inherited party) replaces the verbatim party, so the two never disagree."""
    passage = ob.passage or ob.action or ""
    i = passage.find(ob.action) if ob.action else -1
    span = (i, i + len(ob.action)) if i >= 0 else None
    fields = [
        ("文件", ob.title),
        ("章节", ob.section),
        ("条款", getattr(ob, "article", None) or ""),
        ("期限", " ".join(x for x in (ob.deadline_text, f"（{ob.deadline_date}）" if ob.deadline_date else "") if x)),
        ("责任主体", ob.party if party is None else party),
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
    """CSV of obligations, as `kb obligations --format csv` writes it (kb.register.export.to_csv)."""
    from kb.register.export import to_csv

    return to_csv(obligations)


def obligations_ics(obligations: list[Any]) -> str:
    """iCalendar (RFC 5545) of the obligations that have a deadline (kb.register.export.to_ics)."""
    from kb.register.export import to_ics

    return to_ics(obligations)


def obligations_layout() -> RegisterView:
    """The filters, the buttons, the table with the row's detail, and the timeline."""
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
    target = gr.State(None)
    open_btn = gr.Button("在文档中打开此处", size="sm", visible=False, elem_id="ob-open")
    return RegisterView(text, year, due, party, place, domain, doc, binding, dated, search, reset, csv_btn, ics_btn,
                        summary, table, detail, timeline, ids, target, open_btn)


def register_runner(ctx: AppContext) -> Callable[..., tuple]:
    """The handler that filters the register and refreshes the table, timeline and export files."""

    def run(q: str, y: str, due_before: str, p: str, dom: str, doc_id: str, bind: str, only_dated: bool,
            pl: str = ALL) -> tuple:
        """Filter the register and refresh the table, timeline and export files."""
        if not ctx.ready.is_set() or ctx.error:
            return [], "", "索引准备中……", [], gr.skip(), gr.skip(), "", gr.Button(visible=False)
        due_before = (due_before or "").strip()
        if due_before and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", due_before):
            warn("截止日期格式应为 YYYY-MM-DD，例如 2017-12-31。")
            due_before = ""
        if re.fullmatch(r"\d{4}", due_before):
            due_before += "-12-31"
        elif re.fullmatch(r"\d{4}-\d{2}", due_before):
            due_before += "-31"
        if due_before:
            try:
                date.fromisoformat(due_before)
            except ValueError:
                warn(f"无效的日期：{esc(due_before)}")
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

    return run


LOADING_NOTE = "正在载入义务清单……（索引刚刚更新，稍候即可显示）"


def loading_noter(ctx: AppContext) -> Callable[[], Any]:
    """The handler that says so, before a filter runs, while the register of a new index is being read."""

    def note() -> Any:
        """The loading note when the live index's register is not in memory yet, else no change."""
        if ctx.ready.is_set() and not ctx.error and not ctx.kb.register_loaded():
            return LOADING_NOTE
        return gr.skip()

    return note


def row_shower(ctx: AppContext) -> Callable[..., tuple[str, Any, Any]]:
    """The handler that shows the source passage of a selected row."""

    def show(ob_ids: list[str], evt: gr.SelectData) -> tuple[str, Any, Any]:
        """Show the source passage of the selected row."""
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        hidden = gr.Button(visible=False)
        if not isinstance(row, int) or not 0 <= row < len(ob_ids):
            return "", None, hidden
        for ob in ctx.obligations():
            if ob.ob_id == ob_ids[row]:
                views = register_party_views(ctx.kb.register)
                detail = obligation_detail_html(ob, party_cell(ob, views)) + party_detail_html(ob, views)
                return detail, (ob.doc_id, ob.start, ob.end), gr.Button(visible=True)
        return "", None, hidden

    return show


def choice_narrower(ctx: AppContext) -> Callable[..., tuple]:
    """The handler that narrows the party and place choices to the other filters."""

    def narrow(y: str, dom: str, doc_id: str, p: str, pl: str) -> tuple:
        """Party and place choices with counts under the year, domain and document filters."""
        if not ctx.ready.is_set() or ctx.error:
            return gr.skip(), gr.skip()
        obs = ctx.obligations(year=int(y) if y and y != ALL and y.isdigit() else None, doc=doc_id or None,
                              domain=dom if dom and dom != ALL else None)
        return narrowed_choices(obs, register_party_views(ctx.kb.register), p, pl)

    return narrow


def wire_obligations(view: RegisterView, run: Callable[..., tuple], show: Callable[..., tuple[str, Any, Any]],
                     narrow: Callable[..., tuple], note: Callable[[], Any]) -> None:
    """Filter on any change (saying so first while a new index's register loads), reset, show a selected row's
    passage, and narrow the party and place choices."""
    v, inputs, outputs = view, view.inputs, view.outputs
    gr.on(
        triggers=[v.search.click, v.text.submit, v.due.submit, v.year.change, v.party.change, v.domain.change,
                  v.doc.change, v.binding.change, v.dated.change, v.place.change],
        fn=note,
        outputs=[v.summary],
        show_progress="hidden",
        queue=False,
        api_visibility="private",
    ).then(
        fn=run,
        inputs=inputs,
        outputs=outputs,
        show_progress="minimal",
        api_visibility="private",  # UI updates only; the JSON endpoint is kb.web.api's "obligations"
    )
    v.reset.click(
        fn=lambda: OB_FILTER_DEFAULTS, outputs=inputs, api_visibility="undocumented"
    ).then(fn=run, inputs=inputs, outputs=outputs, api_visibility="undocumented")
    v.table.select(fn=show, inputs=[v.ids], outputs=[v.detail, v.target, v.open_btn],
                   api_visibility="undocumented").then(
        fn=None, js="() => document.querySelector('#ob-detail')?.scrollIntoView({block: 'start'})")
    gr.on(triggers=[v.year.change, v.domain.change, v.doc.change], fn=narrow,
          inputs=[v.year, v.domain, v.doc, v.party, v.place], outputs=[v.party, v.place], show_progress="hidden",
          api_visibility="undocumented")


def build_obligations_tab(ctx: AppContext, ui: Any) -> None:
    """义务与期限: the searchable, filterable register with a timeline, source passages and exports."""
    view = obligations_layout()
    run = register_runner(ctx)
    wire_obligations(view, run, row_shower(ctx), choice_narrower(ctx), loading_noter(ctx))
    ui.ob_inputs, ui.ob_outputs, ui.ob_run = view.inputs, view.outputs, run
    ui.ob_year, ui.ob_party, ui.ob_domain, ui.ob_doc, ui.ob_place = (view.year, view.party, view.domain, view.doc,
                                                                     view.place)
    ui.ob_target, ui.ob_open = view.target, view.open_btn
