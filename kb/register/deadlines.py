"""Deadlines: every time expression of a text ("2017年底前", "自2018年起", "每年", "“十三五”期间"), normalised.

The kinds and their dates are tabled in :mod:`kb.register.extract`'s docstring; this is the single reading of every
expression (the calendar export and the quiz use it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from kb.vocab import table

PERIOD_END = {row["时期"]: int(row["终止年"]) for row in table("plan_periods.tsv")}  # last year of each period

_DEADLINE_RE = re.compile(
    r"(?P<from>自(?P<fy>(?:19|20)\d\d)年(?:起|开始))"
    r"|(?P<pre>截止到|截至|到|至|于|在)?(?P<y>(?:19|20)\d\d)年"
    r"(?:(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日)?(?P<mend>底)?(?P<mbefore>前|以前)?(?!\d)"
    r"|(?P<eoy>底)(?:前|以前)?"
    r"|(?P<before>前|以前)"
    r"|(?P<plain>))"
    r"|(?P<annual>每年|逐年)"
    r"|(?P<period>[“\"]?(?P<pname>十[一二三四五]五)[”\"]?(?:期间|时期))"
)
# A bare year is a deadline only when a verb of completion follows ("2020年实现超低排放").
_BARE_YEAR_VERBS = re.compile(r"实现|完成|达到|基本|建成|全面|前|底")
_TO_PREFIXES = ("截止到", "截至", "到", "至")
_CLAUSE_LEAD = re.compile(r"^(?:[，,：:\s]|其中|同时|并且?|也|还|另外|此外|均)+")


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
        last = PERIOD_END.get(m.group("pname"), 0)
        if not last or last < min_year:  # like a bare year: a period that ended before the text is no deadline
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
        if m.group("d") is not None:  # "2027年6月30日前": by that day, as administrative texts mean it
            try:
                due = date(y, month, int(m.group("d")))
            except ValueError:
                return None
        else:
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


def strip_leading_deadlines(text: str, min_year: int) -> str:
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
