"""Extractive answer composer: route the question, pick the answering sentence, quote it with citations.

No LLM. The answer text is made only of verbatim pieces of cited passages (a whole sentence, or a
run of its clauses, optionally preceded by the sentence's own leading time clause), so every
number, date and party it states can be found in a citation. The key-fact lead (期限/数值/责任主体/条文)
is itself a substring of the quoted text or the cited passage.

Scoring of a candidate sentence = lexical support + route bonus + retrieval bonus ± anchors:
  * lexical support: IDF-weighted share of the question's content words present in the sentence
    (full credit), present only before it in the same passage or in the passage's title or section
    path (half credit: a sentence inherits the topic set by what precedes it, not by what follows),
    or partly present through jieba's sub-words of a long word (half credit × share of sub-words).
    Words are matched as substrings of the folded sentence, which is robust to jieba segmenting the
    same characters differently in a question and in a passage, and avoids tokenising passages.
  * route bonus: the sentence has what the question asks for (a date for deadline questions, a
    number with a unit for target questions, a party for party questions, a duty verb for law ones).
  * retrieval bonus: the passage's retrieval score, min-max normalised over the hits;
  * penalties for a sentence that misses the question's place (in it or before it) or names only other years (a plan
    question naming no time means the plan's own period), and a bonus when it, or the lead-in or next sentence
    quoted with it, states the fact next to the word the question asks it of ("罚多少" -> "…的罚款");
  * a phrase bonus for question words joined in the sentence as in the question ("县城污水集中处理率").
A question asking whether something is allowed ("能不能…") counts a sentence that permits or forbids as its route.
A colloquial phrase of the lexicon (kb/vocab/lexicon.tsv) counts as present when any of its official wordings is.
The answer's ``confidence`` is the lexical support of the chosen sentence (not counting question words no passage has
that only say how the question is put: "能管", "天上", "一年"), scaled down for each
anchor of the question the answer lacks (a year or plan period no passage mentions, a place, pollutant or
"…率" indicator the answering sentence and its context do not name, a foreign name no passage has, an asked-for
unit the sentence does not use, a change asked for that the sentence does not state; see ``_missing_anchors``);
below ``ComposerConfig.threshold`` (the answerability model's, else the lexical one) the composer abstains and
returns the nearest passages instead.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from indexing import tokenize
from indexing.types import Chunk, Citation, Obligation
from kb.ask.answerability import AnswerabilityModel, load_model
from kb.ask.query import PLACES, PLAN_PERIODS, POLLUTANTS, NormalizedQuery, fold_for_match, normalize_query

ROUTES = ("deadline", "target", "party", "list", "law", "definition", "general")


@dataclass(frozen=True)
class ComposerConfig:
    """Every weight and threshold of the composer, in one object that is passed in (eval passes its own)."""

    # The lexical threshold, used when no answerability model is loaded. Calibrated on eval/qa_dev.jsonl with the
    # production hybrid retriever: at 0.17 16/18 unanswerable questions are abstained on and 2/168 answerable ones
    # (1.2%) are. With the shipped model its threshold decides instead (see ``threshold``).
    abstain_threshold: float = 0.17
    anchor_miss_factor: float = 0.25  # confidence factor per question anchor (year, period, place, unit) missing
    route_bonus: float = 0.15  # the sentence carries the kind of fact the question asks for
    definition_bonus: float = 0.3  # the sentence defines a word of a definition question ("X，是指…")
    article_bonus: float = 0.5  # the passage is the law article the question names (第十条)
    # The sentence joins question words as the question does ("县城污水集中处理率", not "县城、城市污水处理率"):
    # this bonus times the share of adjacent question-word pairs found joined. Dev citations are equal from 0.1
    # to 0.2 and lose an answer at 0.25; 0.15 is the middle (eval/RESULTS.md).
    phrase_bonus: float = 0.15
    retrieval_weight: float = 0.15  # weight of the passage's normalised retrieval score
    # A question that names a document ("按环境影响评价法…") is answered from that document (dev set: q087, q116,
    # q128 were answered from another law quoting the same words).
    named_doc_bonus: float = 0.3
    # A sentence that neither names nor follows the place the question names answers for another place ("伊宁市"
    # asked, "全区…平均下降18.3%" found); one that names only years or plan periods other than the question's
    # answers for another time ("到2020年" asked, "“十二五”期间…提高到4.7%" found). The place penalty is 0.6, not
    # 0.3, since a follow-up carries the whole previous question: "那乌鲁木齐呢？" after a 北疆 question must quote
    # "乌鲁木齐市、昌吉市下降20%", not the 北疆 sentence that matches more of the other words.
    place_miss_penalty: float = 0.6
    time_conflict_penalty: float = 0.3
    # The sentence states the asked-for fact next to the word the question asks it of ("罚多少" -> "…的罚款").
    asked_bonus: float = 0.15
    context_credit: float = 0.5  # a word found earlier in the passage or in its title or section, not in the sentence
    extra_sentence_ratio: float = 0.85  # list/general answers add sentences scoring at least this share of the best
    # An abstention quotes the closest sentence as what the documents do say when at least this share of the
    # question's words is in it (a near miss); below it the question is out of scope and nothing is quoted.
    neighbour_min_support: float = 0.3
    # A calibrated model of "this answer is right" (kb/ask/answerability.json, fitted by eval/fit_answerability.py):
    # when set, its probability is the confidence and its threshold decides abstention.
    answerability: AnswerabilityModel | None = None

    @property
    def threshold(self) -> float:
        """The confidence below which the composer abstains: the model's threshold when there is a model."""
        return self.answerability.threshold if self.answerability else self.abstain_threshold


DEFAULT_CONFIG = ComposerConfig(answerability=load_model())
PARTIAL_CREDIT = 0.5  # a long word not found whole, scaled by the share of its sub-words found
MAX_QUOTE_CHARS = 100  # longer sentences are cut to their answering clauses
# Fact questions get a tight quote around the fact; law, definition and list ones need more of it.
QUOTE_LIMITS = {"deadline": 60, "target": 60, "party": 80, "definition": 160, "law": 160, "list": 300}
MAX_LIST_CHARS = 300  # budget for a list introduced by "：" and its items
MAX_LIST_ITEMS = 10
ABSTAIN_MESSAGE = "未在文件中找到明确答案。"
MAX_TITLES_SHOWN = 6
MAX_AGGREGATE_ITEMS = 30  # obligations listed in an aggregate answer ("2017年底前要完成哪些任务")

