"""Fit the answerability model (kb/ask/answerability.json) on the user-voice training split.

Every training question is answered with abstention off, so each has the composer's best answer and its features;
the label is whether that answer is right (unanswerable questions: never). A logistic regression (L2, Newton
steps, standardised features) is fitted with numpy, the threshold is chosen on the training split by the utility
right answers + right abstentions + half a point for each wrong answer withheld (the lowest threshold within a
question in a hundred of the best), and a reliability table and the abstention trade-off curve are printed for
train and dev.

Usage:  python -m eval.fit_answerability [--train eval/uv_train.jsonl] [--dev eval/uv_dev.jsonl] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval.uservoice import UNANSWERABLE, load_set, score
from kb.ask.answerability import MODEL_PATH, AnswerabilityModel

ALL_FEATURES = ("support", "lexical", "missing", "route_fact", "margin", "coverage_hits", "coverage_best", "best_rank",
                "n_terms", "dense_top", "bm25_top", "bigram_top", "violated")
# The composer's lexical confidence (support scaled down per missing anchor) and its support. Cross-validated on
# train these two do better than all twelve features (utility 0.669 against 0.650; eval/RESULTS.md).
FEATURES = ("lexical", "support")
LOG_FEATURES = {"bm25_top", "bigram_top", "n_terms", "best_rank"}
L2 = 1.0  # ridge penalty on the standardised weights (a few hundred examples)
WITHHELD_WRONG_CREDIT = 0.5  # abstaining on an answer that would have been wrong is half as good as a right answer
UTILITY_TIE = 0.01  # one question in a hundred
GRID = tuple(round(0.02 * i, 2) for i in range(1, 50))


def collect(kb, questions: Sequence[dict]) -> list[dict]:
    """Answer each question with abstention off: its features, whether it is answerable, whether it is right."""
    rows = []
    for g in questions:
        ans = kb.ask(g["q"], k=5, history=list(g.get("history") or []), use_llm=False)
        r = score(g, ans)
        rows.append({"id": g["id"], "category": g["category"], "answerable": g["category"] not in UNANSWERABLE,
                     "right": r.answer_ok, "features": dict(ans.features)})
    return rows


def _matrix(rows: Sequence[dict], features: Sequence[str], transforms: dict[str, str]) -> np.ndarray:
    x = np.array([[float(r["features"].get(f, 0.0)) for f in features] for r in rows], dtype=float)
    for j, f in enumerate(features):
        if transforms.get(f) == "log1p":
            x[:, j] = np.log1p(np.maximum(x[:, j], 0.0))
    return x


def fit(rows: Sequence[dict], features: Sequence[str] = FEATURES) -> AnswerabilityModel:
    """Logistic regression of "right" on the features, threshold left at 0.5 (see `choose_threshold`)."""
    transforms = {f: "log1p" for f in LOG_FEATURES if f in features}
    x = _matrix(rows, features, transforms)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(rows), 1)), (x - mean) / scale])
    y = np.array([1.0 if r["right"] else 0.0 for r in rows])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + penalty @ w
        hess = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return AnswerabilityModel(
        weights={f: round(float(v), 5) for f, v in zip(features, w[1:], strict=True)}, bias=round(float(w[0]), 5),
        threshold=0.5, mean={f: round(float(v), 5) for f, v in zip(features, mean, strict=True)},
        scale={f: round(float(v), 5) for f, v in zip(features, scale, strict=True)}, transforms=transforms)


def outcome(rows: Sequence[dict], probs: Sequence[float], t: float) -> dict:
    """What abstaining below ``t`` gives: answer accuracy, wrongly abstained, unanswerable abstained, utility."""
    ans = [(r, p) for r, p in zip(rows, probs, strict=True) if r["answerable"]]
    una = [(r, p) for r, p in zip(rows, probs, strict=True) if not r["answerable"]]
    right = sum(1 for r, p in ans if p >= t and r["right"])
    withheld_wrong = sum(1 for r, p in ans if p < t and not r["right"])
    abst_una = sum(1 for _, p in una if p < t)
    return {
        "t": t,
        "answer_accuracy": right / len(ans) if ans else math.nan,
        "wrongly_abstained": sum(1 for _, p in ans if p < t) / len(ans) if ans else math.nan,
        "unanswerable_abstained": abst_una / len(una) if una else math.nan,
        "utility": (right + abst_una + WITHHELD_WRONG_CREDIT * withheld_wrong) / len(rows),
    }


def choose_threshold(rows: Sequence[dict], probs: Sequence[float]) -> float:
    """The lowest grid threshold whose utility on these rows is within ``UTILITY_TIE`` of the best.

    The utility curve is flat near its top (a question or two either way), and there the lowest threshold costs the
    fewest wrong refusals, the failure users of this chat complain of first."""
    utility = {t: outcome(rows, probs, t)["utility"] for t in GRID}
    best = max(utility.values())
    return min(t for t, u in utility.items() if u >= best - UTILITY_TIE)


def fit_with_threshold(rows: Sequence[dict], features: Sequence[str] = FEATURES) -> AnswerabilityModel:
    """Fit on ``rows`` and set the threshold with the best utility on them."""
    model = fit(rows, features)
    probs = [model.probability(r["features"]) for r in rows]
    return dataclasses.replace(model, threshold=choose_threshold(rows, probs))


def cross_validate(rows: Sequence[dict], features: Sequence[str], folds: int = 5) -> float:
    """Mean held-out utility over ``folds`` folds (fixed seed), threshold chosen inside each fold."""
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha1(f"cv{rows[i]['id']}".encode()).hexdigest())
    parts = [order[i::folds] for i in range(folds)]
    scores = []
    for k in range(folds):
        held = set(parts[k])
        model = fit_with_threshold([r for i, r in enumerate(rows) if i not in held], features)
        test = [rows[i] for i in parts[k]]
        scores.append(outcome(test, [model.probability(r["features"]) for r in test], model.threshold)["utility"])
    return sum(scores) / folds


def reliability(rows: Sequence[dict], probs: Sequence[float], bins: int = 5) -> list[tuple[str, int, float, float]]:
    """(bin, n, mean predicted, share right) per probability bin."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(r, p) for r, p in zip(rows, probs, strict=True) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if sel:
            out.append((f"{lo:.1f}–{hi:.1f}", len(sel), sum(p for _, p in sel) / len(sel),
                        sum(1 for r, _ in sel if r["right"]) / len(sel)))
    return out


