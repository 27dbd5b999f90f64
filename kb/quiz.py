"""Quiz builder for trainers: questions with answer keys and verbatim sources, from the obligations register.

Every question is built on one *fact* read from the register (``kb.obligations``) and its indicator tables:

- a deadline ("2017年底前") of a plan task, masked in the verbatim sentence;
- a number with its unit ("15%", "550亿立方米") of a target, or a value of an indicator table row
  (专栏1/2/3/5: target, baseline, 2015 result, water-quality class);
- the responsible party ("县级以上地方人民政府") named explicitly in a duty of a law or the plan.

Three kinds of item are made from a fact: ``mcq`` (multiple choice: the fact and three distractors of the
same kind drawn from the rest of the corpus), ``blank`` (the fact masked as "____") and ``judge`` (true or
false: the sentence as written, or with the fact swapped for a distractor).

Rules that keep items unambiguous: the masked value occurs exactly once in the cited passage; no
distractor occurs in the passage, and none equals the answer after normalisation (same year for a
deadline, same number for a value, one party name containing the other after folding 地方/各级/有关…);
targets that the consistency check (:func:`kb.obligations.find_conflicts`) flags are never used; one fact
and one passage give at most one item per quiz. Generation is deterministic for a seed.

Exports: JSON, CSV (round trip with :func:`from_csv`), Markdown (a printable paper with the 答案 key at the
end), Moodle GIFT and Aiken (multiple choice only).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexing.types import Obligation

KINDS = ("mcq", "blank", "judge")
FACT_TYPES = ("deadline", "number", "party")
KIND_LABELS = {"mcq": "单选题", "blank": "填空题", "judge": "判断题"}
FACT_LABELS = {"deadline": "时限", "number": "数值", "party": "责任主体"}
TRUE_TEXT, FALSE_TEXT = "正确", "错误"
BLANK = "____"
LETTERS = "ABCD"
N_DISTRACTORS = 3
MAX_PASSAGE_CHARS = 180  # longer sentences make poor questions
NEAREST_POOL = 6  # distractors are drawn from this many nearest candidates

# ---------------------------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------------------------


@dataclass
class QuizCitation:
    """Where an item's fact is stated: the verbatim passage and its span in ``Document.text``."""

    doc_id: str
    title: str
    section: str
    passage: str
    start: int
    end: int
    article: str | None = None

    def label(self) -> str:
        """Short human-readable location: 《title》 plus the article or the innermost heading."""
        where = self.article or (self.section.split(" > ")[-1] if self.section else "")
        return f"《{self.title}》" + (f"{where}" if where else "")


@dataclass
class QuizItem:
    """One question with its key, explanation and citation.

    ``answer`` is the correct option text for ``mcq`` (``answer_letter`` gives its letter), the masked
    value for ``blank`` and 正确/错误 for ``judge``. ``fact`` is always the true value as written in the
    passage; ``distractors`` are the wrong values used (the wrong options, or the value swapped into a
    false ``judge`` statement).
    """

    id: str
    kind: str  # mcq | blank | judge
    stem: str
    options: list[str]
    answer: str
    answer_letter: str
    explanation: str
    citation: QuizCitation
    domain: str
    ob_id: str
    fact_type: str  # deadline | number | party
    fact: str
    distractors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (the citation nested)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> QuizItem:
        """Inverse of :meth:`to_dict`."""
        data = dict(d)
        data["citation"] = QuizCitation(**data["citation"])
        data["options"] = list(data.get("options") or [])
        data["distractors"] = list(data.get("distractors") or [])
        return cls(**data)

    def is_correct(self, response: str) -> bool:
        """Whether a response (option text, letter, or typed answer) is right, after normalisation."""
        r = _norm(response)
        if not r:
            return False
        if self.kind == "mcq" and r.upper() == self.answer_letter:
            return True
        if self.kind == "blank" and self.fact_type == "deadline":
            return _deadline_core(r) == _deadline_core(_norm(self.answer))
        if self.kind == "blank" and self.fact_type == "number":
            a, b = _number(r.rstrip("%")), _number(_norm(self.answer).rstrip("%"))
            if a is not None and b is not None:
                return a == b
        return r == _norm(self.answer)


