"""Shared fixtures: the shipped corpus and its documents, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.loaders import iter_corpus, load_document
from indexing.manifest import read_manifest
from indexing.types import Document

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAN_FILE = "plan/xinjiang-env-protection-13th-fyp-2017.txt"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The corpus shipped with the package."""
    return REPO_ROOT / "corpus"


@pytest.fixture(scope="session")
def plan_doc(corpus_dir: Path) -> Document:
    """The Xinjiang 13th five-year environmental plan, loaded and normalised."""
    return load_document(corpus_dir / PLAN_FILE, corpus_dir, read_manifest(corpus_dir)[PLAN_FILE])


@pytest.fixture(scope="session")
def corpus_docs(corpus_dir: Path) -> dict[str, Document]:
    """Every corpus document (PDFs included), keyed by doc_id."""
    return {doc.doc_id: doc for doc in iter_corpus(corpus_dir, strict=True)}
