"""Selecting records of the register by deadline, year, party, document, domain, text and binding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Unpack

from indexing.types import Obligation
from kb.register.filters import RegisterFilters, check_names
from kb.register.store import Register


def by_deadline(register: Register) -> Callable[[Obligation], tuple]:
    """Sort key: deadline date (undated last), then corpus order, position, source and id."""
    rank = {d: i for i, d in enumerate(register.doc_order)}
    return lambda r: (r.deadline_date or "9999-12-31", rank.get(r.doc_id, len(rank)), r.start, r.source, r.ob_id)


def query(register: Register, **filters: Unpack[RegisterFilters]) -> list[Obligation]:
    """Records matching every given filter (RegisterFilters), sorted by deadline date (undated last), then document
    order."""
    due_before, year, party = filters.get("due_before"), filters.get("year"), filters.get("party")
    doc, domain, text, binding = filters.get("doc"), filters.get("domain"), filters.get("text"), filters.get("binding")
    check_names(filters)
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
    return sorted(out, key=by_deadline(register))