# Words that ask or hedge rather than name what is asked about (on top of tokenize.STOPWORDS).
_QUESTION_WORDS = frozenset(
    "何时 时候 什么时候 时间 哪一年 哪一天 哪天 哪里 多久 多长 多大 多高 几年 几个 几次 哪几 哪几项 哪几个 "
    "哪项 哪种 哪一条 哪条 第几条 需要 应该 能否 可否 能不能 可不可以 是不是 有没有 规定 要求 内容 情况 问题 "
    "包括 主要 具体 分别 目前 现在 现行 开始 最晚 最迟 一共 总共 共有 大概 一般 态度 程度 可能 什么样 定义 "
    "含义 意思 多少钱 期间 我国 不能 哪家 哪类 要不要 需不需要".split()
)

_CN_NUM = "〇○零一二两三四五六七八九十百千"
# A count with its measure word ("一次", "两个"): how a question is phrased, not what it is about (多久算一次 is not
# about 一次性办公用品).
_COUNT_WORD = re.compile(r"^[一二两三四五六七八九十几]+[次个回遍趟下]$")

# (route, cue) in priority order: the first route whose cue matches the question wins.
_ROUTE_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("law", re.compile(rf"第[{_CN_NUM}\d]+条|哪一?条|第几条|哪个条款")),
    ("definition", re.compile(r"是指|什么是|什么叫|何谓|定义|含义|指什么|是什么意思|所称")),
    ("party", re.compile(r"谁|哪个部门|哪些部门|什么部门|哪个单位|哪些单位|哪一级|哪级|哪个机关|什么机关|"
                         r"由.{0,12}负责|责任主体|主管部门是")),
    ("deadline", re.compile(r"哪年|哪一年|哪一?天|何时|什么时候|什么时间|期限|截止|时限|多久|多长时间|日期")),
    ("list", re.compile(r"哪些|有哪几|哪几|包括什么|包括哪|都有什么|有什么措施")),
    ("deadline", re.compile(r"之前|底前|年前|以前")),
    ("target", re.compile(r"多少|达到|比例|率|指标|目标值|几个|几次|(?<![这那])几(?:年|天)|多大|多高")),
    ("party", re.compile(r"负责|责任")),
    ("law", re.compile(r"法律规定|依照|依据|违反|处罚|罚款|法律责任|规定")),
]
_ASKS_ARTICLE = re.compile(r"哪一?条|第几条|哪个条款")
_ASKS_AUTHORITY = re.compile(r"(?:哪个|哪些|哪一?级|什么|哪类)(?:部门|机关|政府)|归谁管")
_AUTHORITY = re.compile(r"部门|机关|政府|委员会")

_UNITS = sorted(
    "% ％ ‰ 个百分点 万吨/日 吨/日 万吨 吨 千克 公斤 亿千瓦时 万千瓦时 千瓦时 万千瓦 亿立方米 万立方米 立方米 "
    "微克/立方米 毫克/立方米 万亩 亩 公顷 平方公里 公里 千米 米 亿元 万元 元 分贝 个 座 家 项 条 处 次 天 日 倍 "
    "人 户 辆 台 套".split(),
    key=len,
    reverse=True,
)
_UNIT = "|".join(re.escape(u) for u in _UNITS)
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
_DURATION = rf"[\d{_CN_NUM}]+\s*(?:个工作日|个月|小时|分钟|日|天|年)"
DEADLINE_RE = re.compile(
    r"(?:到|至|于|在)?\s*(?:19|20)\d{2}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?\s*"
    r"(?:底|末|年底|年末)?\s*(?:前|以前|之前)?"
    r"|(?:到|至)?“?十[二三四]五”?(?:期间|末|期末|时期)"
    r"|(?:每年)?\d{1,2}\s*月\s*\d{1,2}\s*日"
    rf"|{_DURATION}(?:内|以内|前|以上{_DURATION}以下|以上)|(?<=[满期])前{_DURATION}"
    rf"|(?:不得少于|不少于|至少|满|超过)\s*{_DURATION}"
)
_PARTY_SUFFIX = (
    r"(?:人民政府|政府|主管部门|有关部门|部门|单位|企业|机关|委员会|环境保护厅|生态环境厅|环保局|"
    r"机构|党委|经营者|生产者|排污者)"
)
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
# A question asking whether something is allowed ("水源地保护区里能不能开个口子排污水？", "法律允许生产和卖吗？") is
# answered by a sentence that permits or forbids it (dev: q148; held-out: t052; no question lost).
_PERMISSION_CUE = re.compile(
    r"能不能|可不可以|能否|可否|是否可以|允不允许|允许|让不让|准不准|行不行|(?:可以|能)[^，。？]{0,12}吗"
)
_PERMISSION_RE = re.compile(r"禁止|不得|严禁|不准|可以|允许")
_ENUMERATION_RE = re.compile(r"(?:[^、，。；]{1,20}、){2,}")  # at least three items joined by 、
_ENUM_RE = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|\d+[.、．])")
_LEAD_CLAUSE_RE = re.compile(r"^(?:到|至|在|于|从)?\s*(?:(?:19|20)\d{2}\s*年|“?十[二三四]五”?)[^，,]{0,6}$")
_ARTICLE_IN_Q = re.compile(rf"第[{_CN_NUM}]+条")
_SCOPES = frozenset(("全区", "全疆"))  # the plan's default scope: a sentence need not repeat it
_PLACE_NAMES = frozenset(fold_for_match(p) for p in PLACES if len(p) >= 2 and p not in ("城市", "村庄", "县城"))
# A pollutant or an indicator ("…率") a target question names is an anchor like a place: the figure for 细颗粒物 does
# not answer a question about 二氧化碳, nor 污泥无害化处理处置率 one about 绿化覆盖率.
_POLLUTANT_NAMES = frozenset(fold_for_match(p) for p in POLLUTANTS)
_INDICATOR_RE = re.compile(r"^[\u4e00-\u9fff]{2,8}率$")
# "多少亿元", "多少微克/立方米": the unit an amount is asked in (个/次/天… are too generic to require).
_ASKED_UNIT = re.compile(
    r"多少(" + "|".join(re.escape(u) for u in _UNITS if len(u) >= 2 and u not in ("个百分点",)) + ")"
)
_ANCHOR_RE = re.compile(r"^(?:(?:19|20)\d{2}年?|“?十[一二三四五]五”?|.{2,8}(?:省|市|县|州|地区|盟))$")
_TIME_ANCHOR_RE = re.compile(r"^(?:(?:19|20)\d{2}年?|“?十[一二三四五]五”?)$")
# Words asking for the fact; the content word before one ("罚多少", "下降多少") or after it ("多少比例征收") names
# what the fact is of.
_ASK_WORDS = frozenset("多少 几 多久 多长 多大 多高 多远 多少钱 几年 几次 几天 几个 哪年 哪一年 何时".split())
# Verbs of a target value ("达到多少"): every target sentence has one, so they only steer which value is quoted;
# the change verbs among them still have to be in the answering sentence ("下降多少" is not answered by a level).
_COMPARATORS = frozenset(
    "达到 达 不低于 不高于 不超过 低于 高于 控制 控制在 提高 提高到 提升到 降低到 降至 保持在 累计 增加到".split()
)
_CHANGES = frozenset("下降 降低 减少 增长 增加 削减 降".split())
_SENTENCE_TIME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=年)|(" + "|".join(PLAN_PERIODS) + ")")
_SENT_END = re.compile(r"[。！？；!?;]+[”’」』]*|\n+")
_CLAUSE_END = re.compile(r"[，,]|……")  # "……" joins the pieces of a quote
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TRAILING_PUNCT = "。；;，,、：: \t"
_SENTENCE_FINAL = "。！？；!?;：:"