@dataclass
class Fact:
    """One quizzable fact: a value stated once in a verbatim passage, and how to ask about it."""

    fact_type: str  # deadline | number | party
    value: str  # exactly as written in the passage
    citation: QuizCitation
    domain: str
    ob_id: str
    doc_kind: str  # plan | law (the kind of document, for plausible distractors)
    keys: tuple  # identities: a fact whose key was seen already is a duplicate
    unit: str = ""  # numbers: the unit the value is written with ("%", "万吨", "水质类别")
    year: str = ""  # deadlines: the year written in the expression
    subject: str = ""  # table facts: what is asked ("“X”的2020年目标值（单位：%）")
    table: str = ""  # table facts: the table name (专栏2 …)

    @property
    def passage_key(self) -> tuple[str, int, int]:
        """The cited span; one passage gives at most one item per quiz."""
        return (self.citation.doc_id, self.citation.start, self.citation.end)


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

_YEAR_RE = re.compile(r"(?:19|20)\d\d")
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_DEADLINE_PREFIX = re.compile(r"^(?:截止到|截至|到|至|于|在)")
_PARTY_FOLD = (
    (re.compile(r"生态环境"), "环境保护"),
    (re.compile(r"行政主管部门"), "主管部门"),
    (re.compile(r"地方|各级|有关|相关|其他|的|及其|和|、|以及"), ""),
)
# Parties that make poor facts and unsafe distractors: pronouns, fragments, and catch-alls such as
# 任何单位和个人 (a statement about a more specific party would still be implied true).
_BAD_PARTY = re.compile(
    r"^(?:该|其|本|被|或者|和|及|以及|有下列|列入)|前款|下列"
    r"|任何|企业事业单位|生产经营者|单位和个人|法人|其他组织|有关单位|^有关部门$|^公民$"
)


# Bodies named by a relation ("原审批部门", "接到举报的部门") may be the very body another name denotes.
_RELATIONAL_PARTY = re.compile(
    r"^(?:原|接到|收到|受理|处理|所在地|上级)|审批部门|审批机关|指定的|的(?:部门|机关|机构|人民政府)$"
)


_PARTY_TAIL = re.compile(
    r"(?:(?!应|会同|组织|必须|不得|可以|负责)[\u4e00-\u9fff]){1,12}?(?:部门|机关|机构|单位|企业)"
    r"(?:应当|应|必须|不得|可以|要|须|负责|，)"
)


def _truncated_party(party: str, passage: str) -> bool:
    """The extracted party is the head of a longer name (县级以上人民政府|市场监督管理部门应当…)."""
    pos = passage.find(party)
    return pos >= 0 and bool(_PARTY_TAIL.match(passage, pos + len(party)))


def _usable_party(party: str) -> bool:
    return (len(_party_core(party)) >= 3 and not _BAD_PARTY.search(party)
            and not _RELATIONAL_PARTY.search(party))


