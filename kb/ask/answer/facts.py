"""Patterns of the facts a question asks for (dates, amounts, parties, duties, definitions) and the route features.

A route feature is what a sentence must carry to answer a question of that route: a date for deadline questions, a
number with a unit for target questions, a party for party questions, a duty verb for law ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.ask.answer.types import Term
from kb.ask.query import fold_for_match
from kb.vocab import alternation, words

CN_NUM = "〇○零一二两三四五六七八九十百千"
AUTHORITY = re.compile(r"部门|机关|政府|委员会")
# Units of the amounts an answer states (kb/vocab/units.tsv), longest first.
UNITS = sorted(words("units.tsv", "问答"), key=len, reverse=True)
_UNIT = alternation("units.tsv", "问答")
_ARABIC_AMOUNT = (
    rf"(?<![\d.])\d+(?:\.\d+)?(?:\s*[-—~～]\s*\d+(?:\.\d+)?)?\s*(?:{_UNIT})(?:以上|以下|左右|以内)?"
    r"|(?<![\d.])\d{1,2}\s*(?:个月|年)(?:以上|以下|以内|内)?"  # a period of years or months, not a year (2020年)
)
# Amounts the laws write in Chinese numerals: 百分之七十五, 五百元, and periods such as 六十日 or 三个月.
_CN_AMOUNT = (
    r"(?:百分之[零〇一二两三四五六七八九十点]+|[零〇一二两三四五六七八九十百千]+万?元"
    r"|[一二两三四五六七八九十百]+(?:个工作日|个月|日|天|年|小时|分钟))(?:以上|以下|以内|内)?"
)
TARGET_RE = re.compile(rf"(?:{_ARABIC_AMOUNT}|{_CN_AMOUNT})(?:\s*[、至到]?\s*(?:{_ARABIC_AMOUNT}|{_CN_AMOUNT}))?")
# A target value with its comparator (不低于94%, 控制在550亿立方米以内, 下降18.3%).
TARGET_VALUE_RE = re.compile(
    r"(?:达到|不低于|不高于|不超过|低于|高于|控制在|提高到|提升到|降低到|降至|下降|降低|减少|增加到|增长|保持在|累计|达)"
    rf"\s*(?:{TARGET_RE.pattern})"
)
_TABLE_VALUE = re.compile(r"\t\s*\d+(?:\.\d+)?\s*(?:\t|$)")  # a numeric cell of an indicator table row
_DURATION = rf"[\d{CN_NUM}]+\s*(?:个工作日|个月|小时|分钟|日|天|年)"
DEADLINE_RE = re.compile(
    r"(?:到|至|于|在)?\s*(?:19|20)\d{2}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?\s*"
    r"(?:底|末|年底|年末)?\s*(?:前|以前|之前)?"
    r"|(?:到|至)?“?十[二三四]五”?(?:期间|末|期末|时期)"
    r"|(?:每年)?\d{1,2}\s*月\s*\d{1,2}\s*日"
    rf"|{_DURATION}(?:内|以内|前|以上{_DURATION}以下|以上)|(?<=[满期])前{_DURATION}"
    rf"|(?:不得少于|不少于|至少|满|超过)\s*{_DURATION}"
)
_PARTY_SUFFIX = f"(?:{alternation('party_words.tsv', '问答')})"  # the words a party's name ends with
# A party starts after punctuation or a function character (由 / 对 / 向 / 应当 …), never mid-phrase.
PARTY_RE = re.compile(
    rf"(?<![^，。；：、\s（“由对向经将和与及并或同当])[\u4e00-\u9fff]{{0,10}}?{_PARTY_SUFFIX}"
    rf"(?:[\u4e00-\u9fff]{{0,6}}?{_PARTY_SUFFIX})?"
)
# "由县级以上地方人民政府市场监督管理部门…": the party runs on to a second suffix close after the first, unless a
# second party joins it ("由国务院生态环境主管部门会同国务院有关部门制定": the first leads).
_PARTY_BY = re.compile(
    rf"由([\u4e00-\u9fff]{{2,20}}?{_PARTY_SUFFIX}(?:(?!会同|和|与|及|或)[\u4e00-\u9fff]{{0,8}}?{_PARTY_SUFFIX})?)"
)
_DUTY_RE = re.compile(r"应当|不得|禁止|必须|严禁|可以|予以|责令")
_DEFINITION_RE = re.compile(r"是指|所称|指的是")
PERMISSION_RE = re.compile(r"禁止|不得|严禁|不准|可以|允许")
_ENUMERATION_RE = re.compile(r"(?:[^、，。；]{1,20}、){2,}")  # at least three items joined by 、


class AnyOf:
    """Matches when any of several patterns matches (used for route features)."""

    def __init__(self, *patterns: re.Pattern[str]) -> None:
        self.patterns = patterns

    def search(self, text: str) -> re.Match[str] | None:
        """First match of the first pattern that matches."""
        for p in self.patterns:
            m = p.search(text)
            if m:
                return m
        return None


class Near:
    """Matches where a feature matches in a text that also holds one of the asked words."""

    def __init__(self, feature: re.Pattern[str] | AnyOf, asked: Sequence[str]) -> None:
        self.feature = feature
        self.asked = tuple(asked)

    def search(self, text: str) -> re.Match[str] | None:
        """The feature's match, when the text holds an asked word."""
        folded = fold_for_match(text)
        return self.feature.search(text) if any(a in folded for a in self.asked) else None


FEATURES: dict[str, re.Pattern[str] | AnyOf] = {
    "deadline": DEADLINE_RE,
    "target": AnyOf(TARGET_RE, _TABLE_VALUE),
    "party": re.compile(_PARTY_SUFFIX),
    "list": _ENUMERATION_RE,
    "law": _DUTY_RE,
    "definition": _DEFINITION_RE,
}
LEAD_LABELS = {"deadline": "期限", "target": "数值", "party": "责任主体"}


def party_of(clause: str) -> str | None:
    """The party a clause names: the one it says something is done by (由…), else the first."""
    m = _PARTY_BY.search(clause)
    if m:
        return m.group(1)
    m = PARTY_RE.search(clause)
    return m.group(0) if m else None


def definition_feature(terms: list[Term]) -> re.Pattern[str]:
    """A sentence defining one of the question's words: "X，是指…", "本法所称X…"."""
    names = "|".join(re.escape(f) for t in terms for f in t.forms)
    return re.compile(rf"(?:{names})[”」]?[，,]?\s*(?:是指|系指|指的是)|所称“?(?:{names})")
