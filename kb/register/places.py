"""Places people filter the register by (乌鲁木齐市, 伊宁市, 北疆 …): ``kb/vocab/places.tsv`` and matching.

A record is about a place when its cited text names one of the place's wordings; a region (北疆, 南疆, 东疆)
matches its own name and every place listed under it. Nothing is inferred beyond what the text names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb.vocab import read_tsv, vocab_path

PLACES_PATH = vocab_path("places.tsv")


@dataclass(frozen=True)
class Place:
    """A place or region and the wordings that name it in the texts."""

    name: str
    region: str
    terms: tuple[str, ...]


@lru_cache(maxsize=4)
def load_places(path: Path = PLACES_PATH) -> tuple[Place, ...]:
    """The places of ``places.tsv`` in file order (comment lines start with #)."""
    return tuple(Place(r[0], r[1], tuple(t.strip() for t in r[2].split("|") if t.strip()))
                 for r in read_tsv(path)[1:])


def place_terms(name: str, places: Iterable[Place] | None = None) -> tuple[str, ...]:
    """Every wording that makes a record match ``name`` (a region brings in its places' wordings)."""
    places = tuple(places or load_places())
    terms: list[str] = []
    for p in places:
        if p.name == name or p.region == name:
            terms.extend(p.terms)
    return tuple(dict.fromkeys(terms))


def _text(ob: Any) -> str:
    return f"{ob.action or ''}\n{ob.passage or ''}\n{ob.section or ''}"


def mentions(ob: Any, name: str, places: Iterable[Place] | None = None) -> bool:
    """Whether the record's action, passage or section names the place or region."""
    text = _text(ob)
    return any(t in text for t in place_terms(name, places))


def place_counts(records: Iterable[Any], places: Iterable[Place] | None = None) -> Counter[str]:
    """How many records name each place (regions included), for the filter's choices."""
    places = tuple(places or load_places())
    names = list(dict.fromkeys(p.name for p in places))
    terms = {n: place_terms(n, places) for n in names}
    counts: Counter[str] = Counter()
    for ob in records:
        text = _text(ob)
        counts.update(n for n in names if any(t in text for t in terms[n]))
    return counts
