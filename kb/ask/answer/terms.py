"""The question's terms: its content words and anchors, the words it asks a fact of, the documents it names.

A term is credited where it is found in a text: fully when one of its forms is there, in part when only some of
jieba's sub-words of a long word are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indexing import tokenize
from kb import vocab
from kb.ask.answer.types import Sentence, Term
from kb.ask.query import PLACES, POLLUTANTS, NormalizedQuery, fold_for_match

PARTIAL_CREDIT = 0.5  # a long word not found whole, scaled by the share of its sub-words found
# Words that ask or hedge rather than name what is asked about (on top of tokenize.STOPWORDS).
_QUESTION_WORDS = frozenset(
    "何时 时候 什么时候 时间 哪一年 哪一天 哪天 哪里 多久 多长 多大 多高 几年 几个 几次 哪几 哪几项 哪几个 "
    "哪项 哪种 哪一条 哪条 第几条 需要 应该 能否 可否 能不能 可不可以 是不是 有没有 规定 要求 内容 情况 问题 "
    "包括 主要 具体 分别 目前 现在 现行 开始 最晚 最迟 一共 总共 共有 大概 一般 态度 程度 可能 什么样 定义 "
    "含义 意思 多少钱 期间 我国 不能 哪家 哪类 要不要 需不需要".split()
)
# A count with its measure word ("一次", "两个"): how a question is phrased, not what it is about (多久算一次 is not
# about 一次性办公用品).
_COUNT_WORD = re.compile(r"^[一二两三四五六七八九十几]+[次个回遍趟下]$")
SCOPES = frozenset(("全区", "全疆"))  # the plan's default scope: a sentence need not repeat it
_PLACE_NAMES = frozenset(fold_for_match(p) for p in PLACES if len(p) >= 2 and p not in ("城市", "村庄", "县城"))
# A pollutant or an indicator ("…率") a target question names is an anchor like a place: the figure for 细颗粒物 does
# not answer a question about 二氧化碳, nor 污泥无害化处理处置率 one about 绿化覆盖率.
_POLLUTANT_NAMES = frozenset(fold_for_match(p) for p in POLLUTANTS)
_MEDIA = frozenset(vocab.words("media.tsv"))  # so is a medium: the 河流 figure does not answer a 地下水 question
_INDICATOR_RE = re.compile(r"^[\u4e00-\u9fff]{2,8}率$")
_ANCHOR_RE = re.compile(r"^(?:(?:19|20)\d{2}年?|“?十[一二三四五]五”?|.{2,8}(?:省|市|县|州|地区|盟))$")
TIME_ANCHOR_RE = re.compile(r"^(?:(?:19|20)\d{2}年?|“?十[一二三四五]五”?)$")
# Words asking for the fact; the content word before one ("罚多少", "下降多少") or after it ("多少比例征收") names
# what the fact is of.
_ASK_WORDS = frozenset("多少 几 多久 多长 多大 多高 多远 多少钱 几年 几次 几天 几个 哪年 哪一年 何时".split())
# Verbs of a target value ("达到多少"): every target sentence has one, so they only steer which value is quoted;
# the change verbs among them still have to be in the answering sentence ("下降多少" is not answered by a level).
COMPARATORS = frozenset(
    "达到 达 不低于 不高于 不超过 低于 高于 控制 控制在 提高 提高到 提升到 降低到 降至 保持在 累计 增加到".split()
)
CHANGES = frozenset("下降 降低 减少 增长 增加 削减 降".split())
_CJK = re.compile(r"[\u4e00-\u9fff]")


def question_terms(nq: NormalizedQuery, words_of_question: Sequence[str], sentences: list[Sentence],
                   indicators: bool = False) -> list[Term]:
    """Content words of the question; with ``indicators`` (target questions) an indicator word ("…率") or a medium
    (kb/vocab/media.tsv) is an anchor.

    jieba splits words it does not know into a word and a lone character (环境/日); such a pair is
    joined back when the joined form occurs in a candidate sentence, and the lone character is
    dropped otherwise (加油站/埋 stays 加油站).
    """
    alternates = {fold_for_match(k): tuple(fold_for_match(a) for a in v) for k, v in nq.alternates.items()}
    words: list[str] = []
    previous_kept = False
    for word in words_of_question:
        w = fold_for_match(word)
        if not w or w in tokenize.STOPWORDS or w in _QUESTION_WORDS or _COUNT_WORD.match(w) or not re.search(r"\w", w):
            previous_kept = False
            continue
        if len(w) == 1 and _CJK.match(w):
            joined = words[-1] + w if previous_kept else ""
            if joined and any(joined in s.folded for s in sentences):
                words[-1] = joined
            previous_kept = False
            continue
        words.append(w)
        previous_kept = True
    # A colloquial phrase of the lexicon is one term, matched by any of its official wordings (its words alone
    # would ask for what the documents never say: 放羊 is 放牧 there).
    phrases = {fold_for_match(k): tuple(fold_for_match(f) for f in v) for k, v in nq.phrases.items()}
    rest = fold_for_match(nq.text)  # the question without its lexicon phrases
    for k in phrases:
        rest = rest.replace(k, "\n")
    words = [w for w in words if w in rest or not any(w in k for k in phrases)]  # a word may also occur on its own
    terms: dict[str, Term] = {k: Term(forms=(k, *v), pieces=(), anchor=False) for k, v in phrases.items()}
    for w in words:
        if w in terms:
            continue
        pieces = tuple(p for p in tokenize.cut(w) if len(p) >= 2 and p != w) if len(w) >= 3 else ()
        terms[w] = Term(forms=(w, *alternates.get(w, ())), pieces=pieces,
                        anchor=bool(_ANCHOR_RE.match(w)) or w in _PLACE_NAMES or w in _POLLUTANT_NAMES
                        or (indicators and (bool(_INDICATOR_RE.match(w)) or w in _MEDIA)))
    return list(terms.values())


def credit(term: Term, text: str) -> float:
    """How much of a term a folded text has: 1 for a form of it, else the share of its sub-words, scaled down."""
    if any(f in text for f in term.forms):
        return 1.0
    if term.pieces:
        return PARTIAL_CREDIT * sum(p in text for p in term.pieces) / len(term.pieces)
    return 0.0


ASK_PREFIXES = "要被会能可将应需"  # jieba keeps "要罚", "被罚" as one word: the verb is what is asked of
_NOT_ASKED_OF = frozenset("要 能 会 可能 可以 需要 应该 必须 大概 一共 总共 最多 最少 至少 按 为 是 有".split())


def asked_words(words_of_question: Sequence[str]) -> tuple[str, ...]:
    """What the question (its jieba words) asks a fact of: the content word before 多少/几/多久… and up to two
    after it, folded ("个人可能被罚多少" -> 罚; "环保税按多少比例征收" -> 比例, 征收)."""
    words = [fold_for_match(w) for w in words_of_question]

    def content(w: str) -> bool:
        return bool(_CJK.search(w)) and w not in tokenize.STOPWORDS and w not in _NOT_ASKED_OF and (
            w not in _QUESTION_WORDS and w not in _ASK_WORDS)

    out: list[str] = []
    for i, w in enumerate(words):
        if w not in _ASK_WORDS:
            continue
        before = words[i - 1].lstrip(ASK_PREFIXES) or words[i - 1] if i > 0 else ""
        if before and content(before):
            out.append(before)
        for after in words[i + 1:i + 3]:
            if not _CJK.search(after):
                break
            if content(after):
                out.append(after)
    return tuple(dict.fromkeys(out))


def clause_score(text: str, terms: list[Term], weights: list[float]) -> float:
    """The weighted credit of the question's terms in a clause."""
    folded = fold_for_match(text)
    return sum(w * credit(t, folded) for t, w in zip(terms, weights, strict=True))


def spoken_name(title: str) -> str:
    """How people name a document: "中华人民共和国环境保护税法 附表一：…" -> "环境保护税法"."""
    return re.split(r"[\s（(]", title.removeprefix("中华人民共和国"), maxsplit=1)[0]


def named_documents(question: str, titles: Sequence[str]) -> set[str]:
    """Titles among ``titles`` whose short name the question uses; the longest name wins where names overlap
    (环境噪声污染防治法 is not 噪声污染防治法)."""
    by_name: dict[str, set[str]] = {}
    for t in titles:
        name = spoken_name(t)
        if len(name) >= 3:
            by_name.setdefault(name, set()).add(t)
    found: list[tuple[int, int, str]] = []
    for name in sorted(by_name, key=len, reverse=True):
        for m in re.finditer(re.escape(name), question):
            if not any(a <= m.start() and m.end() <= b for a, b, _ in found):
                found.append((m.start(), m.end(), name))
    return set().union(*(by_name[name] for _, _, name in found)) if found else set()
