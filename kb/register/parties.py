"""Parties people can filter by: every verbatim 责任主体 of the register mapped to a short canonical list.

The vocabulary is data (``kb/vocab/parties.tsv``: 归类, 正则, 说明) read by :func:`load_party_rules`. A verbatim
party ("县级以上地方人民政府生态环境主管部门和其他负有监督管理职责的部门") is split at 和/及/与/或者/、 and
each part takes the rule whose match ends last (a Chinese noun phrase has its head at the end); equal ends go
to the earlier rule. A party matching no rule is "其他"; a record without a party is "未明确".

Where a plan names no party for a task, the plan's own statement of who carries it out is used: a sentence
"X是规划实施的主体" in the same document (the 保障措施 of the Xinjiang plan: "各级人民政府是规划实施的主体")
makes X the party, marked :data:`PLAN_SUBJECT_LABEL`, with that sentence as its citation. Nothing else is
inferred: laws keep "未明确" where the sentence names nobody.

The view is derived from the register at read time (the stored register keeps its verbatim fields).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.vocab import read_tsv, vocab_path

PARTIES_PATH = vocab_path("parties.tsv")
OTHER = "其他"
UNSPECIFIED = "未明确"
PLAN_SUBJECT_LABEL = "规划实施主体（继承）"
_SPLIT = re.compile(r"以及|或者|及其|及|和|与|、|，")
_SUBJECT_RE = re.compile(r"(?:^|[。；，])([^。；，]{2,20}?)是规划实施的主体")
_SOURCE_LABELS = {"explicit": "原文明确", "inherited": "从上下文继承", "none": "未明确"}


@dataclass(frozen=True)
class PartyRule:
    """One canonical party and the pattern that recognises it."""

    canonical: str
    pattern: re.Pattern[str]
    note: str


@dataclass(frozen=True)
class PartyView:
    """How a record's party is shown and filtered: canonical groups, verbatim text, and where it comes from."""

    canonical: tuple[str, ...]
    verbatim: str
    source: str  # explicit | inherited | plan-subject | none
    citation: str = ""  # the sentence a plan-subject party rests on
    citation_start: int | None = None
    citation_end: int | None = None

    @property
    def label(self) -> str:
        """The table cell: canonical groups, then the verbatim text when it says more."""
        if self.source == "none":
            return UNSPECIFIED
        groups = "、".join(self.canonical)
        if self.source == "plan-subject":
            return f"{groups}（{PLAN_SUBJECT_LABEL}）"
        return groups if self.verbatim in self.canonical else f"{groups}（{self.verbatim}）"

    @property
    def source_label(self) -> str:
        """Where the party comes from, in Chinese."""
        return PLAN_SUBJECT_LABEL if self.source == "plan-subject" else _SOURCE_LABELS.get(self.source, "")

    @property
    def stated(self) -> bool:
        """Whether the record has a party stated or inherited from a text (not "未明确")."""
        return self.source != "none"


@lru_cache(maxsize=4)
def load_party_rules(path: Path = PARTIES_PATH) -> tuple[PartyRule, ...]:
    """The canonical party rules of ``parties.tsv``, in file order (comment lines start with #)."""
    return tuple(PartyRule(r[0], re.compile(r[1]), r[2] if len(r) > 2 else "") for r in read_tsv(path)[1:])


def canonical_order(rules: Sequence[PartyRule] | None = None) -> list[str]:
    """Every canonical party in display order, then 其他 and 未明确."""
    rules = rules or load_party_rules()
    return [*dict.fromkeys(r.canonical for r in rules), OTHER, UNSPECIFIED]


def _part_group(part: str, rules: Sequence[PartyRule]) -> str | None:
    best: tuple[int, int] | None = None
    group = None
    for i, rule in enumerate(rules):
        for m in rule.pattern.finditer(part):
            key = (m.end(), -i)
            if best is None or key > best:
                best, group = key, rule.canonical
    return group


def classify_party(verbatim: str, rules: Sequence[PartyRule] | None = None) -> tuple[str, ...]:
    """The canonical groups of a verbatim party, in display order ("其他" when none matches)."""
    rules = rules or load_party_rules()
    if not verbatim or verbatim == UNSPECIFIED:
        return (UNSPECIFIED,)
    found = {g for part in _SPLIT.split(verbatim) if part and (g := _part_group(part, rules))}
    order = canonical_order(rules)
    return tuple(sorted(found, key=order.index)) if found else (OTHER,)


def plan_subjects(records: Iterable[Any]) -> dict[str, tuple[str, Any]]:
    """Per document, the implementing subject it states ("X是规划实施的主体") and the record citing it."""
    out: dict[str, tuple[str, Any]] = {}
    for ob in records:
        if ob.doc_id in out:
            continue
        m = _SUBJECT_RE.search(ob.passage or "")
        if m:
            out[ob.doc_id] = (m.group(1).strip(), ob)
    return out


def party_views(records: Sequence[Any], rules: Sequence[PartyRule] | None = None) -> dict[str, PartyView]:
    """The party view of every record, keyed by ob_id."""
    rules = rules or load_party_rules()
    subjects = plan_subjects(records)
    views: dict[str, PartyView] = {}
    for ob in records:
        source = ob.party_source if ob.party and ob.party != UNSPECIFIED else "none"
        if source == "none" and ob.doc_id in subjects:
            subject, cited = subjects[ob.doc_id]
            sentence = _sentence_of(cited.passage, subject)
            views[ob.ob_id] = PartyView(classify_party(subject, rules), subject, "plan-subject", sentence,
                                        cited.start, cited.end)
        else:
            views[ob.ob_id] = PartyView(classify_party(ob.party if source != "none" else "", rules),
                                        ob.party if source != "none" else "", source)
    return views


def _sentence_of(passage: str, subject: str) -> str:
    """The sentence of ``passage`` that states the subject (up to its 。)."""
    i = passage.find(f"{subject}是规划实施的主体")
    if i < 0:
        return passage
    end = passage.find("。", i)
    return passage[i : end + 1 if end >= 0 else len(passage)]


_VIEW_CACHE: dict[int, tuple[Any, dict[str, PartyView]]] = {}


def register_party_views(register: Any) -> dict[str, PartyView]:
    """The party views of a register, computed once per register object."""
    cached = _VIEW_CACHE.get(id(register))
    if cached is None or cached[0] is not register:
        _VIEW_CACHE.clear()  # one live register at a time; a re-index replaces it
        cached = (register, party_views(list(register.records)))
        _VIEW_CACHE[id(register)] = cached
    return cached[1]


def party_counts(records: Iterable[Any], views: dict[str, PartyView]) -> Counter[str]:
    """How many records fall in each canonical party."""
    counts: Counter[str] = Counter()
    for ob in records:
        counts.update(views[ob.ob_id].canonical if ob.ob_id in views else (UNSPECIFIED,))
    return counts


def has_party(ob: Any, views: dict[str, PartyView], canonical: str) -> bool:
    """Whether a record's party falls in ``canonical``."""
    view = views.get(ob.ob_id)
    return canonical in (view.canonical if view else (UNSPECIFIED,))
