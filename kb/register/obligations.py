"""Obligations register: every task of the plan and every duty of the laws as a structured, cited record.

Built at index time from the normalised documents and their sections (no embeddings), stored as JSON next
to the index, and queried by the CLI (`kb obligations`), the web app and the answer composer.

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

import csv
import hashlib
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from indexing.structure import section_at, section_path
from indexing.types import Document, Obligation, Section, Target
from kb.quiz.facts_law import LawFact, extract_law_facts, law_fact_from_dict

# 2: law_facts and doc_status (quiz material); 3: also "YYYY年前" read as the end of YYYY. A stored register of
# another version is rebuilt from the corpus.
REGISTER_VERSION = 3
REGISTER_FILE = "obligations.json"
UNSPECIFIED = "未明确"
_PERIOD_END = {"十二五": 2015, "十三五": 2020, "十四五": 2025}  # last year of each five-year plan period

# ---------------------------------------------------------------------------------------------------------
# Deadlines
# ---------------------------------------------------------------------------------------------------------

_DEADLINE_RE = re.compile(
    r"(?P<from>自(?P<fy>(?:19|20)\d\d)年(?:起|开始))"
    r"|(?P<pre>截止到|截至|到|至|于|在)?(?P<y>(?:19|20)\d\d)年"
    r"(?:(?P<m>\d{1,2})月(?P<mend>底)?(?P<mbefore>前|以前)?(?!\d)"
    r"|(?P<eoy>底)(?:前|以前)?"
    r"|(?P<before>前|以前)"
    r"|(?P<plain>))"
    r"|(?P<annual>每年|逐年)"
    r"|(?P<period>[“\"]?(?P<pname>十[一二三四五]五)[”\"]?(?:期间|时期))"
)
# A bare year is a deadline only when a verb of completion follows ("2020年实现超低排放").
_BARE_YEAR_VERBS = re.compile(r"实现|完成|达到|基本|建成|全面|前|底")
_TO_PREFIXES = ("截止到", "截至", "到", "至")


@dataclass
class Deadline:
    """One normalised time expression found in a text."""

    kind: str  # by-date | end-of-year | from-year-on | annual | period
    text: str  # the original expression (with a leading 到/至 kept, 于/在 dropped)
    date: str  # ISO date or ""
    year: int | None
    start: int  # span of the expression in the searched text
    end: int


def _last_day(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def parse_deadlines(text: str, min_year: int = 0, start: int = 0, end: int | None = None) -> list[Deadline]:
    """All deadline expressions in ``text[start:end]`` (positions are in ``text``), normalised.

    ``min_year`` drops dated expressions for years before it (they describe the past). A 每年/逐年 that
    follows a 自X年起 with nothing in between is folded into it (see the module docstring).
    """
    end = len(text) if end is None else end
    out: list[Deadline] = []
    for m in _DEADLINE_RE.finditer(text, start, end):
        dl = _deadline_from_match(text, m, min_year)
        if dl is None:
            continue
        if dl.kind == "annual" and out and out[-1].kind == "from-year-on":
            continue
        out.append(dl)
    return out


def _deadline_from_match(text: str, m: re.Match[str], min_year: int) -> Deadline | None:
    s, e = m.start(), m.end()
    if m.group("annual"):
        return Deadline("annual", m.group(0), "", None, s, e)
    if m.group("period"):
        last = _PERIOD_END.get(m.group("pname"), 0)
        if not last:
            return None
        return Deadline("period", m.group(0), f"{last}-12-31", last, s, e)
    if m.group("from"):
        y = int(m.group("fy"))
        return Deadline("from-year-on", m.group(0), f"{y}-01-01", y, s, e)
    y = int(m.group("y"))
    pre = m.group("pre") or ""
    ys = m.start("y")
    if (ys > 0 and text[ys - 1] in "-—–～~") or (text[e : e + 1] in (")", "）") and not pre):
        return None  # a range inside a title: (2013-2020年)
    if y < min_year:
        return None
    keep = pre if pre in _TO_PREFIXES else ""
    expr_start = s if keep else ys
    expr = text[expr_start:e]
    if m.group("m") is not None:
        month = int(m.group("m"))
        if not 1 <= month <= 12 or not (m.group("mend") or m.group("mbefore") or keep):
            return None
        due = _last_day(y, month) if (m.group("mend") or not m.group("mbefore")) else (
            date(y, month, 1) - timedelta(days=1)
        )
        return Deadline("by-date", expr, due.isoformat(), due.year, expr_start, e)
    if m.group("eoy"):
        return Deadline("end-of-year", expr, f"{y}-12-31", y, expr_start, e)
    if m.group("before"):
        return Deadline("by-date", expr, f"{y}-12-31", y, expr_start, e)  # "2017年前": by 2017 (docstring)
    # plain "YYYY年"
    if not keep and not _BARE_YEAR_VERBS.match(text, e):
        return None
    if text[e : e + 1].isdigit():
        return None
    return Deadline("by-date", expr, f"{y}-12-31", y, expr_start, e)


# ---------------------------------------------------------------------------------------------------------
# Parties
# ---------------------------------------------------------------------------------------------------------

_PARTY_LEXICON = (
    r"(?:自治区确定的)?重点排污单位|自治区土壤环境重点监管企业|土壤环境重点监管企业|垃圾填埋场管理机构"
    r"|自治区环境保护厅|自治区发展和改革委员会"
    r"|(?:地方各级|各级|县级以上地方|县级以上|设区的市级以上地方|设区的市级|乡级|城市|自治区|地方|当地|国务院)"
    r"(?:人民)?政府(?:及其?(?:有关|相关)部门|[\u4e00-\u9fff]{0,8}?主管部门)?"
    r"|各级地方党委|各级党委|地方党委"
    r"|(?:各|有关|相关|各有关)部门|环保部门|环境保护部门|(?:县级以上(?:地方)?人民政府)?环境保护主管部门"
    r"|兵团|各地|企事业单位|企业事业单位(?:和其他生产经营者)?|排污单位|排污者|生产经营者|建设单位"
)
_PARTY_RE = re.compile(rf"(?:{_PARTY_LEXICON})(?:(?:和|及|与|、)(?:{_PARTY_LEXICON}))*")
_BY_PARTY_RE = re.compile(r"由([^，。；,;：:]{2,30}?)(?:负责|牵头|组织实施)")
_MODAL_RE = re.compile(r"应当|必须|不得|禁止|严禁|要(?![求点素])|应(?![急用对变有该])|须|负责")
_VERB_START = re.compile(
    r"推进|完善|形成|加强|建立|实施|开展|推动|提高|强化|落实|促进|健全|构建|鼓励|支持|引导|做好|确保"
)
_ACTOR_END = re.compile(
    r"(?:政府|部门|单位|企业|经营者|生产者|销售者|使用者|运营者|所有者|管理者|排污者|承包者|责任人|机构|机关"
    r"|组织|兵团|委员会|公民|个人|业主|主体|公司|医院|学校|党委|各地)$"
)
_CLAUSE_LEAD = re.compile(r"^(?:[，,：:\s]|其中|同时|并且?|也|还|另外|此外|均)+")
_PREPOSITION_START = re.compile(r"^(?:对|在|为|因|经|依|按|根据|除|向|与|把|将|从(?!事)|当|如|凡|以|通过|对于|关于)")
_CLAUSE_SPLIT = re.compile(r"[，,：:]")


def _strip_deadlines(text: str, min_year: int) -> str:
    """``text`` without its leading time expressions and clause-leading particles."""
    while True:
        text = _CLAUSE_LEAD.sub("", text)
        for dl in parse_deadlines(text, min_year):
            if dl.start <= 1:
                text = text[dl.end :]
                break
        else:
            m = re.match(r"^(?:于|在)?(?:19|20)\d\d年(?:底)?(?:前|以前)?", text)
            if not m:
                return text
            text = text[m.end() :]


def _party_at_clause_start(clause: str, min_year: int) -> str:
    """The party that opens ``clause`` (after any time expression), or ""."""
    body = _strip_deadlines(clause, min_year)
    m = _PARTY_RE.match(body)
    if m:
        return m.group(0)
    mm = _MODAL_RE.search(body)
    if mm and 2 <= mm.start() <= 40:
        cand = re.sub(r"(?:依法|均|也|都|还|应|要)+$", "", body[: mm.start()])
        if _is_actor(cand):
            return cand
    return ""


def _is_actor(phrase: str) -> bool:
    return (
        2 <= len(phrase) <= 60
        and bool(_ACTOR_END.search(phrase))
        and not _PREPOSITION_START.match(phrase)
        and not _VERB_START.match(phrase)
        and not re.search(r"[，,。；;“”\"]", phrase)
    )


def _explicit_party(text: str, min_year: int) -> str:
    """A party named in subject position anywhere in ``text`` (first clause first), or ""."""
    m = _BY_PARTY_RE.search(text)
    if m:
        return m.group(1)
    clauses = _CLAUSE_SPLIT.split(text)
    for i, clause in enumerate(clauses):
        party = _party_at_clause_start(clause, min_year)
        if party:
            return party
        # "X，应当…": the subject stands alone in the clause before the modal
        if i + 1 < len(clauses) and _is_actor(clause.strip()) and _MODAL_RE.match(clauses[i + 1].strip()):
            return clause.strip()
    return ""


def _heading_party(heading: str) -> str:
    m = _PARTY_RE.search(heading)
    return m.group(0) if m else ""


# ---------------------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------------------

_UNITS = (
    r"%|‰|亿立方米|万立方米|立方米|万吨|吨/日|吨|亿千瓦时|千瓦时|微克/立方米|毫克/立方米|亿亩|万亩|亩"
    r"|个|次|座|项|公顷|平方公里"
)
_TARGET_RE = re.compile(
    r"(?P<cmp>不低于|不高于|不超过|不少于|低于|控制在|控制到|提高到|提升到|增加到|增长到|累计达到|达到|累计"
    r"|下降|降低|减少|削减)"
    rf"(?P<val>\d+(?:\.\d+)?(?:[-～~—]\d+(?:\.\d+)?)?)(?P<unit>{_UNITS})?(?P<suffix>以上|以下|以内|左右)?"
)
_ZERO_GROWTH_RE = re.compile(r"(?:实现)?零增长")
_BASELINE_RE = re.compile(r"(?:比|较|对比|相比)((?:19|20)\d\d)年(?:的?(\d+(?:\.\d+)?)(%|万吨)?)?")
_INDICATOR_TRIM_END = re.compile(r"(?:应于|应|要|须|必须|均|将|力争|基本|稳定|逐步|于|，|,)+$")
_INDICATOR_TRIM_START = re.compile(r"^(?:其中[：:]?|力争|努力|确保|使|实现)+")
_PLACE_ONLY = re.compile(r"^[\u4e00-\u9fff]{2,8}(?:市|县|州|地区|区)$")
_CHANGE_CMPS = ("下降", "降低", "减少", "削减", "增长")


def extract_targets(text: str, min_year: int = 0) -> list[Target]:
    """Quantified targets stated in ``text`` ("城市污水集中处理率达到90%以上" ...), in order.

    Clauses with 分别 (several indicators, several values) are skipped rather than misread. A clause such
    as "其中乌鲁木齐市达到75%" takes the indicator of the target before it with the place substituted.
    """
    out: list[Target] = []
    for clause in _CLAUSE_SPLIT.split(text):
        if "分别" in clause:
            continue
        pos = 0
        matches = sorted([*_TARGET_RE.finditer(clause), *_ZERO_GROWTH_RE.finditer(clause)], key=lambda x: x.start())
        for m in matches:
            t = _target_from(clause, m, pos, min_year, out[-1] if out else None)
            if t is not None:
                out.append(t)
                pos = m.end()
    return out


def _target_from(clause: str, m: re.Match[str], pos: int, min_year: int, prev: Target | None) -> Target | None:
    prefix = clause[pos : m.start()]
    base_year = base_value = ""
    bm = _BASELINE_RE.search(prefix)
    if bm:
        base_year, base_value = bm.group(1), bm.group(2) or ""
        prefix = prefix[: bm.start()] + prefix[bm.end() :]
    name = _strip_deadlines(prefix, min_year)
    for dl in reversed(parse_deadlines(name, min_year)):
        name = name[: dl.start] + name[dl.end :]
    name = _INDICATOR_TRIM_START.sub("", _INDICATOR_TRIM_END.sub("", name.strip())).strip()
    if _PLACE_ONLY.match(name) and prev is not None:
        tail = re.sub(r"^(?:全区|全疆|全市)?(?:城市|城镇)?", "", prev.indicator)
        name = name + tail
    if not name:
        return None
    if "val" not in m.groupdict():  # zero growth
        return Target(indicator=name, value="0", unit="%", comparator="增长", baseline_year=base_year,
                      baseline_value=base_value)
    cmp = m.group("cmp")
    suffix = m.group("suffix") or ""
    comparator = cmp if (cmp not in ("达到", "累计", "累计达到") or not suffix) else suffix
    return Target(indicator=name, value=m.group("val"), unit=m.group("unit") or "", comparator=comparator,
                  baseline_year=base_year, baseline_value=base_value)


# ---------------------------------------------------------------------------------------------------------
# Indicator tables
# ---------------------------------------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    """One row of a plan indicator table (专栏), with the verbatim row text as its citation."""

    table: str  # "专栏2"
    category: str  # innermost category heading of the table, e.g. "水环境质量"
    indicator: str  # name without unit, footnote markers and "其中："
    unit: str = ""
    baseline: str = ""
    baseline_year: str = ""
    target: str = ""
    target_year: str = ""
    binding: str = ""  # 约束性 | 预期性 | ""
    result: str = ""  # 专栏1: the 2015 result
    status: str = ""  # 专栏1: 完成 | 未完成
    footnotes: list[str] = field(default_factory=list)  # markers: ["②"], ["*"]
    notes: list[str] = field(default_factory=list)  # the footnote texts for those markers
    areas: str = ""  # 专栏5: the counties of a control unit
    water_body: str = ""  # 专栏5: the controlled water body (and section)
    note: str = ""  # 专栏5: e.g. "COD、氟化物不参与考核"
    doc_id: str = ""
    section: str = ""
    start: int = 0  # span of the row's passage in Document.text
    end: int = 0
    passage: str = ""


_MARKERS = "①②③④⑤⑥⑦⑧⑨⑩*＊"
_MARKER_TAIL = re.compile(rf"[\s{_MARKERS}]+$")
_TABLE_UNITS = ("%", "万吨", "个", "亿千瓦时", "吨", "亿立方米", "微克/立方米", "项", "万亩", "亿亩", "公里")
_UNIT_PAREN = re.compile(r"\s*[（(]\s*([^（）()]{1,8}?)\s*[）)]")
_CATEGORY_RE = re.compile(
    rf"^(?:\d+\s*[、.．]|[（(]\d+[）)])\s*(?P<name>[^\t]+?)\s*[（(][共]?\d+项[）)]\s*(?P<marks>[{_MARKERS}\s]*)$"
)
_NOTE_RE = re.compile(rf"^(?:注\s*(?P<m0>[{_MARKERS}]?)\s*[：:]\s*)?(?P<m>[{_MARKERS}])?(?P<text>.+)$")
_DASHES = {"-", "—", "–", "－", "--", "——"}


def _clean_cell(cell: str) -> str:
    cell = re.sub(r"\s+", "", cell)
    return "—" if cell in _DASHES else cell


def _split_name(raw_name: str) -> tuple[str, str, list[str]]:
    """Indicator name, unit and footnote markers of a table's first cell."""
    name = raw_name.strip()
    marks = [c for c in _MARKER_TAIL.search(name).group(0) if c in _MARKERS] if _MARKER_TAIL.search(name) else []
    name = _MARKER_TAIL.sub("", name)
    name = re.sub(r"^其中\s*[：:]\s*", "", name)
    unit = ""
    for m in _UNIT_PAREN.finditer(name):
        if m.group(1).strip() in _TABLE_UNITS:
            unit = m.group(1).strip()
            name = name[: m.start()] + name[m.end() :]
            break
    return re.sub(r"\s+", "", name), unit, marks


