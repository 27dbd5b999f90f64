"""Validate a user-voice question set (eval/uv_*.jsonl, schema in eval/README_uv.md) against the corpus.

Checks every line: keys in order, group and category known, history a list (one question for a follow-up),
unanswerable lines (nearmiss, outofscope) with no answers, doc_id or evidence, answerable lines with a known
doc_id, verbatim evidence and every answer alternative found in that document (whitespace removed), and a
near miss's neighbouring fact found in some document. Ids must be unique within and across the files given.

Usage:  python eval/check_uv.py eval/uv_train.jsonl eval/uv_dev.jsonl …   (exit status 1 on errors)
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["id", "group", "category", "q", "history", "doc_id", "answers", "evidence", "neighbour", "note"]
GROUPS = {"official", "trainer", "public"}
CATEGORIES = {"deadline", "party", "target", "colloquial", "multipart", "followup", "nearmiss", "outofscope"}
UNANSWERABLE = {"nearmiss", "outofscope"}


def _squash(text: str) -> str:
    return "".join(text.split())


def load_docs(corpus: Path = ROOT / "corpus") -> dict[str, str]:
    """doc_id -> whitespace-free text of every document (PDFs through pypdf)."""
    docs = {}
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = corpus / row["file"]
            if path.suffix == ".pdf":
                from pypdf import PdfReader

                text = "".join(page.extract_text() or "" for page in PdfReader(path).pages)
            else:
                text = path.read_text(encoding="utf-8")
            docs[row["doc_id"]] = _squash(text)
    return docs


def check_line(g: dict, docs: dict[str, str]) -> list[str]:
    """The errors of one question line."""
    errors = []
    if list(g) != KEYS:
        errors.append(f"keys {list(g)}")
    if g.get("group") not in GROUPS:
        errors.append(f"group {g.get('group')!r}")
    if g.get("category") not in CATEGORIES:
        errors.append(f"category {g.get('category')!r}")
    history = g.get("history")
    if not isinstance(history, list) or (g.get("category") == "followup" and len(history) != 1):
        errors.append("history must be a list (one question for a follow-up)")
    if g.get("category") in UNANSWERABLE:
        if g.get("answers") or g.get("doc_id") or g.get("evidence"):
            errors.append("an unanswerable question has no answers, doc_id or evidence")
        if g.get("category") == "nearmiss" and not any(
                _squash(g.get("neighbour") or "-") in text for text in docs.values()):
            errors.append("neighbour not found in the corpus")
        return errors
    text = docs.get(g.get("doc_id") or "")
    if text is None:
        return [*errors, f"unknown doc_id {g.get('doc_id')!r}"]
    if _squash(g.get("evidence") or "-") not in text:
        errors.append("evidence not found in its document")
    parts = g.get("answers")
    if not parts or not all(isinstance(p, list) and p for p in parts):
        errors.append("answers must be a non-empty list of non-empty lists")
    else:
        errors += [f"answer {a!r} not in its document" for p in parts for a in p if _squash(a) not in text]
    return errors


def main(paths: list[str]) -> int:
    """Check the files; print each error; exit status 1 when there is any."""
    docs = load_docs()
    seen: set[str] = set()
    n_err = 0
    for path in paths:
        for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            g = json.loads(line)
            errs = check_line(g, docs)
            if g.get("id") in seen:
                errs.append("duplicate id")
            seen.add(g.get("id"))
            for e in errs:
                print(f"{path}:{i} {g.get('id')}: {e}")
            n_err += len(errs)
    print(f"{len(seen)} questions, {n_err} errors")
    return 1 if n_err else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [str(ROOT / "eval" / "uv_train.jsonl"), str(ROOT / "eval" / "uv_dev.jsonl")]))
