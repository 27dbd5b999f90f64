"""Calibration sweeps and ablations of ours: the abstention threshold, fusion methods and weights, chunk budgets
(BM25 only, then confirmed with the hybrid over a variant index), and ours without structure, the user dictionary,
character bigrams or all but one retriever."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from eval import metrics as M
from eval.metrics import QuestionResult
from eval.systems import (
    ASK_K,
    RANK_DEPTH,
    ModeSearcher,
    SystemRun,
    query_text,
    ranker_for,
    run_kb,
    score_answer,
    search_question,
    swapped_kb,
)

BUDGETS = (60, 80, 120, 160, 200, 240, 320)
DENSE_CONFIRM_BUDGETS = (80,)  # re-embedded (once, cached) to confirm the BM25 sweep with the hybrid
ABSTAIN_GRID = tuple(round(0.025 * i, 3) for i in range(0, 21))
# (method, w_bm25, w_bigram, rrf k); w_dense = 1 - w_bm25 - w_bigram.
FUSION_GRID: tuple[tuple[str, float, float, int], ...] = (
    *(("rrf", w, 0.0, k) for k in (10, 60) for w in (0.5, 0.7, 0.9)),
    *(("rrf", w, 0.25, k) for k in (10, 60) for w in (0.4, 0.5)),
    *(("convex", w, 0.0, 0) for w in (0.5, 0.6, 0.7, 0.8)),
    *(("convex", w, b, 0) for b in (0.15, 0.25, 0.35) for w in (0.4, 0.5, 0.6) if w + b < 1.0),
)


def abstention_calibration(kb, questions: Sequence[dict], run: SystemRun) -> list[dict]:
    """Sweep the abstention threshold: re-answer the abstained questions with the threshold at 0, so every
    question has an answer and a confidence, then count what each threshold would abstain on."""
    by_id = {g["id"]: g for g in questions}
    full: list[QuestionResult] = []
    saved = kb.config
    try:  # the same composer with the threshold at 0, passed in as its config
        model = saved.answerability and dataclasses.replace(saved.answerability, threshold=0.0)
        kb.config = dataclasses.replace(saved, abstain_threshold=0.0, answerability=model)
        for r in run.results:
            if r.abstained and r.route != "invalid":
                g = by_id[r.id]
                ans = kb.ask(g["q"], k=ASK_K)
                r2 = score_answer(g, [], ans, 0.0)
                r2.rank = r.rank
                full.append(r2)
            else:
                full.append(r)
    finally:
        kb.config = saved
    return M.abstention_sweep(full, ABSTAIN_GRID)


def _rank_of(rows: Sequence[int], evidence_rows: set[int]) -> int | None:
    for i, r in enumerate(rows[:RANK_DEPTH], 1):
        if r in evidence_rows:
            return i
    return None


def _retrieval_scores(ranks: dict[str, int | None], questions: Sequence[dict]) -> dict:
    cats = {g["id"]: g["category"] for g in questions}
    ids = list(ranks)
    para = [i for i in ids if cats[i] == "paraphrase"]

    def agg(sel: list[str]) -> tuple[float, float, float]:
        if not sel:
            return (math.nan,) * 3
        rs = [ranks[i] for i in sel]
        return (float(np.mean([r == 1 for r in rs])), float(np.mean([r is not None and r <= 5 for r in rs])),
                float(np.mean([1 / r if r else 0.0 for r in rs])))

    r1, r5, mrr = agg(ids)
    odd = [i for i in ids if int(i.lstrip("q") or 0) % 2]
    even = [i for i in ids if i not in odd]
    return {"r1": r1, "r5": r5, "mrr": mrr, "para_r5": agg(para)[1], "r5_odd": agg(odd)[1], "r5_even": agg(even)[1]}


def _evidence_rows(chunks, questions: Sequence[dict]) -> dict[str, set[int]]:
    texts = [M.squash_evidence(c.text) for c in chunks]
    out = {}
    for g in questions:
        if g.get("evidence"):
            e = M.squash_evidence(g["evidence"])
            out[g["id"]] = {i for i, t in enumerate(texts) if e in t}
    return out


def fusion_sweep(searcher, questions: Sequence[dict]) -> list[dict]:
    """Retrieval of each fusion method and weight over the live index's BM25 and dense candidate lists."""
    from kb.ask.query import normalize_query
    from kb.ask.retrieve import Filters, convex, rrf

    depth = searcher.fusion.depth
    ev = _evidence_rows(searcher.index.chunks, questions)
    lists = {}
    for g in questions:
        if g["id"] in ev:
            qt = query_text(g["q"])
            lists[g["id"]] = (searcher.bm25_scored(searcher.tokenize(qt), Filters(), depth),
                              searcher.bigram_scored(normalize_query(g["q"]).text, Filters(), depth),
                              searcher.dense_rank(qt, Filters(), depth))
    rows = []
    for i, label in enumerate(("bm25 only", "bigram only", "dense only")):
        ranks = {q: _rank_of([r for r, _ in lists[q][i]], ev[q]) for q in lists}
        rows.append({"method": label, "w_bm25": None, "w_bigram": None, "rrf_k": None,
                     **_retrieval_scores(ranks, questions)})
    for method, w, wb, k in FUSION_GRID:
        def fuse(b, g, d, method=method, w=w, wb=wb, k=k):
            if method == "rrf":
                f = rrf([([r for r, _ in b], w), ([r for r, _ in g], wb), ([r for r, _ in d], 1 - w - wb)], k)
            else:
                f = convex([(b, w, "max"), (g, wb, "max"), (d, 1 - w - wb, "minmax")])
            return [r for r, _ in sorted(f.items(), key=lambda kv: -kv[1])]
        ranks = {q: _rank_of(fuse(*lists[q]), ev[q]) for q in lists}
        rows.append({"method": method, "w_bm25": w, "w_bigram": wb, "rrf_k": k or None,
                     **_retrieval_scores(ranks, questions)})
    return rows


