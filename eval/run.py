"""`kb eval`: run the dev set through the real pipeline, against baselines and ablations; write eval/RESULTS.md.

What one full run does (``--quick``: a few questions, ours only, no sweeps, no baselines):

1. Ours: every question of eval/qa_dev.jsonl through ``KnowledgeBase.ask`` over the live index of the settings
   (timed, warm), plus the retrieval ranking for Recall@k/MRR from a Searcher over the same index with the same
   fusion (the query is built the way ``ask`` builds it). Per-category table, targets of issue #3.
2. Calibration: abstention-threshold sweep (abstained questions are re-answered with the threshold at 0 so every
   question has a confidence and an answer), fusion method/weight sweep, chunk-budget sweep (BM25 only over
   re-chunked text; the budgets in DENSE_CONFIRM_BUDGETS are confirmed with the hybrid, vectors from the cache).
3. Baselines (eval/baselines.py) and ablations of ours, each answered by our composer over its own hits.
4. Speed in isolated worker processes (``python -m eval.run --worker NAME``): warm latency, QPS with 1 and 4
   concurrent clients, peak RSS, for ours and baseline (a); index build seconds per stage.
5. The obligations register against eval/obligations_gold.jsonl; scale and GPU figures from eval/scale.json
   (eval/scale.py) and eval/GPU.md (eval/gpu_bench.py) when those scripts have been run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from eval import metrics as M
from eval.report import DEFAULT_OUT, jsonable, load_results, render_report
from eval.speed import SPEED_N, RSSSampler, measure_speed, worker
from eval.systems import MemoEmbeddings, SystemRun, ranker_for, run_baseline, run_kb

QUICK_N = 10


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pick_quick(questions: Sequence[dict], n: int = QUICK_N) -> list[dict]:
    """A few questions covering every category (the first of each, then the second …)."""
    by_cat: dict[str, list[dict]] = {}
    for g in questions:
        by_cat.setdefault(g["category"], []).append(g)
    out: list[dict] = []
    i = 0
    while len(out) < n and any(len(v) > i for v in by_cat.values()):
        for cat in M.CATEGORIES:
            if len(out) < n and len(by_cat.get(cat, [])) > i:
                out.append(by_cat[cat][i])
        i += 1
    return out


def evaluate(settings, *, quick: bool = False, progress: Callable[[str], None] = _log,
             questions: Sequence[dict] | None = None, embeddings=None) -> dict:
    """Run the evaluation and return everything RESULTS.md is written from (``embeddings``: an already loaded
    model to reuse, e.g. in tests)."""
    from kb.ask.retrieve import Searcher
    from kb.service import KnowledgeBase

    started = time.perf_counter()
    questions = list(questions if questions is not None else M.load_questions())
    if quick:
        questions = _pick_quick(questions)
    sampler = RSSSampler()
    kb = KnowledgeBase(settings, embeddings=embeddings, progress=progress)
    t0 = time.perf_counter()
    index = kb.open()
    load_s = time.perf_counter() - t0
    meta = index.meta
    progress(f"index {meta.generation}: {meta.n_docs} docs, {meta.n_chunks} chunks (opened in {load_s:.1f}s)")
    memo = MemoEmbeddings(kb.embeddings)
    ranking_searcher = Searcher(index, memo, kb.searcher.fusion)

    progress(f"ours: {len(questions)} questions …")
    ours = run_kb("ours", "Ours (hybrid, structure-aware)", kb, ranker_for(ranking_searcher), questions)
    out: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "quick": quick,
        "n_questions": len(questions),
        "index": {"generation": meta.generation, "n_docs": meta.n_docs, "n_chunks": meta.n_chunks,
                  "n_tokens": meta.n_tokens, "model_id": meta.model_id, "chunker": meta.chunker_version,
                  "stats": meta.stats, "disk_mb": _du_mb(index.gen_dir)},
        "fusion": dataclasses.asdict(kb.searcher.fusion),
        "machine": _machine(),
        "ours": ours,
        "runs": [ours],
    }
    if not quick and M.TEST_PATH.exists():
        progress("held-out test set …")
        out["heldout"] = run_kb("heldout", "Ours, held-out test set", kb, ranker_for(ranking_searcher),
                                M.load_questions(M.TEST_PATH))
    progress("obligations register …")
    out["register"] = _register_scores(kb.register)
    if quick:
        out["speed"] = {"ours": {"peak_rss_mb": sampler.stop(), "load_s": load_s}}
        out["seconds"] = time.perf_counter() - started
        return out
    _full_run(out, settings, kb, index, memo, ranking_searcher, questions, progress)
    progress("speed workers …")
    out["speed"] = measure_speed(settings)
    out["speed"]["main_peak_rss_mb"] = sampler.stop()
    out["seconds"] = time.perf_counter() - started
    return out


def _register_scores(register) -> dict:
    """The register's scores against eval/obligations_gold.jsonl, with the gold and predicted counts."""
    from eval.obligations_eval import score_register

    reg = score_register(register)
    out = {k: reg[k] for k in ("deadline_recall", "deadline_precision", "party_accuracy", "indicator_exact_match",
                               "passed")}
    out["counts"] = {"deadlines_gold": reg["deadlines"]["gold"], "deadlines_predicted": reg["deadlines"]["predicted"],
                     "indicators_gold": reg["indicators"]["gold"]}
    return out


