"""Evaluation: metric definitions, baseline splitters, the scale generator, and `kb eval --quick` as a smoke test.

The benchmarks themselves (full `kb eval`, eval/scale.py at 10×/100×, eval/gpu_bench.py) never run here.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from eval import metrics as M

REPO_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def test_evidence_rank_ignores_whitespace_and_subscript_markup():
    passages = ["无关段落", "到 2020 年，秸秆收集利用率\n达到90%", "细颗粒（PM2.5）未达标城市考核范围为乌鲁木齐市"]
    assert M.evidence_rank(passages, "秸秆收集利用率达到90%") == 2
    assert M.evidence_rank(passages, "细颗粒（PM_{2.5}）未达标城市考核范围") == 3
    assert M.evidence_rank(passages, "不存在的证据") is None
    assert M.evidence_rank(passages, None) is None


def test_answer_correct_needs_every_gold_string_folded():
    assert M.answer_correct("到2020年，秸秆收集利用率达到９０％ [1]", ["2020", "90%"], abstained=False)
    assert not M.answer_correct("秸秆收集利用率达到90%", ["2020", "90%"], abstained=False)
    assert not M.answer_correct("2020年 90%", ["2020", "90%"], abstained=True)
    assert not M.answer_correct("anything", [], abstained=False)


def _gold(qid: str, cat: str, answers=("90%",), evidence: str | None = "达到90%") -> dict:
    return {"id": qid, "q": "?", "category": cat, "doc_id": None if cat == "unanswerable" else "d",
            "answers": [] if cat == "unanswerable" else list(answers),
            "evidence": None if cat == "unanswerable" else evidence}


def test_score_question_and_summary():
    ok = M.score_question(_gold("q1", "target"), ["x", "要达到 90%"], "数值：90% [1]", False,
                          quoted=["要达到90%"], cited=["要达到90%", "x"], latency_ms=10, confidence=0.9)
    wrong_cite = M.score_question(_gold("q2", "paraphrase"), ["要达到90%"], "90% [1]", False,
                                  quoted=["别处90%"], cited=["别处90%", "要达到90%"], latency_ms=30)
    abstained = M.score_question(_gold("q3", "law"), [], "未在文件中找到", True, [], ["x"], latency_ms=20)
    una_ok = M.score_question(_gold("q4", "unanswerable"), [], "未在文件中找到", True, [], [], latency_ms=40)
    una_bad = M.score_question(_gold("q5", "unanswerable"), [], "乱答", False, ["x"], ["x"], latency_ms=50)
    assert (ok.rank, ok.answer_ok, ok.citation_ok, ok.citation_any) == (2, True, True, True)
    assert (wrong_cite.rank, wrong_cite.citation_ok, wrong_cite.citation_any) == (1, False, True)
    assert abstained.rank is None and not abstained.answer_ok and not abstained.citation_ok
    s = M.summarize([ok, wrong_cite, abstained, una_ok, una_bad])
    assert s.n == 5 and s.n_answerable == 3
    assert s.recall_at_1 == pytest.approx(1 / 3) and s.recall_at_5 == pytest.approx(2 / 3)
    assert s.mrr == pytest.approx((0.5 + 1.0) / 3)
    assert s.answer_accuracy == pytest.approx(2 / 3) and s.citation_accuracy == pytest.approx(1 / 3)
    assert s.abstain_unanswerable == pytest.approx(0.5) and s.abstain_wrong == pytest.approx(1 / 3)
    assert s.p50_ms == pytest.approx(30)
    cats = M.by_category([ok, una_ok])
    assert list(cats) == ["target", "unanswerable", "all"]
    assert math.isnan(cats["unanswerable"].recall_at_5)


def test_percentile_and_abstention_sweep():
    assert M.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert M.percentile([5], 99) == 5 and math.isnan(M.percentile([], 50))
    res = [M.QuestionResult("a", "target", True, answer_ok=True, confidence=0.5),
           M.QuestionResult("b", "target", True, answer_ok=True, confidence=0.1),
           M.QuestionResult("c", "unanswerable", False, confidence=0.12)]
    rows = {r["threshold"]: r for r in M.abstention_sweep(res, [0.0, 0.11, 0.2])}
    assert rows[0.0]["abstain_unanswerable"] == 0 and rows[0.0]["answer_accuracy"] == 1
    assert rows[0.11]["abstain_wrong"] == 0.5 and rows[0.11]["abstain_unanswerable"] == 0
    assert rows[0.2]["abstain_unanswerable"] == 1 and rows[0.2]["answer_accuracy"] == 0.5


def test_dev_set_loads_with_every_category():
    qs = M.load_questions()
    assert len(qs) >= 80 and {q["category"] for q in qs} == set(M.CATEGORIES)


# ---------------------------------------------------------------------------------------------------------------
# Baseline splitters and the vector cache


def test_baseline_chunks_are_exact_spans(plan_doc):
    from eval.baselines import chatchat_chunks, langchain_chunks, plain_jieba_cut

    docs = [(plan_doc, [])]
    for chunks, size in ((langchain_chunks(docs), 500), (chatchat_chunks(docs), 750)):
        assert len(chunks) > 10
        assert all(c.text == plan_doc.text[c.start:c.end] for c in chunks)
        assert max(len(c.text) for c in chunks) <= size
        assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert "十三五" not in plain_jieba_cut("“十三五”期间")  # jieba's own dictionary cuts it: 十三 / 五


def test_plain_chunker_has_no_sections(plan_doc):
    from eval.baselines import PlainChunker
    from indexing.structure import parse_sections

    chunks = PlainChunker().split_document(plan_doc, parse_sections(plan_doc))
    assert chunks and all(c.section == "" and c.text == plan_doc.text[c.start:c.end] for c in chunks)
    assert all(c.embed_text == f"{plan_doc.title}\n{c.text}" for c in chunks)


def test_vector_cache_embeds_once_and_reloads(tmp_path, monkeypatch):
    from eval import baselines
    from eval.baselines import VectorCache

    class Counting:
        calls = 0

        def embed_documents(self, texts):
            Counting.calls += len(texts)
            return [[float(len(t)), 1.0] for t in texts]

    clock = iter(range(100))  # perf_counter readings 0, 1, 2, ...: each embedded shard "takes" 1 s
    monkeypatch.setattr(baselines, "time", SimpleNamespace(perf_counter=lambda: float(next(clock)),
                                                           strftime=time.strftime))
    cache = VectorCache(tmp_path, "model@1")
    v = cache.embed(["甲", "乙乙", "甲"], Counting(), "t")
    assert v.shape == (3, 2) and Counting.calls == 2
    again = VectorCache(tmp_path, "model@1")
    assert np.allclose(again.embed(["乙乙"], Counting(), "t"), [[2.0, 1.0]]) and Counting.calls == 2
    assert again.embed_seconds(["甲", "乙乙"]) == (1.0, True)  # the shard's own time, read back from disk
    assert again.embed_seconds(["甲"]) == (pytest.approx(1 / 3), False)  # extrapolated by chars: 1 s per 3 chars
    assert not VectorCache(tmp_path, "model@2").vectors  # another model: nothing shared


# ---------------------------------------------------------------------------------------------------------------
# Scale generator (tiny; the 10×/100× points are never run in tests)


def test_grow_corpus_is_deterministic_and_loadable(tmp_path, corpus_dir):
    from eval.scale import HashEmbeddings, _tiny_corpus, grow_corpus
    from indexing.build import load_corpus
    from indexing.config import Settings

    src = _tiny_corpus(corpus_dir, tmp_path / "src")
    a = grow_corpus(src, tmp_path / "a", 2)
    b = grow_corpus(src, tmp_path / "b", 2)
    assert a == b and a["synthetic_docs"] >= 2 and a["synthetic_chars"] >= a["real_chars"]
    for f in (tmp_path / "a" / "synthetic").glob("*.md"):
        assert f.read_text(encoding="utf-8") == (tmp_path / "b" / "synthetic" / f.name).read_text(encoding="utf-8")
    docs = load_corpus(Settings(data_dir=tmp_path / "d", corpus_dir=tmp_path / "a"), [])
    synthetic = [(d, s) for d, s in docs if d.doc_id.startswith("syn-")]
    assert len(synthetic) == a["synthetic_docs"] and all(s for _, s in synthetic)  # headings were parsed
    text = "".join(d.text for d, _ in synthetic)
    assert "乌鲁木齐" not in text and "新疆" not in text  # places were changed
    emb = HashEmbeddings()
    v = emb.embed_query("秸秆收集利用率")
    assert len(v) == 384 and np.isclose(np.linalg.norm(v), 1.0) and v == emb.embed_documents(["秸秆收集利用率"])[0]


# ---------------------------------------------------------------------------------------------------------------
# `kb eval --quick` over the session's built index (the only end-to-end run of the evaluation in the test suite)


def test_kb_eval_quick_smoke(built_settings, embeddings, tmp_path):
    from eval.obligations_eval import THRESHOLDS
    from eval.run import QUICK_N
    from kb.commands import cmd_eval

    committed = (REPO_ROOT / "eval" / "RESULTS.md").read_bytes()
    out = Path(built_settings.data_dir) / "eval-cache" / "RESULTS-quick.md"
    out.unlink(missing_ok=True)
    # No --out: a quick run writes under the data dir and leaves the committed eval/RESULTS.md alone.
    assert cmd_eval(argparse.Namespace(quick=True, out=None), built_settings, embeddings=embeddings) == 0
    assert (REPO_ROOT / "eval" / "RESULTS.md").read_bytes() == committed
    text = out.read_text(encoding="utf-8")
    assert "## Headline" in text and "## Per category (ours)" in text and "## Obligations register" in text
    assert "Evidence Recall@5" in text and "Warm latency p95" in text
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["quick"] and data["n_questions"] == QUICK_N
    assert {r["category"] for r in data["ours"]["results"]} == set(M.CATEGORIES)
    s = data["ours"]["summary"]
    assert s["recall_at_1"] <= s["mrr"] and s["recall_at_1"] <= s["recall_at_5"]  # a hit at 1 is a hit in the top 5
    assert s["recall_at_5"] >= 0.5 and s["answer_accuracy"] > 0 and s["p50_ms"] > 0
    assert data["register"]["deadline_recall"] >= THRESHOLDS["deadline_recall"]


@pytest.mark.parametrize("name", ["qa_dev.jsonl", "qa_test.jsonl"])
def test_gold_sets_are_verbatim_corpus_evidence(name: str) -> None:
    """Every evidence string of both question sets is in its document, and every gold answer in its evidence."""
    from eval.check_qa import check

    assert check(Path(__file__).resolve().parent.parent / "eval" / name) == 0


def test_user_voice_sets_are_verbatim_corpus_evidence() -> None:
    """Every user-voice set (train, dev, the four sealed sets run and the one not yet run) passes eval/check_uv.py:
    keys, categories, verbatim evidence and answers, near misses' neighbouring facts, ids unique across the sets."""
    from eval.check_uv import main

    eval_dir = Path(__file__).resolve().parent.parent / "eval"
    sets = sorted(eval_dir.glob("uv_*.jsonl"))
    assert [p.name for p in sets] == [
        "uv_dev.jsonl", "uv_test.jsonl", "uv_test2.jsonl", "uv_test3.jsonl", "uv_test4.jsonl", "uv_train.jsonl"]
    sealed = sorted((eval_dir / "sealed").glob("uv_*.jsonl"))  # written blind, not yet run (eval/sealed/README.md)
    assert [p.name for p in sealed] == ["uv_test5.jsonl"]
    assert main([str(p) for p in [*sets, *sealed]]) == 0


def test_bridge_bench_baseline_is_the_service_path(knowledge_base) -> None:
    """eval/bridge_bench.py measures variants of the service's own path: its baseline answers as `ask` does (it used
    to copy the path, and the copy had lost the repealed-law ranking)."""
    from eval.bridge_bench import ask

    for question in ["车子冒黑烟会被罚吗？", "夜间施工噪声扰民怎么处罚？", "哪些任务要在2017年底前完成？"]:
        served = knowledge_base.ask(question, use_llm=False)
        assert ask(knowledge_base, question, [], "baseline").answer == served.answer
