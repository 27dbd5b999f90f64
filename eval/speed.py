"""Speed figures that used to be timing assertions in tests/: composing an answer, loading the text corpus and
extracting the obligations register. Run by hand, never by `make test`; note the load average with the figures.

    python -m eval.speed            # needs a built index (KB_DATA_DIR) for the composer's real hits
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from indexing.config import Settings, get_settings

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
