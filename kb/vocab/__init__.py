"""Domain vocabularies (parties, places, roles, colloquial words, quiz words) as data files, with one loader."""

from __future__ import annotations

from pathlib import Path

VOCAB_DIR = Path(__file__).resolve().parent


def vocab_path(name: str) -> Path:
    """The path of the vocabulary file ``name`` (for example "parties.tsv")."""
    return VOCAB_DIR / name


def read_tsv(name: str) -> list[list[str]]:
    """The rows of a TSV vocabulary, each a list of stripped cells; blank lines and ``#`` comments are skipped."""
    rows = []
    for line in vocab_path(name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([cell.strip() for cell in line.split("\t")])
    return rows
