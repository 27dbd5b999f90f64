"""Register exports: JSON, CSV (round trip, UTF-8 BOM for Excel), an aligned terminal table and iCalendar."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

from indexing.types import Obligation, Target
from kb.cli_io import bom_csv, read_bom_csv
from kb.register.store import obligation_to_dict

CSV_COLUMNS = (
    "ob_id", "doc_id", "title", "section", "article", "domain", "source", "deadline_kind", "deadline_text",
    "deadline_date", "year", "party", "party_source", "binding", "action", "target_indicator", "target_value",
    "target_unit", "target_comparator", "target_baseline_year", "target_baseline_value", "target_year",
    "start", "end", "passage",
)
_TARGET_COLUMNS = {"target_indicator": "indicator", "target_value": "value", "target_unit": "unit",
                   "target_comparator": "comparator", "target_baseline_year": "baseline_year",
                   "target_baseline_value": "baseline_value", "target_year": "target_year"}


def to_json(records: Iterable[Obligation]) -> str:
    """A JSON array of the records (UTF-8 text, Chinese unescaped)."""
    return json.dumps([obligation_to_dict(r) for r in records], ensure_ascii=False, indent=2)


def to_csv(records: Iterable[Obligation], headers: str = "zh") -> str:
    """CSV with a header row (Chinese column names, or the machine names with ``headers="raw"``), starting with a
    UTF-8 BOM so that Excel shows the Chinese correctly."""
    return bom_csv(CSV_COLUMNS, (_csv_row(r) for r in records), headers)


def _csv_row(r: Obligation) -> dict:
    """One record as a CSV row: the target in its own columns, None as ""."""
    row = {k: v for k, v in obligation_to_dict(r).items() if k in CSV_COLUMNS}
    for col, attr in _TARGET_COLUMNS.items():
        row[col] = getattr(r.target, attr) if r.target else ""
    row["year"] = "" if r.year is None else r.year
    row["article"] = r.article or ""
    return row


def from_csv(text: str) -> list[Obligation]:
    """Records read back from :func:`to_csv` output."""
    out = []
    for row in read_bom_csv(text):
        target = None
        if row.get("target_indicator") or row.get("target_value"):
            target = Target(**{attr: row.get(col, "") for col, attr in _TARGET_COLUMNS.items()})
        data = {k: row[k] for k in CSV_COLUMNS if k in row and k not in _TARGET_COLUMNS}
        data["year"] = int(data["year"]) if data.get("year") else None
        data["start"], data["end"] = int(data["start"]), int(data["end"])
        data["article"] = data.get("article") or None
        out.append(Obligation(target=target, **data))
    return out


# Columns of the terminal table (display cells; a CJK character takes two).
ACTION_WIDTH = 48
PARTY_WIDTH = 18
WHERE_WIDTH = 40


def _width(s: str) -> int:
    """Display width of ``s`` (CJK wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _clip(s: str, width: int) -> str:
    """``s`` on one line, cut to ``width`` display cells with "…"."""
    s = re.sub(r"\s+", " ", s)
    if _width(s) <= width:
        return s
    out, w = [], 0
    for c in s:
        cw = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if w + cw > width - 1:
            break
        out.append(c)
        w += cw
    return "".join(out) + "…"


def to_table(records: Iterable[Obligation], action_width: int = ACTION_WIDTH) -> str:
    """An aligned plain-text table for a terminal (CJK characters counted double-width)."""
    header = ("期限", "日期", "责任主体", "领域", "任务", "出处")
    rows = []
    for r in records:
        title = re.sub(r"^(?:中华人民共和国|新疆维吾尔自治区)", "", r.title)
        where = f"{title}{r.article}" if r.article else f"{title} · {r.section.split(' > ')[-1]}"
        rows.append((r.deadline_text or "—", r.deadline_date or "—", _clip(r.party, PARTY_WIDTH), r.domain,
                     _clip(r.action, action_width), _clip(where, WHERE_WIDTH)))
    widths = [max([_width(h)] + [_width(row[i]) for row in rows]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    out.append(f"共 {len(rows)} 条")
    return "\n".join(out) + "\n"


def to_ics(records: Iterable[Obligation], dtstamp: datetime | None = None, alarm_days: int | None = None) -> str:
    """An iCalendar file (RFC 5545) of the records with a date; yearly duties recur (see kb.register.ics)."""
    from kb.register.ics import to_ics as write_ics

    return write_ics(records, dtstamp, alarm_days)