class _AnyOf:
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


class _Near:
    """Matches where a feature matches in a text that also holds one of the asked words."""

    def __init__(self, feature: re.Pattern[str] | _AnyOf, asked: Sequence[str]) -> None:
        self.feature = feature
        self.asked = tuple(asked)

    def search(self, text: str) -> re.Match[str] | None:
        """The feature's match, when the text holds an asked word."""
        folded = fold_for_match(text)
        return self.feature.search(text) if any(a in folded for a in self.asked) else None


_FEATURES: dict[str, re.Pattern[str] | _AnyOf] = {
    "deadline": DEADLINE_RE,
    "target": _AnyOf(TARGET_RE, _TABLE_VALUE),
    "party": re.compile(_PARTY_SUFFIX),
    "list": _ENUMERATION_RE,
    "law": _DUTY_RE,
    "definition": _DEFINITION_RE,
}
_LEAD_LABELS = {"deadline": "期限", "target": "数值", "party": "责任主体"}


@dataclass
class Answer:
    """A composed answer; the first ``n_quoted`` citations are the passages the answer quotes.

    When ``abstained`` is true the citations are the nearest passages found, not support.
    ``confidence`` (0..1) is the score compared with ``ComposerConfig.threshold``.
    """

    question: str
    answer: str
    abstained: bool
    route: str
    citations: list[Citation] = field(default_factory=list)
    searched_docs: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.0
    n_quoted: int = 0
    resolved_question: str | None = None  # the question as answered, when a follow-up was expanded
    llm: dict | None = None  # kb.ask.llm.LLMResult.to_dict() when an LLM rewrote the answer
    features: dict[str, float] = field(default_factory=dict)  # what the answerability model read (not in the JSON)

    def to_dict(self, id: object = None) -> dict:
        """JSON shape of `kb ask --json` (design.md); each citation also says its role."""
        citations = []
        for i, c in enumerate(self.citations):
            d = c.to_dict()
            d["role"] = "nearest" if self.abstained else ("answer" if i < self.n_quoted else "support")
            citations.append(d)
        out = {
            "id": id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "route": self.route,
            "confidence": round(self.confidence, 4),
            "citations": citations,
            "searched_docs": self.searched_docs,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.resolved_question:
            out["resolved_question"] = self.resolved_question
        if self.llm is not None:
            out["llm"] = self.llm
        return out


@dataclass
class _Term:
    forms: tuple[str, ...]  # the word and its alternates, folded
    pieces: tuple[str, ...]  # jieba sub-words of a long word, for partial credit
    anchor: bool  # a year, plan period or place name: a question about another one is another question


@dataclass
class _Sentence:
    hit: int  # index into hits
    start: int
    end: int
    folded: str
    context: str  # folded title, section path and the passage's text before the sentence
    lex: float = 0.0
    score: float = 0.0
    lead: tuple[int, int] | None = None  # an item's list lead-in sentence, quoted before it
    follow: tuple[int, int] | None = None  # the next sentence of its paragraph, when it holds the asked-for fact


def _cues(question: str) -> list[str]:
    """All routes whose cues occur in the question, in priority order (no duplicates)."""
    return list(dict.fromkeys(name for name, cue in _ROUTE_CUES if cue.search(question)))


def route(question: str) -> str:
    """Kind of question: deadline, target, party, list, law, definition or general (by cue words)."""
    cues = _cues(normalize_query(question).text)
    return cues[0] if cues else "general"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a Chinese text: split after 。！？； (and ASCII !?;) and at line breaks.

    Each span keeps its terminator and excludes surrounding whitespace.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        end = m.start() if text[m.start()] == "\n" else m.end()
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _is_heading(sentence: str) -> bool:
    """A heading line or label without a figure: no final punctuation, short, not a table row."""
    if sentence.startswith("#"):
        return True
    return (
        sentence[-1] not in _SENTENCE_FINAL
        and "\t" not in sentence
        and "|" not in sentence
        and len(sentence) <= 40
        and not TARGET_RE.search(sentence)
    )


def _question_terms(nq: NormalizedQuery, words_of_question: Sequence[str], sentences: list[_Sentence],
                    indicators: bool = False) -> list[_Term]:
    """Content words of the question; with ``indicators`` (target questions) an indicator word ("…率") is an anchor.

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
    terms: dict[str, _Term] = {k: _Term(forms=(k, *v), pieces=(), anchor=False) for k, v in phrases.items()}
    for w in words:
        if w in terms:
            continue
        pieces = tuple(p for p in tokenize.cut(w) if len(p) >= 2 and p != w) if len(w) >= 3 else ()
        terms[w] = _Term(forms=(w, *alternates.get(w, ())), pieces=pieces,
                         anchor=bool(_ANCHOR_RE.match(w)) or w in _PLACE_NAMES or w in _POLLUTANT_NAMES
                         or (indicators and bool(_INDICATOR_RE.match(w))))
    return list(terms.values())


def _credit(term: _Term, text: str) -> float:
    if any(f in text for f in term.forms):
        return 1.0
    if term.pieces:
        return PARTIAL_CREDIT * sum(p in text for p in term.pieces) / len(term.pieces)
    return 0.0


_ASK_PREFIXES = "要被会能可将应需"  # jieba keeps "要罚", "被罚" as one word: the verb is what is asked of
_NOT_ASKED_OF = frozenset("要 能 会 可能 可以 需要 应该 必须 大概 一共 总共 最多 最少 至少 按 为 是 有".split())


def _asked_words(words_of_question: Sequence[str]) -> tuple[str, ...]:
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
        before = words[i - 1].lstrip(_ASK_PREFIXES) or words[i - 1] if i > 0 else ""
        if before and content(before):
            out.append(before)
        for after in words[i + 1:i + 3]:
            if not _CJK.search(after):
                break
            if content(after):
                out.append(after)
    return tuple(dict.fromkeys(out))


def _sentence_years(text: str) -> set[int]:
    """Years a sentence names, plan periods ("十二五") expanded to the years they cover."""
    years: set[int] = set()
    for m in _SENTENCE_TIME.finditer(text):
        if m.group(1):
            years.add(int(m.group(1)))
        else:
            first, last = PLAN_PERIODS[m.group(2)]
            years.update(range(first, last + 1))
    return years


def _idf_weights(terms: list[_Term], sentences: list[_Sentence], idf: Mapping[str, float] | None) -> list[float]:
    if idf:
        top = max(idf.values())
        return [max(idf.get(t.forms[0], top), 0.0) for t in terms]
    n = len(sentences)
    weights = []
    for t in terms:
        df = sum(1 for s in sentences if any(f in s.folded for f in t.forms))
        weights.append(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    return weights


def _clauses(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _CLAUSE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if e > s]


def _clause_score(text: str, terms: list[_Term], weights: list[float]) -> float:
    folded = fold_for_match(text)
    return sum(w * _credit(t, folded) for t, w in zip(terms, weights, strict=True))


def _cut_quote(
    sentence: str, terms: list[_Term], weights: list[float], feature: re.Pattern[str] | _AnyOf | None, limit: int,
    detach_fact: bool = False, asked: Sequence[str] = (),
) -> str:
    """The sentence, or for a long one its best run of clauses (plus its leading time clause).

    The run starts at the clause that best matches the question, grows by neighbouring clauses that
    add question words, and reaches the nearest clause holding the asked-for fact when it lacks one.
    With ``asked`` words, a clause holding both a fact and an asked word is the fact clause when there is one.
    With ``detach_fact``, a fact clause too far away to join the run is quoted on its own, joined to the
    run by "……" ("排放油烟的餐饮服务业经营者未安装油烟净化设施……处五千元以上五万元以下的罚款").
    """
    body = sentence.rstrip(_TRAILING_PUNCT)
    if len(body) <= limit:
        return body
    spans = _clauses(body)
    texts = [body[s:e] for s, e in spans]
    lead = 0 if len(spans) > 1 and _LEAD_CLAUSE_RE.match(texts[0].strip()) else None
    scores = [_clause_score(t, terms, weights) for t in texts]
    has_fact = [bool(feature and feature.search(t)) for t in texts]
    if asked and feature:  # the asked-for fact is the one stated next to what it is asked of
        near = [bool(_Near(feature, asked).search(t)) for t in texts]
        if any(near):
            has_fact = near
    best = max((i for i in range(len(spans)) if i != lead), key=lambda i: (scores[i], has_fact[i], -i))
    lo = hi = best

    def width(a: int, b: int) -> int:
        return spans[b][1] - spans[a][0]

    covered = fold_for_match(texts[best])
    grown = True
    while grown:
        grown = False
        for i in (lo - 1, hi + 1):
            if not 0 <= i < len(spans) or i == lead or width(min(lo, i), max(hi, i)) > limit:
                continue
            folded = fold_for_match(texts[i])
            if any(w > 0 and _credit(t, folded) > _credit(t, covered) for t, w in zip(terms, weights, strict=True)):
                lo, hi = min(lo, i), max(hi, i)
                covered = fold_for_match(body[spans[lo][0]:spans[hi][1]])
                grown = True
    detached = None
    if feature and not any(has_fact[lo:hi + 1]) and not (lead is not None and has_fact[lead]):
        nearest = sorted((abs(j - best), j) for j in range(len(spans)) if has_fact[j] and j != lead)
        for _, j in nearest:
            if width(min(lo, j), max(hi, j)) <= limit:
                lo, hi = min(lo, j), max(hi, j)
                break
        else:
            detached = nearest[0][1] if detach_fact and nearest else None
    quote = body[spans[lo][0]:spans[hi][1]]
    if detached is not None:
        fact = texts[detached].strip()
        quote = f"{quote}……{fact}" if detached > hi else f"{fact}……{quote}"
    if lead is not None and lo > 0:
        quote = f"{texts[lead].strip()}，{quote}"
    return quote


def _introduces(sentence: str) -> bool:
    """A sentence that introduces what follows it: a list lead-in ending in "：", or a title line (no final
    punctuation, not a table row) that survived as a candidate because it names a figure."""
    return sentence[-1] in "：:" or (sentence[-1] not in _SENTENCE_FINAL and "\t" not in sentence
                                    and "|" not in sentence and len(sentence) <= 60)


def _paragraph_end(text: str, spans: list[tuple[int, int]], j: int) -> int:
    """End of the paragraph starting at sentence j: its sentences up to a line break, within MAX_LIST_CHARS."""
    end = spans[j][1]
    for s, e in spans[j + 1:]:
        if "\n" in text[end:s] or e - spans[j][0] > MAX_LIST_CHARS:
            break
        end = e
    return end


def _lead_in(text: str, spans: list[tuple[int, int]], i: int) -> int | None:
    """Index of the sentence ending in "：" that introduces the list whose item is sentence i, if it is one."""
    if not _ENUM_RE.match(text[spans[i][0]:spans[i][1]]):
        return None
    j = i - 1
    while j >= 0 and _ENUM_RE.match(text[spans[j][0]:spans[j][1]]):
        j -= 1
    return j if j >= 0 and text[spans[j][1] - 1] in "：:" else None


def _list_lead(text: str, spans: list[tuple[int, int]], i: int, feature: re.Pattern[str] | _AnyOf,
               terms: list[_Term], weights: list[float]) -> tuple[int, int] | None:
    """For an enumerated item (sentence i: "（二）通过暗管…"), the sentence of its list's lead-in that holds the
    asked-for fact ("…处十日以上十五日以下拘留；情节较轻的，…："), the best-matching one when several do."""
    j = _lead_in(text, spans, i)
    if j is None:
        return None
    k = j  # the lead-in: sentences of the same paragraph up to the colon
    while k > 0 and "\n" not in text[spans[k - 1][1]:spans[k][0]] and text[spans[k - 1][1] - 1] not in "。！？":
        k -= 1
    found = [(_clause_score(text[a:b], terms, weights), -n, (a, b))
             for n, (a, b) in enumerate(spans[k:j + 1]) if feature.search(text[a:b])]
    return max(found)[2] if found else None


def _fact_follow(text: str, spans: list[tuple[int, int]], i: int,
                 feature: re.Pattern[str] | _AnyOf | _Near) -> tuple[int, int] | None:
    """The next sentence of sentence i's paragraph when it holds the asked-for fact ("…的单位和个人，…责令停止违法
    行为；对自然保护区造成破坏的，可以处以300元以上1万元以下的罚款")."""
    if i + 1 >= len(spans) or "\n" in text[spans[i][1]:spans[i + 1][0]] or text[spans[i][1] - 1] not in "；;":
        return None
    a, b = spans[i + 1]
    return (a, b) if feature.search(text[a:b]) else None


def _list_end(text: str, spans: list[tuple[int, int]], i: int) -> int:
    """Index one past the last item of the list introduced by sentence i (which ends with "：")."""
    j, total = i + 1, spans[i][1] - spans[i][0]
    while j < len(spans) and j - i <= MAX_LIST_ITEMS:
        s, e = spans[j]
        if not _ENUM_RE.match(text[s:e]) or total + e - s > MAX_LIST_CHARS:
            break
        total += e - s
        j += 1
    return j


def _party(clause: str) -> str | None:
    m = _PARTY_BY.search(clause)
    if m:
        return m.group(1)
    m = PARTY_RE.search(clause)
    return m.group(0) if m else None


def _key_facts(quote: str, cues: list[str], terms: list[_Term], weights: list[float],
               asked: Sequence[str] = (), authority: bool = False) -> list[str]:
    """Facts like "期限：2017年底前", "数值：90%" that are substrings of the quote.

    Each fact is taken from the clause of the quote that best matches the question among those
    holding such a fact (so "…达到71.6%，其中乌鲁木齐市达到75%" answers 75% for 乌鲁木齐市), preferring a clause
    that also holds an asked word (see ``_asked_words``). With ``authority`` (the question asks which department or
    government) a clause whose party is one comes first.
    """
    clauses = [quote[s:e] for s, e in _clauses(quote)]
    # A clause opening with 其中 narrows the sentence to a sub-case; when it matches the question at
    # all, the question is about that sub-case.
    narrow = sum(weights)
    scores = [_clause_score(c, terms, weights) for c in clauses]
    scores = [sc + (narrow if sc > 0 and c.startswith("其中") else 0.0) for sc, c in zip(scores, clauses, strict=True)]
    facts = []
    for cue in cues:
        if cue not in _LEAD_LABELS:
            continue
        patterns = (TARGET_VALUE_RE, TARGET_RE) if cue == "target" else (_FEATURES[cue],)
        # A clause holding an asked word first, then the more specific pattern, then the better-matching clause.
        found = [(cue == "party" and authority and bool(_AUTHORITY.search(_party(c) or "")),
                  any(a in fold_for_match(c) for a in asked), -p, scores[i], -i, c)
                 for p, pattern in enumerate(patterns) for i, c in enumerate(clauses) if pattern.search(c)]
        if found:
            _, _, p, *_, clause = max(found)
            pattern = patterns[-p]
            value = _party(clause) if cue == "party" else pattern.search(clause).group(0).strip()
            if value:
                facts.append(f"{_LEAD_LABELS[cue]}：{value}")
    return facts


def _header(chunk: Chunk) -> str:
    """What the index put before the passage's text: title, section path, table title and header."""
    if chunk.embed_text.endswith(chunk.text) and len(chunk.embed_text) > len(chunk.text):
        return chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)]
    return f"{chunk.title}\n{chunk.section}"