def _column_roles(header: list[str]) -> tuple[list[str], str]:
    """Role of each column after the first (baseline/target/result/status/binding) and the target year."""
    roles: list[str] = []
    target_year = ""
    for cell in header[1:]:
        c = re.sub(r"\s+", "", cell)
        if "基准" in c:
            roles.append("baseline")
        elif "规划目标" in c or "目标" in c:
            roles.append("target")
        elif "完成情况" in c:
            roles.append("result")
        elif "比较" in c or "结果" in c:
            roles.append("status")
        elif "属性" in c:
            roles.append("binding")
        elif re.fullmatch(r"((?:19|20)\d\d)年\W*", c):
            roles.append("target")
            target_year = c[:4]
        else:
            roles.append("")
    return roles, target_year


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the non-empty lines of ``text[start:end]``."""
    out = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        if text[pos:stop].strip():
            out.append((pos, stop))
        pos = stop + 1
    return out


def _parse_grid(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """Rows of a tab-separated table (专栏1, 专栏2): header, category rows, data rows, footnotes."""
    text = doc.text
    rows: list[IndicatorRow] = []
    roles: list[str] = []
    target_year = ""
    categories: list[tuple[int, str, list[str]]] = []  # (depth, name, markers)
    notes: dict[str, str] = {}
    note_marker_of_column: dict[str, str] = {}
    pending = ""  # a name cell carried over from a broken line
    pending_start = -1
    for ls, le in _lines(text, _body_start(doc, box), box.end):
        line = text[ls:le]
        cells = line.split("\t")
        if not roles and len(cells) >= 3 and re.sub(r"\s+", "", cells[0]) in ("指标", "项目", "指标名称"):
            roles, target_year = _column_roles(cells)
            for role, cell in zip(roles, cells[1:], strict=False):
                for c in cell:
                    if c in _MARKERS:
                        note_marker_of_column[c] = role
            continue
        if not roles:
            continue
        if "\t" not in line and (line.lstrip().startswith("注") or line.strip()[:1] in _MARKERS):
            nm = _NOTE_RE.match(line.strip())
            marker = (nm.group("m0") or nm.group("m") or "") if nm else ""
            if marker:
                notes[marker] = line.strip()
            continue
        cm = _CATEGORY_RE.match(line.replace("\t", " ").strip()) if len([c for c in cells if c.strip()]) <= 1 else None
        if cm:
            depth = 2 if line.lstrip().startswith(("（", "(")) else 1
            categories = [c for c in categories if c[0] < depth]
            categories.append((depth, cm.group("name").strip(), [c for c in cm.group("marks") if c in _MARKERS]))
            continue
        values = [_clean_cell(c) for c in cells[1:]]
        if not any(values):
            # a name broken across lines: keep it for the next line's values
            pending = (pending + line.strip()) if pending else line.strip()
            pending_start = ls if pending_start < 0 else pending_start
            continue
        raw_name = (pending + cells[0]) if pending else cells[0]
        row_start = pending_start if pending else ls
        pending, pending_start = "", -1
        indicator, unit, marks = _split_name(raw_name)
        row = IndicatorRow(table=name, category=categories[-1][1] if categories else "", indicator=indicator,
                           unit=unit, target_year=target_year, doc_id=doc.doc_id, section=path,
                           start=row_start, end=le, passage=text[row_start:le])
        for role, value in zip(roles, values, strict=False):
            if role:
                setattr(row, role, value)
        cat_marks = [mk for _, _, ms in categories for mk in ms]
        row.footnotes = list(dict.fromkeys(marks + cat_marks))
        if row.target == "" and rows and rows[-1].category == row.category and not _is_number(rows[-1].target):
            row.target = rows[-1].target  # a merged cell spanning the rows below it
        rows.append(row)
    _attach_notes(rows, notes, note_marker_of_column)
    return rows


def _attach_notes(rows: list[IndicatorRow], notes: dict[str, str], column_markers: dict[str, str]) -> None:
    """Footnote texts onto rows, and baseline years from a baseline-column footnote."""
    years: list[tuple[str, str]] = []  # (scope words, year); scope "" = the rest
    for marker, role in column_markers.items():
        if role != "baseline" or marker not in notes:
            continue
        for m in re.finditer(r"([\u4e00-\u9fff]{2,12}?)基准年数据为((?:19|20)\d\d)年", notes[marker]):
            years.append((m.group(1), m.group(2)))
        m = re.search(r"其余基准年数据均为((?:19|20)\d\d)年", notes[marker])
        if m:
            years.append(("", m.group(1)))
    for row in rows:
        row.notes = [notes[mk] for mk in row.footnotes if mk in notes]
        for scope, year in years:
            if not scope or scope in row.category or scope in row.indicator:
                row.baseline_year = year
                break


def _is_number(value: str) -> bool:
    return bool(re.fullmatch(r"[≤≥<>]?\d+(?:\.\d+)?", value))


_CITY_LEVEL_RE = re.compile(r"([\u4e00-\u9fff]{2,8}?)[：:]\s*(\d+(?:\.\d+)?)\s*(微克/立方米)")
_CITY_FALL_RE = re.compile(r"((?:[\u4e00-\u9fff]{2,8}?[市县])(?:、[\u4e00-\u9fff]{2,8}?[市县])*)(下降\d+(?:\.\d+)?%)")
_AVG_FALL_RE = re.compile(r"([\u4e00-\u9fff]{2,12}?)(平均下降\d+(?:\.\d+)?%)")
_KEEP_RE = re.compile(r"应(保持[^。；]+)")
_LATER_RE = re.compile(r"另行分解")
_BOX_ITEM_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+[.．、])\s*(?P<label>.+)$")


def _parse_city_box(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """专栏3-style box: per-city levels "(2015年…浓度分别为：A：64微克/立方米；…)" and required falls."""
    text = doc.text
    title_measure = re.search(r"各城市(.+?)(?:下降|目标)", box.heading)
    measure = title_measure.group(1) if title_measure else "细颗粒物浓度"
    base_year_re = re.compile(r"((?:19|20)\d\d)年[^：:]{0,20}?浓度分别为")
    blocks: list[tuple[str, int, int]] = []  # (category, start, end)
    for ls, le in _lines(text, _body_start(doc, box), box.end):
        m = _BOX_ITEM_RE.match(text[ls:le].strip())
        if m and len(text[ls:le]) <= 40 and not re.search(r"[。；]", text[ls:le]):
            blocks.append((m.group("label").strip(), le + 1, le + 1))
            continue
        if blocks:
            cat, bs, _ = blocks[-1]
            blocks[-1] = (cat, bs, le)
    rows: list[IndicatorRow] = []
    for cat, bs, be in blocks:
        if be <= bs:
            continue
        block = text[bs:be]
        levels = [(m.group(1), m.group(2), m.group(3)) for m in _CITY_LEVEL_RE.finditer(block)]
        if not levels and not _AVG_FALL_RE.search(block):
            continue
        by = base_year_re.search(block)
        base_year = by.group(1) if by else ""
        falls: dict[str, str] = {}
        for m in _CITY_FALL_RE.finditer(block):
            for city in m.group(1).split("、"):
                falls[city] = m.group(2)
        keep = _KEEP_RE.search(block)
        group_target = keep.group(1) if keep else ("另行分解" if _LATER_RE.search(block) else "")
        passage = text[bs:be].strip()
        ps = bs + (len(text[bs:be]) - len(text[bs:be].lstrip()))
        avg = _AVG_FALL_RE.search(block)
        common = {"table": name, "category": cat, "doc_id": doc.doc_id, "section": path, "start": ps,
                  "end": ps + len(passage), "passage": passage}
        if avg:
            avg_name = re.sub(r"^.*?期间", "", avg.group(1))
            rows.append(IndicatorRow(indicator=avg_name, target=avg.group(2), **common))
        for city, level, unit in levels:
            rows.append(IndicatorRow(indicator=city + measure, unit=unit, baseline=level, baseline_year=base_year,
                                     target=falls.get(city, group_target), **common))
    return rows


_CONTROL_UNIT_RE = re.compile(
    r"^\d+[.．、]\s*(?P<name>[^。]+?控制单元)。控制区县(?P<areas>.+?)[,，]控制水体(?:及其断面为)?(?P<water>[^。]+?)。"
    r"现状水质(?P<cur>[^,，]+?)[,，]\s*(?P<ty>(?:19|20)\d\d)年目标水质(?P<tgt>[劣IVXⅠⅡⅢⅣⅤ]+类)"
    r"(?:\s*[（(](?P<note>[^）)]+)[）)])?[;；。]?$"
)


def _parse_control_units(doc: Document, box: Section, name: str, path: str) -> list[IndicatorRow]:
    """专栏5-style box: numbered control units with counties, water body, current and target class."""
    rows = []
    for ls, le in _lines(doc.text, _body_start(doc, box), box.end):
        m = _CONTROL_UNIT_RE.match(doc.text[ls:le].strip())
        if not m:
            continue
        rows.append(IndicatorRow(
            table=name, category=re.sub(r"^.*?期间", "", _box_title(box)), indicator=m.group("name"),
            unit="水质类别", baseline=m.group("cur"), target=m.group("tgt"), target_year=m.group("ty"),
            areas=m.group("areas"), water_body=m.group("water"), note=m.group("note") or "",
            doc_id=doc.doc_id, section=path, start=ls, end=le, passage=doc.text[ls:le],
        ))
    return rows


def _box_name(box: Section) -> str:
    m = re.match(r"专栏\s*(\d+)", box.heading)
    return f"专栏{m.group(1)}" if m else box.heading[:8]


def _box_title(box: Section) -> str:
    return re.sub(r"^专栏\s*\d+\s*", "", box.heading).strip()


def parse_indicator_tables(doc: Document, sections: Sequence[Section]) -> list[IndicatorRow]:
    """Every indicator-table row of the document's 专栏 boxes, in document order.

    Tab-separated grids (专栏1, 专栏2) are read by their header row; category rows such as
    "1. 环境质量（9项）" and footnote markers (①…, *) on names or categories are attached to each row,
    and footnote texts under the table are attached by marker; an empty cell under a merged text cell
    takes the text above it. Boxes of per-city levels (专栏3) and of water control units (专栏5) are read
    from their prose shapes.
    """
    rows: list[IndicatorRow] = []
    for box in sections:
        if box.kind != "box":
            continue
        name = _box_name(box)
        path = " > ".join(box.path)
        body = doc.text[_body_start(doc, box) : box.end]
        if re.search(r"^指\s*标\t", body, re.M):
            rows.extend(_parse_grid(doc, box, name, path))
        elif "控制单元" in box.heading:
            rows.extend(_parse_control_units(doc, box, name, path))
        elif "浓度分别为" in body:
            rows.extend(_parse_city_box(doc, box, name, path))
    return rows


# ---------------------------------------------------------------------------------------------------------
# Extraction from text
# ---------------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[。！？!?][”’」』）)]*")
_SEGMENT_END = re.compile(r"[。！？；;!?][”’」』）)]*")
_LIST_MARK = re.compile(r"\s*(?:\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]{1,3}[）)])\s*")
_ARTICLE_LABEL = re.compile(r"第[一二三四五六七八九十百零〇两]+条(?:之[一二三四五六七八九十]+)?[\s\u3000]*")
_EDGE_PUNCT = "，,；;。：:、 \u3000\t"
_TASK_VERB = re.compile(
    r"加强|推进|推动|实施|建立|健全|完善|开展|制定|严格|禁止|严禁|确保|实现|达到|提高|提升|加大|加快|强化|落实"
    r"|控制|划定|淘汰|整治|鼓励|规范|构建|保障|形成|创建|不得|必须|应|要|减少|扩大|优化|执行|取缔|关闭|完成"
    r"|降低|下降|建设|治理|修复|保持|改善|支持|引导|发挥|打击|公开|查处|监测|评估|调查|督促|组织|明确|提出"
    r"|开发|利用|防范|防止|消除|清理|搬迁|更新|掌握|查明|建成|依法|坚持|全面|持续|深化|加速|整合|统筹|负责"
)
_LAW_DUTY = re.compile(r"应当|必须|不得|禁止|严禁")
# Plan sections that review the past or state principles: no tasks there.
_PLAN_SKIP = re.compile(r"基础与形势|^\W*[（(]?[一二三四五六七八九十]+[）)、]\s*(?:指导思想|基本原则)$")
_SKIP_LINE = re.compile(r"(?:抄送|印发|主题词|附件[：:])")
_DOMAINS_PLAN = (
    ("大气", "大气"), ("空气", "大气"), ("水污染", "水"), ("水环境", "水"), ("土壤", "土壤"),
    ("国土空间", "生态"), ("生态", "生态"), ("风险", "风险"), ("体制", "体制"), ("法制", "能力建设"),
    ("能力", "能力建设"), ("规划目标", "目标"),
)
_DOMAINS_TOP = (("重点项目", "项目"), ("保障措施", "保障"))
_DOMAINS_LAW = (
    ("大气", "大气"), ("水污染", "水"), ("土壤", "土壤"), ("固体废物", "固废"), ("噪声", "噪声"),
    ("核安全", "核与辐射"), ("放射性", "核与辐射"), ("环境影响评价", "环评"), ("建设项目", "环评"),
    ("环境保护税", "环保税"), ("排污许可", "排污许可"), ("自然保护区", "生态"), ("防沙治沙", "生态"),
    ("清洁生产", "清洁生产"), ("环境保护法", "综合"),
)


def _doc_year(doc: Document) -> int:
    """The year a document was issued or last revised (deadlines before it describe the past)."""
    years = [int(y) for y in re.findall(r"((?:19|20)\d\d)-\d\d-\d\d", doc.meta.get("dates", ""))]
    if doc.kind == "plan" and years:
        return min(years)
    return 0


def _body_start(doc: Document, s: Section) -> int:
    """Where the text after a section's heading begins (robust to a relative ``body_start``)."""
    if s.start <= s.body_start <= s.end and (s.body_start > s.start or not s.heading):
        return s.body_start
    pos = min(s.start + len(s.heading), s.end)
    while pos < s.end and doc.text[pos] in " \u3000\t":
        pos += 1
    return pos


