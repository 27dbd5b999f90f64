"""Domain vocabularies (parties, places, roles, units, aliases, colloquial words, quiz words) as data files, with one
loader.

A word-list file is a TSV: ``#`` comment lines saying what it is, a column header line, then one item per line. Its
first column is the word; further columns mark which patterns use it ("是"), or carry its data (plan_periods.tsv).
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

VOCAB_DIR = Path(__file__).resolve().parent


def vocab_path(name: str) -> Path:
    """The path of the vocabulary file ``name`` (for example "parties.tsv")."""
    return VOCAB_DIR / name


def read_tsv(name: str | Path) -> list[list[str]]:
    """The rows of a TSV vocabulary (a file name in kb/vocab/, or a path), header first, each a list of stripped
    cells; blank lines and ``#`` comments are skipped."""
    path = name if isinstance(name, Path) else vocab_path(name)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([cell.strip() for cell in line.split("\t")])
    return rows


@functools.cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """The items of a word-list TSV as {column header: cell} (a missing trailing cell is "")."""
    header, *rows = read_tsv(name)
    return tuple(dict(itertools.zip_longest(header, row, fillvalue="")) for row in rows)


@functools.cache
def words(name: str, column: str | None = None) -> tuple[str, ...]:
    """The words (first column) of a word-list TSV in file order; with ``column``, only those marked in it."""
    first = read_tsv(name)[0][0]
    return tuple(row[first] for row in table(name) if column is None or row[column])


@functools.cache
def alternation(name: str, column: str | None = None) -> str:
    """A regex alternation of ``words(name, column)``, escaped, longest first so that 万吨 is tried before 吨 (equal
    lengths keep the file's order)."""
    return "|".join(re.escape(w) for w in sorted(words(name, column), key=len, reverse=True))