def _definition_feature(terms: list[_Term]) -> re.Pattern[str]:
    """A sentence defining one of the question's words: "X，是指…", "本法所称X…"."""
    names = "|".join(re.escape(f) for t in terms for f in t.forms)
    return re.compile(rf"(?:{names})[”」]?[，,]?\s*(?:是指|系指|指的是)|所称“?(?:{names})")


def _short_title(title: str) -> str:
    """How people name a document: "中华人民共和国环境保护税法 附表一：…" -> "环境保护税法"."""
    return re.split(r"[\s（(]", title.removeprefix("中华人民共和国"), maxsplit=1)[0]


def _named_documents(question: str, titles: Sequence[str]) -> set[str]:
    """Titles among ``titles`` whose short name the question uses; the longest name wins where names overlap
    (环境噪声污染防治法 is not 噪声污染防治法)."""
    by_name: dict[str, set[str]] = {}
    for t in titles:
        name = _short_title(t)
        if len(name) >= 3:
            by_name.setdefault(name, set()).add(t)
    found: list[tuple[int, int, str]] = []
    for name in sorted(by_name, key=len, reverse=True):
        for m in re.finditer(re.escape(name), question):
            if not any(a <= m.start() and m.end() <= b for a, b, _ in found):
                found.append((m.start(), m.end(), name))
    return set().union(*(by_name[name] for _, _, name in found)) if found else set()