def _domain(doc: Document, path: Sequence[str]) -> str:
    """Topic of a passage: from the plan's top two heading levels, or from a law's title."""
    if doc.kind != "plan":
        return next((d for k, d in _DOMAINS_LAW if k in doc.title), "综合")
    if path:
        for key, dom in _DOMAINS_TOP:
            if key in path[0]:
                return dom
    for heading in (path[1:2] if len(path) > 1 else ()) + tuple(path[:1]):
        for key, dom in _DOMAINS_PLAN:
            if key in heading:
                return dom
    return "综合"


def _spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Pieces of ``text[start:end]`` cut after each match of ``pattern``, trimmed of edge punctuation."""
    out = []
    pos = start
    for m in pattern.finditer(text, start, end):
        out.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return [t for t in (_trim(text, a, b) for a, b in out) if t[1] > t[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start] in _EDGE_PUNCT or text[start] == "\n"):
        start += 1
    m = _LIST_MARK.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    m = _ARTICLE_LABEL.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    while end > start and (text[end - 1] in _EDGE_PUNCT or text[end - 1] == "\n"):
        end -= 1
    return start, end


def _ob_id(doc_id: str, start: int, end: int, key: str) -> str:
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
        first = _CLAUSE_SPLIT.split(text[a:b], maxsplit=1)[0]
        party = _party_at_clause_start(first, ctx.min_year)
        if party:
            return party
    for s in reversed(ctx.sections):
        if s.start <= pos < s.end:
            party = _heading_party(s.heading)
            if party:
                return party
    return ""


def _article_at(ctx: _Context, pos: int) -> str | None:
    for s in reversed(ctx.articles):
        if s.start <= pos < s.end:
            return s.article
        if s.end <= pos:
            break
    return None


def _goal_year(ctx: _Context, pos: int) -> str:
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
        domain=_domain(doc, section.path if section else ()),
        start=passage[0],
        end=passage[1],
        passage=text[passage[0] : passage[1]],
        target=target,
        article=_article_at(ctx, a),
    )


def _resolve_party(ctx: _Context, action: str, before: str, para, sent, pos: int) -> tuple[str, str]:
    party = _explicit_party(action, ctx.min_year) or _explicit_party(before, ctx.min_year)
    if party:
        return party, "explicit"
    party = _inherited_party(ctx, para, sent, pos)
    return (party, "inherited") if party else ("", "none")


def _plan_segment(ctx: _Context, seg: tuple[int, int], sent, para) -> list[Obligation]:
    text = ctx.doc.text
    s, e = seg
    deadlines = parse_deadlines(text, ctx.min_year, s, e)
    if not deadlines:
        if e - s < 8 or not _TASK_VERB.search(text, s, e):
            return []
        party, source = _resolve_party(ctx, text[s:e], "", para, sent, s)
        targets = extract_targets(text[s:e], ctx.min_year)
        return [_record(ctx, action=(s, e), passage=seg, deadline=None, party=party, party_source=source,
                        target=targets[0] if targets else None)]
    starts = []
    for dl in deadlines:
        cut = max((m.end() for m in _CLAUSE_SPLIT.finditer(text, s, dl.start)), default=s)
        starts.append(max(cut, starts[-1] if starts else s))
    out = []
    for i, dl in enumerate(deadlines):
        a = starts[i]
        b = starts[i + 1] if i + 1 < len(deadlines) and starts[i + 1] > a else e
        a, b = _trim(text, a, b)
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
            if nxt >= region_end or not re.match(r"[（(][一二三四五六七八九十\d]{1,3}[）)]", text[nxt:line_end]):
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
    cuts = sorted((s.start, _body_start(doc, s)) for s in sections if s.kind != "preamble")
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
                dls = parse_deadlines(doc.text, ctx.min_year, _body_start(doc, s), s.end)
                if dls and dls[0].year:
                    ctx.goal_years.append((s.start, s.end, str(dls[0].year)))
    text = doc.text
    out: list[Obligation] = []
    for ra, rb in _body_regions(doc, sections):
        for para in _spans(text, ra, rb, re.compile(r"\n+")):
            pa, _ = para
            if "\t" in text[para[0] : para[1]] or _SKIP_LINE.match(text, pa):
                continue
            section = section_at(sections, pa)
            if section is None and is_plan:
                continue
            if is_plan and (section.kind == "preamble" or any(_PLAN_SKIP.search(h) for h in section.path)
                            or any(b.start <= pa < b.end for b in table_boxes)):
                continue
            for sent in _spans(text, para[0], para[1], _SENTENCE_END):
                for seg in _spans(text, sent[0], sent[1], _SEGMENT_END):
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
        shown = row.target + (row.unit if _is_number(row.target) and row.unit else "")
        rec = _record(ctx, action=(row.start, row.end), passage=(row.start, row.end), deadline=dl, party="",
                      party_source="none", target=target)
        rec.action = f"{row.indicator}：{shown}"
        rec.ob_id = _ob_id(ctx.doc.doc_id, row.start, row.end, row.indicator)
        rec.binding = row.binding
        rec.source = "table"
        out.append(rec)
    return out


# ---------------------------------------------------------------------------------------------------------
# Consistency check
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Conflict:
    """One indicator with different targets in two places of a document, with both citations."""

    indicator: str
    first: Obligation
    first_value: str  # e.g. "90%"
    second: Obligation
    second_value: str

    def to_dict(self) -> dict:
        """JSON shape: the indicator and, for each side, its value and citation."""
        def side(r: Obligation, value: str) -> dict:
            return {"value": value, "ob_id": r.ob_id, "doc_id": r.doc_id, "title": r.title, "section": r.section,
                    "source": r.source, "start": r.start, "end": r.end, "passage": r.passage}

        return {"indicator": self.indicator, "first": side(self.first, self.first_value),
                "second": side(self.second, self.second_value)}


# Scope words tell indicators apart that otherwise read alike (城市 vs 县城 …); the longest are cut first.
_SCOPES = ("乌鲁木齐市", "乌鲁木齐", "克拉玛依市", "克拉玛依", "昌吉市", "伊宁市", "其他城市", "未达标城市",
           "达标城市", "县城", "城市", "村庄", "农村", "河流", "湖库", "重点行业")
_KEY_SUBS = (
    (re.compile(r"细颗粒物?(?:[（(]PM2\.5[）)])?|PM2\.5|PM_\{2\.5\}"), "PM2.5"),
    (re.compile(r"[（(][^（）()]*[）)]|\s+"), ""),
    (re.compile(r"Ⅱ|二级"), "II"), (re.compile(r"Ⅲ"), "III"), (re.compile(r"Ⅳ"), "IV"), (re.compile(r"Ⅴ"), "V"),
    (re.compile(r"城镇"), "城市"),
    (re.compile(r"空气质量"), "空气"),
    (re.compile(r"优良天数(?:比例)?"), "好于II级天数比例"),
    (re.compile(r"全区|全疆|北疆|南疆|其中[：:]?|年均|平均|的|等"), ""),
    (re.compile(r"(?:下降|增长|提高|降低)$"), ""),
)


def indicator_key(name: str) -> tuple[frozenset[str], str]:
    """A loose key for an indicator name: its scope words and the rest, normalised."""
    s = name
    for pattern, repl in _KEY_SUBS:
        s = pattern.sub(repl, s)
    scopes = set()
    for word in _SCOPES:
        if word in s:
            scopes.add(word.removesuffix("市"))
            s = s.replace(word, "")
    return frozenset(scopes), s


def _same_measure(a: str, b: str) -> bool:
    if len(a) < 2 or len(b) < 2:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if short in long_ and len(short) / len(long_) >= 0.6:
        return True
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) >= 0.85


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def find_conflicts(records: Iterable[Obligation]) -> list[Conflict]:
    """Indicators given different targets in two places of one document (text vs table, text vs text).

    Targets are read from every record's passage (plan text) and from table records; two targets conflict
    when their indicator names match loosely (same scope words such as 城市/县城, near-identical rest after
    folding 城镇→城市, 细颗粒物→PM2.5, Ⅱ→II …), both are numbers of the same kind (a level or a change),
    their target years agree (or one is open) and the values differ.
    """
    entries: list[tuple[Target, Obligation, tuple]] = []
    seen = set()
    for r in records:
        if r.source == "table":
            targets = [r.target] if r.target else []
        else:
            targets = extract_targets(r.passage)
        for t in targets:
            value = _number(t.value)
            if value is None:
                continue
            year = r.year if r.deadline_date else (int(r.target.target_year) if r.target and r.target.target_year
                                                    else None)
            ident = (r.doc_id, r.start, t.indicator, t.value)
            if ident in seen:
                continue
            seen.add(ident)
            change = any(c in t.comparator for c in _CHANGE_CMPS)
            entries.append((t, r, (indicator_key(t.indicator), value, year, change, t.unit)))
    out: list[Conflict] = []
    pairs = set()
    for i, (ta, ra, (ka, va, ya, ca, ua)) in enumerate(entries):
        for tb, rb, (kb, vb, yb, cb, ub) in entries[i + 1 :]:
            if ra.doc_id != rb.doc_id or ra.start == rb.start or ca != cb or va == vb:
                continue
            if (ya and yb and ya != yb) or (ua and ub and ua != ub):
                continue
            if ka[0] != kb[0] or not _same_measure(ka[1], kb[1]):
                continue
            pair = (ra.ob_id, rb.ob_id, ta.indicator)
            if pair in pairs:
                continue
            pairs.add(pair)
            out.append(Conflict(indicator=ta.indicator, first=ra, first_value=f"{ta.value}{ta.unit}",
                                second=rb, second_value=f"{tb.value}{tb.unit}"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Register
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Register:
    """All records, indicator rows and conflicts of a corpus, in corpus order."""

    records: list[Obligation]
    indicators: list[IndicatorRow] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    doc_order: list[str] = field(default_factory=list)  # doc ids in corpus order
    built_at: str = ""
    version: int = REGISTER_VERSION
    law_facts: list[LawFact] = field(default_factory=list)  # quizzable penalties, periods, bans, permits
    doc_status: dict[str, str] = field(default_factory=dict)  # doc_id -> "2022-06-05废止" for repealed ones


class RegisterBuilder:
    """Gathers records and indicator rows document by document, so a corpus can stream past."""

    def __init__(self) -> None:
        self.records: list[Obligation] = []
        self.rows: list[IndicatorRow] = []
        self.order: list[str] = []
        self.law_facts: list[LawFact] = []
        self.status: dict[str, str] = {}

    def add(self, doc: Document, sections: list[Section]) -> None:
        """Extract one document's records (and, for the plan, its indicator rows)."""
        self.order.append(doc.doc_id)
        self.records.extend(extract_obligations(doc, sections))
        if doc.kind == "plan":
            self.rows.extend(parse_indicator_tables(doc, sections))
        self.law_facts.extend(extract_law_facts(doc, sections, lambda path: _domain(doc, path)))
        repealed = re.search(r"(\d{4}-\d\d-\d\d)废止", doc.meta.get("dates", ""))
        if repealed:
            self.status[doc.doc_id] = f"{repealed.group(1)}废止"

    def register(self) -> Register:
        """The register of everything added, with the targets checked for conflicts."""
        return Register(records=self.records, indicators=self.rows, conflicts=find_conflicts(self.records),
                        doc_order=self.order, built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        law_facts=self.law_facts, doc_status=self.status)


