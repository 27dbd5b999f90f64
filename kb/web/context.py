"""What every tab of the web app shares: the `AppContext` (settings, the knowledge base, readiness, caches, exports)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexing.config import Settings
from kb.web.guard import ExportJanitor, LoginThrottle, WebLimits
from kb.web.render import esc

log = logging.getLogger(__name__)

ALL = "全部"  # the choice of every filter that filters nothing


def _new_export_dir() -> Path:
    """A private folder for exports inside gradio's file cache (served from there without a copy)."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="kb-export-", dir=cache))


@dataclass
class AppContext:
    """What every tab needs: settings, the knowledge base, readiness, caches, and an export folder."""

    settings: Settings
    kb: Any  # kb.service.KnowledgeBase
    ready: threading.Event = field(default_factory=threading.Event)
    status: str = "正在启动……"
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    export_dir: Path = field(default_factory=lambda: _new_export_dir())
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    limits: WebLimits = field(default_factory=WebLimits)
    login_throttle: LoginThrottle = field(init=False)
    janitor: ExportJanitor = field(init=False)
    _docs: list[tuple[Any, list[Any]]] | None = None
    _docs_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.login_throttle = LoginThrottle(self.limits)
        self.janitor = ExportJanitor(self.export_dir, self.limits)

    def set_status(self, message: str) -> None:
        """Record (and print) a progress message shown on the page until the index is ready."""
        self.status = message
        print(message, flush=True)

    def documents(self) -> list[tuple[Any, list[Any]]]:
        """The parsed corpus documents with their section trees (loaded once)."""
        with self._docs_lock:
            if self._docs is None:
                warnings: list[str] = []
                self._docs = self.kb.corpus_documents(warnings)
                for w in warnings:
                    log.warning("%s", w)
            return self._docs

    def document(self, doc_id: str) -> tuple[Any, list[Any]] | None:
        """One document and its sections by id."""
        for doc, sections in self.documents():
            if doc.doc_id == doc_id:
                return doc, sections
        return None

    def obligations(self, **filters: Any) -> list[Any]:
        """The register, filtered with kb.register.query.query."""
        from kb.register.query import query

        return list(query(self.kb.register, **filters))

    def reset_caches(self) -> None:
        """Forget the parsed documents (after a re-index)."""
        with self._docs_lock:
            self._docs = None

    def warm_up(self) -> None:
        """Open the index (building it when missing), load the register, run one query; then, ready, parse the
        documents for the 文档 tab (half the warm-up: a first 文档 view waits for it, the chat does not)."""
        try:
            self.set_status("正在加载嵌入模型……")
            _ = self.kb.embeddings
            self.set_status("正在打开索引（如索引不存在将先建立索引，并显示进度）……")
            self.kb.open()
            self.set_status("正在载入义务清单……")
            _ = self.kb.register
            self.kb.ask("秸秆收集利用率")
            self.status = "就绪"
            print(f"知识库已就绪（{time.monotonic() - self.started:.1f} 秒）。", flush=True)
            self.ready.set()
            self.documents()
        except Exception as e:  # shown on the page; the server keeps running
            log.exception("warm-up failed")
            self.error = f"索引加载失败：{type(e).__name__}: {e}"
            self.status = self.error
        finally:
            self.ready.set()

    def start_warm_up(self) -> threading.Thread:
        """Run `warm_up` in a daemon thread."""
        thread = threading.Thread(target=self.warm_up, name="kb-warm-up", daemon=True)
        thread.start()
        return thread

    def status_text(self) -> str:
        """The current progress message with the time spent so far."""
        if self.error or self.ready.is_set():
            return self.status
        return f"{self.status}（已用时 {int(time.monotonic() - self.started)} 秒）"

    def status_html(self) -> str:
        """The progress banner ("" once ready without error)."""
        if self.ready.is_set() and not self.error:
            return ""
        cls = "kb-status kb-error" if self.error else "kb-status"
        return f'<div class="{cls}">{esc(self.status_text())}</div>'

    def export_file(self, name: str, content: str) -> str:
        """Write an export into a fresh sub-folder (so that concurrent users never share a file)."""
        self.janitor.sweep()
        folder = self.export_dir / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(content, encoding="utf-8")
        return str(path)

    def cached_export(self, name: str, obligations: list[Any], render: Callable[[list[Any]], str]) -> str:
        """The export of exactly these obligations, written once and then reused (the files never change)."""
        ids = "\n".join(ob.ob_id for ob in obligations)
        key = hashlib.sha1(f"{name}\n{id(self.kb.register)}\n{ids}".encode()).hexdigest()[:16]
        path = self.export_dir / key / name
        if not path.exists():
            self.janitor.sweep()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{uuid.uuid4().hex}.part")
            tmp.write_text(render(obligations), encoding="utf-8")
            os.replace(tmp, path)
        return str(path)



TabBuilder = Callable[[AppContext, Any], None]