@functools.cache
def _pos_tokenizer():
    import jieba.posseg

    return jieba.posseg.POSTokenizer(tokenize._tokenizer())


@functools.lru_cache(maxsize=256)
def _pos_tags(question: str) -> tuple[tuple[str, str], ...]:
    """(word, part-of-speech tag) pairs of a question by jieba; cached, since one answer asks for them twice."""
    with tokenize._lock:
        return tuple((p.word, p.flag) for p in _pos_tokenizer().lcut(question))


def _proper_names(question: str) -> set[str]:
    """Place and transliterated names in a question by jieba's part-of-speech tags (ns, nrt), folded."""
    return {fold_for_match(w) for w, flag in _pos_tags(question) if flag in ("ns", "nrt") and len(w) >= 2}


# jieba's tags for place words and numerals (天上, 楼上, 家里; 一年, 四周): a question's setting, not its topic.
# Pronouns (每年) and locatives (下游) are not among them: with either the unanswerable dev question q180 was answered.
_SETTING_TAGS = frozenset(("s", "m"))


def _setting_words(question: str) -> set[str]:
    """Place words and numerals of a question by jieba's part-of-speech tags (天上, 楼上, 一年), folded."""
    return {fold_for_match(w) for w, flag in _pos_tags(question) if flag in _SETTING_TAGS}


