"""Conversation-level reading of a question: follow-ups resolved against the previous question, and a
question that asks several things split into its parts.

A follow-up is merged with the previous question only when it has no topic of its own: it names a place,
year or pollutant to swap in ("那乌鲁木齐呢？"), starts as a continuation ("那…", "还有…"), points back ("这种…",
"组织这种活动的单位…"), is all question words ("罚多少？", "归谁管？"), or is a short "…呢？" ("工业园区呢？").
A question with a topic of its own ("今天天气怎么样？") is answered on its own, whatever came before it. Parts
of one message share more: a later part is read with the first part's topic unless it is a full question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexing import tokenize
from kb.ask.answer.slots import contrast_sets, named_members
from kb.ask.query import ENTITY_PATTERN, PLACES

# Words that ask, point back or hedge: none of them is a topic. The interrogatives are stripped from the previous
# question when a follow-up asks something else of the same topic ("…报哪个部门审批？" + "收费吗？").
INTERROGATIVES = (
    "哪个部门 哪些部门 什么部门 哪个单位 哪一级 什么时候 什么时间 多长时间 哪一年 哪几 哪些 哪个 哪年 哪里 何时 多久 "
    "多少钱 多少 几年 几天 几个 几点 多大 多高 多长 是不是 能不能 可不可以 要不要 会不会 算不算 是否 怎么样 怎么办 "
    "怎么 如何 怎样 什么 谁 吗 呢 么 嘛 啊 吧"
).split()
_DEICTIC = re.compile(r"这种|这类|这个|这些|这事|这项|这条|该项|此类|此事|它们?|上述|同样|那部|那个|那条")
_CONTINUATION = re.compile(r"^(?:那么?|那如果|还有|另外|再问一下|再问|如果|要是|假如|那要是|换成)")
_TRAILING_ASK = re.compile(r"(?:呢|怎么样|如何|咋样)[？?。！!\s]*$")
_TRAILING_NE = re.compile(r"呢[？?。！!\s]*$")
_ASK_RE = re.compile("|".join(re.escape(w) for w in sorted(INTERROGATIVES, key=len, reverse=True)))
_PART_SPLIT = re.compile(r"(?<=[？?])\s*")
_FILLER = frozenset("的话 要 会 能 得 还 又 再 就 都 也 被 让 给 算 这 那 呀 哦 嗯 不 没 有 是 到 了 啥 咋 多".split())
# Characters of its own topic a follow-up may have and still lean on the previous question: a verb or two
# ("罚", "归…管", "收费"); a "…呢？" may name a short thing ("工业园区呢？"). Counted in characters because
# jieba keeps some phrases whole ("今天天气").
MAX_FOLLOW_UP_TOPIC = 2
MAX_NE_TOPIC = 4
MAX_PART_TOPIC_WORDS = 4  # a later part of one message with more topic words than this is a question of its own


@dataclass
class Resolution:
    """How a question was read: ``text`` is what is answered; ``merged`` whether the previous question was used."""

    text: str
    merged: bool = False


def _entity_kind(name: str) -> str:
    """Coarse class of a follow-up's focus, so a place replaces a place and a year a year."""
    if re.fullmatch(r"(?:19|20)\d{2}年?", name):
        return "year"
    if "五" in name and name.strip("“”").startswith("十"):
        return "period"
    if name in PLACES or name.endswith(("市", "州", "县", "地区", "区")):
        return "place"
    return "other"


def topic_words(question: str) -> list[str]:
    """The question's own content words: jieba words less stopwords, interrogatives, pointers and fillers."""
    stripped = _DEICTIC.sub(" ", _ASK_RE.sub(" ", question))
    return [w for w in tokenize.cut_words(stripped)
            if w not in tokenize.STOPWORDS and w not in _FILLER and re.search(r"[\u4e00-\u9fff\w]", w)]


def strip_asks(question: str) -> str:
    """The question with its question words and final punctuation removed: the topic it sets."""
    return _ASK_RE.sub("", question).strip("？?。！! ，,").rstrip("是为要在")


