"""KB_CHROMA_URL: index and ask against a real `chroma run` server process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indexing import store
from indexing.build import build_index
from indexing.chunker import JiebaChunker
from indexing.config import PACKAGE_CORPUS, Settings
from kb.service import KnowledgeBase

pytestmark = pytest.mark.server
DOC = "laws/env-protection-tax-law-implementing-regs-2017.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path: Path):
    """A Chroma server on a free loopback port, stopped after the test."""
    exe = Path(sys.executable).with_name("chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_index_and_ask_against_server(tmp_path: Path, chroma_server: str, embeddings) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "laws").mkdir(parents=True)
    shutil.copy(PACKAGE_CORPUS / DOC, corpus / DOC)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, chroma_url=chroma_server)

    first = build_index(settings, embeddings=embeddings)
    assert first.status == "built" and first.n_chunks > 10
    assert not (settings.index_dir / first.generation / "chroma").exists()  # vectors live in the server

    import chromadb

    port = int(chroma_server.rsplit(":", 1)[1])
    names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()]
    assert f"kb-{first.generation}" in names

    index = store.open_index(settings, embeddings, embeddings.model_id, JiebaChunker().version)
    assert index.store._collection.count() == first.n_chunks
    with pytest.raises(store.IndexIncompatible):
        store.open_index(settings, embeddings, "another-model", JiebaChunker().version)

    kb = KnowledgeBase(settings, embeddings=embeddings)
    ans = kb.ask("纳税人申报缴纳环境保护税时应当向税务机关报送哪些资料？")
    assert not ans.abstained and ans.citations
    assert ans.citations[0].doc_id == "env-protection-tax-law-implementing-regs-2017"

    kb.close()  # a serving process's reader lease would keep the first generation (and its collection)

    # An update swaps in a new server collection and retires the one before the previous.
    (corpus / DOC).write_text((corpus / DOC).read_text(encoding="utf-8") + "\n第二十七条 测试新增条文。\n")
    second = build_index(settings, embeddings=embeddings)
    third_text = (corpus / DOC).read_text(encoding="utf-8") + "\n第二十八条 再次新增。\n"
    (corpus / DOC).write_text(third_text, encoding="utf-8")
    third = build_index(settings, embeddings=embeddings)
    names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()]
    assert f"kb-{third.generation}" in names and f"kb-{second.generation}" in names
    assert f"kb-{first.generation}" not in names
