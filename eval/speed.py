"""Speed figures: the isolated query workers of `kb eval` (warm latency, QPS, peak RSS of ours and baseline (a),
each in a fresh process), and by hand the figures that used to be timing assertions in tests/ (composing an answer,
loading the text corpus, extracting the obligations register). The by-hand figures are never run by `make test`;
note the load average with them.

    python -m eval.speed            # needs a built index (KB_DATA_DIR) for the composer's real hits
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from eval import metrics as M
from eval.systems import ASK_K, WARMUP
from indexing.config import Settings, get_settings

EVAL_DIR = Path(__file__).resolve().parent
SPEED_N = 60  # questions per speed pass in a worker
QUESTIONS = ("秸秆收集利用率要在哪年达到多少？", "专项规划的环境影响报告书应当包括哪些内容？", "个人所得税起征点？")


def _ms(fn, repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def compose_ms(settings: Settings, repeat: int = 5) -> float:
    """Median time of `kb.ask.answer.compose` on the real retriever's hits (retrieval itself not counted)."""
    from kb.ask.answer import compose
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(settings)
    hits = {q: kb.searcher.search(q, k=8) for q in QUESTIONS}
    compose(QUESTIONS[0], hits[QUESTIONS[0]])  # loads jieba's dictionaries
    return statistics.median(_ms(lambda q=q: compose(q, hits[q]), repeat) for q in QUESTIONS)


def load_text_corpus_ms(settings: Settings, repeat: int = 3) -> float:
    """Median time to load and normalise the corpus's text documents (no PDFs)."""
    from indexing.loaders import load_document
    from indexing.manifest import read_manifest

    manifest = read_manifest(settings.corpus_dir)
    texts = [(rel, entry) for rel, entry in manifest.items() if not rel.endswith(".pdf")]
    return _ms(lambda: [load_document(settings.corpus_dir / rel, settings.corpus_dir, e) for rel, e in texts], repeat)


def register_ms(settings: Settings, repeat: int = 3) -> float:
    """Median time to extract the obligations register from the loaded and structured text documents."""
    from indexing.loaders import load_document
    from indexing.manifest import read_manifest
    from indexing.structure import parse_sections
    from kb.register.store import build_register

    manifest = read_manifest(settings.corpus_dir)
    docs = []
    for rel, entry in manifest.items():
        if not rel.endswith(".pdf"):
            doc = load_document(settings.corpus_dir / rel, settings.corpus_dir, entry)
            docs.append((doc, parse_sections(doc)))
    return _ms(lambda: build_register(docs), repeat)


# ---------------------------------------------------------------------------------------------------------------
# The query workers of `kb eval`


