"""The query-side facade used by the CLI and the web app: open (or build) the index and answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

from indexing import store
from indexing.build import BuildReport, build_index, build_running
from indexing.chunker import JiebaChunker
from indexing.config import Settings
from indexing.progress import BuildProgress
from indexing.types import Document, Section
from kb.ask.retrieve import Filters, Searcher
from kb.live import IndexFollower

if TYPE_CHECKING:
    from kb.ask.answer import Answer
    from kb.ask.answer.question import QueryPart

log = logging.getLogger(__name__)


@dataclass
class Query:
    """A question as it travels through the service: as asked, as resolved against the chat, and its parts."""

    original: str
    resolved: str
    parts: list[QueryPart] = field(default_factory=list)  # each read once: normalised, routed, its slots
    history: list[str] = field(default_factory=list)


class AskOptions(TypedDict, total=False):
    """The options of `KnowledgeBase.ask` and `ask_stream`: ``k`` passages cited (default 5), ``filters``, ``history``
    (the chat's earlier questions, for a follow-up) and ``use_llm`` (default True: a configured LLM may rewrite)."""

    k: int
    filters: Filters | None
    history: list[str] | None
    use_llm: bool


class UnreadableDocument(ValueError):
    """A file the corpus loader cannot read; the message is the loader's Chinese reason, fit to show users."""


class KnowledgeBase:
    """Everything a question needs, loaded once: embeddings, the open index, the register."""

    def __init__(self, settings: Settings, embeddings=None, progress: Callable[[str], None] | None = None,
                 config=None) -> None:
        from kb.ask.answer import DEFAULT_CONFIG

        self.settings = settings
        self.config = config or DEFAULT_CONFIG
        self._embeddings = embeddings
        self._progress = progress or (lambda msg: log.info(msg))
        self._lock = threading.Lock()
        self._index: store.OpenIndex | None = None
        self._searcher: Searcher | None = None
        self._register = None
        self._register_gen = ""
        # doc_id -> "YYYY-MM-DD废止" and doc_id -> replacing title (corpus manifest), read once
        self._statuses: tuple[dict[str, str], dict[str, str]] | None = None
        self._reload_lock = threading.Lock()
        self._follower = IndexFollower(settings)
        self.background_repair = False  # the web app repairs a damaged index in a thread while serving
        self.chunker = JiebaChunker()

    @property
    def embeddings(self):
        """The embedding model (loaded on first use)."""
        if self._embeddings is None:
            from indexing.embeddings import load_embeddings

            self._embeddings = load_embeddings(self.settings)
        return self._embeddings

    def build(self, rebuild: bool = False, progress: Callable[[str, int, int], None] | None = None,
              repair: bool = False) -> BuildReport:
        """Run the indexer (incremental unless ``rebuild``); the next question opens the new generation."""
        from kb.register.store import RegisterSink

        return build_index(
            self.settings,
            rebuild=rebuild,
            embeddings=self._embeddings,
            chunker=self.chunker,
            sinks=[RegisterSink()],
            progress=progress,
            repair=repair,
        )

    def _build_progress(self) -> BuildProgress:
        """Stage, count and ETA of a build started on open, as messages to this knowledge base's progress sink."""
        return BuildProgress(lambda message: self._progress(message))

    def _previous_while_building(self, reason: store.KBIndexError) -> store.OpenIndex | None:
        """The live generation opened for BM25 only, when it needs rebuilding and another process is at it."""
        if not build_running(self.settings):
            return None
        try:
            index = store.open_index(self.settings, self.embeddings, "", "", lexical_only=True)
        except store.KBIndexError:
            return None
        self._progress(f"{reason} 另一个进程正在重建索引；在它完成之前，先用上一版索引回答（仅关键词检索）。")
        return index

    def open(self) -> store.OpenIndex:
        """The open index, following a new live generation (one stat of CURRENT when nothing changed).

        The first open verifies checksums; a missing, damaged or incompatible index is built first (with
        ``background_repair`` a damaged one is rebuilt in a thread while the previous good generation serves).
        While another process rebuilds an index made by another model, the previous one answers (BM25 only) and
        is opened again for each question until the new one is live.
        """
        with self._lock:
            index = self._index
        if index is not None and not index.lexical_only and not self._follower.changed():
            self._follower.tick()
            return index
        if not self._reload_lock.acquire(blocking=index is None):
            return index  # another thread is opening the new generation; this question stays on the old one
        try:
            with self._lock:
                if self._index is not index:
                    return self._index
            fresh = self._load(first=index is None)
            searcher = Searcher(fresh, self.embeddings)
            with self._lock:
                self._index, self._searcher = fresh, searcher
            return fresh
        finally:
            self._reload_lock.release()

    def _load(self, first: bool) -> store.OpenIndex:
        """Open the live generation, building or repairing the index when it cannot be opened."""
        follower, version = self._follower, self.chunker.version
        try:
            return follower.open(self.embeddings, version, checksums=first)
        except store.IndexMissing:
            self._progress("首次运行：正在建立索引……")
        except store.IndexIncompatible as e:
            previous = self._previous_while_building(e)
            if previous is not None:
                return previous
            # Not rebuild=True: vectors of chunks whose embedded text and model are unchanged are still good.
            self._progress(f"{e} 正在重建索引……")
        except store.IndexCorrupt as e:
            self._progress(f"{e} 正在重建索引……")
            fallback = self._fallback() if self.background_repair else None
            if fallback is not None:
                return fallback
            self.build(repair=True, progress=self._build_progress())
            return follower.open(self.embeddings, version, checksums=False)
        self.build(progress=self._build_progress())
        return follower.open(self.embeddings, version, checksums=False)

    def _fallback(self) -> store.OpenIndex | None:
        """Serve the generation already open (or the previous good one) while a thread repairs the live one."""
        live = store.live_generation(self.settings)
        if live is not None:
            self._follower.bad.add(live.name)
        with self._lock:
            index = self._index
        if index is None:
            previous = self._follower.previous_good()
            if previous is None:
                return None
            try:
                index = self._follower.open(self.embeddings, self.chunker.version, True, gen_dir=previous)
            except store.KBIndexError:
                return None
            self._progress(f"修复期间使用上一代索引 {index.gen_dir.name} 回答问题。")

        def repair() -> None:
            try:
                self.build(repair=True)
            except Exception:
                log.exception("background index repair failed")

        threading.Thread(target=repair, name="kb-index-repair", daemon=True).start()
        return index

    def close(self) -> None:
        """Stop serving: drop the open index and release this process's reader lease (the collector may then
        remove the generations it held); a later question opens the live index again."""
        with self._lock:
            self._index, self._searcher = None, None
        self._follower.lease.release()

    @property
    def searcher(self) -> Searcher:
        """Hybrid searcher over the open index."""
        self.open()
        assert self._searcher is not None
        return self._searcher

    @property
    def register(self):
        """The obligations register of the open generation (re-read from the corpus if its file is unreadable or
        older than the register's format)."""
        index = self.open()
        name = index.gen_dir.name
        with self._lock:
            if self._register is not None and self._register_gen == name:
                return self._register
        from kb.register.store import register_for

        register = register_for(self.settings, index.gen_dir, warn=self._progress)
        with self._lock:
            self._register, self._register_gen = register, name
        return register

    def register_loaded(self) -> bool:
        """Whether the register of the live generation is in memory (False just after a re-index, until read)."""
        from indexing.store import live_generation

        live = live_generation(self.settings)
        with self._lock:
            return self._register is not None and live is not None and self._register_gen == live.name

    @property
    def searched_titles(self) -> list[str]:
        """Titles of every indexed document (named when an answer abstains)."""
        index = self.open()
        return list(dict.fromkeys(c.title for c in index.chunks))

    def documents(self) -> list[dict]:
        """Every indexed document as {"doc_id", "title", "kind"}, in index order."""
        index = self.open()
        cached = getattr(self, "_documents", None)
        if cached is not None and cached[0] is index:
            return cached[1]
        seen: dict[str, dict] = {}
        for c in index.chunks:
            seen.setdefault(c.doc_id, {"doc_id": c.doc_id, "title": c.title, "kind": c.kind})
        docs = list(seen.values())
        self._documents = (index, docs)
        return docs

    def filters(self, doc_ids: str | Iterable[str] | None = None, kinds: str | Iterable[str] | None = None) -> Filters:
        """Retrieval filters by document id and kind, checked against the index (UnknownFilterError otherwise)."""
        from kb import inputs

        docs = self.documents()
        return Filters(
            doc_ids=inputs.check_values("doc_ids", "文件编号（doc_id）", inputs.as_list(doc_ids),
                                        [d["doc_id"] for d in docs]),
            kinds=inputs.check_values("kinds", "文件类别", inputs.as_list(kinds), [d["kind"] for d in docs]),
        )

    def read(self, question: str, history: list[str] | None = None) -> Query:
        """The question resolved against the chat history and split into the things it asks, each part read once
        (normalised, routed, its typed slots); a follow-up's own words are each part's focus."""
        from kb.ask.answer.question import read_part
        from kb.ask.dialogue import resolve, split_parts

        resolved = resolve(question, history or []).text
        focus = question if resolved != question else None
        return Query(original=question, resolved=resolved,
                     parts=[read_part(p, focus) for p in split_parts(resolved)], history=list(history or []))

    def aggregate_part(self, part: QueryPart, filters: Filters | None = None):
        """The register's answer to an aggregate part ("哪些任务要在2017年底前完成？"), or None (also when filtered)."""
        from kb.ask.aggregate import answer_aggregate
        from kb.ask.answer import compose_from_obligations

        if filters is not None and bool(filters.doc_ids or filters.kinds):
            return None
        records = answer_aggregate(self.register, part.normalized.text)
        return compose_from_obligations(part.text, records, route=part.route) if records else None

    def search_part(self, part: QueryPart, k: int = 8, filters: Filters | None = None,
                    extra_expansions: Sequence[str] = ()):
        """The hybrid retriever's hits for one part, with its raw signals (``extra_expansions`` join the query)."""
        nq = part.normalized
        return self.searcher.search_with_signals(nq.text, k=k, filters=filters,
                                                 expansions=[*nq.expansions, *extra_expansions])

    def compose_part(self, part: QueryPart, hits, signals, k: int = 5):
        """The composer's answer to one part from these hits: quoted sentences with citations, or an abstention."""
        from kb.ask.answer import compose

        return compose(part, hits, k=k, searched_docs=self.searched_titles, config=self.config,
                       signals=signals, repealed=frozenset(self._doc_statuses()[0]))

    def _answer_part(self, part: QueryPart, k: int, filters: Filters | None):
        """Answer one part: the register for aggregate questions, else retrieval and composition."""
        aggregate = self.aggregate_part(part, filters)
        if aggregate is not None:
            return aggregate
        t1 = time.perf_counter()
        hits, signals = self.search_part(part, k=max(k, 8), filters=filters)
        retrieve_ms = (time.perf_counter() - t1) * 1000
        ans = self.compose_part(part, hits, signals, k=k)
        ans.timings_ms["retrieve"] = round(retrieve_ms, 1)
        return ans

    def _extractive(self, question: str, k: int, filters: Filters | None, history: list[str] | None):
        """The extractive answer (no LLM), every part of the question answered, with the resolved question."""
        from kb.ask.answer import Answer
        from kb.ask.parts import combine
        from kb.ask.query import validate_question

        t0 = time.perf_counter()
        problem = validate_question(question, self.settings.max_question_chars)
        if problem:
            return Answer(question=question, answer=problem, abstained=True, route="invalid", citations=[])
        query = self.read(question, history)
        answers = [self._answer_part(part, k, filters) for part in query.parts]
        ans = answers[0] if len(answers) == 1 else combine(query.resolved, answers, k=k)
        self._mark_repealed(ans)
        ans.question = question
        if query.resolved != question:
            ans.resolved_question = query.resolved
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 1)
        return ans

    def _doc_statuses(self) -> tuple[dict[str, str], dict[str, str]]:
        """doc_id -> "YYYY-MM-DD废止" of the repealed documents the corpus manifest lists, and doc_id -> the title
        of the document that replaced each (read once)."""
        if self._statuses is None:
            from indexing.manifest import repeals

            self._statuses = repeals(self.settings.corpus_dir)
        return self._statuses

    def _mark_repealed(self, ans: Answer) -> None:
        """Give each citation its document's status, and say in the answer when it quotes a repealed one (and, when
        the manifest names it, which document replaced it)."""
        statuses, replaced_by = self._doc_statuses()
        for c in ans.citations:
            c.status = statuses.get(c.doc_id, "")
            c.replaced_by = replaced_by.get(c.doc_id, "") if c.status else ""
        if ans.abstained:
            return
        notes = [f"注意：[{c.n}]《{c.title}》已于 {c.status.removesuffix('废止')} 废止"
                 + (f"，由《{c.replaced_by}》取代" if c.replaced_by else "") + "，请以现行规定为准。"
                 for c in ans.citations[: ans.n_quoted] if c.status]
        if notes:
            ans.answer = "\n".join([ans.answer, *dict.fromkeys(notes)])

    def _extractive_for(self, question: str, options: AskOptions) -> tuple[Answer, bool]:
        """The extractive answer under ``options``, and whether a configured LLM rewrites it: only a grounded one
        (not abstained, with citations), and only with ``use_llm``."""
        ans = self._extractive(question, options.get("k", 5), options.get("filters"), options.get("history"))
        if not (options.get("use_llm", True) and not ans.abstained and ans.citations):
            return ans, False
        from kb.ask.llm import llm_enabled

        return ans, llm_enabled(self.settings)

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        """Answer a question with numbered verbatim citations (kb.ask.answer.Answer); ``options`` as `AskOptions`.

        A follow-up is read with the previous question of ``history``; a question asking several things is
        answered part by part. With an LLM configured (KB_LLM_*), a grounded answer is rewritten by it once and
        checked sentence by sentence against the citations; anything unsupported falls back to the extractive one.
        """
        ans, rewrite = self._extractive_for(question, options)
        if rewrite:
            from kb.ask.llm import synthesize

            result = synthesize(ans.resolved_question or question, ans.answer, ans.citations, self.settings)
            ans.answer = result.text
            ans.llm = result.to_dict()
            ans.timings_ms["total"] = round(ans.timings_ms.get("total", 0.0) + result.elapsed_ms, 1)
        return ans

    def ask_stream(self, question: str, **options: Unpack[AskOptions]) -> Iterator[str | Answer]:
        """Like `ask`, streaming: yields the LLM's unverified text deltas (str), if any, then the final Answer.

        The LLM, when configured, is called exactly once per question; the web chat shows the deltas while they
        arrive and then replaces them with the final, verified answer.
        """
        t0 = time.perf_counter()
        ans, rewrite = self._extractive_for(question, options)
        if rewrite:
            from kb.ask.llm import LLMResult, stream_synthesize

            for item in stream_synthesize(ans.resolved_question or question, ans.answer, ans.citations,
                                          self.settings):
                if isinstance(item, LLMResult):
                    ans.answer = item.text
                    ans.llm = item.to_dict()
                else:
                    yield item
        ans.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 1)
        yield ans

    @staticmethod
    def document_suffixes() -> tuple[str, ...]:
        """The file types the corpus loader reads (what the web app accepts as uploads)."""
        from indexing.loaders import SUFFIXES

        return SUFFIXES

    @staticmethod
    def document_label(doc: Document) -> str:
        """A document's title for lists, marked when it has been repealed ("…（已于2022-06-05废止）")."""
        from indexing.manifest import repeal_status

        status = repeal_status(doc.meta.get("dates", ""))
        return f"{doc.title}（已于{status}）" if status else doc.title

    @staticmethod
    def section_at(sections: list[Section], pos: int) -> Section | None:
        """The deepest section holding position ``pos`` of a document's text, or None."""
        from indexing.structure import section_at

        return section_at(sections, pos)

    def corpus_documents(self, warnings: list[str]) -> list[tuple[Document, list[Section]]]:
        """Every corpus document with its sections, parsed as the indexer does (for browsing); problems go to
        ``warnings``."""
        from indexing.build import load_corpus

        return load_corpus(self.settings, warnings)

    def read_document(self, path: Path) -> Document:
        """One file of the corpus folder loaded as the indexer will load it (UnreadableDocument when it cannot be)."""
        from indexing.loaders import LoadError, load_document

        try:
            return load_document(path, self.settings.corpus_dir, None)
        except LoadError as e:
            raise UnreadableDocument(getattr(e, "reason", "") or str(e)) from e