def _missing_anchors(question: str, terms: list[_Term], best: _Sentence, passages: Sequence[str],
                     header: str) -> list[str]:
    """Anchors of the question missing from the answer: a year or plan period that no passage mentions, a place
    that neither the answering sentence nor what precedes it in its passage (title, section path, earlier text)
    mentions (another city's target is another question), a place or foreign name (jieba tags ns/nrt) that no
    passage mentions, and the unit when the question asks for an amount in one ("多少亿元") that neither the
    sentence nor its passage's header (title, section, table header) uses. Returns the missing names."""
    where = best.folded + "\n" + best.context
    known = {f for t in terms if t.anchor for f in t.forms}
    missing = [name for name in _proper_names(question)
               if name not in known and not any(name in text for text in passages)]
    for t in terms:
        if not t.anchor or t.forms[0] in _SCOPES:
            continue
        time_anchor = bool(_TIME_ANCHOR_RE.match(t.forms[0]))
        if not any(f in text for f in t.forms for text in (passages if time_anchor else [where])):
            missing.append(t.forms[0])
    unit = _ASKED_UNIT.search(question)
    if unit and fold_for_match(unit.group(1)) not in best.folded + "\n" + header:
        missing.append(unit.group(1))
    return missing


def _phrasing_weight(terms: list[_Term], weights: list[float], passages: Sequence[str], setting: set[str]) -> float:
    """Weight of the question's words that say how it is put, not what it asks, and that no passage has: a modal and
    a verb jieba keeps as one word ("能管", "要罚"), a place word or numeral ("天上", "一年"). Their absence is no sign
    of missing evidence."""
    def phrasing(t: _Term) -> bool:
        word = t.forms[0]
        return (len(word) == 2 and word[0] in _ASK_PREFIXES) or (word in setting and not t.anchor)

    return sum(w for t, w in zip(terms, weights, strict=True)
               if phrasing(t) and not any(f in p for p in passages for f in t.forms))


def _quoted_with(sent: _Sentence, text: str) -> list[str]:
    """The sentence and what is quoted with it (its list's lead-in, or the next sentence holding the fact), folded."""
    return [sent.folded, *(fold_for_match(text[span[0]:span[1]]) for span in (sent.lead, sent.follow) if span)]


def _citation(n: int, chunk: Chunk, score: float, highlight: tuple[int, int] | None) -> Citation:
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, text=chunk.text,
                    start=chunk.start, end=chunk.end, score=float(score), article=chunk.article,
                    page=chunk.page, highlight=highlight)


def _best_spans(ranked: list[_Sentence]) -> dict[int, tuple[int, int]]:
    """Span of each hit's best-ranked sentence that shares a word with the question."""
    spans: dict[int, tuple[int, int]] = {}
    for s in ranked:
        if s.lex > 0:
            spans.setdefault(s.hit, (s.start, s.end))
    return spans


def _titles_line(titles: Sequence[str]) -> str:
    shown = [t if t.startswith("《") else f"《{t}》" for t in titles[:MAX_TITLES_SHOWN]]
    more = f"等 {len(titles)} 份文件" if len(titles) > MAX_TITLES_SHOWN else ""
    return "、".join(shown) + more if shown else "（无）"


def _answer_features(best: _Sentence, ranked: list[_Sentence], hits: list[tuple[Chunk, float]],
                     feature: re.Pattern[str] | _AnyOf | None,
                     terms: list[_Term], weights: list[float], passages: Sequence[str], support: float,
                     lexical: float, missing: list[str], signals: Mapping[str, float] | None) -> dict[str, float]:
    """What decides whether the best sentence answers the question (kb.ask.answerability reads these)."""
    total = sum(weights) or 1.0
    chunk = hits[best.hit][0]
    text = chunk.text[best.start:best.end]
    found_anywhere = sum(w for t, w in zip(terms, weights, strict=True)
                         if any(f in p for p in passages for f in t.forms))
    found_in_best = sum(w for t, w in zip(terms, weights, strict=True)
                        if any(f in passages[best.hit] for f in t.forms))
    second = ranked[1].score if len(ranked) > 1 else 0.0
    out = {
        "support": support,
        "lexical": lexical,
        "missing": float(len(missing)),
        "route_fact": float(bool(feature and feature.search(text)) or bool(best.lead or best.follow)),
        "margin": best.score - second,
        "coverage_hits": found_anywhere / total,
        "coverage_best": found_in_best / total,
        "best_rank": float(best.hit),
        "n_terms": float(len(terms)),
    }
    for key, value in (signals or {}).items():
        out[key] = float(value)
    return out


