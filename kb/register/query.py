"""Selecting records of the register by deadline, year, party, document, domain, text and binding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from indexing.types import Obligation
from kb.register.store import Register


def by_deadline(register: Register) -> Callable[[Obligation], tuple]:
    """Sort key: deadline date (undated last), then corpus order, position, source and id."""
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
    return sorted(out, key=by_deadline(register))
