"""Shared fixtures: the shipped corpus and its documents, loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexing.loaders import iter_corpus, load_document
from indexing.manifest import read_manifest
from indexing.types import Document

# The browser harness's fixtures (one chromium and one app server for the whole session).
pytest_plugins = ["browser"]

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
def corpus_sections(tmp_path_factory: pytest.TempPathFactory):
    """The shipped corpus, loaded and structured as the indexer does it (no index, no embeddings)."""
    from indexing.build import load_corpus
    from indexing.config import Settings

    return load_corpus(Settings(data_dir=tmp_path_factory.mktemp("kb-data"), corpus_dir=REPO_ROOT / "corpus"), [])


@pytest.fixture(scope="session")
def corpus_register(corpus_sections):
    """The obligations register of the whole shipped corpus, built once per session without an index."""
    from kb.register.store import build_register

    return build_register(corpus_sections)


@pytest.fixture(scope="session")
def models_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose models/ holds the materialised default model, shared by the session."""
    return _cached_dir(tmp_path_factory, "kb-models")


def _cached_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A fresh temp dir, or with KB_TEST_CACHE set a folder kept between runs (a developer's speed-up, never CI's)."""
    cache = os.environ.get("KB_TEST_CACHE")
    if not cache:
        return tmp_path_factory.mktemp(name)
    path = Path(cache) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


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

    data = _cached_dir(tmp_path_factory, "kb-built")
    if not (data / "models").exists():
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


@pytest.fixture(scope="session")
def api_kb(built_settings, embeddings):
    """The public API's KnowledgeBase (``from kb import KnowledgeBase``) over the session's full index."""
    from kb import KnowledgeBase

    return KnowledgeBase.open(built_settings, embeddings=embeddings)


# --- Network guard: the whole test run must stay offline (loopback and Unix sockets only). ---

class OutboundConnectionBlocked(OSError):
    """A test tried to reach a non-loopback address."""


def _is_loopback_host(host: object) -> bool:
    """Whether a host (IP literal or name) is this machine; names other than localhost are refused."""
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in ("localhost", "") or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False  # a public name: refused before any DNS lookup
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _check_address(family: int, address: object) -> None:
    import socket

    if family == getattr(socket, "AF_UNIX", None) or not isinstance(address, tuple) or not address:
        return
    if not _is_loopback_host(address[0]):
        raise OutboundConnectionBlocked(f"network guard: outbound connection to {address!r} blocked during tests")


@pytest.fixture(scope="session", autouse=True)
def network_guard():
    """Fail any outbound connection to a non-loopback address for the whole test session."""
    import socket

    connect, connect_ex, create_connection = socket.socket.connect, socket.socket.connect_ex, socket.create_connection

    def guarded_connect(self, address):
        _check_address(self.family, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _check_address(self.family, address)
        return connect_ex(self, address)

    def guarded_create_connection(address, *args, **kwargs):
        _check_address(socket.AF_INET, address)
        return create_connection(address, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.create_connection = guarded_create_connection
    try:
        yield
    finally:
        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        socket.create_connection = create_connection


# --- A small index (two short regulations) for tests that damage, extend or race the index. ---

SMALL_CORPUS = (
    "laws/env-protection-tax-law-implementing-regs-2017.md",
    "laws/planning-eia-regs-2009.md",
)


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory, embeddings, models_data_dir: Path) -> Path:
    """A folder with corpus/ (two regulations and their manifest lines) and data/ holding their built index.

    Built once per session; copy it (``shutil.copytree(..., symlinks=True)``) before changing anything.
    data/models links to the session's materialised model, so `kb` subprocesses can use it too.
    """
    import shutil

    from indexing.config import Settings
    from kb.service import KnowledgeBase

    root = tmp_path_factory.mktemp("kb-small")
    corpus = root / "corpus"
    (corpus / "laws").mkdir(parents=True)
    lines = (REPO_ROOT / "corpus" / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[1] in SMALL_CORPUS]
    (corpus / "MANIFEST.tsv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    for rel in SMALL_CORPUS:
        shutil.copy(REPO_ROOT / "corpus" / rel, corpus / rel)
    data = root / "data"
    data.mkdir()
    (data / "models").symlink_to(models_data_dir / "models", target_is_directory=True)
    KnowledgeBase(Settings(data_dir=data, corpus_dir=corpus), embeddings=embeddings).build()
    return root
