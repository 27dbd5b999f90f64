"""Quiz facts from the obligations register, and the distractors of each kind of fact (see :mod:`kb.quiz.build`)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from indexing.types import Obligation
from kb.quiz.bodies import other_system, party_kind, shared_bigrams
from kb.quiz.law import article_texts, law_distractors, law_pools, law_quiz_facts
from kb.quiz.model import (
    _NUM_RE,
    _YEAR_RE,
    BLANK,
    LAW_FACT_TYPES,
    MAX_PASSAGE_CHARS,
    N_DISTRACTORS,
    NEAREST_POOL,
    Fact,
    QuizCitation,
    _deadline_core,
    _in_passage,
    _number,
    _occurrences,
    _truncated_party,
    _usable_party,
    norm_text,
    same_value,
)
from kb.quiz.rules import (
    deadline_years,
    pick_distractors,
    rule_no_overlap,
    rule_not_in_article,
    rule_plausible_number,
    rule_same_kind,
)
from kb.quiz.vocabulary import vocab
from kb.quiz.worth import worth_asking
from kb.register.spans import LIST_ITEM

# ---------------------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------------------


def _citation(r: Obligation) -> QuizCitation:
    return QuizCitation(doc_id=r.doc_id, title=r.title, section=r.section, passage=r.passage, start=r.start,
                        end=r.end, article=r.article)


def _doc_kind(r: Obligation) -> str:
    return "plan" if r.title.endswith("规划") else "law"


def _text_ok(passage: str) -> bool:
    return 8 <= len(passage) <= MAX_PASSAGE_CHARS and "\n" not in passage and "\t" not in passage


def _masked(passage: str, value: str) -> str:
    return passage.replace(value, BLANK, 1)


def _conflict_filters(register) -> tuple[set[tuple[str, int, int]], set[tuple[str, object]]]:
    """Spans and (doc, indicator key) pairs of every target involved in a conflict."""
    from kb.register.conflicts import indicator_key

    spans: set[tuple[str, int, int]] = set()
    keys: set[tuple[str, object]] = set()
    for c in getattr(register, "conflicts", []) or []:
        for r in (c.first, c.second):
            spans.add((r.doc_id, r.start, r.end))
            keys.add((r.doc_id, indicator_key(c.indicator)))
            if r.target is not None:
                keys.add((r.doc_id, indicator_key(r.target.indicator)))
    return spans, keys


def _record_facts(r: Obligation, bad_spans, bad_keys, lead_in: tuple[int, str] | None = None) -> list[Fact]:
    """Deadline, number and party facts stated in one text record's passage; a law record's party is asked with
    ``lead_in``, what precedes it in its paragraph (``Register.lead_ins``), and not when that is too long."""
    from kb.register.conflicts import indicator_key

    if r.source != "text" or not _text_ok(r.passage):
        return []
    out: list[Fact] = []
    cit = _citation(r)
    kind = _doc_kind(r)
    p = r.passage
    if r.deadline_kind in ("by-date", "end-of-year", "from-year-on") and r.deadline_text:
        years = _YEAR_RE.findall(r.deadline_text)
        if years and _occurrences(r.deadline_text, p) == 1:
            masked = norm_text(_masked(p, r.deadline_text))
            out.append(Fact("deadline", r.deadline_text, cit, r.domain, r.ob_id, kind,
                            keys=(("deadline", masked),), year=years[0]))
    t = r.target
    if t is not None and _number(t.value) is not None and t.unit:
        shown = f"{t.value}{t.unit}"
        ikey = indicator_key(t.indicator)
        conflicting = (r.doc_id, r.start, r.end) in bad_spans or (r.doc_id, ikey) in bad_keys
        if not conflicting and _occurrences(shown, p) == 1:
            masked = norm_text(_masked(p, shown))
            reduction = t.comparator in ("下降", "降低", "减少", "削减", "增长") and t.baseline_year in ("", "2015")
            sub = "reduction" if reduction else "target-2020" if t.target_year in ("", "2020") else "target"
            out.append(Fact("number", shown, cit, r.domain, r.ob_id, kind,
                            keys=(("number", masked), ("value", r.doc_id, ikey, float(t.value))), unit=t.unit,
                            subtype=sub))
    party = r.party
    if (r.party_source == "explicit" and _usable_party(party) and _occurrences(party, p) == 1
            and not _truncated_party(party, p)):
        masked = norm_text(_masked(p, party))
        fact = Fact("party", party, cit, r.domain, r.ob_id, kind, keys=(("party", masked),))
        if lead_in and kind == "law":
            start, lead = lead_in
            fact.citation = replace(cit, passage=lead + p, start=start)
            fact.statement = lead + p
        if not fact.statement or (_text_ok(fact.statement) and _occurrences(party, fact.statement) == 1
                                  and not LIST_ITEM.match(fact.statement)):  # a list item without its lead-in
            out.append(fact)
    return out


_TABLE_MEASURES = (
    # (IndicatorRow attribute, how the question names it)
    ("target", "target"),
    ("baseline", "baseline"),
    ("result", "result"),
)


def _row_subject(row, measure: str, comparator: str) -> str:
    """What a table question asks, e.g. “水质好于Ⅲ类的湖库比例”的2020年目标值（单位：%）."""
    name = f"“{row.indicator}”"
    unit = "" if row.unit in ("", "水质类别") else f"（单位：{row.unit}）"
    bound = "上限" if comparator in ("≤", "<") else ("下限" if comparator in ("≥", ">") else "")
    if row.table == "专栏5":
        return f"{name}的{'2020年目标水质' if measure == 'target' else '现状水质'}"
    if row.table == "专栏1":
        if measure == "target":
            return f"{name}的“十二五”规划目标{bound or '值'}{unit}"
        return f"{name}的2015年完成情况{unit}"
    if measure == "baseline":
        year = f"{row.baseline_year}年" if row.baseline_year else "基准年"
        return f"{name}{year}的数值{unit}"
    year = f"{row.target_year}年" if row.target_year else "规划"
    return f"{name}的{year}目标{bound or '值'}{unit}"


def _table_facts(register, bad_spans, bad_keys) -> list[Fact]:
    """Number facts from the indicator tables: one per numeric (or water-class) cell."""
    from kb.register.conflicts import indicator_key

    rows = getattr(register, "indicators", []) or []
    records = {(r.doc_id, r.start, r.end, r.target.indicator if r.target else ""): r
               for r in register.records if r.source == "table"}
    by_span = {(r.doc_id, r.start, r.end): r for r in register.records if r.source == "table"}
    titles = {r.doc_id: r.title for r in register.records}
    out: list[Fact] = []
    for row in rows:
        rec = records.get((row.doc_id, row.start, row.end, row.indicator)) or by_span.get(
            (row.doc_id, row.start, row.end))
        ikey = indicator_key(row.indicator)
        if (row.doc_id, row.start, row.end) in bad_spans or (row.doc_id, ikey) in bad_keys:
            continue
        box = row.section.split(" > ")[-1] if row.section else row.table
        cit = QuizCitation(doc_id=row.doc_id, title=titles.get(row.doc_id, row.doc_id), section=row.section,
                           passage=row.passage, start=row.start, end=row.end, article=None)
        for attr, measure in _TABLE_MEASURES:
            raw = (getattr(row, attr, "") or "").strip()
            m = re.fullmatch(r"([≤≥<>]?)(\d+(?:\.\d+)?)", raw)
            water = row.unit == "水质类别" and re.fullmatch(r"劣?(?:I{1,3}|IV|V|Ⅰ|Ⅱ|Ⅲ|Ⅳ|Ⅴ)类", raw)
            if not m and not water:
                continue
            value = m.group(2) if m else raw
            if _occurrences(value, row.passage) != 1:
                continue
            ident = float(value) if m else norm_text(value)
            out.append(Fact(
                "number", value, cit, rec.domain if rec else "目标", rec.ob_id if rec else "", "plan",
                keys=(("value", row.doc_id, ikey, ident), ("cell", row.doc_id, row.table, row.indicator, attr)),
                unit=row.unit or "", subject=_row_subject(row, measure, m.group(1) if m else ""), table=box,
                subtype=measure, period="12th" if row.table == "专栏1" else "13th",
            ))
    return out


def quiz_facts(register, period: str | None = None, include_repealed: bool = False) -> list[Fact]:
    """Every fact worth asking (:func:`kb.quiz.rules.worth_asking`), deduplicated, in corpus order.

    Plan text facts, then the plan's table facts, then the law facts of the register. ``period="12th"``
    gives the 十二五 review rows (专栏1) instead of the rest; repealed documents are left out unless
    ``include_repealed``.
    """
    bad_spans, bad_keys = _conflict_filters(register)
    repealed = set((getattr(register, "doc_status", {}) or {}) if not include_repealed else ())
    lead_ins = getattr(register, "lead_ins", {}) or {}
    facts: list[Fact] = []
    for r in register.records:
        if r.doc_id not in repealed:
            facts.extend(_record_facts(r, bad_spans, bad_keys, lead_ins.get(r.ob_id)))
    facts.extend(_table_facts(register, bad_spans, bad_keys))
    facts.extend(law_quiz_facts(register, include_repealed))
    articles = article_texts(register)
    seen: set[tuple] = set()
    out = []
    for f in facts:
        if f.doc_kind == "plan" and not f.period:
            f.period = "13th"
        if f.doc_kind == "law" and f.citation.article:
            f.context = articles.get((f.citation.doc_id, f.citation.article), "")
        if any(k in seen for k in f.keys) or not worth_asking(f, period):
            continue
        seen.update(f.keys)
        out.append(f)
    return out


# ---------------------------------------------------------------------------------------------------------
# Distractors
# ---------------------------------------------------------------------------------------------------------


@dataclass
class DistractorPools:
    """Values of each kind found anywhere in the corpus, the source of distractors."""

    deadlines: list[tuple[str, str]]  # (text, deadline kind)
    numbers: dict[str, list[str]]  # unit -> values as written (bare)
    parties: list[tuple[str, str, str]]  # (party, doc_id, doc kind)
    law: dict[str, list] = field(default_factory=dict)  # fines and approving bodies of the laws


def _unit_key(unit: str) -> str:
    return norm_text(unit)


def distractor_pools(register) -> DistractorPools:
    catch_all = set(vocab()["catch_all_subjects"])
    deadlines: dict[str, str] = {}
    numbers: dict[str, dict[str, None]] = {}
    parties: dict[str, tuple[str, str]] = {}
    for r in register.records:
        if r.deadline_kind in ("by-date", "end-of-year", "from-year-on") and _YEAR_RE.search(r.deadline_text or ""):
            deadlines.setdefault(r.deadline_text, r.deadline_kind)
        t = r.target
        if t is not None and t.unit and _number(t.value) is not None:
            numbers.setdefault(_unit_key(t.unit), {})[t.value] = None
        if r.party_source == "explicit" and _usable_party(r.party) and norm_text(r.party) not in catch_all:
            parties.setdefault(r.party, (r.doc_id, _doc_kind(r)))
    for row in getattr(register, "indicators", []) or []:
        for attr in ("target", "baseline", "result"):
            raw = (getattr(row, attr, "") or "").strip()
            m = re.fullmatch(r"[≤≥<>]?(\d+(?:\.\d+)?)", raw)
            if m and row.unit:
                numbers.setdefault(_unit_key(row.unit), {})[m.group(1)] = None
            elif row.unit == "水质类别" and re.fullmatch(r"劣?(?:I{1,3}|IV|V|Ⅰ|Ⅱ|Ⅲ|Ⅳ|Ⅴ)类", raw):
                numbers.setdefault(_unit_key(row.unit), {})[raw] = None
    return DistractorPools(
        deadlines=sorted(deadlines.items()),
        numbers={u: sorted(v) for u, v in numbers.items()},
        parties=sorted((p, d, k) for p, (d, k) in parties.items()),
        law=law_pools(register),
    )


def _display(fact: Fact, value: str) -> str:
    """A pool value written the way the fact is written (text numbers carry their unit)."""
    if fact.fact_type == "number" and not fact.subject:
        return f"{value}{fact.unit}"
    return value


def deadline_signature(text: str) -> tuple[str, str]:
    """(year, form) of a deadline expression: 2018年底前 and 2018年底 share one, 自2018年起 has another."""
    s = _deadline_core(text)
    years = _YEAR_RE.findall(s)
    form = "from" if "起" in s else "eoy" if "底" in s else "before" if s.endswith("前") else "by"
    return (years[0] if years else s, form)


def _valid(fact: Fact, candidate: str, chosen: Sequence[str]) -> bool:
    """A distractor is wrong for sure: not the answer after normalisation, not in the passage, not chosen."""
    if not candidate or same_value(fact.fact_type, candidate, fact.value):
        return False
    if _in_passage(candidate, fact.citation.passage) or not rule_not_in_article(fact, candidate):
        return False
    if fact.fact_type == "number" and not rule_plausible_number(fact.value, candidate):
        return False
    if fact.fact_type == "deadline":
        # a year the passage mentions anyway would make the statement confusing
        if deadline_signature(candidate)[0] in _YEAR_RE.findall(fact.citation.passage):
            return False
        return all(deadline_signature(candidate) != deadline_signature(c) for c in chosen)
    return not any(same_value(fact.fact_type, candidate, c) for c in chosen)


def _decimals(value: str) -> int:
    m = _NUM_RE.search(value)
    return len(m.group(0).partition(".")[2]) if m else 0


def _distance(fact: Fact, value: str) -> float:
    """How far a candidate number is from the answer: other precision first, then magnitude."""
    m = _NUM_RE.search(fact.value)
    a, b = _number(m.group(0) if m else ""), _number(value)
    if a is None or b is None:
        return 0.0
    return (_decimals(fact.value) != _decimals(value)) * 10.0 + abs(math.log((abs(a) + 1.0) / (abs(b) + 1.0)))


def _deadline_distractors(fact: Fact, rng: random.Random, k: int) -> list[str]:
    """The key's deadline written with other years: distinct, in-between years of the plan period first."""
    years = _YEAR_RE.findall(fact.value)
    if not years:
        return []
    passage_years = {int(y) for y in _YEAR_RE.findall(fact.citation.passage)}
    out = [fact.value.replace(years[0], str(y), 1) for y in deadline_years(int(years[0]), passage_years, rng, k)]
    return [c for c in out if not _in_passage(c, fact.citation.passage)]


