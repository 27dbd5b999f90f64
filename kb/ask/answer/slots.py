"""Typed slots of a question: the kind of fact it asks for, the unit that fact must carry, and the subject it is
asked of (kb/vocab/asked_units.tsv, kb/vocab/subjects.tsv)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from kb.vocab import table

# A question asking when: its answer must hold a date or a time limit.
_ASKS_DATE = re.compile(r"哪年|哪一年|哪一?天|何时|什么时候|什么时间|啥时候|几月|几号|截止到?哪")


@dataclass(frozen=True)
class UnitClass:
    """A class of amounts (罚款, 期间, 比例 …): how questions ask for it and the units an answer's amount carries."""

    name: str
    cue: re.Pattern[str]
    units: tuple[str, ...]
    words: tuple[str, ...] = ()  # what answers without a number ("按季" for "多久报一次")


@dataclass(frozen=True)
class Subject:
    """Who a penalty or duty is of (个人, 单位): how questions name it and how the texts do."""

    name: str
    cue: re.Pattern[str]
    text: re.Pattern[str]


@dataclass(frozen=True)
class Slots:
    """What a question asks for: a kind of fact, the unit class of an amount, the subject it is asked of, and the
    members of contrast sets it names (二级保护区 of 一级/二级/准保护区) with their rivals."""

    kind: str | None  # "date", "amount" or None
    unit: UnitClass | None = None
    subject: Subject | None = None
    contrasts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (member named, the other members of its set)


@functools.cache
def unit_classes() -> tuple[UnitClass, ...]:
    """The unit classes of kb/vocab/asked_units.tsv, in file order."""
    return tuple(UnitClass(row["类别"], re.compile(row["问法"]), tuple(row["单位"].split("|")),
                           tuple(w for w in row["或含"].split("|") if w))
                 for row in table("asked_units.tsv"))


@functools.cache
def subjects() -> tuple[Subject, ...]:
    """The subjects of kb/vocab/subjects.tsv."""
    return tuple(Subject(row["主体"], re.compile(row["问法"]), re.compile(row["条文用词"]))
                 for row in table("subjects.tsv"))


@functools.cache
def contrast_sets() -> tuple[tuple[str, ...], ...]:
    """The contrast sets of kb/vocab/contrasts.tsv, each its members."""
    return tuple(tuple(row["成员"].split("|")) for row in table("contrasts.tsv"))


def named_members(members: tuple[str, ...], text: str) -> list[str]:
    """The members of one contrast set a text names, each the longest one named there (劣Ⅴ类, not the Ⅴ类 in it)."""
    return [m for m in members if m in text and not any(m != o and m in o and o in text for o in members)]


def named_contrasts(question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The contrast-set members a question names, each with its set's other members (one member per set)."""
    out = []
    for members in contrast_sets():
        named = named_members(members, question)
        if len(named) == 1:
            out.append((named[0], tuple(m for m in members if m != named[0] and named[0] not in m)))
    return tuple(out)


def read_slots(question: str, route: str) -> Slots:
    """The slots of a normalised question of ``route``: the first unit class whose cue matches, else the kind the
    route and the question's cue words ask for; the subject when the question names exactly one."""
    unit = next((u for u in unit_classes() if u.cue.search(question)), None)
    if unit is not None:
        kind: str | None = "amount"
    elif _ASKS_DATE.search(question):
        kind = "date"
    elif route == "target" and re.search(r"多少|几", question):
        kind = "amount"
    else:
        kind = None
    named = [s for s in subjects() if s.cue.search(question)]
    return Slots(kind=kind, unit=unit, subject=named[0] if len(named) == 1 else None,
                 contrasts=named_contrasts(question))
