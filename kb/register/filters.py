"""The register's filters as one typed set of keyword arguments (light: the CLI checks them before loading)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TypedDict


class RegisterFilters(TypedDict, total=False):
    """The register's filters; every one given must hold. ``due_before`` (ISO date, inclusive) keeps dated records
    due on or before it; ``year`` those whose deadline falls in that year (an int once checked by
    kb.inputs.obligation_filters); ``party`` a substring of the responsible party ("未明确" selects records without
    one); ``doc`` a doc_id; ``domain`` a domain label (substring); ``text`` a substring of the action, passage or
    section; ``binding`` 约束性/预期性."""

    due_before: str | date | None
    year: int | str | None
    party: str | None
    doc: str | None
    domain: str | None
    text: str | None
    binding: str | None


FILTER_NAMES = frozenset(RegisterFilters.__annotations__)


def check_names(filters: Mapping[str, object]) -> None:
    """TypeError naming the keywords of ``filters`` that are not register filters (as for an unknown argument)."""
    if unknown := filters.keys() - FILTER_NAMES:
        raise TypeError(f"unknown register filter(s): {', '.join(sorted(unknown))}")
