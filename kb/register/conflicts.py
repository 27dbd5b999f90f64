"""Consistency check: one indicator given different targets in two places of a document, with both citations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from indexing.types import Obligation, Target
from kb.register.targets import CHANGE_COMPARATORS, extract_targets


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


# Two indicator names (after indicator_key) name the same measure when one holds the other and is at least this
# share of its length ("PM2.5浓度" in "PM2.5年均浓度"), or when their character sets overlap this much.
CONTAINED_SHARE = 0.6
SHARED_CHARS = 0.85


def _same_measure(a: str, b: str) -> bool:
    """Whether two normalised indicator names name the same measure."""
    if len(a) < 2 or len(b) < 2:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if short in long_ and len(short) / len(long_) >= CONTAINED_SHARE:
        return True
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) >= SHARED_CHARS


def _number(value: str) -> float | None:
    """``value`` as a number, or None (a range, a class such as "III类")."""
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
            change = any(c in t.comparator for c in CHANGE_COMPARATORS)
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