def _norm(text: str) -> str:
    """NFKC, no whitespace (for comparisons only)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _deadline_core(text: str) -> str:
    return _DEADLINE_PREFIX.sub("", _norm(text))


def _party_core(text: str) -> str:
    s = _norm(text)
    for pattern, repl in _PARTY_FOLD:
        s = pattern.sub(repl, s)
    return s


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _same_value(fact_type: str, a: str, b: str) -> bool:
    """Whether two values are the same answer after normalisation (so one cannot be a distractor of the other)."""
    na, nb = _norm(a), _norm(b)
    if na == nb:
        return True
    if fact_type == "deadline":
        ya, yb = _YEAR_RE.findall(na), _YEAR_RE.findall(nb)
        return _deadline_core(na) == _deadline_core(nb) or (bool(ya) and ya == yb)
    if fact_type == "number":
        xa, xb = _NUM_RE.findall(na), _NUM_RE.findall(nb)
        if xa and xb:
            return [float(x) for x in xa] == [float(x) for x in xb]
        return False
    for pa in _party_parts(a):
        for pb in _party_parts(b):
            ca, cb = _party_core(pa), _party_core(pb)
            if ca == cb or ca in cb or cb in ca:
                return True
            # the same kind of body at overlapping levels (县级以上地方人民政府 / 设区的市、县级人民政府)
            if _party_head(pa) and _party_head(pa) == _party_head(pb) and _levels(pa) & _levels(pb):
                return True
    return False


_PARTY_SPLIT = re.compile(r"以及|及其|或者|和|及|与|、")


def _party_parts(party: str) -> list[str]:
    """A party and each party it lists ("A和B" -> A和B, A, B)."""
    return [x for x in dict.fromkeys([party, *_PARTY_SPLIT.split(party)]) if _party_core(x)]


_LEVELS = {"国务院": 4, "省": 3, "市": 2, "县": 1, "乡": 0}


def _levels(party: str) -> set[int]:
    """Administrative levels a party may sit at (0 乡 … 4 国务院); every level when it names none."""
    s = party.replace("自治区", "省").replace("直辖市", "省").replace("镇", "乡")
    out = {lvl for word, lvl in _LEVELS.items() if word in s}
    for m in re.finditer(r"(国务院|省|市|县|乡)级?以上", s):
        out.update(range(_LEVELS[m.group(1)], 5))
    if "各级" in s or not out:
        out = set(range(5))
    if "地方" in s:
        out.discard(_LEVELS["国务院"])  # 地方人民政府: local, never the State Council
    return out


def _party_head(party: str) -> str:
    """The kind of body, without its level: 人民政府 for governments, "环境保护主管部门" for departments."""
    core = _party_core(party)
    if core.endswith(("政府", "国务院")):
        return "政府"
    m = re.search(r"(?:政府|国务院)?([^政府院]*?(?:部门|机关|机构))$", core)
    return m.group(1) if m else ""


def _in_passage(value: str, passage: str) -> bool:
    return bool(value) and (value in passage or _norm(value) in _norm(passage))


def _occurrences(value: str, passage: str) -> int:
    return max(passage.count(value), _norm(passage).count(_norm(value)))


def _party_category(party: str) -> str:
    if party.endswith(("政府", "国务院")):
        return "gov"
    if party.endswith(("部门", "机关", "机构")):
        return "dept"
    return "unit"


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
    from kb.obligations import indicator_key

    spans: set[tuple[str, int, int]] = set()
    keys: set[tuple[str, object]] = set()
    for c in getattr(register, "conflicts", []) or []:
        for r in (c.first, c.second):
            spans.add((r.doc_id, r.start, r.end))
            keys.add((r.doc_id, indicator_key(c.indicator)))
            if r.target is not None:
                keys.add((r.doc_id, indicator_key(r.target.indicator)))
    return spans, keys


def _record_facts(r: Obligation, bad_spans, bad_keys) -> list[Fact]:
    """Deadline, number and party facts stated in one text record's passage."""
    from kb.obligations import indicator_key

    if r.source != "text" or not _text_ok(r.passage):
        return []
    out: list[Fact] = []
    cit = _citation(r)
    kind = _doc_kind(r)
    p = r.passage
    if r.deadline_kind in ("by-date", "end-of-year", "from-year-on") and r.deadline_text:
        years = _YEAR_RE.findall(r.deadline_text)
        if years and _occurrences(r.deadline_text, p) == 1:
            masked = _norm(_masked(p, r.deadline_text))
            out.append(Fact("deadline", r.deadline_text, cit, r.domain, r.ob_id, kind,
                            keys=(("deadline", masked),), year=years[0]))
    t = r.target
    if t is not None and _number(t.value) is not None and t.unit:
        shown = f"{t.value}{t.unit}"
        ikey = indicator_key(t.indicator)
        conflicting = (r.doc_id, r.start, r.end) in bad_spans or (r.doc_id, ikey) in bad_keys
        if not conflicting and _occurrences(shown, p) == 1:
            masked = _norm(_masked(p, shown))
            out.append(Fact("number", shown, cit, r.domain, r.ob_id, kind,
                            keys=(("number", masked), ("value", r.doc_id, ikey, float(t.value))), unit=t.unit))
    party = r.party
    if (r.party_source == "explicit" and _usable_party(party) and _occurrences(party, p) == 1
            and not _truncated_party(party, p)):
        masked = _norm(_masked(p, party))
        out.append(Fact("party", party, cit, r.domain, r.ob_id, kind, keys=(("party", masked),)))
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
    from kb.obligations import indicator_key

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
            ident = float(value) if m else _norm(value)
            out.append(Fact(
                "number", value, cit, rec.domain if rec else "目标", rec.ob_id if rec else "", "plan",
                keys=(("value", row.doc_id, ikey, ident), ("cell", row.doc_id, row.table, row.indicator, attr)),
                unit=row.unit or "", subject=_row_subject(row, measure, m.group(1) if m else ""), table=box,
            ))
    return out


def quiz_facts(register) -> list[Fact]:
    """Every usable fact of the register, deduplicated, in corpus order (text facts before table facts)."""
    bad_spans, bad_keys = _conflict_filters(register)
    facts: list[Fact] = []
    for r in register.records:
        facts.extend(_record_facts(r, bad_spans, bad_keys))
    facts.extend(_table_facts(register, bad_spans, bad_keys))
    seen: set[tuple] = set()
    out = []
    for f in facts:
        if any(k in seen for k in f.keys):
            continue
        seen.update(f.keys)
        out.append(f)
    return out