def compose(
    question: str,
    hits: list[tuple[Chunk, float]],
    k: int = 5,
    route: str | None = None,
    *,
    idf: Mapping[str, float] | None = None,
    searched_docs: Sequence[str] | None = None,
    config: ComposerConfig | None = None,
    signals: Mapping[str, float] | None = None,
) -> Answer:
    """Answer a question from ranked retrieval hits by quoting the best sentence(s), with citations.

    ``route`` overrides the routing of the question. ``idf`` optionally gives corpus IDF weights of
    words (otherwise they are computed over the candidate sentences). ``searched_docs`` are the titles
    of the documents searched, named when the composer abstains (default: the titles of the hits).
    ``config`` holds the weights and thresholds (default ``DEFAULT_CONFIG``); ``signals`` are the retriever's
    raw scores of the question (``Searcher.search_with_signals``), read by the answerability model.
    """
    cfg = config or DEFAULT_CONFIG
    t0 = time.perf_counter()
    nq = normalize_query(question)
    cues = _cues(nq.text)
    chosen_route = route or (cues[0] if cues else "general")
    if chosen_route not in ROUTES:
        raise ValueError(f"unknown route: {chosen_route}")
    cues = [chosen_route, *(c for c in cues if c != chosen_route)]
    titles = list(searched_docs) if searched_docs is not None else list(dict.fromkeys(c.title for c, _ in hits))

    # Candidate sentences, the first copy of each (overlapping chunks repeat sentences).
    spans_by_hit = [split_sentences(chunk.text) for chunk, _ in hits]
    sentences: list[_Sentence] = []
    seen: set[str] = set()
    for h, (chunk, _) in enumerate(hits):
        context = fold_for_match(_header(chunk))
        for s, e in spans_by_hit[h]:
            text = chunk.text[s:e]
            folded = fold_for_match(text)
            if folded not in seen and not _is_heading(text):
                seen.add(folded)
                sentences.append(_Sentence(hit=h, start=s, end=e, folded=folded, context=context))
            context += "\n" + folded

    question_words = tokenize.cut_words(nq.text)  # jieba once, for the terms and for the asked-of words
    folded_q = fold_for_match(nq.text)
    terms = _question_terms(nq, question_words, sentences, indicators=chosen_route == "target")
    weights = _idf_weights(terms, sentences, idf)
    pairs = [a.forms[0] + b.forms[0] for a, b in itertools.pairwise(terms) if a.forms[0] + b.forms[0] in folded_q]
    total = sum(weights)
    scores = [float(s) for _, s in hits]
    lo_s, hi_s = (min(scores), max(scores)) if scores else (0.0, 0.0)
    named = _named_documents(nq.text, [c.title for c, _ in hits])
    passages = [fold_for_match(f"{c.title}\n{c.section}\n{c.text}") for c, _ in hits]
    article = _ARTICLE_IN_Q.search(nq.text)
    feature = _definition_feature(terms) if chosen_route == "definition" and terms else _FEATURES.get(chosen_route)
    if chosen_route == "general" and _PERMISSION_CUE.search(nq.text):
        feature = _PERMISSION_RE  # "能不能…" is answered by what the documents permit or forbid
    bonus = cfg.definition_bonus if chosen_route == "definition" else cfg.route_bonus
    asked = _asked_words(question_words) if chosen_route in _LEAD_LABELS else ()
    specific = [a for a in asked if a not in _COMPARATORS and a not in _CHANGES]
    near = _Near(feature, specific) if specific and feature else None
    places = [t for t in terms if t.anchor and not _TIME_ANCHOR_RE.match(t.forms[0]) and t.forms[0] not in _SCOPES]
    years = set(nq.years)
    for sent in sentences:
        chunk = hits[sent.hit][0]
        support = 0.0
        for t, w in zip(terms, weights, strict=True):
            if w > 0:
                support += w * max(_credit(t, sent.folded), cfg.context_credit * _credit(t, sent.context))
        sent.lex = support / total if total > 0 else 0.0
        retrieval = (scores[sent.hit] - lo_s) / (hi_s - lo_s) if hi_s > lo_s else 1.0
        sent.score = sent.lex + cfg.retrieval_weight * retrieval
        if pairs:
            sent.score += cfg.phrase_bonus * sum(p in sent.folded for p in pairs) / len(pairs)
        if feature and feature.search(chunk.text[sent.start:sent.end]):
            sent.score += bonus
        elif feature and chosen_route in _LEAD_LABELS:
            spans = spans_by_hit[sent.hit]
            i = spans.index((sent.start, sent.end))
            sent.lead = _list_lead(chunk.text, spans, i, feature, terms, weights)
            sent.follow = None if sent.lead else _fact_follow(chunk.text, spans, i, near or feature)
            if sent.lead or sent.follow:
                sent.score += bonus
        if article and (chunk.article == article.group(0) or chunk.text.startswith(article.group(0))):
            sent.score += cfg.article_bonus
        if chunk.title in named:
            sent.score += cfg.named_doc_bonus
        where = sent.folded + "\n" + sent.context
        if any(not any(f in where for f in t.forms) for t in places):
            sent.score -= cfg.place_miss_penalty
        named_years = _sentence_years(sent.folded)
        asked_years = years
        if not years and chunk.kind == "plan":  # the plan's own period ("十三五") is the time a plan question means
            asked_years = _sentence_years(fold_for_match(chunk.title))
            named_years = named_years or _sentence_years(fold_for_match(chunk.section))
        if asked_years and named_years and not named_years & asked_years:
            sent.score -= cfg.time_conflict_penalty
        if near and any(near.search(piece[a:b])
                        for piece in _quoted_with(sent, chunk.text) for a, b in _clauses(piece)):
            sent.score += cfg.asked_bonus
    ranked = sorted(sentences, key=lambda s: (-s.score, s.hit, s.start))
    best = ranked[0] if ranked else None
    missing = (_missing_anchors(nq.text, terms, best, passages, fold_for_match(_header(hits[best.hit][0])))
               if best else [])
    changes = [a for a in asked if a in _CHANGES]
    if best and changes and "\t" not in best.folded and not any(a in best.folded for a in changes):
        missing.append(changes[0])  # "下降多少" answered by a sentence that states no change
    phrasing = _phrasing_weight(terms, weights, passages, _setting_words(nq.text))
    support = min(1.0, best.lex * total / (total - phrasing)) if best and total > phrasing else 0.0
    lexical = support * cfg.anchor_miss_factor ** len(missing)
    features = _answer_features(best, ranked, hits, feature, terms, weights, passages, support, lexical,
                                missing, signals) if best else {}
    model = cfg.answerability
    confidence = model.probability(features) if model and best else lexical
    # No question word is found whole in any passage: whatever matched, matched in part ("个人" of 个人所得税).
    nothing_found = best is not None and features.get("coverage_hits", 1.0) == 0.0
    if best is None or nothing_found or confidence < cfg.threshold:
        neighbour = best if best is not None and best.lex >= cfg.neighbour_min_support else None
        order = [h for h in range(min(k, len(hits))) if neighbour is None or h != neighbour.hit]
        text = ABSTAIN_MESSAGE
        if neighbour is not None:  # a near miss: say what the documents lack, and what they do say
            order = [neighbour.hit, *order][:k]
            chunk = hits[neighbour.hit][0]
            quote = _cut_quote(chunk.text[neighbour.start:neighbour.end], terms, weights, feature, MAX_QUOTE_CHARS)
            lack = f"文件没有给出与问题中“{'、'.join(dict.fromkeys(missing))}”对应的内容。" if missing else ""
            text += f"{lack}文件中与此最接近的内容是：{quote} [1]。"
        best_span = _best_spans(ranked)
        citations = [_citation(n + 1, hits[h][0], hits[h][1], best_span.get(h)) for n, h in enumerate(order)]
        return Answer(question=question, answer=f"{text}已检索：{_titles_line(titles)}",
                      abstained=True, route=chosen_route, citations=citations, searched_docs=titles,
                      timings_ms={"compose": (time.perf_counter() - t0) * 1000}, confidence=confidence,
                      features=features)

    # The answering sentences: the best one; list/general questions may add close runners-up.
    extra = {"list": 2, "general": 1}.get(chosen_route, 0)
    if _introduces(hits[best.hit][0].text[best.start:best.end]):
        extra = 0  # the best sentence introduces a list or a paragraph: what follows it is the answer
    runners_up = [s for s in ranked[1:] if s.score >= cfg.extra_sentence_ratio * best.score
                  and s.lex >= cfg.abstain_threshold]
    order: list[int] = []  # hit indices in citation order
    highlights: dict[int, tuple[int, int]] = {}
    quotes: list[tuple[str, int]] = []
    for sent in [best, *runners_up[:extra]]:
        chunk = hits[sent.hit][0]
        spans = spans_by_hit[sent.hit]
        text = chunk.text[sent.start:sent.end]
        i = spans.index((sent.start, sent.end))
        if text[-1] in "：:":
            end = spans[_list_end(chunk.text, spans, i) - 1][1]
            quote = chunk.text[sent.start:end].replace("\n", "").rstrip(_TRAILING_PUNCT)
        elif _introduces(text) and i + 1 < len(spans):  # a title line ("2. …的北疆4个城市"): add what it titles
            end = _paragraph_end(chunk.text, spans, i + 1)
            quote = text + chunk.text[spans[i + 1][0]:end].replace("\n", "").rstrip(_TRAILING_PUNCT)
        else:
            end = sent.end
            limit = QUOTE_LIMITS.get(chosen_route, MAX_QUOTE_CHARS)
            quote = _cut_quote(text, terms, weights, feature, limit, detach_fact=chosen_route in _LEAD_LABELS,
                               asked=asked)
            if sent.lead:  # an item of a list whose lead-in states the fact: quote both
                lead_text = chunk.text[sent.lead[0]:sent.lead[1]]
                lead_quote = _cut_quote(lead_text, terms, weights, feature, limit, detach_fact=True, asked=asked)
                quote = f"{lead_quote}……{quote}"
            elif sent.follow:  # the offence in one sentence, its penalty in the next: quote both
                end = sent.follow[1]
                follow_text = chunk.text[sent.follow[0]:end]
                follow_quote = _cut_quote(follow_text, terms, weights, feature, limit, detach_fact=True, asked=asked)
                quote = f"{quote}……{follow_quote}"
            elif chosen_route not in _LEAD_LABELS and (j := _lead_in(chunk.text, spans, i)) is not None:
                # An item means what its list's lead-in says of it ("下列情形，暂予免征环境保护税：……（一）农业生产…").
                sent.lead = spans[j]
                lead_text = chunk.text[spans[j][0]:spans[j][1]]
                quote = f"{_cut_quote(lead_text, terms, weights, None, limit)}……{quote}"
        if sent.hit not in highlights:
            order.append(sent.hit)
            highlights[sent.hit] = (sent.lead[0] if sent.lead else sent.start, end)
        quotes.append((quote, order.index(sent.hit) + 1))

    n_quoted = len(order)
    for h in range(len(hits)):
        if len(order) >= max(k, n_quoted):
            break
        if h not in highlights:
            order.append(h)
    best_span = _best_spans(ranked)
    citations = [_citation(n + 1, hits[h][0], hits[h][1], highlights.get(h, best_span.get(h)))
                 for n, h in enumerate(order)]
    facts = _key_facts(quotes[0][0], cues, terms, weights, asked, authority=bool(_ASKS_AUTHORITY.search(nq.text)))
    best_chunk = hits[best.hit][0]
    if _ASKS_ARTICLE.search(nq.text) and best_chunk.article and best_chunk.article in best_chunk.text:
        facts.insert(0, f"条文：{best_chunk.article}")
    lead = "；".join(facts) + "。" if facts else ""
    text = lead + "；".join(f"{q} [{n}]" for q, n in quotes)
    return Answer(question=question, answer=text, abstained=False, route=chosen_route, citations=citations,
                  searched_docs=titles, timings_ms={"compose": (time.perf_counter() - t0) * 1000},
                  confidence=confidence, n_quoted=n_quoted, features=features)