class RSSSampler:
    """Samples this process's RSS with psutil every 50 ms and keeps the peak."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> float:
        """Stop sampling; the peak in MiB (at least ru_maxrss)."""
        self._stop.set()
        self._t.join()
        return max(self.peak / 2**20, M.peak_rss_mb())


def _speed(answer: Callable[[str], object], questions: Sequence[str]) -> dict:
    for q in questions[:WARMUP]:
        answer(q)
    lat = []
    t0 = time.perf_counter()
    for q in questions:
        t1 = time.perf_counter()
        answer(q)
        lat.append((time.perf_counter() - t1) * 1000)
    qps1 = len(questions) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        list(pool.map(answer, questions))
    qps4 = len(questions) / (time.perf_counter() - t0)
    return {"n": len(questions), "p50_ms": M.percentile(lat, 50), "p95_ms": M.percentile(lat, 95),
            "p99_ms": M.percentile(lat, 99), "qps_1": qps1, "qps_4": qps4}


def _answerer(name: str, settings: Settings) -> tuple[Callable[[str], object], Callable[[], object]]:
    """The answer function of system ``name`` (loaded here), and a getter of its embeddings (read after the timed
    answers: ours loads its model on first use)."""
    if name == "ours":
        from kb.service import KnowledgeBase

        kb = KnowledgeBase(settings)
        kb.open()

        def answer(q: str):
            return kb.ask(q, k=ASK_K)

        return answer, lambda: kb.embeddings
    if name == "lc-dense":
        from eval.baselines import CACHE_DIR, CachedEmbeddings, VectorCache, build_baseline
        from indexing.build import load_corpus
        from indexing.embeddings import load_embeddings
        from kb.ask.answer import compose

        emb = load_embeddings(settings)
        cache = VectorCache(settings.data_dir / CACHE_DIR, emb.model_id)
        base = build_baseline(name, load_corpus(settings, []), [], CachedEmbeddings(emb, cache, name))

        def answer(q: str):
            return compose(q, base.search(q, k=8), k=ASK_K)

        return answer, lambda: emb
    raise ValueError(f"unknown worker: {name}")


def worker(name: str, n: int, threads: int | None = None) -> dict:
    """Measure one system's speed in this (fresh) process: load, warm up, time, report peak RSS. ``threads``
    overrides torch's intra-op threads after the model is loaded (the loader sets one per core)."""
    sampler = RSSSampler()
    settings = get_settings()
    every = [g["q"] for g in M.load_questions()]
    questions = every[:: max(1, len(every) // n)][:n]  # spread over the set: every category
    t0 = time.perf_counter()
    answer, embeddings = _answerer(name, settings)
    load_s = time.perf_counter() - t0
    if threads:
        import torch

        torch.set_num_threads(threads)
    out = {"name": name, "load_s": load_s, **_speed(answer, questions)}
    # The query embedding alone (the model call every hybrid or dense query makes), one at a time.
    embed = embeddings().embed_query
    lat = []
    for q in questions:
        t1 = time.perf_counter()
        embed(q)
        lat.append((time.perf_counter() - t1) * 1000)
    out["embed_query_p50_ms"] = M.percentile(lat, 50)
    out["embed_query_p95_ms"] = M.percentile(lat, 95)
    out["torch_threads"] = _torch_threads()
    out["rss_end_mb"] = sampler.proc.memory_info().rss / 2**20
    out["peak_rss_mb"] = sampler.stop()
    return out


def _torch_threads() -> int | None:
    """torch's thread count where the worker loaded torch (the default embeddings do not: then None)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def run_worker(settings, name: str, n: int = SPEED_N, timeout: float = 1800.0, threads: int | None = None
               ) -> dict | None:
    """Run ``worker(name)`` in a fresh interpreter with the same settings; its JSON result or None."""
    env = dict(os.environ)
    env.update({"KB_DATA_DIR": str(settings.data_dir), "KB_CORPUS_DIR": str(settings.corpus_dir),
                "KB_EMBEDDING_MODEL": settings.embedding_model, "KB_CHROMA_URL": settings.chroma_url or ""})
    cmd = [sys.executable, "-m", "eval.run", "--worker", name, "--n", str(n)]
    if threads:
        cmd += ["--threads", str(threads)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=str(EVAL_DIR.parent))
    except subprocess.TimeoutExpired:
        print(f"speed worker {name} timed out", file=sys.stderr, flush=True)
        return None
    if proc.returncode != 0:
        print(f"speed worker {name} failed: {proc.stderr[-2000:]}", file=sys.stderr, flush=True)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_speed(settings) -> dict:
    """The speed workers: ours, baseline (a), and ours with one torch thread."""
    return {"ours": run_worker(settings, "ours"), "lc-dense": run_worker(settings, "lc-dense"),
            "ours-1thread": run_worker(settings, "ours", threads=1)}


def main(argv: list[str] | None = None) -> int:
    """Print the figures as one JSON object, with the load average they were taken under."""
    p = argparse.ArgumentParser(description="速度基准：组合回答、加载文本语料、抽取义务台账")
    p.add_argument("--no-index", action="store_true", help="跳过需要索引的组合回答计时")
    args = p.parse_args(argv)
    settings = get_settings()
    out = {"load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    out["load_text_corpus_ms"] = round(load_text_corpus_ms(settings), 1)
    out["build_register_ms"] = round(register_ms(settings), 1)
    if not args.no_index:
        out["compose_median_ms"] = round(compose_ms(settings), 2)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
