"""Checks at the boundary, shared by the CLI, batch files, the web API and the Python API.

Text arriving from outside is cleaned (lone surrogates and control characters removed), and filters are checked
against what the index really holds, with a Chinese message that lists the valid values. Light on purpose: no
model, index or gradio import, so that the CLI can check its arguments before loading anything.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Unpack

from kb.register.filters import RegisterFilters, check_names
from kb.textclean import clean_question, clean_text

# C0 and C1 controls (tab, newline and carriage return are folded to spaces first), zero-width and bidi marks,
# line/paragraph separators, the BOM, and lone UTF-16 surrogates (which cannot be encoded as UTF-8).
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
BINDINGS = ("约束性", "预期性")
QUIZ_KINDS = ("mcq", "blank", "judge")


class UnknownFilterError(ValueError):
    """A filter value that the index does not hold; the message (Chinese) lists the valid values."""

    def __init__(self, field: str, label: str, unknown: Sequence[str], valid: Sequence[str]) -> None:
        self.field = field
        self.unknown = list(unknown)
        self.valid = list(valid)
        super().__init__(f"未知的{label}：{'、'.join(self.unknown)}。可选值：{'、'.join(self.valid) or '（无）'}")


def strip_noise(text: str) -> str:
    """The Chinese question inside markup or SQL noise (kb.textclean.clean_question); ``text`` unchanged when no
    Chinese question is left."""
    stripped = clean_question(text)
    return stripped if _CJK.search(stripped) else text


def terminal_safe(text: str) -> str:
    """Text for a terminal: every control character except newline and tab is shown as U+FFFD."""
    return _TERMINAL_UNSAFE.sub("\ufffd", text)


def check_values(field: str, label: str, given: Iterable[str], valid: Iterable[str]) -> tuple[str, ...]:
    """The given values, cleaned and de-duplicated; UnknownFilterError if any is not among ``valid``."""
    allowed = list(dict.fromkeys(valid))
    values = tuple(dict.fromkeys(v for v in (clean_text(str(g)).strip() for g in given) if v))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise UnknownFilterError(field, label, unknown, allowed)
    return values


def check_one(field: str, label: str, given: str | None, valid: Iterable[str]) -> str | None:
    """One optional value checked as :func:`check_values` does (None when not given or blank)."""
    values = check_values(field, label, [given] if given else [], valid)
    return values[0] if values else None


def as_list(value: str | Iterable[str] | None) -> list[str]:
    """A filter given as None, one string (commas allowed: "law,plan") or a list, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,，、\s]+", value) if v]
    return [str(v) for v in value]


def check_date(value: str | date | None) -> str | None:
    """An ISO date (YYYY-MM-DD; YYYY and YYYY-MM mean the end of that year or month), or ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = clean_text(str(value)).strip()
    if re.fullmatch(r"\d{4}", text):
        text += "-12-31"
    elif re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        text += f"-{calendar.monthrange(int(text[:4]), int(text[5:]))[1]:02d}"
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"无效的日期：{text}（格式应为 YYYY-MM-DD，例如 2017-12-31）") from None


def check_int(value: object, label: str, low: int, high: int) -> int:
    """A whole number within [low, high] (a float with no fraction is accepted), or ValueError in Chinese."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{label}必须是整数")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"{label}必须是整数：{value}")
        value = int(value)
    if isinstance(value, str):
        text = clean_text(value).strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise ValueError(f"{label}必须是整数：{text}")
        value = int(text)
    if not isinstance(value, int):
        raise ValueError(f"{label}必须是整数")
    if not low <= value <= high:
        raise ValueError(f"{label}应在 {low} 到 {high} 之间：{value}")
    return value


def obligation_filters(register, **raw: Unpack[RegisterFilters]) -> RegisterFilters:
    """Keyword arguments for kb.register.query.query, each checked against the register (ValueError otherwise)."""
    check_names(raw)
    year, due_before, party, text = raw.get("year"), raw.get("due_before"), raw.get("party"), raw.get("text")
    doc, domain, binding = raw.get("doc"), raw.get("domain"), raw.get("binding")
    records = register.records
    docs = list(dict.fromkeys([*(getattr(register, "doc_order", None) or []), *(r.doc_id for r in records)]))
    domains = sorted({r.domain for r in records if r.domain})
    out: RegisterFilters = {
        "year": None if year in (None, "") else check_int(year, "年份", 1900, 2100),
        "due_before": check_date(due_before),
        "party": (clean_text(party).strip() or None) if party else None,
        "text": (clean_text(text).strip() or None) if text else None,
    }
    out["doc"] = check_one("doc", "文件编号（doc_id）", doc, docs)
    out["domain"] = check_one("domain", "领域", domain, domains)
    out["binding"] = check_one("binding", "约束性", binding, BINDINGS)
    return out