def _full_run(out: dict, settings, kb, index, memo, ranking_searcher, questions: Sequence[dict],
              progress: Callable[[str], None]) -> None:
    """Everything a full run adds to ``out`` after ours: the sweeps, the ablations and the baselines."""
    from eval.baselines import CACHE_DIR, VectorCache
    from eval.sweeps import ablation_runs, abstention_calibration, budget_confirm, budget_sweep, fusion_sweep
    from indexing import store
    from indexing.build import load_corpus

    progress("abstention calibration …")
    out["abstention_sweep"] = abstention_calibration(kb, questions, out["ours"])
    progress("fusion sweep …")
    out["fusion_sweep"] = fusion_sweep(ranking_searcher, questions)
    progress("budget sweep (BM25 only) …")
    docs = load_corpus(settings, [])
    out["budget_sweep"] = budget_sweep(docs, questions)

    cache = VectorCache(settings.data_dir / CACHE_DIR, kb.embeddings.model_id)
    # Seed the cache with the live index's vectors (same keys: SHA-1 of the embedded text).
    seed = store.read_vector_cache(index.gen_dir, index.meta.model_id)
    new = [k for k in seed if k not in cache]
    if new:
        cache.add(new, np.stack([seed[k] for k in new]), {"tag": "live-index"})
    out["budget_confirm"] = budget_confirm(settings, kb, cache, memo, questions, progress)
    runs, out["variant_chunks"] = ablation_runs(settings, kb, index, cache, memo, ranking_searcher, questions,
                                                progress)
    out["runs"] += runs
    runs, out["baseline_builds"] = _baselines(kb, index, docs, cache, questions, progress)
    out["runs"] += runs


def _baselines(kb, index, docs, cache, questions: Sequence[dict], progress: Callable[[str], None]
               ) -> tuple[list[SystemRun], dict]:
    """The three baselines (eval/baselines.py), each answered by our composer; with their build figures."""
    from eval.baselines import CachedEmbeddings, build_baseline

    runs, builds = [], {}
    for name in ("lc-dense", "jieba-bm25", "chatchat-rrf"):
        progress(f"baseline {name} …")
        b = build_baseline(name, docs, index.chunks, CachedEmbeddings(kb.embeddings, cache, name), progress)
        builds[name] = {"chunks": len(b.chunks), "seconds": b.build_seconds,
                        "chars": float(np.mean([len(c.text) for c in b.chunks]))}
        runs.append(run_baseline(b, questions))
        b.close()
    return runs, builds


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _machine() -> dict:
    import platform

    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "load_avg": [round(x, 2) for x in load]}


def run_eval(args: argparse.Namespace, settings, embeddings=None) -> int:
    """`kb eval [--quick] [--out FILE]`: evaluate, write the Markdown report and a JSON twin, print the headline."""
    quick = bool(getattr(args, "quick", False))
    # A quick run is a smoke test: its report goes under the data dir and never replaces the committed RESULTS.md.
    default_out = Path(settings.data_dir) / "eval-cache" / "RESULTS-quick.md" if quick else DEFAULT_OUT
    out_path = Path(args.out) if getattr(args, "out", None) else default_out
    data = evaluate(settings, quick=quick, embeddings=embeddings)
    text = render_report(data, out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    # The JSON twin (every question of every system, ~1 MB) stays out of the repository: beside an explicit --out,
    # else in the data dir. `python -m eval.run --render FILE.json` rewrites the Markdown from it.
    json_path = out_path.with_suffix(".json") if getattr(args, "out", None) or quick else (
        Path(settings.data_dir) / "eval-cache" / "RESULTS.json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(jsonable(data), ensure_ascii=False, indent=1), encoding="utf-8")
    print(text.split("\n## ", 2)[1].split("\n", 1)[1].strip() if "\n## " in text else text)
    print(f"\n写入 {out_path}（用时 {data['seconds']:.0f}s；逐题结果 {json_path}）")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.run`: a speed worker (``--worker NAME``), a re-render of an earlier run's JSON
    (``--render RESULTS.json``, e.g. after eval/scale.py), or the evaluation itself."""
    p = argparse.ArgumentParser(prog="python -m eval.run")
    p.add_argument("--worker", help="measure one system's speed in this process and print JSON")
    p.add_argument("--n", type=int, default=SPEED_N)
    p.add_argument("--threads", type=int, help="with --worker: torch intra-op threads after loading")
    p.add_argument("--render", metavar="RESULTS.json", help="rewrite the Markdown from an earlier run's JSON")
    p.add_argument("--speed", metavar="RESULTS.json",
                   help="re-measure only the speed workers (e.g. on a quieter machine), update the JSON, re-render")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(jsonable(worker(args.worker, args.n, args.threads)), ensure_ascii=False))
        return 0
    if args.speed:
        from indexing.config import get_settings

        src = Path(args.speed)
        raw = json.loads(src.read_text(encoding="utf-8"))
        raw["speed"] = {**(raw.get("speed") or {}), **jsonable(measure_speed(get_settings()))}
        raw["speed_date"] = time.strftime("%Y-%m-%d %H:%M")
        src.write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")
        args.render = str(src)
    if args.render:
        src = Path(args.render)
        out_path = Path(args.out) if args.out else src.with_suffix(".md")
        out_path.write_text(render_report(load_results(src), out_path), encoding="utf-8")
        print(f"wrote {out_path}")
        return 0
    from indexing.config import get_settings

    return run_eval(args, get_settings())


if __name__ == "__main__":
    sys.exit(main())
