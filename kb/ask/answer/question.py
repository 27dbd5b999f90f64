"""The question as the answer step reads it, once: normalised, routed, its typed slots and a follow-up's focus."""

from __future__ import annotations

from dataclasses import dataclass

from kb.ask.answer.routes import ROUTES, route_cues
from kb.ask.answer.slots import Slots, read_slots
from kb.ask.query import NormalizedQuery, normalize_query


@dataclass(frozen=True)
class QueryPart:
    """One thing a question asks (a whole question, or one part of it), read once and passed from routing through
    retrieval to composition."""

    text: str  # as asked, resolved against the chat
    normalized: NormalizedQuery  # folded to the corpus' wording, with its expansions
    route: str  # the kind of fact asked for (kb.ask.answer.routes.ROUTES)
    cues: tuple[str, ...]  # every route whose cue words occur, ``route`` first
    slots: Slots  # the asked unit, date or amount, subject and contrast members
    focus: str | None = None  # a follow-up's own text, when ``text`` was resolved against the previous question


def read_part(text: str, focus: str | None = None, route: str | None = None) -> QueryPart:
    """Read one question: normalise it, route it (``route`` overrides the cue words) and read its slots."""
    nq = normalize_query(text)
    cues = route_cues(nq.text)
    chosen = route or (cues[0] if cues else "general")
    if chosen not in ROUTES:
        raise ValueError(f"unknown route: {chosen}")
    return QueryPart(text=text, normalized=nq, route=chosen, cues=(chosen, *(c for c in cues if c != chosen)),
                     slots=read_slots(nq.text, chosen), focus=focus)