# ---------------------------------------------------------------------------------------------------------
# Distractors
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Pools:
    """Values of each kind found anywhere in the corpus, the source of distractors."""

    deadlines: list[tuple[str, str]]  # (text, deadline kind)
    numbers: dict[str, list[str]]  # unit -> values as written (bare)
    parties: list[tuple[str, str, str]]  # (party, doc_id, doc kind)


def _unit_key(unit: str) -> str:
    return _norm(unit)


def _pools(register) -> _Pools:
    deadlines: dict[str, str] = {}
    numbers: dict[str, dict[str, None]] = {}
    parties: dict[str, tuple[str, str]] = {}
    for r in register.records:
        if r.deadline_kind in ("by-date", "end-of-year", "from-year-on") and _YEAR_RE.search(r.deadline_text or ""):
            deadlines.setdefault(r.deadline_text, r.deadline_kind)
        t = r.target
        if t is not None and t.unit and _number(t.value) is not None:
            numbers.setdefault(_unit_key(t.unit), {})[t.value] = None
        if r.party_source == "explicit" and _usable_party(r.party):
            parties.setdefault(r.party, (r.doc_id, _doc_kind(r)))
    for row in getattr(register, "indicators", []) or []:
        for attr in ("target", "baseline", "result"):
            raw = (getattr(row, attr, "") or "").strip()
            m = re.fullmatch(r"[≤≥<>]?(\d+(?:\.\d+)?)", raw)
            if m and row.unit:
                numbers.setdefault(_unit_key(row.unit), {})[m.group(1)] = None
            elif row.unit == "水质类别" and re.fullmatch(r"劣?(?:I{1,3}|IV|V|Ⅰ|Ⅱ|Ⅲ|Ⅳ|Ⅴ)类", raw):
                numbers.setdefault(_unit_key(row.unit), {})[raw] = None
    return _Pools(
        deadlines=sorted(deadlines.items()),
        numbers={u: sorted(v) for u, v in numbers.items()},
        parties=sorted((p, d, k) for p, (d, k) in parties.items()),
    )


def _display(fact: Fact, value: str) -> str:
    """A pool value written the way the fact is written (text numbers carry their unit)."""
    if fact.fact_type == "number" and not fact.subject:
        return f"{value}{fact.unit}"
    return value


def _deadline_sig(text: str) -> tuple[str, str]:
    """(year, form) of a deadline expression: 2018年底前 and 2018年底 share one, 自2018年起 has another."""
    s = _deadline_core(text)
    years = _YEAR_RE.findall(s)
    form = "from" if "起" in s else "eoy" if "底" in s else "before" if s.endswith("前") else "by"
    return (years[0] if years else s, form)


def _valid(fact: Fact, candidate: str, chosen: Sequence[str]) -> bool:
    """A distractor is wrong for sure: not the answer after normalisation, not in the passage, not chosen."""
    if not candidate or _same_value(fact.fact_type, candidate, fact.value):
        return False
    if _in_passage(candidate, fact.citation.passage):
        return False
    if fact.fact_type == "deadline":
        # a year the passage mentions anyway would make the statement confusing
        if _deadline_sig(candidate)[0] in _YEAR_RE.findall(fact.citation.passage):
            return False
        return all(_deadline_sig(candidate) != _deadline_sig(c) for c in chosen)
    return not any(_same_value(fact.fact_type, candidate, c) for c in chosen)


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


def distractors(fact: Fact, pools: _Pools, rng: random.Random, k: int = N_DISTRACTORS) -> list[str]:
    """Up to ``k`` plausible wrong values of the same kind as the fact, drawn from the corpus."""
    if fact.fact_type == "deadline":
        kind = next((kd for t, kd in pools.deadlines if t == fact.value), "")
        to = fact.value.startswith(("到", "至"))
        cands = [(t, (kd != kind) + (t.startswith(("到", "至")) != to)) for t, kd in pools.deadlines]
    elif fact.fact_type == "number":
        cands = [(_display(fact, v), _distance(fact, v)) for v in pools.numbers.get(_unit_key(fact.unit), [])]
    else:
        cat = _party_category(fact.value)
        cands = [(p, (_party_category(p) != cat) * 2 + (kd != fact.doc_kind) + (d != fact.citation.doc_id) * 0.5)
                 for p, d, kd in pools.parties]
    rng.shuffle(cands)
    cands.sort(key=lambda c: c[1])  # stable: ties stay in the seeded order
    chosen: list[str] = []
    pool = [c for c, _ in cands]
    # numbers: draw from the nearest few values so that the distractors are close but not always the same
    if fact.fact_type == "number":
        valid = [c for c in pool if _valid(fact, c, [])]
        head = valid[: max(NEAREST_POOL, k)]
        rng.shuffle(head)
        pool = head + valid[len(head):]
    if fact.fact_type == "deadline":
        # first distractors in years different from each other, then other forms of those years
        for c in pool:
            years = {_deadline_sig(x)[0] for x in chosen}
            if len(chosen) < k and _deadline_sig(c)[0] not in years and _valid(fact, c, chosen):
                chosen.append(c)
    for c in pool:
        if len(chosen) >= k:
            break
        if c not in chosen and _valid(fact, c, chosen):
            chosen.append(c)
    return chosen


