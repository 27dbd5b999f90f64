"""Quantified targets of a clause: indicator, value, unit, comparator and baseline ("…达到90%以上")."""

from __future__ import annotations

import re

from indexing.types import Target
from kb.register.deadlines import parse_deadlines, strip_leading_deadlines
from kb.register.spans import CLAUSE_SPLIT
from kb.vocab import alternation, words

_UNITS = alternation("units.tsv", "目标值")
_TARGET_RE = re.compile(
    rf"(?P<cmp>{alternation('comparators.tsv', '目标值')})"
    rf"(?P<val>\d+(?:\.\d+)?(?:[-～~—]\d+(?:\.\d+)?)?)(?P<unit>{_UNITS})?(?P<suffix>以上|以下|以内|左右)?"
)
_ZERO_GROWTH_RE = re.compile(r"(?:实现)?零增长")
_BASELINE_RE = re.compile(r"(?:比|较|对比|相比)((?:19|20)\d\d)年(?:的?(\d+(?:\.\d+)?)(%|万吨)?)?")
_INDICATOR_TRIM_END = re.compile(r"(?:应于|应|要|须|必须|均|将|力争|基本|稳定|逐步|于|，|,)+$")
_INDICATOR_TRIM_START = re.compile(r"^(?:其中[：:]?|力争|努力|确保|使|实现)+")
_PLACE_ONLY = re.compile(r"^[\u4e00-\u9fff]{2,8}(?:市|县|州|地区|区)$")
CHANGE_COMPARATORS = words("comparators.tsv", "变化")  # a change (fall or rise), not a level


def extract_targets(text: str, min_year: int = 0) -> list[Target]:
    """Quantified targets stated in ``text`` ("城市污水集中处理率达到90%以上" ...), in order.

    Clauses with 分别 (several indicators, several values) are skipped rather than misread. A clause such
    as "其中乌鲁木齐市达到75%" takes the indicator of the target before it with the place substituted.
    """
    out: list[Target] = []
    for clause in CLAUSE_SPLIT.split(text):
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
    """The target of one comparator match, its indicator read from the clause text since ``pos``."""
    prefix = clause[pos : m.start()]
    base_year = base_value = ""
    bm = _BASELINE_RE.search(prefix)
    if bm:
        base_year, base_value = bm.group(1), bm.group(2) or ""
        prefix = prefix[: bm.start()] + prefix[bm.end() :]
    name = strip_leading_deadlines(prefix, min_year)
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