def compose_from_obligations(
    question: str, records: Sequence[Obligation], route: str | None = None
) -> Answer:
    """Answer an aggregate question from obligation records: one numbered line per duty, cited.

    Each line is the record's verbatim deadline expression and action clause; the party is added only
    when it is written in the cited passage. Citations are the records' passages, one per passage.
    """
    t0 = time.perf_counter()
    citations: list[Citation] = []
    numbers: dict[tuple[str, int, int], int] = {}
    lines = []
    for ob in records[:MAX_AGGREGATE_ITEMS]:
        key = (ob.doc_id, ob.start, ob.end)
        if key not in numbers:
            numbers[key] = len(citations) + 1
            at = ob.passage.find(ob.action)
            citations.append(Citation(
                n=numbers[key], doc_id=ob.doc_id, title=ob.title, section=ob.section, text=ob.passage,
                start=ob.start, end=ob.end, score=1.0, article=ob.article,
                highlight=(at, at + len(ob.action)) if at >= 0 else None,
            ))
        party = f"（{ob.party}）" if ob.party and ob.party in ob.passage and ob.party not in ob.action else ""
        when = f"{ob.deadline_text}：" if ob.deadline_text and ob.deadline_text not in ob.action else ""
        lines.append(f"· {when}{ob.action.rstrip(_TRAILING_PUNCT)}{party} [{numbers[key]}]")
    # No counts or item numbers: every figure in the text is one a cited passage states.
    head = "文件中的相关义务如下：" if len(records) <= MAX_AGGREGATE_ITEMS else (
        "文件中的相关义务如下（仅列出一部分，完整清单请用 kb obligations 查询）："
    )
    return Answer(question=question, answer="\n".join([head, *lines]), abstained=False, route=route or "list",
                  citations=citations, searched_docs=list(dict.fromkeys(ob.title for ob in records)),
                  timings_ms={"compose": (time.perf_counter() - t0) * 1000}, confidence=1.0,
                  n_quoted=len(citations))