# ---------------------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------------------


def _item_id(fact: Fact, kind: str, stem: str) -> str:
    h = hashlib.sha1(f"{fact.ob_id}|{fact.passage_key}|{fact.fact_type}|{kind}|{stem}".encode()).hexdigest()
    return f"q-{h[:12]}"


def _where(c: QuizCitation) -> str:
    return f"《{c.title}》{c.article or ''}"


def _explanation(fact: Fact, extra: str) -> str:
    c = fact.citation
    loc = c.article or c.section
    return f"{extra}出处：《{c.title}》{('（' + loc + '）') if loc else ''}。原文：“{c.passage}”"


def _stem(fact: Fact, kind: str, shown: str | None = None) -> str:
    """The question text; ``shown`` is the value a judge statement asserts."""
    c = fact.citation
    label = FACT_LABELS[fact.fact_type]
    if fact.subject:  # table fact: a composed question about one cell
        src = f"根据{_where(c)}{fact.table}"
        if kind == "mcq":
            return f"{src}，{fact.subject}是："
        if kind == "blank":
            return f"{src}，{fact.subject}为{BLANK}。"
        return f"判断正误：{src}，{fact.subject}为{shown}。"
    sentence = c.passage.strip()
    if kind == "mcq":
        return f"根据{_where(c)}，“{_masked(sentence, fact.value)}”中横线处应填入的{label}是："
    if kind == "blank":
        return f"根据{_where(c)}，填空（{label}）：“{_masked(sentence, fact.value)}”"
    stated = sentence.replace(fact.value, shown or fact.value, 1)
    return f"判断正误：根据{_where(c)}，“{stated}”"


def make_item(fact: Fact, kind: str, pools: _Pools, rng: random.Random) -> QuizItem | None:
    """One item of ``kind`` on ``fact``, or None when the fact lacks the distractors that kind needs."""
    base = dict(citation=fact.citation, domain=fact.domain, ob_id=fact.ob_id, fact_type=fact.fact_type,
                fact=fact.value)
    if kind == "mcq":
        wrong = distractors(fact, pools, rng)
        if len(wrong) < N_DISTRACTORS:
            return None
        options = [fact.value, *wrong]
        rng.shuffle(options)
        letter = LETTERS[options.index(fact.value)]
        stem = _stem(fact, kind)
        expl = _explanation(fact, f"正确答案：{letter}. {fact.value}。")
        return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=options, answer=fact.value,
                        answer_letter=letter, explanation=expl, distractors=wrong, **base)
    if kind == "blank":
        stem = _stem(fact, kind)
        expl = _explanation(fact, f"答案：{fact.value}。")
        return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=[], answer=fact.value,
                        answer_letter="", explanation=expl, **base)
    truthful = rng.random() < 0.5
    wrong = [] if truthful else distractors(fact, pools, rng, k=1)
    if not truthful and not wrong:
        truthful = True
    shown = fact.value if truthful else wrong[0]
    stem = _stem(fact, kind, shown)
    if truthful:
        expl = _explanation(fact, f"答案：{TRUE_TEXT}。题干与原文一致。")
    else:
        expl = _explanation(fact, f"答案：{FALSE_TEXT}。原文为“{fact.value}”，题干误作“{shown}”。")
    return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=[TRUE_TEXT, FALSE_TEXT],
                    answer=TRUE_TEXT if truthful else FALSE_TEXT, answer_letter="", explanation=expl,
                    distractors=wrong, **base)


def _kinds(kinds: str | Iterable[str] | None) -> list[str]:
    if kinds is None:
        return list(KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    out = []
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"未知题型：{k}（可选 {'/'.join(KINDS)}）")
        if k not in out:
            out.append(k)
    return out or list(KINDS)


