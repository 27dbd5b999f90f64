"""Grading of typed answers: the canonical form two answers share when they say the same thing.

Folded before comparing: full/half width and spaces (NFKC); 年底 / 年底前 and 到/至/截至 before a date;
生态环境 / 环境保护 and 行政主管部门 / 主管部门; 省、自治区、直辖市 / 省级; 地方 in 县级以上地方人民政府;
Chinese and Arabic numerals (十万元 / 10万元, 三十日 / 30日 / 30天); 禁止 / 严禁 / 不得 (one ban). A party may also
be typed in its short form, the tail that still tells it from the other parties offered (环境保护主管部门 for
县级以上人民政府环境保护主管部门).
"""

from __future__ import annotations

import re
import unicodedata

from indexing.structure import cn_number as _cn_integer

_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千][零〇一二两三四五六七八九十百千万]*")


def fold(text: str) -> str:
    """NFKC without whitespace and without trailing punctuation."""
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    return s.rstrip("。.，,；;")


def cn_number(text: str) -> float | None:
    """Value of a Chinese (十万, 一百二十) or Arabic (10, 2.5) numeral; None when it is neither."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or not _CN_NUM.fullmatch(text):
        return None
    *myriads, rest = text.split("万")  # each 万 closes a group counted in ten thousands
    return float(sum(_cn_integer(m) * 10000 for m in myriads) + _cn_integer(rest))


def arabic(text: str) -> str:
    """Every Chinese numeral of ``text`` written in Arabic digits, and 万 folded into the number (十万元 → 100000元)."""
    def num(m: re.Match[str]) -> str:
        value = cn_number(m.group(0))
        return m.group(0) if value is None else _plain(value)

    s = _CN_NUM.sub(num, text)
    return re.sub(r"(\d+(?:\.\d+)?)万", lambda m: _plain(float(m.group(1)) * 10000), s)


def _plain(value: float) -> str:
    """A number without exponent or trailing .0 (1000000, 2.5)."""
    return str(int(value)) if value == int(value) else str(value)


def canonical(fact_type: str, text: str) -> str:
    """The form of an answer that grading compares (see the module docstring)."""
    s = fold(text)
    if fact_type == "deadline":
        s = re.sub(r"^(?:截止到|截至|到|至|于|在)", "", s)
        s = re.sub(r"(年底|年末|年)前$", r"\1", s).replace("年末", "年底")
    elif fact_type in ("party", "permit"):
        s = s.replace("生态环境", "环境保护").replace("行政主管部门", "主管部门")
        s = s.replace("省、自治区、直辖市", "省级").replace("省,自治区,直辖市", "省级")
        s = re.sub(r"地方|各级|的", "", s)
    elif fact_type in ("penalty", "period"):
        s = arabic(s).replace("天", "日").replace("个月", "月").replace("、", "")
        s = re.sub(r"^(?:处|不少于|不超过)", "", s).removesuffix("的罚款").removesuffix("罚款")
    elif fact_type == "ban":
        s = "禁止" if s in ("禁止", "严禁", "不得", "不准", "不允许") else s
    return s


MIN_SHORT_PARTY = 5  # characters: 主管部门 or 人民政府 alone names no one body


def is_short_party(response: str, key: str, others: list[str]) -> bool:
    """Whether ``response`` is a short form of the party ``key``: its tail, at least MIN_SHORT_PARTY characters,
    that no other party offered (``others``, the item's distractors) ends with."""
    r, k = canonical("party", response), canonical("party", key)
    if len(r) < MIN_SHORT_PARTY or r == k or not k.endswith(r):
        return False
    return not any(canonical("party", o).endswith(r) for o in others)
