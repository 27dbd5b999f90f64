"""Responsible party of a register record: the organisation or official named in subject position, or inherited.

The inheritance from context is in :mod:`kb.register.extract`; the short canonical list people filter by is
:mod:`kb.register.parties`.
"""

from __future__ import annotations

import re

from kb.register.deadlines import strip_leading_deadlines
from kb.register.spans import CLAUSE_SPLIT
from kb.vocab import alternation

_PARTY_LEXICON = (
    r"(?:自治区确定的)?重点排污单位|自治区土壤环境重点监管企业|土壤环境重点监管企业|垃圾填埋场管理机构"
    r"|自治区环境保护厅|自治区发展和改革委员会"
    r"|(?:地方各级|各级|县级以上地方|县级以上|设区的市级以上地方|设区的市级|乡级|城市|自治区|地方|当地|国务院)"
    r"(?:人民)?政府(?:及其?(?:有关|相关)部门|[\u4e00-\u9fff]{0,8}?主管部门)?"
    r"|各级地方党委|各级党委|地方党委"
    r"|(?:各|有关|相关|各有关)部门|环保部门|环境保护部门|(?:县级以上(?:地方)?人民政府)?环境保护主管部门"
    r"|兵团|各地|企事业单位|企业事业单位(?:和其他生产经营者)?|排污单位|排污者|生产经营者|建设单位"
)
_PARTY_RE = re.compile(rf"(?:{_PARTY_LEXICON})(?:(?:和|及|与|、)(?:{_PARTY_LEXICON}))*")
_BY_PARTY_RE = re.compile(r"由([^，。；,;：:]{2,30}?)(?:负责|牵头|组织实施)")
_MODAL_RE = re.compile(r"应当|必须|不得|禁止|严禁|要(?![求点素])|应(?![急用对变有该])|须|负责")
_VERB_START = re.compile(
    r"推进|完善|形成|加强|建立|实施|开展|推动|提高|强化|落实|促进|健全|构建|鼓励|支持|引导|做好|确保"
)
_ACTOR_END = re.compile(rf"(?:{alternation('party_words.tsv', '主体结尾')})$")
# A subject before its modal verb ("县级以上人民政府应当…") is a short noun phrase: longer leads are clauses.
SUBJECT_MAX_CHARS = 40
ACTOR_CHARS = (2, 60)  # shortest and longest noun phrase taken as a party
_PREPOSITION_START = re.compile(r"^(?:对|在|为|因|经|依|按|根据|除|向|与|把|将|从(?!事)|当|如|凡|以|通过|对于|关于)")


def party_at_clause_start(clause: str, min_year: int) -> str:
    """The party that opens ``clause`` (after any time expression), or ""."""
    body = strip_leading_deadlines(clause, min_year)
    m = _PARTY_RE.match(body)
    if m:
        return m.group(0)
    mm = _MODAL_RE.search(body)
    if mm and 2 <= mm.start() <= SUBJECT_MAX_CHARS:
        cand = re.sub(r"(?:依法|均|也|都|还|应|要)+$", "", body[: mm.start()])
        if _is_actor(cand):
            return cand
    return ""


def _is_actor(phrase: str) -> bool:
    """Whether ``phrase`` is a noun phrase naming an actor (ends in 政府/部门/单位…, starts with no verb)."""
    return (
        ACTOR_CHARS[0] <= len(phrase) <= ACTOR_CHARS[1]
        and bool(_ACTOR_END.search(phrase))
        and not _PREPOSITION_START.match(phrase)
        and not _VERB_START.match(phrase)
        and not re.search(r"[，,。；;“”\"]", phrase)
    )


def explicit_party(text: str, min_year: int) -> str:
    """A party named in subject position anywhere in ``text`` (first clause first), or ""."""
    m = _BY_PARTY_RE.search(text)
    if m:
        return m.group(1)
    clauses = CLAUSE_SPLIT.split(text)
    for i, clause in enumerate(clauses):
        party = party_at_clause_start(clause, min_year)
        if party:
            return party
        # "X，应当…": the subject stands alone in the clause before the modal
        if i + 1 < len(clauses) and _is_actor(clause.strip()) and _MODAL_RE.match(clauses[i + 1].strip()):
            return clause.strip()
    return ""


def heading_party(heading: str) -> str:
    """A party of the lexicon named in a section heading, or ""."""
    m = _PARTY_RE.search(heading)
    return m.group(0) if m else ""
