"""Bridging everyday wording, measured side by side on the user-voice tuning sets (issue 14, item 4).

Each variant answers every question the way the service does (resolve against the chat, split into parts, the
register for aggregate questions, hybrid retrieval of 8 passages, the composer) and changes one thing:

- ``baseline``: the service's path as shipped;
- ``prf``: query expansion from the top passages: the 6 jieba words of the 3 best passages with the highest
  tf × idf that the question lacks join the BM25 and dense queries of a second search (pseudo-relevance feedback);
- ``sentence-dense``: the 8 passages re-ranked by their fused score plus 0.5 × the best cosine between the question
  and one of their sentences (e5, "passage: " sentences against the "query: " question), then composed.

The blind public-voice lexicon was measured the same way in the previous round (eval/uservoice_notes.md).

Usage:  python -m eval.bridge_bench [eval/uv_train.jsonl eval/uv_dev.jsonl]
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from eval.uservoice import load_set, report, score

PRF_PASSAGES = 3
PRF_WORDS = 6
SENTENCE_WEIGHT = 0.5


def _prf_words(kb, question_tokens: Sequence[str], hits) -> list[str]:
    """The words of the top passages with the highest tf × idf that the question lacks."""
    vocab = kb.searcher.index.bm25.vocab_dict
    n_docs = len(kb.searcher.index.chunks)
    counts: Counter[str] = Counter()
    for chunk, _ in hits[:PRF_PASSAGES]:
        counts.update(t for t in kb.searcher.tokenize(chunk.text) if len(t) >= 2 and t not in question_tokens)
    doc_freq = _doc_freq(kb)
    scored = {t: c * math.log(1 + n_docs / (1 + doc_freq.get(t, 0))) for t, c in counts.items() if t in vocab}
    return [t for t, _ in sorted(scored.items(), key=lambda kv: -kv[1])[:PRF_WORDS]]


_DF: dict[int, Counter[str]] = {}


def _doc_freq(kb) -> Counter[str]:
    """Document frequency of every BM25 token of the index (computed once)."""
    key = id(kb.searcher.index)
    if key not in _DF:
        df: Counter[str] = Counter()
        for chunk in kb.searcher.index.chunks:
            df.update(set(kb.searcher.tokenize(chunk.text)))
        _DF[key] = df
    return _DF[key]


def _sentence_rerank(kb, text: str, hits):
    """The hits re-ranked by fused score plus the best question-sentence cosine of each."""
    from kb.ask.answer import split_sentences

    q = np.asarray(kb.embeddings.embed_query(text), dtype=np.float32)
    best = []
    for chunk, _ in hits:
        sentences = [chunk.text[s:e] for s, e in split_sentences(chunk.text)][:12]
        vectors = np.asarray(kb.embeddings.embed_documents(sentences), dtype=np.float32)
        best.append(float((vectors @ q).max()) if len(sentences) else 0.0)
    order = sorted(range(len(hits)), key=lambda i: -(hits[i][1] + SENTENCE_WEIGHT * best[i]))
    return [hits[i] for i in order]


def answer_part(kb, part, variant: str):
    """One part (a kb.ask.answer.question.QueryPart) answered as the service does, with the variant's change."""
    aggregate = kb.aggregate_part(part)
    if aggregate is not None:
        return aggregate
    hits, signals = kb.search_part(part, k=8)
    if variant == "prf":
        extra = _prf_words(kb, kb.searcher.tokenize(part.normalized.text), hits)
        hits, signals = kb.search_part(part, k=8, extra_expansions=extra)
    elif variant == "sentence-dense":
        hits = _sentence_rerank(kb, part.normalized.text, hits)
    return kb.compose_part(part, hits, signals, k=5)


def ask(kb, question: str, history: list[str], variant: str):
    """A whole question (history, parts) answered with the variant."""
    from kb.ask.parts import combine

    query = kb.read(question, history)
    answers = [answer_part(kb, part, variant) for part in query.parts]
    return answers[0] if len(answers) == 1 else combine(query.resolved, answers, k=5)


def run(kb, path: str, variant: str, clock: Callable[[], float] = time.perf_counter) -> tuple[dict, float]:
    """The set's report with the variant, and its median latency (ms)."""
    results, times = [], []
    for g in load_set(path):
        t0 = clock()
        ans = ask(kb, g["q"], list(g.get("history") or []), variant)
        times.append((clock() - t0) * 1000)
        results.append(score(g, ans))
    return report(results), float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    """Run every variant on the sets named (default: the tuning sets) and print their figures."""
    from indexing.config import get_settings
    from kb.service import KnowledgeBase

    sets = (argv if argv is not None else sys.argv[1:]) or ["eval/uv_train.jsonl", "eval/uv_dev.jsonl"]
    kb = KnowledgeBase(get_settings())
    kb.open()
    print("| variant | set | answer acc. | wrongly abstained | unanswerable abstained | overall | p50 ms |")
    print("|---|---|---|---|---|---|---|")
    for variant in ("baseline", "prf", "sentence-dense"):
        for path in sets:
            rep, p50 = run(kb, path, variant)
            s = rep["summary"]
            print(f"| {variant} | {path.split('/')[-1]} | {s['answer_accuracy']:.3f} | {s['wrongly_abstained']:.3f} | "
                  f"{s['unanswerable_abstained']:.3f} | {s['overall']:.3f} | {p50:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