def select_facts(register, doc: str | None = None, domain: str | None = None) -> list[Fact]:
    """The facts a quiz may use, filtered by document id and domain (a substring of the domain label)."""
    return [f for f in quiz_facts(register)
            if (not doc or f.citation.doc_id == doc) and (not domain or domain in f.domain)]


def _take(bucket: list[Fact], kind: str, pools: _Pools, rng: random.Random,
          used_passages: set[tuple[str, int, int]], dead: set[str]) -> QuizItem | None:
    """Make an item of ``kind`` from the first fact of ``bucket`` that can, removing that fact."""
    i = 0
    while i < len(bucket):
        f = bucket[i]
        if f.passage_key in used_passages:
            bucket.pop(i)
            continue
        fid = repr(f.keys)
        if fid in dead:
            i += 1
            continue
        item = make_item(f, kind, pools, rng)
        if item is None:
            dead.add(fid)
            i += 1
            continue
        bucket.pop(i)
        used_passages.add(f.passage_key)
        return item
    return None


def generate(
    register,
    n: int = 10,
    seed: int = 0,
    kinds: str | Iterable[str] | None = None,
    doc: str | None = None,
    domain: str | None = None,
) -> list[QuizItem]:
    """Up to ``n`` items from the register, deterministic for ``seed``.

    Kinds take turns (mcq, blank, judge …) and so do the fact types (deadline, number, party) as far as
    facts remain; a fact or a passage is used at most once. Fewer than ``n`` items come back when the
    filtered corpus has fewer usable facts. Distractors come from the whole corpus, whatever the filters.
    """
    kind_list = _kinds(kinds)
    if n <= 0:
        return []
    rng = random.Random(seed)
    pools = _pools(register)
    buckets: dict[str, list[Fact]] = {t: [] for t in FACT_TYPES}
    for f in select_facts(register, doc, domain):
        buckets[f.fact_type].append(f)
    for t in FACT_TYPES:
        rng.shuffle(buckets[t])
    # each kind walks through the fact types in its own seeded order, so kinds and types both vary
    type_orders = {k: rng.sample(FACT_TYPES, len(FACT_TYPES)) for k in kind_list}
    type_turn = dict.fromkeys(kind_list, 0)
    used_passages: set[tuple[str, int, int]] = set()
    dead: dict[str, set[str]] = {k: set() for k in kind_list}  # facts that cannot make a kind (no distractors)
    items: list[QuizItem] = []
    slot = 0
    stalled = 0
    while len(items) < n and stalled < len(kind_list):
        kind = kind_list[slot % len(kind_list)]
        slot += 1
        order = type_orders[kind]
        made = None
        for j in range(len(order)):
            ftype = order[(type_turn[kind] + j) % len(order)]
            made = _take(buckets[ftype], kind, pools, rng, used_passages, dead[kind])
            if made is not None:
                break
        if made is None:
            stalled += 1
            continue
        type_turn[kind] += 1
        stalled = 0
        items.append(made)
    return items


def available(register, doc: str | None = None, domain: str | None = None) -> dict[str, int]:
    """How many facts of each type the filters leave (an upper bound on a quiz's length)."""
    out = dict.fromkeys(FACT_TYPES, 0)
    for f in select_facts(register, doc, domain):
        out[f.fact_type] += 1
    return out


def quiz_domains(register) -> list[str]:
    """Domain labels that have at least one usable fact, sorted."""
    return sorted({f.domain for f in quiz_facts(register) if f.domain})


def quiz_documents(register) -> list[tuple[str, str]]:
    """(title, doc_id) of the documents that have at least one usable fact, in corpus order."""
    seen: dict[str, str] = {}
    for f in quiz_facts(register):
        seen.setdefault(f.citation.doc_id, f.citation.title)
    order = {d: i for i, d in enumerate(getattr(register, "doc_order", []) or [])}
    return [(t, d) for d, t in sorted(seen.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]


# ---------------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id", "kind", "fact_type", "stem", "option_a", "option_b", "option_c", "option_d", "answer", "answer_letter",
    "explanation", "doc_id", "title", "section", "article", "passage", "start", "end", "domain", "ob_id", "fact",
    "distractors",
)


def to_json(items: Iterable[QuizItem]) -> str:
    """A JSON array of the items (Chinese unescaped)."""
    return json.dumps([it.to_dict() for it in items], ensure_ascii=False, indent=2)


def from_json(text: str) -> list[QuizItem]:
    """Items read back from :func:`to_json` output."""
    return [QuizItem.from_dict(d) for d in json.loads(text)]