def build_register(docs_with_sections: Iterable[tuple[Document, list[Section]]]) -> Register:
    """Extract every document's records and indicator rows and check the targets for conflicts."""
    builder = RegisterBuilder()
    for doc, sections in docs_with_sections:
        builder.add(doc, sections)
    return builder.register()


def obligation_to_dict(r: Obligation) -> dict:
    """Plain JSON-ready dict of a record (the target nested, or None)."""
    return asdict(r)


def obligation_from_dict(d: dict) -> Obligation:
    """Inverse of :func:`obligation_to_dict` (unknown keys are ignored)."""
    names = {f.name for f in fields(Obligation)}
    data = {k: v for k, v in d.items() if k in names}
    if data.get("target"):
        tnames = {f.name for f in fields(Target)}
        data["target"] = Target(**{k: v for k, v in data["target"].items() if k in tnames})
    return Obligation(**data)


def save_register(register: Register, path: str | Path) -> None:
    """Write the register as UTF-8 JSON (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": register.version,
        "built_at": register.built_at,
        "doc_order": register.doc_order,
        "records": [obligation_to_dict(r) for r in register.records],
        "indicators": [asdict(r) for r in register.indicators],
        "conflicts": [{"indicator": c.indicator, "first": c.first.ob_id, "first_value": c.first_value,
                       "second": c.second.ob_id, "second_value": c.second_value} for c in register.conflicts],
        "law_facts": [asdict(f) for f in register.law_facts],
        "doc_status": register.doc_status,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def load_register(path: str | Path) -> Register:
    """Read a register written by :func:`save_register`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    records = [obligation_from_dict(d) for d in data.get("records", [])]
    by_id = {r.ob_id: r for r in records}
    rnames = {f.name for f in fields(IndicatorRow)}
    rows = [IndicatorRow(**{k: v for k, v in d.items() if k in rnames}) for d in data.get("indicators", [])]
    conflicts = [
        Conflict(indicator=c["indicator"], first=by_id[c["first"]], first_value=c["first_value"],
                 second=by_id[c["second"]], second_value=c["second_value"])
        for c in data.get("conflicts", []) if c["first"] in by_id and c["second"] in by_id
    ]
    return Register(records=records, indicators=rows, conflicts=conflicts, doc_order=data.get("doc_order", []),
                    built_at=data.get("built_at", ""), version=data.get("version", 1),
                    law_facts=[law_fact_from_dict(d) for d in data.get("law_facts", [])],
                    doc_status=data.get("doc_status", {}))