def budget_sweep(docs, questions: Sequence[dict]) -> list[dict]:
    """BM25-only retrieval for chunk budgets (chunks re-cut, BM25 rebuilt; no embedding needed)."""
    from eval.baselines import BM25Ranker
    from indexing.chunker import DEFAULT_OVERLAP, JiebaChunker
    from indexing.tokenize import cut

    rows = []
    qtexts = {g["id"]: query_text(g["q"]) for g in questions}
    for budget in BUDGETS:
        t0 = time.perf_counter()
        chunks = [c for d, secs in docs for c in JiebaChunker(budget, DEFAULT_OVERLAP).split_document(d, secs)]
        bm25 = BM25Ranker(chunks, cut, use_embed_text=True)
        ev = _evidence_rows(chunks, questions)
        ranks = {q: _rank_of([r for r, _ in bm25.rank(qtexts[q], 50)], ev[q]) for q in ev}
        rows.append({"budget": budget, "chunks": len(chunks),
                     "chars": float(np.mean([len(c.text) for c in chunks])) if chunks else 0.0,
                     "seconds": time.perf_counter() - t0, **_retrieval_scores(ranks, questions)})
    return rows


def variant_index(settings, name: str, chunker, embeddings, progress: Callable[[str], None] | None = None):
    """Build (or reuse) an index of the corpus with another chunker under ``<data>/eval-cache/<name>`` and open it;
    vectors come from the eval vector cache, so only new chunk texts are embedded."""
    from indexing import store
    from indexing.build import build_index
    from indexing.config import Settings

    alt = Settings(data_dir=settings.data_dir / "eval-cache" / name, corpus_dir=settings.corpus_dir,
                   embedding_model=settings.embedding_model, embed_batch=settings.embed_batch)
    alt.chroma_url = ""  # variants always live in an embedded store of their own
    if progress:
        progress(f"  index for {name} …")
    report = build_index(alt, embeddings=embeddings, chunker=chunker)
    index = store.open_index(alt, embeddings, embeddings.model_id, chunker.version)
    return index, report


