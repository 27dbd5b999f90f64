"""Running one system (ours, an ablation of ours, a baseline) over the questions and scoring every answer."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence

from eval import metrics as M
from eval.metrics import QuestionResult, Summary

RANK_DEPTH = 10  # ranking depth for Recall@k / MRR
ASK_K = 5  # citations per answer, as `kb ask` by default
WARMUP = 3


def query_text(question: str) -> str:
    """The jieba BM25 / dense query ``KnowledgeBase.ask`` sends for a question (no history): normalised text +
    expansions."""
    from kb.ask.query import normalize_query

    nq = normalize_query(question)
    return " ".join([nq.text, *nq.expansions])


def search_question(searcher, question: str, k: int, mode: str = "hybrid"):
    """Retrieve for a question exactly as ``KnowledgeBase.ask`` does (normalised text, expansions)."""
    from kb.ask.query import normalize_query

    nq = normalize_query(question)
    return searcher.search(nq.text, k=k, mode=mode, expansions=nq.expansions)


def ranker_for(searcher, mode: str = "hybrid") -> Callable[[str], list]:
    """A ranker (question -> hits to RANK_DEPTH) over ``searcher`` in ``mode``."""
    return lambda q: search_question(searcher, q, RANK_DEPTH, mode)


class MemoEmbeddings:
    """Query vectors memoised by text (for rankings and sweeps, never for timed answers)."""

    def __init__(self, base) -> None:
        self.base = base
        self._memo: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The wrapped model's id."""
        return self.base.model_id

    def embed_query(self, text: str) -> list[float]:
        """The query vector, computed once per text."""
        with self._lock:
            hit = self._memo.get(text)
        if hit is None:
            hit = self.base.embed_query(text)
            with self._lock:
                self._memo[text] = hit
        return hit

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages go to the wrapped model."""
        return self.base.embed_documents(texts)


class ModeSearcher:
    """A Searcher forced into one mode (bm25 / dense / hybrid), with the Searcher.search signature."""

    def __init__(self, searcher, mode: str) -> None:
        self.searcher = searcher
        self.mode = mode

    def search(self, text: str, k: int = 8, filters=None, mode: str = "hybrid", expansions=()):
        """Search in this searcher's fixed mode."""
        return self.searcher.search(text, k=k, filters=filters, mode=self.mode, expansions=expansions)

    def search_with_signals(self, text: str, k: int = 8, filters=None, mode: str = "hybrid", expansions=()):
        """Search in this searcher's fixed mode, with the retrievers' raw top scores."""
        return self.searcher.search_with_signals(text, k=k, filters=filters, mode=self.mode, expansions=expansions)


def swapped_kb(base, searcher):
    """A KnowledgeBase that answers exactly like ``base`` (same index, register, composer) but retrieves with
    ``searcher``; used for the ablations."""
    from kb.service import KnowledgeBase

    class _Swapped(KnowledgeBase):
        def open(self):
            return base.open()

        @property
        def searcher(self):
            return searcher

        @property
        def register(self):
            return base.register

    return _Swapped(base.settings, embeddings=base.embeddings)


@dataclasses.dataclass
class SystemRun:
    """One system's results on the questions."""

    name: str
    label: str
    results: list[QuestionResult]
    notes: str = ""

    @property
    def summary(self) -> Summary:
        """Aggregate over all questions."""
        return M.summarize(self.results)

    def category(self, cat: str) -> Summary:
        """Aggregate over one category."""
        return M.summarize([r for r in self.results if r.category == cat])


def score_answer(gold: dict, ranking: Sequence[str], ans, ms: float) -> QuestionResult:
    """Score one answer (and the ranking its question got) against the gold record."""
    quoted = [c.text for c in ans.citations[: ans.n_quoted]] if not ans.abstained else []
    r = M.score_question(gold, ranking, ans.answer, ans.abstained, quoted, [c.text for c in ans.citations],
                         latency_ms=ms, confidence=float(ans.confidence), route=ans.route)
    r.stages_ms = {k: float(v) for k, v in (ans.timings_ms or {}).items() if k in ("retrieve", "compose")}
    return r


def run_kb(name: str, label: str, kb, ranker, questions: Sequence[dict], warmup: int = WARMUP) -> SystemRun:
    """Answer every question with ``kb.ask`` (timed) and rank with ``ranker(question) -> hits`` (untimed)."""
    for g in questions[:warmup]:
        kb.ask(g["q"], k=ASK_K)
    results = []
    for g in questions:
        ranking = [c.text for c, _ in ranker(g["q"])]
        t0 = time.perf_counter()
        ans = kb.ask(g["q"], k=ASK_K)
        ms = (time.perf_counter() - t0) * 1000
        results.append(score_answer(g, ranking, ans, ms))
    return SystemRun(name, label, results)


def run_baseline(baseline, questions: Sequence[dict], warmup: int = WARMUP) -> SystemRun:
    """Rank with a baseline for the raw question and answer with our composer over its hits (timed together)."""
    from kb.ask.answer import compose

    for g in questions[:warmup]:
        compose(g["q"], baseline.search(g["q"], k=8), k=ASK_K)
    results = []
    for g in questions:
        t0 = time.perf_counter()
        hits = baseline.search(g["q"], k=RANK_DEPTH)
        ans = compose(g["q"], hits[:8], k=ASK_K)
        ms = (time.perf_counter() - t0) * 1000
        results.append(score_answer(g, [c.text for c, _ in hits], ans, ms))
    return SystemRun(baseline.name, baseline.label, results)