def _sort_key(register: Register):
    rank = {d: i for i, d in enumerate(register.doc_order)}
    return lambda r: (r.deadline_date or "9999-12-31", rank.get(r.doc_id, len(rank)), r.start, r.source, r.ob_id)


def query(
    register: Register,
    due_before: str | date | None = None,
    year: int | None = None,
    party: str | None = None,
    doc: str | None = None,
    domain: str | None = None,
    text: str | None = None,
    binding: str | None = None,
) -> list[Obligation]:
    """Records matching every given filter, sorted by deadline date (undated last), then document order.

    ``due_before`` (ISO date, inclusive) keeps dated records due on or before it; ``year`` those whose
    deadline falls in that year; ``party`` a substring of the responsible party ("未明确" selects records
    without one); ``doc`` a doc_id; ``domain`` a domain label (substring); ``text`` a substring of the
    action, passage or section; ``binding`` 约束性/预期性.
    """
    if isinstance(due_before, date):
        due_before = due_before.isoformat()
    if due_before:
        date.fromisoformat(due_before)  # raises ValueError on a malformed date
    out = []
    for r in register.records:
        if due_before and not (r.deadline_date and r.deadline_date <= due_before):
            continue
        if year is not None and r.year != year:
            continue
        if party and party not in r.party:
            continue
        if doc and r.doc_id != doc:
            continue
        if domain and domain not in r.domain:
            continue
        if text and not (text in r.action or text in r.passage or text in r.section):
            continue
        if binding and r.binding != binding:
            continue
        out.append(r)
    return sorted(out, key=_sort_key(register))