def budget_confirm(settings, kb, cache, memo, questions: Sequence[dict], progress: Callable[[str], None]
                   ) -> list[dict]:
    """The budgets of DENSE_CONFIRM_BUDGETS with the hybrid, each over a variant index re-cut at that budget."""
    from eval.baselines import CachedEmbeddings
    from indexing.chunker import DEFAULT_OVERLAP, JiebaChunker
    from kb.ask.retrieve import Searcher

    confirm = []
    for budget in DENSE_CONFIRM_BUDGETS:
        progress(f"budget {budget}: hybrid confirmation …")
        chunker = JiebaChunker(budget, DEFAULT_OVERLAP)
        vindex, _ = variant_index(settings, f"budget-{budget}", chunker,
                                  CachedEmbeddings(kb.embeddings, cache, f"budget-{budget}"), progress)
        vs = Searcher(vindex, memo, kb.searcher.fusion)
        ev = _evidence_rows(vindex.chunks, questions)
        ranks = {g["id"]: _rank_of([vindex.row_of[c.chunk_id] for c, _ in search_question(vs, g["q"], RANK_DEPTH)],
                                   ev[g["id"]])
                 for g in questions if g["id"] in ev}
        confirm.append({"budget": budget, "chunks": len(vindex.chunks), **_retrieval_scores(ranks, questions)})
    return confirm


def ablation_runs(settings, kb, index, cache, memo, ranking_searcher, questions: Sequence[dict],
                  progress: Callable[[str], None]) -> tuple[list[SystemRun], dict[str, int]]:
    """Ours without structure, the user dictionary, sentence vectors, character bigrams, or all retrievers but one;
    with the chunk count of the variant index the structure ablation needs."""
    from eval.baselines import BM25Ranker, CachedEmbeddings, PlainChunker, no_userdict_cut
    from kb.ask.retrieve import Searcher

    runs = []
    progress("ablation: no structure …")
    plain = PlainChunker()
    pindex, _ = variant_index(settings, "no-structure", plain, CachedEmbeddings(kb.embeddings, cache, "no-structure"),
                              progress)
    variant_chunks = {"no-structure": len(pindex.chunks)}
    p_search = Searcher(pindex, kb.embeddings, kb.searcher.fusion)
    runs.append(run_kb("no-structure", "Ours − structure (plain sentence packing)", swapped_kb(kb, p_search),
                       ranker_for(Searcher(pindex, memo, kb.searcher.fusion)), questions))
    progress("ablation: no user dictionary …")
    plain_bm25 = BM25Ranker(index.chunks, no_userdict_cut, use_embed_text=True)
    nu_index = dataclasses.replace(index, bm25=plain_bm25)
    nu_search = Searcher(nu_index, kb.embeddings, kb.searcher.fusion, tokenize=no_userdict_cut)
    runs.append(run_kb("no-userdict", "Ours − user dictionary (BM25 tokens)", swapped_kb(kb, nu_search),
                       ranker_for(Searcher(nu_index, memo, kb.searcher.fusion, tokenize=no_userdict_cut)),
                       questions))
    progress("ablation: no sentence vectors …")
    three = dataclasses.replace(kb.searcher.fusion, w_sentence=0.0)
    runs.append(run_kb("no-sentence", "Ours − sentence vectors (0.5/0.25/0.25)",
                       swapped_kb(kb, Searcher(index, kb.embeddings, three)),
                       ranker_for(Searcher(index, memo, three)), questions))
    progress("ablation: no character bigrams …")
    two = dataclasses.replace(kb.searcher.fusion, w_bm25=0.7, w_bigram=0.0, w_dense=0.3, w_sentence=0.0)
    runs.append(run_kb("no-bigram", "Ours − character bigrams and sentence vectors (jieba BM25 + dense, 0.7/0.3)",
                       swapped_kb(kb, Searcher(index, kb.embeddings, two)),
                       ranker_for(Searcher(index, memo, two)), questions))
    for mode, label in (("dense", "Ours, dense only"), ("sentence", "Ours, sentence vectors only"),
                        ("bm25", "Ours, jieba BM25 only"), ("bigram", "Ours, character-bigram BM25 only")):
        progress(f"ablation: {mode} only …")
        runs.append(run_kb(f"{mode}-only", label, swapped_kb(kb, ModeSearcher(kb.searcher, mode)),
                           ranker_for(ranking_searcher, mode), questions))
    return runs, variant_chunks