def report(name: str, rows: Sequence[dict], model: AnswerabilityModel) -> str:
    """Markdown: the reliability table and the trade-off curve of one split."""
    probs = [model.probability(r["features"]) for r in rows]
    lines = [f"#### {name}: reliability", "", "| predicted | n | mean predicted | share right |", "|---|---|---|---|"]
    lines += [f"| {b} | {n} | {mp:.2f} | {sr:.2f} |" for b, n, mp, sr in reliability(rows, probs)]
    lines += ["", f"#### {name}: abstention trade-off", "",
              "| threshold | answer acc. | wrongly abstained | unanswerable abstained |", "|---|---|---|---|"]
    for t in sorted({0.1, 0.2, 0.3, 0.4, model.threshold, 0.5, 0.6, 0.7}):
        o = outcome(rows, probs, t)
        mark = " ←" if t == model.threshold else ""
        lines.append(f"| {t:.2f}{mark} | {o['answer_accuracy']:.3f} | {o['wrongly_abstained']:.3f} | "
                     f"{o['unanswerable_abstained']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Collect features with abstention off, fit on train, report train and dev, optionally write the model."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="eval/uv_train.jsonl")
    ap.add_argument("--dev", default="eval/uv_dev.jsonl")
    ap.add_argument("--write", action="store_true", help=f"write the model to {MODEL_PATH}")
    ap.add_argument("--cache", help="read/write the collected rows here (JSON)")
    args = ap.parse_args(argv)
    from indexing.config import get_settings
    from kb.ask.answer import DEFAULT_CONFIG
    from kb.service import KnowledgeBase

    if args.cache and Path(args.cache).exists():
        data = json.loads(open(args.cache, encoding="utf-8").read())
    else:
        kb = KnowledgeBase(get_settings(),
                           config=dataclasses.replace(DEFAULT_CONFIG, abstain_threshold=0.0, answerability=None))
        kb.open()
        data = {"train": collect(kb, load_set(args.train)), "dev": collect(kb, load_set(args.dev))}
        if args.cache:
            with open(args.cache, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
    for name, feats in (("chosen", FEATURES), ("all", ALL_FEATURES)):
        print(f"5-fold CV utility on train, {name} features: {cross_validate(data['train'], feats):.3f}")
    model = fit_with_threshold(data["train"])
    print(json.dumps(model.to_dict(), ensure_ascii=False, indent=1))
    print(report("train", data["train"], model))
    print(report("dev", data["dev"], model))
    if args.write:
        MODEL_PATH.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