# ---------------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "ob_id", "doc_id", "title", "section", "article", "domain", "source", "deadline_kind", "deadline_text",
    "deadline_date", "year", "party", "party_source", "binding", "action", "target_indicator", "target_value",
    "target_unit", "target_comparator", "target_baseline_year", "target_baseline_value", "target_year",
    "start", "end", "passage",
)
_TARGET_COLUMNS = {"target_indicator": "indicator", "target_value": "value", "target_unit": "unit",
                   "target_comparator": "comparator", "target_baseline_year": "baseline_year",
                   "target_baseline_value": "baseline_value", "target_year": "target_year"}


def to_json(records: Iterable[Obligation]) -> str:
    """A JSON array of the records (UTF-8 text, Chinese unescaped)."""
    return json.dumps([obligation_to_dict(r) for r in records], ensure_ascii=False, indent=2)


def to_csv(records: Iterable[Obligation]) -> str:
    """CSV with a header row, starting with a UTF-8 BOM so that Excel shows the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for r in records:
        row = {k: v for k, v in obligation_to_dict(r).items() if k in CSV_COLUMNS}
        for col, attr in _TARGET_COLUMNS.items():
            row[col] = getattr(r.target, attr) if r.target else ""
        row["year"] = "" if r.year is None else r.year
        row["article"] = r.article or ""
        writer.writerow(row)
    return "\ufeff" + buf.getvalue()


def from_csv(text: str) -> list[Obligation]:
    """Records read back from :func:`to_csv` output."""
    out = []
    for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))):
        target = None
        if row.get("target_indicator") or row.get("target_value"):
            target = Target(**{attr: row.get(col, "") for col, attr in _TARGET_COLUMNS.items()})
        data = {k: row[k] for k in CSV_COLUMNS if k in row and k not in _TARGET_COLUMNS}
        data["year"] = int(data["year"]) if data.get("year") else None
        data["start"], data["end"] = int(data["start"]), int(data["end"])
        data["article"] = data.get("article") or None
        out.append(Obligation(target=target, **data))
    return out


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _clip(s: str, width: int) -> str:
    s = re.sub(r"\s+", " ", s)
    if _width(s) <= width:
        return s
    out, w = [], 0
    for c in s:
        cw = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if w + cw > width - 1:
            break
        out.append(c)
        w += cw
    return "".join(out) + "…"


def to_table(records: Iterable[Obligation], action_width: int = 48) -> str:
    """An aligned plain-text table for a terminal (CJK characters counted double-width)."""
    header = ("期限", "日期", "责任主体", "领域", "任务", "出处")
    rows = []
    for r in records:
        title = re.sub(r"^(?:中华人民共和国|新疆维吾尔自治区)", "", r.title)
        where = f"{title}{r.article}" if r.article else f"{title} · {r.section.split(' > ')[-1]}"
        rows.append((r.deadline_text or "—", r.deadline_date or "—", _clip(r.party, 18), r.domain,
                     _clip(r.action, action_width), _clip(where, 40)))
    widths = [max([_width(h)] + [_width(row[i]) for row in rows]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    out.append(f"共 {len(rows)} 条")
    return "\n".join(out) + "\n"


def to_ics(records: Iterable[Obligation], dtstamp: datetime | None = None, alarm_days: int | None = None) -> str:
    """An iCalendar file (RFC 5545) of the records with a date; yearly duties recur (see kb.register.ics)."""
    from kb.register.ics import to_ics as write_ics

    return write_ics(records, dtstamp, alarm_days)


# ---------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------


def _register_for(settings) -> Register:
    """The register stored with the index, or one built directly from the corpus (no embeddings needed).

    Looked for in the live index generation, then at ``settings.index_dir / "obligations.json"``.
    """
    index_dir = Path(settings.index_dir)
    candidates = [index_dir / REGISTER_FILE]
    if index_dir.is_dir():
        from indexing.store import live_generation

        gen = live_generation(settings)
        if gen is not None:
            candidates.insert(0, gen / REGISTER_FILE)
    for path in candidates:
        if path.exists():
            stored = load_register(path)
            if stored.version == REGISTER_VERSION:
                return stored
            break  # written by another version of the extraction: rebuilt from the corpus below
    from indexing.loaders import LoadError, corpus_files, load_document
    from indexing.manifest import read_manifest
    from indexing.structure import parse_sections

    corpus_dir = Path(settings.corpus_dir)
    print(f"未找到索引中的义务清单（{candidates[-1]}），正在直接从语料目录 {corpus_dir} 生成（无需向量模型）。",
          file=sys.stderr)
    manifest = read_manifest(corpus_dir)
    docs = []
    for path in corpus_files(corpus_dir):
        if path.suffix.lower() == ".pdf":
            continue  # catalogues and tax tables: no duties to extract
        try:
            doc = load_document(path, corpus_dir, manifest.get(path.relative_to(corpus_dir).as_posix()))
        except LoadError as e:
            print(f"跳过无法读取的文件：{e}", file=sys.stderr)
            continue
        docs.append((doc, parse_sections(doc)))
    return build_register(docs)


def cmd_obligations(args, settings) -> int:
    """`kb obligations`: filter the register and print it as json, csv, ics or an aligned table (``-o FILE``)."""
    from kb.cli_io import emit
    from kb.inputs import obligation_filters, terminal_safe

    try:
        register = _register_for(settings)
    except (OSError, ValueError) as e:  # a missing or damaged register file: no traceback
        print(f"无法读取义务清单：{e}。请运行 kb index --rebuild 重建索引。", file=sys.stderr)
        return 3
    try:
        kw = obligation_filters(register, due_before=args.due_before, year=args.year, party=args.party,
                                doc=args.doc, domain=args.domain, text=getattr(args, "text", None),
                                binding=getattr(args, "binding", None))
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    records = query(register, **kw)
    fmt = args.format
    out = {"json": to_json, "csv": to_csv, "ics": to_ics, "table": to_table}[fmt](records)
    emit(terminal_safe(out) if fmt == "table" else out, getattr(args, "output", None))
    if not records:
        print("没有符合条件的义务记录。", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------------------
# Aggregate questions
# ---------------------------------------------------------------------------------------------------------

_AGG_CUE = re.compile(r"哪些|哪几|所有|全部|清单|列出|列举|有什么|都有|汇总|一览|多少项|几项")
_BINDING_Q = re.compile(r"(约束性|预期性)")
_WHO_Q = re.compile(r"由谁|谁(?:来)?负责|谁(?:来)?承担|责任主体|责任单位|哪个部门|哪些部门|哪个单位|哪些单位")
_Q_DATE = re.compile(r"(?:到|至|截至|在|于)?((?:19|20)\d\d)年(?:(\d{1,2})月)?(底)?(前|以前|之前)?")
_Q_ANNUAL = re.compile(r"每年|逐年|年度")
_PARTY_DUTY_Q = r"(?:要|应|需|必须|负责|承担|有哪些|的(?:责任|义务|任务))"  # "兵团要/负责…" after a party
_Q_STOP = re.compile(
    r"哪些|哪几|哪个|什么|所有|全部|清单|列出|列举|汇总|一览|任务|工作|事项|需要|完成|要求|必须|应当|应该|要|请问"
    r"|在|前|之前|以前|底|有|的|了|是|都|规划|新疆|自治区|方面|目标|指标|达到|实现|由谁|谁|来|负责|承担|责任|主体"
    r"|部门|单位|按照|根据|规定|吗|呢|和|与|及|[？?，,。、\s]"
)
_Q_DOMAINS = (
    ("大气", ("大气", "空气", "颗粒物")), ("水", ("水污染", "水环境", "水质", "水资源", "污水", "饮用水")),
    ("土壤", ("土壤",)), ("生态", ("生态", "自然保护区", "生物多样性")), ("风险", ("风险", "辐射", "危险废物")),
    ("体制", ("体制", "督察", "排污许可")), ("保障", ("保障措施",)),
)


def _bigrams(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fffA-Za-z0-9.]+", text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def _topic(question: str, *remove: str) -> set[str]:
    q = question
    for piece in remove:
        if piece:
            q = q.replace(piece, " ")
    return _bigrams(_Q_STOP.sub(" ", q))


def _overlap(topic: set[str], r: Obligation) -> float:
    if not topic:
        return 1.0
    hay = r.passage + r.section
    return sum(1 for b in topic if b in hay) / len(topic)


def _question_domain(question: str) -> tuple[str, str]:
    for dom, words in _Q_DOMAINS:
        for w in words:
            if w in question:
                return dom, w
    return "", ""


def answer_aggregate(register: Register, question: str) -> list[Obligation] | None:
    """Every record answering an aggregate, deadline or party question; None for other questions.

    - "哪些是约束性指标": the table records with that binding, in table order;
    - "哪些任务要在2017年底前完成", "2018年有哪些任务": dated records whose deadline is in that year
      (by-date, end-of-year, period), by date then document order; with 目标/指标/达到, the records with a
      target for that year instead, in document order; a domain word (水污染, 大气 …) or other topic words in
      the question narrow the list;
    - "每年要做哪些工作": the annual and from-year-on records;
    - "兵团负责哪些工作" (a party of the register named with 哪些…): that party's records;
    - "…由谁负责": the records on that topic whose party is named, most relevant first (None unless a record
      holds 85% of the question's topic bigrams: the question is then left to retrieval).
    A recognised question with no matching record gives [].
    """
    q = question.strip()
    rank = {d: i for i, d in enumerate(register.doc_order)}

    def doc_order(records: Iterable[Obligation]) -> list[Obligation]:
        return sorted(records, key=lambda r: (rank.get(r.doc_id, len(rank)), r.start, r.ob_id))

    by_date = _sort_key(register)
    m_bind = _BINDING_Q.search(q)
    if m_bind and (_AGG_CUE.search(q) or "指标" in q):
        return doc_order(r for r in register.records if r.binding == m_bind.group(1))
    domain, domain_word = _question_domain(q)
    m_date = _Q_DATE.search(q)
    if m_date and _AGG_CUE.search(q):
        year = int(m_date.group(1))
        topic = _topic(q, m_date.group(0), domain_word)
        pool = [r for r in register.records if not domain or r.domain == domain]
        if re.search(r"目标|指标|达到", q):
            hits = [r for r in pool if r.target and (r.year == year or r.target.target_year == str(year))]
            return doc_order(r for r in hits if _overlap(topic, r) >= 0.5)
        hits = [
            r for r in pool
            if r.deadline_kind in ("by-date", "end-of-year", "period")
            and (str(year) in r.deadline_text or r.deadline_date[:4] == str(year))
        ]
        return sorted((r for r in hits if _overlap(topic, r) >= 0.5), key=by_date)
    if _Q_ANNUAL.search(q) and _AGG_CUE.search(q):
        topic = _topic(q, domain_word)
        hits = [r for r in register.records if r.deadline_kind in ("annual", "from-year-on")
                and (not domain or r.domain == domain) and _overlap(topic, r) >= 0.5]
        return doc_order(hits)
    parties = sorted({r.party for r in register.records if r.party != UNSPECIFIED and len(r.party) >= 2},
                     key=len, reverse=True)
    named = next((p for p in parties if re.search(rf"(?<!哪些)(?<!哪个){re.escape(p)}{_PARTY_DUTY_Q}", q)), "")
    if named and _AGG_CUE.search(q) and not _WHO_Q.search(q):
        return sorted((r for r in register.records if named in r.party and (not domain or r.domain == domain)),
                      key=by_date)
    if _WHO_Q.search(q):
        topic = _topic(q)
        if len(topic) < 2:
            return None
        scored = [(s, r) for r in register.records if r.party_source != "none" and (s := _overlap(topic, r)) >= 0.85]
        if not scored:
            return None
        best = max(s for s, _ in scored)
        keep = [(s, r) for s, r in scored if s >= best - 0.1]
        keep.sort(key=lambda sr: (-sr[0], rank.get(sr[1].doc_id, len(rank)), sr[1].start))
        return [r for _, r in keep[:10]]
    return None