def _swap_entity(question: str, previous: str) -> str | None:
    """"那乌鲁木齐呢？" after a question naming another place: the previous question with the place swapped; so for
    a member of a contrast set ("那重点管理的呢？" after 简化管理, kb/vocab/contrasts.tsv)."""
    focus = _CONTINUATION.sub("", _TRAILING_ASK.sub("", question.strip())).strip("，, ")
    if not focus:
        return None
    if not ENTITY_PATTERN.fullmatch(focus):
        return _swap_member(focus.removesuffix("的"), previous)
    kind = _entity_kind(focus)
    for hit in ENTITY_PATTERN.finditer(previous):
        if _entity_kind(hit.group()) == kind:
            return previous[: hit.start()] + focus + previous[hit.end():]
    return None


def _swap_member(focus: str, previous: str) -> str | None:
    """The previous question with its member of ``focus``'s contrast set replaced by ``focus``, if it names one."""
    for members in contrast_sets():
        if focus not in members:
            continue
        named = [m for m in named_members(members, previous) if m != focus]
        if len(named) == 1:
            return previous.replace(named[0], focus, 1)
    return None


def leans_on_previous(question: str) -> bool:
    """Whether a question needs the one before it to be understood."""
    q = question.strip()
    if _CONTINUATION.match(q) or _DEICTIC.search(q):
        return True
    own = sum(len(w) for w in topic_words(q))
    return own <= MAX_FOLLOW_UP_TOPIC or (own <= MAX_NE_TOPIC and bool(_TRAILING_NE.search(q)))


def resolve(question: str, history: list[str] | None) -> Resolution:
    """Read a question in the light of the previous one (``history[-1]``), when it leans on it."""
    if not history or not history[-1].strip():
        return Resolution(question)
    previous = history[-1].strip()
    swapped = _swap_entity(question, previous)
    if swapped:
        return Resolution(swapped, merged=True)
    if not leans_on_previous(question):
        return Resolution(question)
    return Resolution(f"{strip_asks(previous)}，{question.strip()}", merged=True)


_RESPECTIVELY = re.compile(r"(和|与|、|及)")  # joins the things a "分别" question asks the same of
_ITEM_END = re.compile(r"[的，,（(。？?]|分别")
_BOUND = frozenset("的在和与及对按把被将从为是，,。？?（）()、")  # words that end an item going backwards


def _first_item(before: str, length: int) -> str:
    """The first of two joined items: the jieba words just before the conjunction, as long as the second item, with
    a lone character before them that belongs to them ("非" of 非化石能源占比)."""
    words = tokenize.cut_words(before)
    taken: list[str] = []
    while words and sum(map(len, taken)) < length and words[-1] not in _BOUND:
        taken.insert(0, words.pop())
    if taken and words and len(words[-1]) == 1 and words[-1] not in _BOUND:
        taken.insert(0, words.pop())
    return "".join(taken)


def split_respectively(question: str) -> list[str]:
    """"报告书和报告表的审批时限分别是多少天？" asks the same of two things: one question for each ("报告书的审批时限是
    多少天？", "报告表的…"). The second item runs from the conjunction to the next 的, comma or 分别; the first is as
    long a run of jieba words before it. Anything else comes back as one question."""
    if "分别" not in question:
        return [question]
    head = question[:question.index("分别")]
    for m in reversed(list(_RESPECTIVELY.finditer(head))):
        end = _ITEM_END.search(question, m.end())
        second = question[m.end():end.start()] if end else ""
        if not 2 <= len(second) <= 16:
            continue
        first = _first_item(question[:m.start()], len(second))
        if not first:
            continue
        joined = first + m.group(1) + second
        rest = question.replace("分别", "", 1)
        return [rest.replace(joined, first, 1), rest.replace(joined, second, 1)]
    return [question]


def split_parts(question: str) -> list[str]:
    """The parts of a question that asks several things ("…几点到几点？总共几个小时？", "报告书和报告表分别…"), each
    read on its own.

    Only sentences that each ask something count as parts; a later part is read with the first part's topic
    unless it is a full question of its own. A single question comes back as one part, or as one per thing it asks
    the same of ("分别", see ``split_respectively``).
    """
    pieces = [p for p in _PART_SPLIT.split(question.strip()) if p.strip("？? ")]
    asking = [p for p in pieces if _ASK_RE.search(p)]
    if len(pieces) < 2 or len(asking) != len(pieces):
        return split_respectively(question)
    first = pieces[0]
    parts = [first]
    for p in pieces[1:]:
        own_topic = len(topic_words(p)) > MAX_PART_TOPIC_WORDS and not leans_on_previous(p)
        parts.append(p if own_topic else f"{strip_asks(first)}，{p.strip()}")
    return parts