def to_csv(items: Iterable[QuizItem]) -> str:
    """CSV with a header row and a UTF-8 BOM (Excel shows the Chinese); options in columns A–D."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for it in items:
        opts = [*it.options, "", "", "", ""][:4]
        c = it.citation
        writer.writerow({
            "id": it.id, "kind": it.kind, "fact_type": it.fact_type, "stem": it.stem,
            "option_a": opts[0], "option_b": opts[1], "option_c": opts[2], "option_d": opts[3],
            "answer": it.answer, "answer_letter": it.answer_letter, "explanation": it.explanation,
            "doc_id": c.doc_id, "title": c.title, "section": c.section, "article": c.article or "",
            "passage": c.passage, "start": c.start, "end": c.end, "domain": it.domain, "ob_id": it.ob_id,
            "fact": it.fact, "distractors": json.dumps(it.distractors, ensure_ascii=False),
        })
    return "\ufeff" + buf.getvalue()


def from_csv(text: str) -> list[QuizItem]:
    """Items read back from :func:`to_csv` output."""
    out = []
    for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))):
        cit = QuizCitation(doc_id=row["doc_id"], title=row["title"], section=row["section"], passage=row["passage"],
                           start=int(row["start"]), end=int(row["end"]), article=row.get("article") or None)
        options = [row[f"option_{x}"] for x in "abcd" if row.get(f"option_{x}")]
        out.append(QuizItem(
            id=row["id"], kind=row["kind"], stem=row["stem"], options=options, answer=row["answer"],
            answer_letter=row["answer_letter"], explanation=row["explanation"], citation=cit, domain=row["domain"],
            ob_id=row["ob_id"], fact_type=row["fact_type"], fact=row["fact"],
            distractors=json.loads(row.get("distractors") or "[]"),
        ))
    return out


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """Escape Markdown syntax so that document text prints as written."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text).strip())


def to_markdown(items: Sequence[QuizItem], title: str = "环境保护法规知识测验") -> str:
    """A printable paper: numbered questions, then the 答案 key with explanations and sources at the end."""
    intro = f"共 {len(items)} 题。单选题选出唯一正确的选项；填空题填写横线处内容；判断题判断正误。"
    lines = [f"# {_md(title)}", "", intro, "", "## 试题", ""]
    for i, it in enumerate(items, 1):
        lines.append(f"{i}. 【{KIND_LABELS[it.kind]}】{_md(it.stem)}" + ("（　　）" if it.kind == "judge" else ""))
        if it.kind == "mcq":
            lines.append("")
            lines.extend(f"    {LETTERS[j]}. {_md(opt)}  " for j, opt in enumerate(it.options))
        lines.append("")
    lines += ["## 答案", ""]
    for i, it in enumerate(items, 1):
        ans = f"{it.answer_letter}. {it.answer}" if it.kind == "mcq" else it.answer
        c = it.citation
        loc = c.section if not c.article or c.article in c.section else f"{c.section} > {c.article}"
        lines.append(f"{i}. **{_md(ans)}**  ")
        if it.kind == "judge" and it.distractors:
            lines.append(f"    原文为“{_md(it.fact)}”，题干误作“{_md(it.distractors[0])}”。  ")
        lines.append(f"    出处：《{_md(c.title)}》{('（' + _md(loc) + '）') if loc else ''}  ")
        lines.append(f"    原文：“{_md(c.passage)}”")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters (~ = # { } : and the backslash) and fold line breaks."""
    return _GIFT_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text).strip())


