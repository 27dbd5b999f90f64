"""User-voice evaluation: questions written blind in the voices of officials, trainers and the public.

Sets (eval/README_uv.md): eval/uv_train.jsonl and eval/uv_dev.jsonl for tuning, eval/uv_test.jsonl sealed.
Each line: id, group, category, q, history, doc_id, answers (parts × alternatives), evidence, neighbour, note.

Usage:  python -m eval.uservoice eval/uv_train.jsonl [eval/uv_dev.jsonl …] [--json OUT] [--show-misses] [--publish]

``--publish`` writes the figures to eval/uservoice.json, which `kb eval` renders into eval/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eval.metrics import fold, percentile, squash_evidence

UNANSWERABLE = ("nearmiss", "outofscope")
GROUPS = ("official", "trainer", "public")
CATEGORIES = ("deadline", "party", "target", "colloquial", "multipart", "followup", "nearmiss", "outofscope")
PUBLISHED = Path(__file__).resolve().parent / "uservoice.json"
NOTES = Path(__file__).resolve().parent / "uservoice_notes.md"
NEIGHBOUR_MIN_OVERLAP = 12  # characters of the neighbouring fact an abstention must quote to count as showing it


@dataclass
class UVResult:
    """How the system did on one user-voice question."""

    id: str
    group: str
    category: str
    answerable: bool
    abstained: bool
    answer_ok: bool = False
    citation_ok: bool = False
    neighbour_shown: bool = False
    parts_ok: int = 0
    parts: int = 0
    confidence: float = 0.0
    latency_ms: float = 0.0
    route: str = ""
    answer: str = ""
    extra: dict = field(default_factory=dict)


def load_set(path: str | Path) -> list[dict]:
    """The questions of one user-voice JSONL file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _longest_common(a: str, b: str) -> int:
    """Length of the longest common substring of two short strings."""
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def score(gold: dict, ans, latency_ms: float = 0.0) -> UVResult:
    """Score one answer (a kb.ask.answer.Answer) against its gold line."""
    answerable = gold["category"] not in UNANSWERABLE
    text = fold(ans.answer)
    parts = gold.get("answers") or []
    parts_ok = sum(1 for alts in parts if any(fold(a) in text for a in alts)) if not ans.abstained else 0
    quoted = [c.text for c in ans.citations[: ans.n_quoted]] if not ans.abstained else []
    ev = squash_evidence(gold.get("evidence"))
    shown = False
    if gold.get("neighbour") and ans.abstained:
        nb = squash_evidence(gold["neighbour"])
        shown = _longest_common(squash_evidence(ans.answer), nb) >= min(NEIGHBOUR_MIN_OVERLAP, len(nb) // 2)
    return UVResult(
        id=gold["id"], group=gold["group"], category=gold["category"], answerable=answerable,
        abstained=bool(ans.abstained),
        answer_ok=answerable and not ans.abstained and bool(parts) and parts_ok == len(parts),
        citation_ok=answerable and not ans.abstained and any(ev and ev in squash_evidence(q) for q in quoted),
        neighbour_shown=shown, parts_ok=parts_ok, parts=len(parts), confidence=float(ans.confidence),
        latency_ms=latency_ms, route=ans.route, answer=ans.answer,
    )


def run(kb, questions: Sequence[dict], k: int = 5) -> list[UVResult]:
    """Ask every question (with its chat history) and score it."""
    out = []
    for g in questions:
        t0 = time.perf_counter()
        ans = kb.ask(g["q"], k=k, history=list(g.get("history") or []), use_llm=False)
        out.append(score(g, ans, (time.perf_counter() - t0) * 1000))
    return out


def _share(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def summarize(results: Sequence[UVResult]) -> dict:
    """The headline measures of a run (None where a measure has no question)."""
    ans = [r for r in results if r.answerable]
    una = [r for r in results if not r.answerable]
    near = [r for r in results if r.category == "nearmiss"]
    return {
        "n": len(results),
        "answer_accuracy": _share(r.answer_ok for r in ans),
        "citation_accuracy": _share(r.citation_ok for r in ans if not r.abstained),
        "wrongly_abstained": _share(r.abstained for r in ans),
        "unanswerable_abstained": _share(r.abstained for r in una),
        "nearmiss_neighbour_shown": _share(r.neighbour_shown for r in near),
        "overall": _share([r.answer_ok for r in ans] + [r.abstained for r in una]),
        "p50_ms": percentile([r.latency_ms for r in results], 50) if results else None,
        "p95_ms": percentile([r.latency_ms for r in results], 95) if results else None,
    }


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def breakdown(results: Sequence[UVResult], key: str) -> list[tuple[str, int, dict]]:
    """Summaries per group or per category."""
    names = GROUPS if key == "group" else CATEGORIES
    return [(n, len(rs), summarize(rs)) for n in names if (rs := [r for r in results if getattr(r, key) == n])]


def report(results: Sequence[UVResult]) -> dict:
    """A run's figures as published (eval/uservoice.json): headline, per group, per category."""
    return {"summary": summarize(results),
            **{key: [{"name": n, "n": count, **m} for n, count, m in breakdown(results, key)]
               for key in ("group", "category")}}


def markdown(name: str, rep: dict) -> str:
    """A Markdown section from :func:`report`: headline, per group, per category."""
    s = rep["summary"]
    lines = [f"### {name} ({s['n']} questions)", "",
             "| measure | value |", "|---|---|",
             *(f"| {k} | {_fmt(v) if not k.endswith('_ms') else f'{v:.0f}'} |" for k, v in s.items() if k != "n"),
             ""]
    for key in ("group", "category"):
        lines += [f"| {key} | n | answer acc. | citation acc. | wrongly abstained | unanswerable abstained |",
                  "|---|---|---|---|---|---|"]
        for m in rep[key]:
            lines.append(f"| {m['name']} | {m['n']} | {_fmt(m['answer_accuracy'])} | {_fmt(m['citation_accuracy'])} | "
                         f"{_fmt(m['wrongly_abstained'])} | {_fmt(m['unanswerable_abstained'])} |")
        lines.append("")
    return "\n".join(lines)


def published_markdown(pub: dict) -> list[str]:
    """The RESULTS.md section for eval/uservoice.json (written by ``--publish``)."""
    lines = ["## User-voice sets (eval/uv_*.jsonl, issue 14)", "",
             f"Written by `python -m eval.uservoice --publish` on {pub['date']} (index model `{pub['model_id']}`, "
             f"load average {pub['load_avg']} at the end). Questions written blind in the voices of officials, "
             "trainers and the public (eval/README_uv.md); train and dev were used for tuning, each sealed set "
             f"({', '.join(n for n in pub['sets'] if n.startswith('uv_test'))}) was run once when it was new and "
             "only measured since. An answer counts when it holds every part; near-miss and out-of-scope "
             "questions count when abstained on.", ""]
    for name, rep in pub["sets"].items():
        lines += [markdown(name, rep), ""]
    if NOTES.exists():  # what each change bought, written by hand
        lines += [NOTES.read_text(encoding="utf-8").strip(), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the user-voice sets named on the command line against the index of KB_DATA_DIR."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+")
    p.add_argument("--json", help="write every question's result here")
    p.add_argument("--show-misses", action="store_true", help="print the misses (tuning sets only)")
    p.add_argument("--publish", action="store_true", help=f"write the figures to {PUBLISHED} (read by RESULTS.md)")
    args = p.parse_args(argv)
    from indexing.config import get_settings
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(get_settings())
    kb.open()
    dump, reports = {}, {}
    for path in args.sets:
        questions = load_set(path)
        results = run(kb, questions)
        dump[path] = [asdict(r) for r in results]
        reports[Path(path).stem] = report(results)
        print(markdown(Path(path).stem, reports[Path(path).stem]))
        if args.show_misses:
            gold = {g["id"]: g for g in questions}
            for r in results:
                ok = r.answer_ok if r.answerable else r.abstained
                if not ok:
                    g = gold[r.id]
                    print(f"- {r.id} [{r.category}] {g['q']} (history {g.get('history')}) gold={g['answers']} "
                          f"conf={r.confidence:.2f} route={r.route}\n    -> {r.answer[:160]!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.publish:
        pub = {"date": time.strftime("%Y-%m-%d %H:%M"), "model_id": kb.embeddings.model_id,
               "load_avg": round(os.getloadavg()[0], 2), "sets": reports}
        if PUBLISHED.exists():  # sets not run this time keep their last published figures
            pub["sets"] = {**json.loads(PUBLISHED.read_text(encoding="utf-8")).get("sets", {}), **reports}
        PUBLISHED.write_text(json.dumps(pub, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
