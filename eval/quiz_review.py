"""Write the items of a quiz review: three 20-item mixed quizzes, 10 plan items and 10 大气污染防治法 items, one batch
of papers that share no passage.

    python -m eval.quiz_review [--seeds 11 23 37] [--out eval/quiz_review_items.jsonl]

One JSON object a line: the review set, the seed, the item number, and the item as ``kb quiz --format json``
writes it. The register is built straight from the corpus (no index needed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from indexing.config import Settings
from kb.quiz import build as quiz
from kb.register.store import build_register, duty_corpus

PLAN = "xj-env-13fyp-2017"
AIR = "air-pollution-law-2018"


def review_items(register, seeds: list[int]) -> list[dict]:
    """The review sets for three seeds (the first seed also draws the plan and the air-law sets), made as one batch
    of papers the way a trainer makes them (``kb quiz --avoid``): no set asks a passage an earlier set asked."""
    plan: list[tuple[str, int, dict]] = [(f"mixed-seed{s}", s, {"n": 20}) for s in seeds]
    plan += [(f"plan-seed{seeds[0]}", seeds[0], {"n": 10, "doc": PLAN}),
             (f"air-law-seed{seeds[0]}", seeds[0], {"n": 10, "doc": AIR})]
    sets, asked = [], []
    for name, seed, kw in plan:
        items = quiz.generate(register, seed=seed, avoid=asked, **kw)
        asked += items
        sets.append((name, seed, items))
    rows = []
    for name, seed, items in sets:
        for i, it in enumerate(items, 1):
            rows.append({"set": name, "seed": seed, "no": i, **it.to_dict()})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build the register from the corpus and write the review items."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, nargs=3, default=[11, 23, 37])
    p.add_argument("--out", default="eval/quiz_review_items.jsonl")
    args = p.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    settings = Settings(data_dir=Path("/tmp/kb-quiz-review"), corpus_dir=root / "corpus")
    register = build_register(duty_corpus(settings, []))
    rows = review_items(register, args.seeds)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} items -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