def to_gift(items: Sequence[QuizItem], category: str = "环境保护法规知识测验") -> str:
    """Moodle GIFT: ``{=right ~wrong …}`` for mcq, ``{=answer}`` for blanks, ``{TRUE}``/``{FALSE}`` for judge.

    Every question has a title (``::Q1 …::``) and the explanation with its source as general feedback
    (``####…``).
    """
    out = [f"$CATEGORY: {gift_escape(category)}", ""]
    for i, it in enumerate(items, 1):
        title = gift_escape(f"Q{i} {KIND_LABELS[it.kind]} {it.id}")
        feedback = f"####{gift_escape(it.explanation)}"
        if it.kind == "mcq":
            answers = " ".join(("=" if o == it.answer else "~") + gift_escape(o) for o in it.options)
        elif it.kind == "blank":
            answers = "=" + gift_escape(it.answer)
        else:
            answers = "TRUE" if it.answer == TRUE_TEXT else "FALSE"
        out.append(f"// {i}. {KIND_LABELS[it.kind]} · {it.fact_type} · {it.id}")
        out.append(f"::{title}::{gift_escape(it.stem)} {{{answers} {feedback}}}")
        out.append("")
    return "\n".join(out)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def to_aiken(items: Iterable[QuizItem]) -> str:
    """Aiken (multiple choice only; other kinds are left out): question line, "A. …" options, "ANSWER: B"."""
    blocks = []
    for it in items:
        if it.kind != "mcq":
            continue
        lines = [_one_line(it.stem)]
        lines += [f"{LETTERS[j]}. {_one_line(o)}" for j, o in enumerate(it.options)]
        lines.append(f"ANSWER: {it.answer_letter}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


FORMATTERS = {"json": to_json, "csv": to_csv, "gift": to_gift, "aiken": to_aiken, "md": to_markdown}
EXTENSIONS = {"json": "json", "csv": "csv", "gift": "gift.txt", "aiken": "aiken.txt", "md": "md"}


# ---------------------------------------------------------------------------------------------------------
# Register and CLI
# ---------------------------------------------------------------------------------------------------------


def load_quiz_register(settings, warn=None):
    """The register of the live index, or one built straight from the corpus (cheap: no embeddings)."""
    from kb.obligations import REGISTER_FILE, build_register, load_register

    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    index_dir = Path(settings.index_dir)
    if index_dir.is_dir():
        from indexing.store import live_generation

        gen = live_generation(settings)
        if gen is not None and (gen / REGISTER_FILE).exists():
            return load_register(gen / REGISTER_FILE)
    warn("未找到已建立的索引，直接从语料生成义务清单（无需向量模型）。")
    warnings: list[str] = []
    register = build_register(_load_dutiful_corpus(settings, warnings))
    for w in warnings:
        warn(f"警告：{w}")
    return register


def _load_dutiful_corpus(settings, warnings: list[str]) -> list:
    """Like ``indexing.build.load_corpus``, without the catalogues (manifest kind "list").

    Lists state no duties (``extract_obligations`` returns none for them) and their PDFs take most of the
    loading time (≈15 of 17 s on a busy machine), so the register is the same and comes several times faster.
    """
    from indexing.build import load_corpus
    from indexing.loaders import LoadError, corpus_files, load_document
    from indexing.manifest import read_manifest
    from indexing.structure import parse_sections

    manifest = read_manifest(settings.corpus_dir)
    if not manifest:
        return load_corpus(settings, warnings)
    out = []
    for path in corpus_files(settings.corpus_dir):
        rel = path.relative_to(settings.corpus_dir).as_posix()
        entry = manifest.get(rel)
        if entry is not None and getattr(entry, "kind", "") == "list":
            continue
        try:
            doc = load_document(path, settings.corpus_dir, entry)
        except LoadError as e:
            warnings.append(f"{rel}：{e}")
            continue
        out.append((doc, parse_sections(doc)))
    return out


def cmd_quiz(args, settings) -> int:
    """`kb quiz`: generate a quiz and print it as md (default), json, csv, gift or aiken."""
    fmt = getattr(args, "format", "md") or "md"
    kinds = getattr(args, "kind", None)
    n = int(getattr(args, "n", 10))
    if n < 1:
        print("参数错误：--n 必须是正整数。", file=sys.stderr)
        return 2
    if fmt == "aiken":
        if kinds and "mcq" not in kinds:
            print("Aiken 格式只支持单选题（--kind mcq）。", file=sys.stderr)
            return 2
        kinds = ["mcq"]
    register = load_quiz_register(settings)
    from kb.inputs import check_one

    try:  # an unknown document or domain is an error listing the valid ones (kb.inputs.UnknownFilterError)
        doc = check_one("doc", "文档（doc_id，须有可出题的内容）", getattr(args, "doc", None),
                        [d for _, d in quiz_documents(register)])
        domain = check_one("domain", "领域", getattr(args, "domain", None), quiz_domains(register))
        items = generate(register, n=n, seed=int(getattr(args, "seed", 0)), kinds=kinds, doc=doc, domain=domain)
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    if not items:
        print("没有符合条件的题目：请放宽文档、领域或题型的筛选。", file=sys.stderr)
        return 1
    if len(items) < n:
        print(f"符合条件的素材只够生成 {len(items)} 道题（要求 {n} 道）。", file=sys.stderr)
    from kb.cli_io import emit

    emit(FORMATTERS[fmt](items), getattr(args, "output", None))
    return 0
