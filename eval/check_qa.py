"""Validate a gold question set (eval/qa_dev.jsonl, eval/qa_test.jsonl) against the corpus.

Checks, for every line:
  * schema: id/q/category/doc_id/answers/evidence/note present, ids unique,
    category in CATEGORIES;
  * unanswerable: answers == [], doc_id is None, evidence is None;
  * answerable: doc_id is in corpus/MANIFEST.tsv and points to a text file,
    the evidence (10-80 chars after deleting all whitespace) occurs in the
    document after deleting all whitespace from both sides, and every gold
    answer occurs in the evidence or, failing that, in the same sentence of
    the document (reported as a warning).
It also reports evidence strings that occur more than once in the corpus.

Usage:  python eval/check_qa.py [path/to/qa.jsonl]   (exit status 1 on errors)
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
CATEGORIES = {"deadline", "target", "party", "list", "law", "definition",
              "paraphrase", "unanswerable"}
KEYS = ["id", "q", "category", "doc_id", "answers", "evidence", "note"]
_WS = re.compile(r"\s+")
_SENT_END = "。！？"


def norm(text: str) -> str:
    """Delete all whitespace (line breaks, spaces, tabs, ideographic spaces)."""
    return _WS.sub("", text)


def load_docs() -> dict[str, str]:
    """doc_id -> whitespace-free text, for the text (non-PDF) documents."""
    docs = {}
    with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = CORPUS / row["file"]
            if path.suffix in {".txt", ".md"}:
                docs[row["doc_id"]] = norm(path.read_text(encoding="utf-8"))
    return docs


def sentence_around(text: str, start: int, end: int) -> str:
    lo = max(text.rfind(c, 0, start) for c in _SENT_END) + 1
    his = [i for i in (text.find(c, end) for c in _SENT_END) if i != -1]
    return text[lo:(min(his) + 1 if his else len(text))]


def check(path: Path) -> int:
    docs = load_docs()
    errors, warnings = [], []
    ids, cats = Counter(), Counter()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        rid = r.get("id", "?")
        if list(r) != KEYS:
            errors.append(f"{rid}: keys {list(r)} != {KEYS}")
        ids[rid] += 1
        cat = r.get("category")
        cats[cat] += 1
        if cat not in CATEGORIES:
            errors.append(f"{rid}: bad category {cat!r}")
        if cat == "unanswerable":
            if r["answers"] or r["doc_id"] is not None or r["evidence"] is not None:
                errors.append(f"{rid}: unanswerable must have answers=[], doc_id=null, evidence=null")
            continue
        if r["doc_id"] not in docs:
            errors.append(f"{rid}: unknown or non-text doc_id {r['doc_id']!r}")
            continue
        if not r["answers"] or not all(isinstance(a, str) and a for a in r["answers"]):
            errors.append(f"{rid}: answers must be non-empty strings")
            continue
        ev = norm(r["evidence"] or "")
        if not 10 <= len(ev) <= 80:
            errors.append(f"{rid}: evidence length {len(ev)} not in 10..80")
        text = docs[r["doc_id"]]
        pos = text.find(ev)
        if pos < 0:
            errors.append(f"{rid}: evidence not found in {r['doc_id']}: {r['evidence']}")
            continue
        sent = sentence_around(text, pos, pos + len(ev))
        for a in r["answers"]:
            if norm(a) in ev:
                continue
            if norm(a) in sent:
                warnings.append(f"{rid}: answer {a!r} outside evidence but in its sentence")
            else:
                errors.append(f"{rid}: answer {a!r} not in evidence or its sentence")
        hits = {d: t.count(ev) for d, t in docs.items() if ev in t}
        if sum(hits.values()) > 1:
            warnings.append(f"{rid}: evidence occurs more than once: {hits}")
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]

    for w in warnings:
        print("WARN ", w)
    for e in errors:
        print("ERROR", e)
    print(f"{len(rows)} questions; " + ", ".join(f"{c}={n}" for c, n in sorted(cats.items())))
    answerable = len(rows) - cats["unanswerable"]
    print(f"evidence verified: {answerable - sum('evidence' in e for e in errors)}/{answerable}; "
          f"{len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(check(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "qa_dev.jsonl"))
