"""What a body's name says: its kind (government, department, enterprise …), its level of government, its
administration, and the words that tell it from others. The item rules (:mod:`kb.quiz.rules`) and the worth-asking
rules (:mod:`kb.quiz.worth`) read bodies through these."""

from __future__ import annotations

import re

from kb.quiz.model import norm_text
from kb.quiz.vocabulary import vocab

ACTOR_SUFFIX = re.compile(r"(?:单位|企业|经营者|生产者|使用者|销售者|者)$")


def party_kind(party: str) -> str:
    """gov | dept | enterprise | individual | other: the kind of body a party names."""
    p = norm_text(party)
    if p.endswith(("政府", "国务院")):
        return "gov"
    if p.endswith("部门"):
        return "dept"
    if p.endswith(("机关", "机构")):
        return "agency"
    if p.endswith(("个人", "公民", "居民", "人员", "纳税人", "责任人", "使用权人")):
        return "individual"
    if p.endswith(("单位", "企业", "经营者", "生产者", "营运单位", "者")):
        return "enterprise"
    return "other"


def asks_body(fact) -> bool:
    """Whether the fact's key is a body: a responsible party, or who approves or receives a filing."""
    return fact.fact_type == "party" or (fact.fact_type == "permit" and fact.subtype == "who")


def enumerates(body: str) -> bool:
    """Whether a party names several bodies in a list ("住房城乡建设、市容环境卫生等有关部门"); a level written as a
    list ("省、自治区、直辖市人民政府") names one body."""
    one = re.sub(r"省、自治区、直辖市(?:、设区的市)?", "省级", body)
    return "、" in one or "等" in one


def bare(body: str) -> bool:
    """Whether a body's name says no level of government (环境保护主管部门, 公安机关交通管理部门)."""
    return admin_level(body) is None and not re.search(r"人民政府|国务院|以上", norm_text(body))


def shared_bigrams(candidate: str, text: str) -> int:
    """How many character pairs of an actor's name (its 单位/企业/者 suffix left out) a text has: an actor of the
    text's own field (物料运输… beside "内部物料的堆存、传输、装卸") is a more plausible distractor than a 销售者."""
    core = ACTOR_SUFFIX.sub("", norm_text(candidate))
    return sum(core[i:i + 2] in text for i in range(len(core) - 1))


def other_system(key: str, candidate: str) -> bool:
    """Whether a department distractor is of another administration than the key's (公安机关交通管理部门 among
    生态环境主管部门 options): such options are drawn last, after the key's own system at other levels."""
    def environmental(body: str) -> bool:
        return "生态环境" in body or "环境保护" in body

    return party_kind(key) == party_kind(candidate) == "dept" and environmental(key) != environmental(candidate)


def content_words(key: str) -> list[str]:
    """The parts of a party name left when its generic words (人民政府, 主管部门, 县级以上 …) are removed."""
    s = norm_text(key)
    for word in sorted(vocab()["party_generic_words"], key=len, reverse=True):
        s = s.replace(word, " ")
    return [w for w in s.split() if len(w) >= 2]


_LEVELS = (("国务院", re.compile(r"^国务院")), ("省级", re.compile(r"^(?:省、自治区、直辖市|省级(?!以上)|自治区)")),
           ("市级", re.compile(r"^设区的市")), ("县级", re.compile(r"^(?:县级以上地方|地方各级|县级|当地|乡|镇)")))
UPPER_LEVELS = ("国务院", "省级")


def admin_level(body: str) -> str | None:
    """The administrative level a body's name starts with (国务院, 省级, 市级, 县级), or None."""
    name = norm_text(body)
    return next((level for level, pattern in _LEVELS if pattern.match(name)), None)
