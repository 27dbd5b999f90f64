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


@pytest.fixture(scope="session")
def models_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose models/ holds the materialised default model, shared by the session."""
    return tmp_path_factory.mktemp("kb-models")


@pytest.fixture(scope="session")
def embeddings(models_data_dir: Path):
    """The default embedding model, materialised and loaded once per session."""
    from indexing.config import Settings
    from indexing.embeddings import load_embeddings

    return load_embeddings(Settings(data_dir=models_data_dir), device="cpu")


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory, embeddings, models_data_dir: Path):
    """Settings of a full index of the shipped corpus, built once per session (real Chroma on disk)."""
    from indexing.config import Settings
    from kb.service import KnowledgeBase

    data = tmp_path_factory.mktemp("kb-built")
    (data / "models").symlink_to(models_data_dir / "models", target_is_directory=True)
    settings = Settings(data_dir=data, corpus_dir=REPO_ROOT / "corpus")
    KnowledgeBase(settings, embeddings=embeddings).build()
    return settings


@pytest.fixture(scope="session")
def knowledge_base(built_settings, embeddings):
    """A KnowledgeBase over the session's full index."""
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(built_settings, embeddings=embeddings)
    kb.open()
    return kb
