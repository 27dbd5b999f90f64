"""Score the obligations register against eval/obligations_gold.jsonl.

The gold file was written by reading the plan: one line per dated obligation of the plan's text
(``kind == "deadline"``) and one line per row of its indicator tables 专栏1/2/3/5 (``kind == "indicator"``).

Gold conventions (shared with kb/register/extract.py):

- ``passage_contains`` is a verbatim 10-40 character piece of the sentence; comparisons delete all whitespace
  on both sides (the plan has page-break line breaks and "2020 年" spaces).
- ``deadline_text`` keeps a leading 到 ("到2020年") and drops 于/在; comparisons also drop a leading
  到/至/于/在/应于, so "2020年底前" and "于2020年底前" match. Dates follow the register's rules
  ("2017年前" is 2016-12-31; 每年/逐年 have no date).
- The deadline scope is the plan's text: the situation review, the guiding ideology and the principles hold
  no tasks; the rows of the indicator tables are scored as indicator rows, not as deadlines.
- ``party`` is the organisation the sentence makes responsible, "未明确" where it names none; places
  (城市, 区域, 自然保护区) are not parties.
- Indicator rows: every key of a gold row other than ``kind`` and ``doc_id`` must equal the parsed row's
  value (whitespace deleted) for an exact match.

Metrics: deadline recall and precision (a predicted text record with a deadline matches a gold line when the
gold passage lies in its passage and the deadline text and date agree; one-to-one), party accuracy over
matched deadlines, and the exact-match rate of indicator rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from indexing.types import Obligation

GOLD_PATH = Path(__file__).resolve().parent / "obligations_gold.jsonl"
THRESHOLDS = {"deadline_recall": 0.95, "deadline_precision": 0.90, "party_accuracy": 0.85,
              "indicator_exact_match": 0.95}
_WS = re.compile(r"\s+")
_DL_PREFIX = re.compile(r"^(?:应于|到|至|于|在)")


def _norm(text: str) -> str:
    return _WS.sub("", text or "")


def _norm_deadline(text: str) -> str:
    return _DL_PREFIX.sub("", _norm(text))


def load_gold(path: str | Path = GOLD_PATH) -> list[dict]:
    """The gold lines of a JSONL file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _split(records) -> tuple[list[Obligation], list[dict]]:
    """Records and indicator rows (as dicts) from a Register or from a plain list of records."""
    if hasattr(records, "records"):
        return list(records.records), [asdict(r) for r in getattr(records, "indicators", [])]
    return list(records), []


def _score_deadlines(records: Sequence[Obligation], gold: list[dict]) -> dict:
    docs = {g["doc_id"] for g in gold}
    preds = [r for r in records if r.doc_id in docs and r.source == "text" and r.deadline_kind != "none"]
    used: set[int] = set()
    matched: list[tuple[dict, Obligation]] = []
    misses = []
    for g in gold:
        piece = _norm(g["passage_contains"])
        cands = [
            i for i, r in enumerate(preds)
            if i not in used and r.doc_id == g["doc_id"] and piece in _norm(r.passage)
            and _norm_deadline(r.deadline_text) == _norm_deadline(g["deadline_text"])
            and r.deadline_date == g["deadline_date"]
        ]
        if not cands:
            misses.append(g)
            continue
        # several records of one sentence: the one whose own clause holds the gold piece
        best = next((i for i in cands if piece in _norm(preds[i].action)), cands[0])
        used.add(best)
        matched.append((g, preds[best]))
    false_pos = [r for i, r in enumerate(preds) if i not in used]
    party_ok = [m for m in matched if _norm(m[1].party) == _norm(m[0]["party"])]
    kind_ok = [m for m in matched if "deadline_kind" not in m[0] or m[1].deadline_kind == m[0]["deadline_kind"]]
    n_gold, n_pred = len(gold), len(preds)
    return {
        "gold": n_gold,
        "predicted": n_pred,
        "matched": len(matched),
        "recall": len(matched) / n_gold if n_gold else 0.0,
        "precision": len(matched) / n_pred if n_pred else 0.0,
        "party_accuracy": len(party_ok) / len(matched) if matched else 0.0,
        "kind_accuracy": len(kind_ok) / len(matched) if matched else 0.0,
        "misses": [g["passage_contains"] for g in misses],
        "false_positives": [f"{r.deadline_text} | {r.action}" for r in false_pos],
        "party_errors": [
            f"{g['passage_contains']}: gold {g['party']} / got {r.party} ({r.party_source})"
            for g, r in matched if (g, r) not in party_ok
        ],
    }


def _row_value(row: dict, key: str):
    value = row.get(key, "")
    return [_norm(v) for v in value] if isinstance(value, list) else _norm(str(value))


def _score_indicators(rows: list[dict], gold: list[dict]) -> dict:
    index: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        index.setdefault((_norm(row.get("table", "")), _norm(row.get("indicator", ""))), []).append(row)
    exact = 0
    errors = []
    for g in gold:
        found = index.get((_norm(g["table"]), _norm(g["indicator"])), [])
        keys = [k for k in g if k not in ("kind", "doc_id")]
        ok = next((r for r in found if all(_row_value(r, k) == _row_value(g, k) for k in keys)), None)
        if ok is not None:
            exact += 1
            continue
        if not found:
            errors.append(f"{g['table']} {g['indicator']}: not found")
        else:
            diff = {k: (g[k], found[0].get(k)) for k in keys if _row_value(found[0], k) != _row_value(g, k)}
            errors.append(f"{g['table']} {g['indicator']}: {diff}")
    return {"gold": len(gold), "predicted": len(rows), "exact": exact,
            "exact_match": exact / len(gold) if gold else 0.0, "errors": errors}


def score_register(records, gold: Iterable[dict] | str | Path | None = None) -> dict:
    """Scores of a register against the gold lines (default: the gold file).

    ``records`` is a ``kb.register.store.Register`` (records and indicator rows are scored) or a plain list of
    records (then only the deadline metrics mean anything: indicator rows live on the Register).

    Returns {"deadline_recall", "deadline_precision", "party_accuracy", "indicator_exact_match",
    "passed": {metric: bool}, "deadlines": {...details...}, "indicators": {...details...}}.
    """
    if gold is None or isinstance(gold, (str, Path)):
        gold_lines = load_gold(gold or GOLD_PATH)
    else:
        gold_lines = list(gold)
    recs, rows = _split(records)
    dl = _score_deadlines(recs, [g for g in gold_lines if g["kind"] == "deadline"])
    ind = _score_indicators(rows, [g for g in gold_lines if g["kind"] == "indicator"])
    scores = {
        "deadline_recall": round(dl["recall"], 4),
        "deadline_precision": round(dl["precision"], 4),
        "party_accuracy": round(dl["party_accuracy"], 4),
        "indicator_exact_match": round(ind["exact_match"], 4),
    }
    return {
        **scores,
        "passed": {k: scores[k] >= v for k, v in THRESHOLDS.items()},
        "deadlines": dl,
        "indicators": ind,
    }
