"""Extraction from text: every task of the plan and every duty of the laws as a structured, cited record.

The records of the obligations register (:mod:`kb.register.store`), built at index time from the normalised
documents and their sections (no embeddings), stored as JSON next to the index, and queried by the CLI
(`kb obligations`), the web app and the answer composer.

What a record holds (``indexing.types.Obligation``):

- ``action``: the verbatim clause that states the task; ``passage`` the verbatim sentence around it
  (a sentence ends at 。！？； or a line break), ``start``/``end`` its span in ``Document.text``.
  Records built from indicator tables (``source == "table"``) have a composed action
  ("指标：目标") and the verbatim table row as passage.
- the deadline, normalised (see :func:`parse_deadlines`): ``deadline_kind`` is one of

  ============== ================================ ===========================================
  kind           expressions                      ``deadline_date``
  ============== ================================ ===========================================
  end-of-year    2017年底前, 到2018年底前, 2018年底 the last day of that year
  by-date        到2020年, 2020年实现…, 于2020年      the last day of that year
                 2017年前                         the last day of THAT year (2017-12-31), like 2017年底前
                                                  and 到2017年: a plan issued in 2017 cannot set a
                                                  deadline before its own issue date, so "年前" is
                                                  read as administrative texts use it ("by 2017")
                 2018年6月底前 / 2018年6月前        2018-06-30 / 2018-05-31 (same rule by month)
                 2027年6月30日前                   that day (2027-06-30)
  from-year-on   自2018年起                       the first day of that year (when it applies)
  annual         每年, 逐年                        "" (recurring, no single date)
  period         “十三五”期间                      the last day of the period (2020-12-31)
  none           no time expression               ""
  ============== ================================ ===========================================

  A sentence with two deadlines gives two records, each with its own clause as action; a 每年/逐年 right
  after 自X年起 in the same sentence belongs to that record ("from 2018 on, every year"). Years before the
  document's own year ("2010年前关停的…") describe the past and are not deadlines.
- the responsible party: explicit when the sentence names one in subject position (a lexicon of plan
  actors, "由X负责", or a noun phrase ending in an actor word such as 政府/部门/单位/企业 right before
  要/应/应当/必须/不得); otherwise inherited from the subject that opens the sentence or the paragraph, or
  from the nearest section heading naming a party (``party_source == "inherited"``); otherwise "未明确"
  (``party_source == "none"``). Parties are organisations and officials; places (城市, 区域) are not
  parties. Nothing is guessed.
- a quantified target (indicator, value, unit, comparator, baseline) parsed from the clause;
  targets in a "规划目标" section without a date of their own take the year of that section's goal.
- ``domain`` from the top-level/second-level heading (大气, 水, 土壤, 生态, 风险, 体制, 能力建设, 目标,
  项目, 保障) for the plan, from the title for laws.

The plan's indicator tables (专栏1/2/3/5) are parsed into :class:`IndicatorRow` despite the broken table
text; 专栏2/3/5 rows also become records (``source == "table"``, target and binding set). 专栏1 holds
the previous plan's results and yields rows only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from indexing.structure import section_at, section_path
from indexing.types import Document, Obligation, Section, Target
from kb.register.deadlines import Deadline, parse_deadlines
from kb.register.domains import domain_of
from kb.register.parties import UNSPECIFIED
from kb.register.party_extract import explicit_party, heading_party, party_at_clause_start
from kb.register.spans import CLAUSE_SPLIT, LIST_ITEM, body_start, split_spans, trim
from kb.register.tables import IndicatorRow, is_number, parse_indicator_tables
from kb.register.targets import extract_targets

_SENTENCE_END = re.compile(r"[。！？!?][”’」』）)]*")
_SEGMENT_END = re.compile(r"[。！？；;!?][”’」』）)]*")
_TASK_VERB = re.compile(
    r"加强|推进|推动|实施|建立|健全|完善|开展|制定|严格|禁止|严禁|确保|实现|达到|提高|提升|加大|加快|强化|落实"
    r"|控制|划定|淘汰|整治|鼓励|规范|构建|保障|形成|创建|不得|必须|应|要|减少|扩大|优化|执行|取缔|关闭|完成"
    r"|降低|下降|建设|治理|修复|保持|改善|支持|引导|发挥|打击|公开|查处|监测|评估|调查|督促|组织|明确|提出"
    r"|开发|利用|防范|防止|消除|清理|搬迁|更新|掌握|查明|建成|依法|坚持|全面|持续|深化|加速|整合|统筹|负责"
)
# An undated segment shorter than this is a heading fragment or a list label, not a task.
MIN_TASK_CHARS = 8
_LAW_DUTY = re.compile(r"应当|必须|不得|禁止|严禁")
# Plan sections that review the past or state principles: no tasks there.
_PLAN_SKIP = re.compile(r"基础与形势|^\W*[（(]?[一二三四五六七八九十]+[）)、]\s*(?:指导思想|基本原则)$")
_SKIP_LINE = re.compile(r"(?:抄送|印发|主题词|附件[：:])")


def _doc_year(doc: Document) -> int:
    """The year a document was issued or last revised (deadlines before it describe the past)."""
    years = [int(y) for y in re.findall(r"((?:19|20)\d\d)-\d\d-\d\d", doc.meta.get("dates", ""))]
    if doc.kind == "plan" and years:
        return min(years)
    return 0


def _ob_id(doc_id: str, start: int, end: int, key: str) -> str:
    """A stable record id: the document and a hash of the span and its deadline (or indicator)."""
    return f"{doc_id}#{hashlib.sha1(f'{start}:{end}:{key}'.encode()).hexdigest()[:12]}"


@dataclass
class _Context:
    """What a record inherits from: the document, its sections and the enclosing paragraph/sentence."""

    doc: Document
    sections: Sequence[Section]
    min_year: int
    goal_years: list[tuple[int, int, str]]  # (start, end, year) of "目标" sections with a dated goal
    articles: list[Section]


def _inherited_party(ctx: _Context, para: tuple[int, int], sent: tuple[int, int], pos: int) -> str:
    """The subject opening the sentence, else the paragraph, else a party in the nearest heading."""
    text = ctx.doc.text
    for a, b in (sent, para):
        first = CLAUSE_SPLIT.split(text[a:b], maxsplit=1)[0]
        party = party_at_clause_start(first, ctx.min_year)
        if party:
            return party
    for s in reversed(ctx.sections):
        if s.start <= pos < s.end:
            party = heading_party(s.heading)
            if party:
                return party
    return ""


def _article_at(ctx: _Context, pos: int) -> str | None:
    """The article (第X条) holding ``pos``, or None."""
    for s in reversed(ctx.articles):
        if s.start <= pos < s.end:
            return s.article
        if s.end <= pos:
            break
    return None


def _goal_year(ctx: _Context, pos: int) -> str:
    """The year of the dated goal of the 目标 section holding ``pos``, or ""."""
    return next((year for start, end, year in ctx.goal_years if start <= pos < end), "")


def _record(ctx: _Context, *, action: tuple[int, int], passage: tuple[int, int], deadline: Deadline | None,
            party: str, party_source: str, target: Target | None) -> Obligation:
    doc, text = ctx.doc, ctx.doc.text
    a, b = action
    path = section_path(ctx.sections, a)
    section = section_at(ctx.sections, a)
    if target is not None and not target.target_year:
        target.target_year = str(deadline.year) if deadline and deadline.year else _goal_year(ctx, a)
    return Obligation(
        ob_id=_ob_id(doc.doc_id, a, b, deadline.text if deadline else ""),
        doc_id=doc.doc_id,
        title=doc.title,
        section=path,
        action=text[a:b],
        deadline_kind=deadline.kind if deadline else "none",
        deadline_text=deadline.text if deadline else "",
        deadline_date=deadline.date if deadline else "",
        year=deadline.year if deadline else None,
        party=party or UNSPECIFIED,
        party_source=party_source if party else "none",
        domain=domain_of(doc, section.path if section else ()),
        start=passage[0],
        end=passage[1],
        passage=text[passage[0] : passage[1]],
        target=target,
        article=_article_at(ctx, a),
    )


def _resolve_party(ctx: _Context, action: str, before: str, para, sent, pos: int) -> tuple[str, str]:
    party = explicit_party(action, ctx.min_year) or explicit_party(before, ctx.min_year)
    if party:
        return party, "explicit"
    party = _inherited_party(ctx, para, sent, pos)
    return (party, "inherited") if party else ("", "none")


def _plan_segment(ctx: _Context, seg: tuple[int, int], sent, para) -> list[Obligation]:
    text = ctx.doc.text
    s, e = seg
    deadlines = parse_deadlines(text, ctx.min_year, s, e)
    if not deadlines:
        if e - s < MIN_TASK_CHARS or not _TASK_VERB.search(text, s, e):
            return []
        party, source = _resolve_party(ctx, text[s:e], "", para, sent, s)
        targets = extract_targets(text[s:e], ctx.min_year)
        return [_record(ctx, action=(s, e), passage=seg, deadline=None, party=party, party_source=source,
                        target=targets[0] if targets else None)]
    starts = []
    for dl in deadlines:
        cut = max((m.end() for m in CLAUSE_SPLIT.finditer(text, s, dl.start)), default=s)
        starts.append(max(cut, starts[-1] if starts else s))
    out = []
    for i, dl in enumerate(deadlines):
        a = starts[i]
        b = starts[i + 1] if i + 1 < len(deadlines) and starts[i + 1] > a else e
        a, b = trim(text, a, b)
        party, source = _resolve_party(ctx, text[a:b], text[s:a], para, sent, a)
        targets = extract_targets(text[a:b], ctx.min_year)
        out.append(_record(ctx, action=(a, b), passage=seg, deadline=dl, party=party, party_source=source,
                           target=targets[0] if targets else None))
    return out


def _law_segment(ctx: _Context, seg: tuple[int, int], sent, para, region_end: int) -> list[Obligation]:
    text = ctx.doc.text
    s, e = seg
    if not _LAW_DUTY.search(text, s, e):
        return []
    passage_end = e
    if text[e : e + 1] in ("：", ":"):
        # a duty introducing a list: the items belong to the cited passage
        pos = e + 1
        while pos < region_end:
            nxt = pos
            while nxt < region_end and text[nxt] == "\n":
                nxt += 1
            line_end = text.find("\n", nxt, region_end)
            line_end = region_end if line_end < 0 else line_end
            if nxt >= region_end or not LIST_ITEM.match(text[nxt:line_end]):
                break
            passage_end = line_end
            pos = line_end
    deadlines = [d for d in parse_deadlines(text, ctx.min_year, s, e) if d.kind in ("annual", "by-date")]
    party, source = _resolve_party(ctx, text[s:e], "", para, sent, s)
    targets = extract_targets(text[s:e], ctx.min_year)
    return [_record(ctx, action=(s, e), passage=(s, passage_end), deadline=deadlines[0] if deadlines else None,
                    party=party, party_source=source, target=targets[0] if targets else None)]


def _body_regions(doc: Document, sections: Sequence[Section]) -> list[tuple[int, int]]:
    """Spans of ``doc.text`` outside heading lines."""
    cuts = sorted((s.start, body_start(doc, s)) for s in sections if s.kind != "preamble")
    out = []
    pos = 0
    for a, b in cuts:
        if a > pos:
            out.append((pos, a))
        pos = max(pos, b)
    if pos < len(doc.text):
        out.append((pos, len(doc.text)))
    return out


def extract_obligations(doc: Document, sections: list[Section]) -> list[Obligation]:
    """Every task (plan) or duty (law, regulation) of a document as cited records, in document order.

    Plans: every sentence of the task and target chapters that states a deadline or an imperative task
    (the situation review, guiding ideology and principles are not tasks), one record per deadline;
    rows of the indicator tables 专栏2/3/5 as ``source == "table"`` records. Laws and regulations: every
    sentence with 应当/必须/不得/禁止/严禁. Lists (PDF catalogues) have none.
    """
    if doc.kind not in ("plan", "law", "regulation"):
        return []
    is_plan = doc.kind == "plan"
    rows = parse_indicator_tables(doc, sections) if is_plan else []
    table_boxes = [s for s in sections if s.kind == "box" and any(r.start >= s.start and r.end <= s.end
                                                                 for r in rows)]
    ctx = _Context(doc=doc, sections=sections, min_year=_doc_year(doc), goal_years=[],
                   articles=[s for s in sections if s.article])
    if is_plan:
        for s in sections:
            if "目标" in s.heading and s.kind != "box":
                dls = parse_deadlines(doc.text, ctx.min_year, body_start(doc, s), s.end)
                if dls and dls[0].year:
                    ctx.goal_years.append((s.start, s.end, str(dls[0].year)))
    text = doc.text
    out: list[Obligation] = []
    for ra, rb in _body_regions(doc, sections):
        for para in split_spans(text, ra, rb, re.compile(r"\n+")):
            pa, _ = para
            if "\t" in text[para[0] : para[1]] or _SKIP_LINE.match(text, pa):
                continue
            section = section_at(sections, pa)
            if section is None and is_plan:
                continue
            if is_plan and (section.kind == "preamble" or any(_PLAN_SKIP.search(h) for h in section.path)
                            or any(b.start <= pa < b.end for b in table_boxes)):
                continue
            for sent in split_spans(text, para[0], para[1], _SENTENCE_END):
                for seg in split_spans(text, sent[0], sent[1], _SEGMENT_END):
                    if is_plan:
                        out.extend(_plan_segment(ctx, seg, sent, para))
                    else:
                        out.extend(_law_segment(ctx, seg, sent, para, rb))
    out.extend(_table_obligations(ctx, rows))
    out.sort(key=lambda r: (r.start, r.source != "text"))
    return _unique_ids(out)


def _unique_ids(records: list[Obligation]) -> list[Obligation]:
    seen: dict[str, int] = {}
    for r in records:
        n = seen.get(r.ob_id, 0)
        seen[r.ob_id] = n + 1
        if n:
            r.ob_id = f"{r.ob_id}-{n}"
    return records


def _row_target(row: IndicatorRow, year: str) -> Target:
    m = re.fullmatch(r"(?P<cmp>[≤≥<>]|(?:平均)?下降)?(?P<val>\d+(?:\.\d+)?)(?P<pct>%)?", row.target)
    if m:
        cmp = m.group("cmp") or ("下降" if row.indicator.endswith("下降") else "达到")
        unit = "%" if m.group("pct") else row.unit
        return Target(indicator=row.indicator, value=m.group("val"), unit=unit, comparator=cmp,
                      baseline_year=row.baseline_year, baseline_value=row.baseline if row.baseline != "—" else "",
                      target_year=year)
    cm = re.match(r"(控制在|保持)(.+)", row.target)
    return Target(indicator=row.indicator, value=cm.group(2) if cm else row.target, unit=row.unit,
                  comparator=cm.group(1) if cm else "达到", baseline_year=row.baseline_year,
                  baseline_value=row.baseline if row.baseline != "—" else "", target_year=year)


def _table_obligations(ctx: _Context, rows: list[IndicatorRow]) -> list[Obligation]:
    """Forward-looking indicator rows (a target, no past result) as ``source == "table"`` records."""
    out = []
    for row in rows:
        if row.result or row.status or not row.target or row.target == "另行分解":
            continue
        if row.target_year:
            y = int(row.target_year)
            dl = Deadline("by-date", f"{y}年", f"{y}-12-31", y, row.start, row.start)
        else:
            box = section_at(ctx.sections, row.start)
            periods = parse_deadlines(box.heading) if box else []
            dl = periods[0] if periods else None
        target = _row_target(row, str(dl.year) if dl and dl.year else "")
        shown = row.target + (row.unit if is_number(row.target) and row.unit else "")
        rec = _record(ctx, action=(row.start, row.end), passage=(row.start, row.end), deadline=dl, party="",
                      party_source="none", target=target)
        rec.action = f"{row.indicator}：{shown}"
        rec.ob_id = _ob_id(ctx.doc.doc_id, row.start, row.end, row.indicator)
        rec.binding = row.binding
        rec.source = "table"
        out.append(rec)
    return out