def distractors(fact: Fact, pools: DistractorPools, rng: random.Random, k: int = N_DISTRACTORS,
                near_miss: bool = False) -> list[str]:
    """Up to ``k`` plausible wrong values of the same kind as the fact (:func:`kb.quiz.rules.rule_same_kind`).

    ``near_miss`` asks for a swap fit for a false true/false statement (:func:`kb.quiz.rules.rule_near_miss`).
    """
    if fact.fact_type in LAW_FACT_TYPES:
        parties = [(p, d) for p, d, kd in pools.parties if kd == "law"]
        return law_distractors(fact, pools.law, parties, rng, k, near_miss)
    if fact.fact_type == "deadline":
        years = _deadline_distractors(fact, rng, N_DISTRACTORS if near_miss else k)
        return pick_distractors(fact, years, k, lambda *_: True, near_miss)
    if fact.fact_type == "number":
        cands = [(_display(fact, v), _distance(fact, v)) for v in pools.numbers.get(_unit_key(fact.unit), [])]
    else:
        # A law's party is offered only among the bodies that law names (another law's body is no alternative a
        # reader would weigh); the plan names few parties, so its own come first and then the laws'.
        own_doc_only = fact.doc_kind != "plan"
        cands = [(p, (kd != fact.doc_kind) + (d != fact.citation.doc_id) * 0.5 + other_system(fact.value, p) * 0.25)
                 for p, d, kd in pools.parties if rule_same_kind(fact, p) and rule_no_overlap(fact.value, p)
                 and (d == fact.citation.doc_id or not own_doc_only)]
    rng.shuffle(cands)
    if fact.fact_type == "party" and party_kind(fact.value) == "enterprise":  # review r14: 销售者 for 工业生产企业
        text = norm_text(fact.statement or fact.citation.passage)
        cands.sort(key=lambda c: -shared_bigrams(c[0], text))
    cands.sort(key=lambda c: c[1])  # stable: ties stay in the seeded order
    pool = [c for c, _ in cands]
    # numbers: draw from the nearest few values so that the distractors are close but not always the same
    if fact.fact_type == "number":
        valid = [c for c in pool if _valid(fact, c, [])]
        head = valid[: max(NEAREST_POOL, k)]
        rng.shuffle(head)
        pool = head + valid[len(head):]
    return pick_distractors(fact, pool, k, _valid, near_miss)


