"""Verification: whether a candidate sentence, with what is quoted with it, holds the kind of fact the question asks
for, in the asked unit and of the asked subject; and the choice of the best candidate that does."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from indexing.types import Chunk
from kb.ask.answer.facts import DEADLINE_RE, TARGET_RE
from kb.ask.answer.sentences import clause_spans, passage_header
from kb.ask.answer.slots import Slots, subjects
from kb.ask.answer.types import Sentence

_NUMBER = r"(?<![\d.])(?!(?:19|20)\d\d年)[\d０-９.．〇○零一二两三四五六七八九十百千万亿]+\s*(?:个)?"
_PERCENT_WORDS = re.compile(r"百分之[零〇一二两三四五六七八九十点]+")
_TABLE_NUMBER = re.compile(r"\t\s*\d+(?:\.\d+)?\s*(?:\t|$)")
_FRACTION = re.compile(r"[一二三四五六七八九十]+分之[一二三四五六七八九十]+")  # 二分之一, 四分之三以上


@functools.cache
def _unit_pattern(units: tuple[str, ...]) -> re.Pattern[str]:
    """An amount in one of ``units``: a number (not a year) followed by the unit (compiled once per unit class)."""
    return re.compile(_NUMBER + "(?:" + "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True)) + ")")


def has_amount_in(text: str, units: Sequence[str], header: str = "", words: Sequence[str] = ()) -> bool:
    """Whether a text states an amount in one of ``units`` (a table row's unit may be in its header), or one of the
    ``words`` that answer without a number."""
    if _unit_pattern(tuple(units)).search(text) or any(w in text for w in words):
        return True
    if "百分之" in units and (_PERCENT_WORDS.search(text) or _FRACTION.search(text)):
        return True
    return bool(_TABLE_NUMBER.search(text)) and any(u in header for u in units)


def quoted_text(sent: Sentence, chunk: Chunk) -> str:
    """The sentence and what is quoted with it (its list's lead-in, or the next sentence holding the fact)."""
    return "\n".join(chunk.text[a:b] for a, b in sent.quoted_spans())


def _fact_clauses(text: str, slots: Slots, header: str) -> list[str]:
    """The clauses of a text that state the asked-for amount."""
    clauses = [text[a:b] for a, b in clause_spans(text.replace("；", "，").replace("\n", "，"))]
    if slots.unit is not None:
        return [c for c in clauses if has_amount_in(c, slots.unit.units, header)]
    return [c for c in clauses if TARGET_RE.search(c)]


def violations(question: str, slots: Slots, sent: Sentence, chunk: Chunk) -> list[str]:
    """What the candidate lacks of what the question asks: the question's own words for an asked unit ("罚多少"),
    "多少" or "时间" for an amount or a date, the asked subject ("个人") or contrast member ("二级保护区"); empty
    when it holds the asked kind of fact in the asked unit, of the asked subject, for the asked member."""
    text = quoted_text(sent, chunk)
    header = passage_header(chunk)
    out: list[str] = []
    if slots.unit is not None:
        if not has_amount_in(text, slots.unit.units, header, slots.unit.words):
            out.append(slots.unit.cue.search(question).group(0))
    elif slots.kind == "amount" and not (TARGET_RE.search(text) or _TABLE_NUMBER.search(text)
                                         or _FRACTION.search(text)):
        out.append("多少")
    elif slots.kind == "date" and not DEADLINE_RE.search(text):
        out.append("时间")
    if slots.subject is not None and slots.kind == "amount" and not out:
        facts = _fact_clauses(text, slots, header)
        others = [s for s in subjects() if s is not slots.subject]
        if facts and not any(slots.subject.text.search(c) for c in facts) and all(
                any(o.text.search(c) for o in others) for c in facts):
            out.append(slots.subject.name)
    sentence = chunk.text[sent.start:sent.end]
    for member, rivals in slots.contrasts:
        if member not in sentence and any(r in sentence for r in rivals):
            out.append(member)
    return out


def prefer_verified(question: str, slots: Slots, ranked: list[Sentence], hits: list[tuple[Chunk, float]],
                    margin: float, depth: int = 12) -> list[str]:
    """Put first the best candidate that holds what the question asks when the best one does not and it scores
    within ``margin`` of it; returns the violations of the candidate now first."""
    if not ranked:
        return []
    best = ranked[0]
    missing = violations(question, slots, best, hits[best.hit][0])
    if not missing:
        return []
    for i, s in enumerate(ranked[1:depth], start=1):
        if s.score < best.score - margin:
            break
        if s.lex > 0 and not violations(question, slots, s, hits[s.hit][0]):
            ranked.insert(0, ranked.pop(i))
            return []
    return missing
