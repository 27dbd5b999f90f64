"""Hybrid retrieval: jieba BM25, character-bigram BM25, chunk vectors and sentence vectors, fused by a convex
combination of normalised scores (or, optionally, weighted reciprocal rank)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np

from indexing.store import OpenIndex
from indexing.tokenize import char_bigrams, cut
from indexing.types import Chunk


@dataclass(frozen=True)
class FusionConfig:
    """Fusion method, weights and depths; defaults chosen on the dev set (eval/RESULTS.md, "Fusion sweep").

    ``method="convex"``: score = w_bm25 * bm25 / max(bm25) + w_bigram * bigram / max(bigram) + w_dense *
    min-max-normalised cosine + w_sentence * min-max-normalised cosine of the chunk's closest sentence, each over
    that retriever's top ``depth`` candidates (a candidate missing from one list gets 0 from it).
    ``method="rrf"``: weighted reciprocal-rank fusion, sum of w / (rrf_k + rank).
    On the dev set convex 0.7/0.3 (jieba BM25/dense) gave Evidence R@5 0.923 against 0.827 for RRF 0.7/0.3 (k=60)
    and 0.863 for BM25 alone (first index); adding the character-bigram BM25 at 0.5/0.25/0.25 took R@5 0.958 ->
    0.982 and paraphrases 0.889 -> 0.956 (bigrams match what jieba cuts differently in a question and a passage).
    The sentence vectors at 0.25 (indexing.sentence_vectors) took user-voice evidence R@8 0.876 -> 0.912 (train)
    and 0.884 -> 0.902 (dev) with 0.4 no better; eval/uservoice_notes.md, round 3.
    """

    method: str = "convex"
    w_bm25: float = 0.5
    w_bigram: float = 0.25
    w_dense: float = 0.25
    w_sentence: float = 0.25
    rrf_k: int = 60
    depth: int = 50  # candidates taken from each retriever


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents or kinds of document."""

    doc_ids: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def allows(self, chunk: Chunk) -> bool:
        """Whether a chunk passes the filters."""
        return (not self.doc_ids or chunk.doc_id in self.doc_ids) and (not self.kinds or chunk.kind in self.kinds)

    def where(self) -> dict | None:
        """The same filter in Chroma's metadata syntax."""
        clauses = []
        if self.doc_ids:
            clauses.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.kinds:
            clauses.append({"kind": {"$in": list(self.kinds)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class SearchOptions(TypedDict, total=False):
    """The options of `Searcher.search` after ``k``: ``filters``, ``mode`` and ``expansions``, as for
    `Searcher.search_with_signals` (defaults: no filter, "hybrid", none)."""

    filters: Filters | None
    mode: str
    expansions: Sequence[str]


def rrf(rankings: list[tuple[list[int], float]], k: int) -> dict[int, float]:
    """Weighted reciprocal-rank fusion of several ranked lists of row ids."""
    fused: dict[int, float] = {}
    for rows, weight in rankings:
        for rank, row in enumerate(rows):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return fused


def convex(scored: list[tuple[list[tuple[int, float]], float, str]]) -> dict[int, float]:
    """Convex combination of normalised scores: each (rows with scores, weight, norm) list is scaled to 0..1,
    by its maximum (``norm="max"``, for BM25) or min-max (``norm="minmax"``, for cosines), then weighted."""
    fused: dict[int, float] = {}
    for rows, weight, norm in scored:
        if not rows:
            continue
        values = [v for _, v in rows]
        hi, lo = max(values), (min(values) if norm == "minmax" else 0.0)
        for row, v in rows:
            x = (v - lo) / (hi - lo) if hi > lo else 1.0
            fused[row] = fused.get(row, 0.0) + weight * x
    return fused


class Searcher:
    """Ranks chunks of an open index for a query; the plain-Python core of HybridRetriever."""

    def __init__(
        self,
        index: OpenIndex,
        embeddings,
        fusion: FusionConfig | None = None,
        tokenize: Callable[[str], list[str]] = cut,
    ) -> None:
        self.index = index
        self.embeddings = embeddings
        self.fusion = fusion or FusionConfig()
        self.tokenize = tokenize  # must match the tokens the BM25 index was built from
        self._kinds = np.array([c.kind for c in index.chunks])
        self._docs = np.array([c.doc_id for c in index.chunks])

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters.doc_ids and not filters.kinds:
            return None
        mask = np.ones(len(self.index.chunks), dtype=bool)
        if filters.doc_ids:
            mask &= np.isin(self._docs, list(filters.doc_ids))
        if filters.kinds:
            mask &= np.isin(self._kinds, list(filters.kinds))
        return mask

    def _top(self, scores: np.ndarray, filters: Filters, depth: int) -> list[tuple[int, float]]:
        """The ``depth`` best rows of a score per chunk that pass the filters, zero scores dropped."""
        mask = self._mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:depth]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def bm25_scored(self, tokens: list[str], filters: Filters, depth: int) -> list[tuple[int, float]]:
        """Row ids with BM25 scores, best first, zero scores dropped."""
        return self._top(self.index.bm25_scores(tokens), filters, depth)

    def bigram_scored(self, text: str, filters: Filters, depth: int) -> list[tuple[int, float]]:
        """Row ids with character-bigram BM25 scores for a text, best first, zero scores dropped."""
        return self._top(self.index.bigram_scores(char_bigrams(text)), filters, depth)

    def bm25_rank(self, tokens: list[str], filters: Filters, depth: int) -> list[int]:
        """Row ids by BM25 score, best first, zero scores dropped."""
        return [row for row, _ in self.bm25_scored(tokens, filters, depth)]

    def dense_rank(self, text: str, filters: Filters, depth: int) -> list[tuple[int, float]]:
        """Row ids with cosine similarity, best first."""
        return self._dense(self.embeddings.embed_query(text), filters, depth)

    def _dense(self, vector: list[float], filters: Filters, depth: int) -> list[tuple[int, float]]:
        return self.index.dense(vector, k=depth, where=filters.where(), mask=self._mask(filters))

    def _sentences(self, vector: list[float], filters: Filters, depth: int) -> list[tuple[int, float]]:
        return self.index.sentence_dense(vector, k=depth, mask=self._mask(filters))

    def search_with_signals(
        self,
        text: str,
        k: int = 8,
        filters: Filters | None = None,
        mode: str = "hybrid",
        expansions: Sequence[str] = (),
    ) -> tuple[list[tuple[Chunk, float]], dict[str, float]]:
        """Top-k chunks with fused scores, and the raw top score of each retriever; mode is hybrid, bm25 (jieba),
        bigram, dense (chunk vectors) or sentence (sentence vectors).

        ``expansions`` (other surface forms of the question's terms, kb.ask.query) join the text for the jieba BM25
        and the dense queries; the bigram BM25 gets the text alone, so added words do not outweigh the question.
        """
        filters = filters or Filters()
        f = self.fusion
        if mode not in ("hybrid", "bm25", "bigram", "dense", "sentence"):
            raise ValueError(f"unknown mode: {mode}")
        full = " ".join([text, *expansions])
        w = {"bm25": f.w_bm25, "bigram": f.w_bigram, "dense": f.w_dense, "sentence": f.w_sentence}
        if mode != "hybrid":
            w = {name: float(name == mode) for name in w}
        bm25 = self.bm25_scored(self.tokenize(full), filters, f.depth) if w["bm25"] else []
        bigram = self.bigram_scored(text, filters, f.depth) if w["bigram"] else []
        vector = self.embeddings.embed_query(full) if w["dense"] or w["sentence"] else None
        dense = self._dense(vector, filters, f.depth) if vector is not None and w["dense"] else []
        sentences = self._sentences(vector, filters, f.depth) if vector is not None and w["sentence"] else []
        if f.method == "rrf":
            fused = rrf([([r for r, _ in bm25], w["bm25"]), ([r for r, _ in bigram], w["bigram"]),
                         ([r for r, _ in dense], w["dense"]), ([r for r, _ in sentences], w["sentence"])], f.rrf_k)
        elif f.method == "convex":
            fused = convex([(bm25, w["bm25"], "max"), (bigram, w["bigram"], "max"), (dense, w["dense"], "minmax"),
                            (sentences, w["sentence"], "minmax")])
        else:
            raise ValueError(f"unknown fusion method: {f.method}")
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        signals = {  # raw top scores: how well anything matched at all (read by the answerability model)
            "dense_top": dense[0][1] if dense else 0.0,
            "bm25_top": bm25[0][1] if bm25 else 0.0,
            "bigram_top": bigram[0][1] if bigram else 0.0,
        }
        return [(self.index.chunks[row], score) for row, score in best], signals

    def search(self, text: str, k: int = 8, **options: Unpack[SearchOptions]) -> list[tuple[Chunk, float]]:
        """Top-k chunks with fused scores; ``options`` (filters, mode, expansions) as for `search_with_signals`."""
        return self.search_with_signals(text, k, **options)[0]


def __getattr__(name: str):
    """``HybridRetriever`` is defined in kb.ask.hybrid_retriever, imported on first use (LangChain's retriever base
    imports its tracing stack, about a second, which `kb ask` does not need)."""
    if name == "HybridRetriever":
        from kb.ask.hybrid_retriever import HybridRetriever

        return HybridRetriever
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
