"""The query-side facade used by the CLI and the web app: open (or build) the index and answer."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from indexing import store
from indexing.build import BuildReport, build_index, iter_corpus_sections
from indexing.chunker import JiebaChunker
from indexing.config import Settings
from indexing.types import Document, Section
from kb.retrieve import Filters, Searcher

log = logging.getLogger(__name__)
REGISTER_FILE = "obligations.json"
_FOLLOW_UP = re.compile(r"^(那么?|那|还有|再问一下|另外)?(.{1,14}?)(呢|怎么样|如何)?[？?。]*$")


class RegisterSink:
    """Index-time step: extract the obligations register as documents stream past, save it in the generation."""

    def __init__(self) -> None:
        from kb.obligations import RegisterBuilder

        self.builder = RegisterBuilder()

    def add(self, doc: Document, sections: list[Section]) -> None:
        """Extract one document's obligations."""
        self.builder.add(doc, sections)

    def finish(self, gen_dir: Path) -> None:
        """Write obligations.json into the new generation."""
        from kb.obligations import save_register

        save_register(self.builder.register(), gen_dir / REGISTER_FILE)


def _entity_kind(name: str) -> str:
    """Coarse class of a follow-up's focus, so a place replaces a place and a year a year."""
    from kb.query import PLACES

    if re.fullmatch(r"(?:19|20)\d{2}年?", name):
        return "year"
    if "五" in name and name.strip("“”").startswith("十"):
        return "period"
    if name in PLACES or name.endswith(("市", "州", "县", "地区", "区")):
        return "place"
    return "other"


def resolve_follow_up(question: str, history: list[str]) -> str:
    """Expand an elliptical follow-up ("那乌鲁木齐呢？") with the previous question's wording."""
    if not history:
        return question
    q = question.strip()
    m = _FOLLOW_UP.match(q)
    if not m or not (m.group(1) or m.group(3)):
        return question
    focus = m.group(2).strip()
    previous = history[-1]
    from kb.query import ENTITY_PATTERN

    kind = _entity_kind(focus)
    for hit in ENTITY_PATTERN.finditer(previous):
        if _entity_kind(hit.group()) == kind:
            return previous[: hit.start()] + focus + previous[hit.end() :]
    return f"{focus} {previous}"


class KnowledgeBase:
    """Everything a question needs, loaded once: embeddings, the open index, the register."""

    def __init__(self, settings: Settings, embeddings=None, progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self._progress = progress or (lambda msg: log.info(msg))
        self._lock = threading.Lock()
        self._index: store.OpenIndex | None = None
        self._searcher: Searcher | None = None
        self._register = None
        self.chunker = JiebaChunker()

    @property
    def embeddings(self):
        """The embedding model (loaded on first use)."""
        if self._embeddings is None:
            from indexing.embeddings import load_embeddings

            self._embeddings = load_embeddings(self.settings)
        return self._embeddings

    def build(self, rebuild: bool = False, progress: Callable[[str, int, int], None] | None = None) -> BuildReport:
        """Run the indexer (incremental unless ``rebuild``); the index is reopened on next use."""
        report = build_index(
            self.settings,
            rebuild=rebuild,
            embeddings=self._embeddings,
            chunker=self.chunker,
            sinks=[RegisterSink()],
            progress=progress,
        )
        with self._lock:
            self._index = None
            self._searcher = None
            self._register = None
        return report

    def open(self) -> store.OpenIndex:
        """The open index; builds it first when missing, corrupt or made by another model."""
        with self._lock:
            if self._index is not None:
                return self._index
        try:
            index = store.open_index(self.settings, self.embeddings, self.embeddings.model_id, self.chunker.version)
        except store.IndexMissing:
            self._progress("首次运行：正在建立索引……")
            self.build()
            index = store.open_index(self.settings, self.embeddings, self.embeddings.model_id, self.chunker.version)
        except store.IndexIncompatible as e:
            # Not rebuild=True: vectors of chunks whose embedded text and model are unchanged are still good.
            self._progress(f"{e} 正在重建索引……")
            self.build()
            index = store.open_index(self.settings, self.embeddings, self.embeddings.model_id, self.chunker.version)
        except store.IndexCorrupt as e:
            self._progress(f"{e} 正在重建索引……")
            self.build(rebuild=True)
            index = store.open_index(self.settings, self.embeddings, self.embeddings.model_id, self.chunker.version)
        with self._lock:
            self._index = index
            self._searcher = Searcher(index, self.embeddings)
        return index

    @property
    def searcher(self) -> Searcher:
        """Hybrid searcher over the open index."""
        self.open()
        assert self._searcher is not None
        return self._searcher

    @property
    def register(self):
        """The obligations register of the live generation."""
        if self._register is None:
            from kb.obligations import REGISTER_VERSION, build_register, load_register

            path = self.open().gen_dir / REGISTER_FILE
            stored = load_register(path) if path.exists() else None
            if stored is not None and stored.version == REGISTER_VERSION:
                self._register = stored
            else:  # none stored, or one written by another version of the extraction
                self._register = build_register(iter_corpus_sections(self.settings, []))
        return self._register

    @property
    def searched_titles(self) -> list[str]:
        """Titles of every indexed document (named when an answer abstains)."""
        index = self.open()
        return list(dict.fromkeys(c.title for c in index.chunks))

    def ask(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        history: list[str] | None = None,
        use_llm: bool = True,
    ):
        """Answer a question with numbered verbatim citations (kb.answer.Answer).

        With an LLM configured (KB_LLM_*), a grounded answer is rewritten by it and checked sentence by
        sentence against the citations; anything unsupported falls back to the extractive answer.
        """
        from kb.answer import Answer, compose, compose_from_obligations, route
        from kb.obligations import answer_aggregate
        from kb.query import normalize_query, validate_question

        t0 = time.perf_counter()
        problem = validate_question(question, self.settings.max_question_chars)
        if problem:
            return Answer(question=question, answer=problem, abstained=True, route="invalid", citations=[])
        resolved = resolve_follow_up(question, history or [])
        nq = normalize_query(resolved)
        r = route(nq.text)
        filtered = filters is not None and bool(filters.doc_ids or filters.kinds)
        records = None if filtered else answer_aggregate(self.register, nq.text)
        if records:
            ans = compose_from_obligations(question, records, route=r)
        else:
            t1 = time.perf_counter()
            hits = self.searcher.search(nq.text, k=max(k, 8), filters=filters, expansions=nq.expansions)
            retrieve_ms = (time.perf_counter() - t1) * 1000
            ans = compose(question, hits, k=k, route=r, searched_docs=self.searched_titles)
            ans.timings_ms["retrieve"] = round(retrieve_ms, 1)
        if resolved != question:
            ans.resolved_question = resolved
        if use_llm and not ans.abstained:
            from kb.llm import llm_enabled, synthesize

            if llm_enabled(self.settings):
                result = synthesize(resolved, ans.answer, ans.citations, self.settings)
                ans.answer = result.text
                ans.llm = result.to_dict()
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 1)
        return ans
