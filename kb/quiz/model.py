"""Quiz data: item, citation and fact types, and the normalisation that compares values and grades answers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

from kb.quiz.grading import canonical, is_short_party

KINDS = ("mcq", "blank", "judge")
FACT_TYPES = ("deadline", "number", "party", "penalty", "period", "ban", "permit")
KIND_LABELS = {"mcq": "单选题", "blank": "填空题", "judge": "判断题"}
FACT_LABELS = {"deadline": "时限", "number": "数值", "party": "责任主体", "penalty": "处罚", "period": "期限",
               "ban": "用语", "permit": "审批或备案事项"}
# The skill an item asks for, by fact type: recall a date, figure or time limit (记忆), know who does what,
# how and what is banned (理解), apply the law to an offence: what it costs (应用).
DIFFICULTY = {"deadline": "记忆", "number": "记忆", "period": "记忆", "party": "理解", "permit": "理解",
              "ban": "理解", "penalty": "应用"}
DIFFICULTIES = ("记忆", "理解", "应用")
LAW_FACT_TYPES = ("penalty", "period", "ban", "permit")
TRUE_TEXT, FALSE_TEXT = "正确", "错误"
BLANK = "____"
LETTERS = "ABCD"
N_DISTRACTORS = 3
MAX_PASSAGE_CHARS = 180  # longer sentences make poor questions
NEAREST_POOL = 6  # distractors are drawn from this many nearest candidates

# ---------------------------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------------------------


@dataclass
class QuizCitation:
    """Where an item's fact is stated: the verbatim passage and its span in ``Document.text``."""

    doc_id: str
    title: str
    section: str
    passage: str
    start: int
    end: int
    article: str | None = None

    def label(self) -> str:
        """Short human-readable location: 《title》 plus the article or the innermost heading."""
        where = self.article or (self.section.split(" > ")[-1] if self.section else "")
        return f"《{self.title}》" + (f"{where}" if where else "")


@dataclass
class QuizItem:
    """One question with its key, explanation and citation.

    ``answer`` is the correct option text for ``mcq`` (``answer_letter`` gives its letter), the masked
    value for ``blank`` and 正确/错误 for ``judge``. ``fact`` is always the true value as written in the
    passage; ``distractors`` are the wrong values used (the wrong options, or the value swapped into a
    false ``judge`` statement).
    """

    id: str
    kind: str  # mcq | blank | judge
    stem: str
    options: list[str]
    answer: str
    answer_letter: str
    explanation: str
    citation: QuizCitation
    domain: str
    ob_id: str
    fact_type: str  # deadline | number | party | penalty | period | ban | permit
    fact: str
    distractors: list[str] = field(default_factory=list)
    difficulty: str = ""  # 记忆 | 理解 | 应用 (see DIFFICULTY)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (the citation nested)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> QuizItem:
        """Inverse of :meth:`to_dict`."""
        data = dict(d)
        data["citation"] = QuizCitation(**data["citation"])
        data["options"] = list(data.get("options") or [])
        data["distractors"] = list(data.get("distractors") or [])
        return cls(**data)

    def is_correct(self, response: str) -> bool:
        """Whether a response (option text, letter, or typed answer) is right, after normalisation."""
        r = norm_text(response)
        if not r:
            return False
        if self.kind == "mcq" and r.upper() == self.answer_letter:
            return True
        if self.kind == "blank" and canonical(self.fact_type, r) == canonical(self.fact_type, self.answer):
            return True
        if self.kind == "blank" and self.fact_type in ("party", "permit") and is_short_party(r, self.answer,
                                                                                             self.distractors):
            return True
        if self.kind == "blank" and self.fact_type == "number":
            a, b = _number(r.rstrip("%")), _number(norm_text(self.answer).rstrip("%"))
            if a is not None and b is not None:
                return a == b
        return r == norm_text(self.answer)


@dataclass
class Fact:
    """One quizzable fact: a value stated once in a verbatim passage, and how to ask about it."""

    fact_type: str  # one of FACT_TYPES
    value: str  # exactly as written in the passage
    citation: QuizCitation
    domain: str
    ob_id: str
    doc_kind: str  # plan | law (the kind of document, for plausible distractors)
    keys: tuple  # identities: a fact whose key was seen already is a duplicate
    unit: str = ""  # numbers: the unit the value is written with ("%", "万吨", "水质类别")
    year: str = ""  # deadlines: the year written in the expression
    subject: str = ""  # table facts: what is asked ("“X”的2020年目标值（单位：%）")
    table: str = ""  # table facts: the table name (专栏2 …)
    statement: str = ""  # law facts: the sentence asked on (the value in it), when not the passage itself
    subtype: str = ""  # law facts: amount | order | per-day, the unit of a period, the modal of a ban, who | document
    period: str = ""  # plan facts: "13th", or "12th" for the review table 专栏1
    context: str = ""  # law facts: the other passages of the cited article the register holds (its other paragraphs)

    @property
    def difficulty(self) -> str:
        """记忆, 理解 or 应用 (see DIFFICULTY)."""
        return DIFFICULTY.get(self.fact_type, "记忆")

    @property
    def passage_key(self) -> tuple[str, int, int]:
        """The cited span; one passage gives at most one item per quiz."""
        return (self.citation.doc_id, self.citation.start, self.citation.end)


# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

_YEAR_RE = re.compile(r"(?:19|20)\d\d")
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_DEADLINE_PREFIX = re.compile(r"^(?:截止到|截至|到|至|于|在)")
_PARTY_FOLD = (
    (re.compile(r"生态环境"), "环境保护"),
    (re.compile(r"行政主管部门"), "主管部门"),
    (re.compile(r"地方|各级|有关|相关|其他|的|及其|和|、|以及"), ""),
)
# Parties that make poor facts and unsafe distractors: pronouns, fragments, and catch-alls such as
# 任何单位和个人 (a statement about a more specific party would still be implied true).
_BAD_PARTY = re.compile(
    r"^(?:该|其|本|被|或者|和|及|以及|有下列|列入)|前款|下列"
    r"|任何|企业事业单位|生产经营者|单位和个人|法人|其他组织|有关单位|^有关部门$|^公民$"
)


# Bodies named by a relation ("原审批部门", "接到举报的部门") may be the very body another name denotes.
_RELATIONAL_PARTY = re.compile(
    r"^(?:原|接到|收到|受理|处理|所在地|上级)|审批部门|审批机关|指定的|的(?:部门|机关|机构|人民政府)$"
)


_PARTY_TAIL = re.compile(
    r"(?:(?!应|会同|组织|必须|不得|可以|负责)[\u4e00-\u9fff]){1,12}?(?:部门|机关|机构|单位|企业)"
    r"(?:应当|应|必须|不得|可以|要|须|负责|，)"
)


def _truncated_party(party: str, passage: str) -> bool:
    """The extracted party is the head of a longer name (县级以上人民政府|市场监督管理部门应当…)."""
    pos = passage.find(party)
    return pos >= 0 and bool(_PARTY_TAIL.match(passage, pos + len(party)))


def _usable_party(party: str) -> bool:
    return (len(_party_core(party)) >= 3 and not _BAD_PARTY.search(party)
            and not _RELATIONAL_PARTY.search(party))


def norm_text(text: str) -> str:
    """NFKC, no whitespace (for comparisons only)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


_SENTENCE_END = re.compile(r"[。；;！？]")


def sentence_bounds(text: str, at: int) -> tuple[int, int]:
    """Start and end of the sentence of ``text`` that holds position ``at``."""
    start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, max(at, 0))), default=0)
    end_match = _SENTENCE_END.search(text, max(at, 0))
    return start, end_match.start() if end_match else len(text)


def _deadline_core(text: str) -> str:
    return _DEADLINE_PREFIX.sub("", norm_text(text))


def _party_core(text: str) -> str:
    s = norm_text(text)
    for pattern, repl in _PARTY_FOLD:
        s = pattern.sub(repl, s)
    return s


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def same_value(fact_type: str, a: str, b: str) -> bool:
    """Whether two values are the same answer after normalisation (so one cannot be a distractor of the other)."""
    na, nb = norm_text(a), norm_text(b)
    if na == nb:
        return True
    if fact_type in ("penalty", "period", "ban") or (fact_type == "permit" and not _is_body(a)):
        return _overlapping_terms(fact_type, a, b)
    if fact_type == "deadline":
        ya, yb = _YEAR_RE.findall(na), _YEAR_RE.findall(nb)
        return _deadline_core(na) == _deadline_core(nb) or (bool(ya) and ya == yb)
    if fact_type == "number":
        xa, xb = _NUM_RE.findall(na), _NUM_RE.findall(nb)
        if xa and xb:
            return [float(x) for x in xa] == [float(x) for x in xb]
        return False
    for pa in _party_parts(a):
        for pb in _party_parts(b):
            ca, cb = _party_core(pa), _party_core(pb)
            if ca == cb or ca in cb or cb in ca:
                return True
            # the same kind of body at overlapping levels (县级以上地方人民政府 / 设区的市、县级人民政府)
            if _party_head(pa) and _party_head(pa) == _party_head(pb) and _levels(pa) & _levels(pb):
                return True
    return False


def _is_body(value: str) -> bool:
    return norm_text(value).endswith(("政府", "国务院", "部门", "机关", "机构", "单位"))


_TERM_SPLIT = re.compile(r"或者|、|和|及")


def _overlapping_terms(fact_type: str, a: str, b: str) -> bool:
    """Same canonical answer, or a part of one (停止生产或者使用 → 使用) inside the other."""
    ca, cb = canonical(fact_type, a), canonical(fact_type, b)
    if ca == cb or ca in cb or cb in ca:
        return True
    parts_a = [p for p in _TERM_SPLIT.split(ca) if len(p) >= 2]
    parts_b = [p for p in _TERM_SPLIT.split(cb) if len(p) >= 2]
    return any(p in cb for p in parts_a if p != ca) or any(p in ca for p in parts_b if p != cb)


_PARTY_SPLIT = re.compile(r"以及|及其|或者|和|及|与|、")


def _party_parts(party: str) -> list[str]:
    """A party and each party it lists ("A和B" -> A和B, A, B)."""
    return [x for x in dict.fromkeys([party, *_PARTY_SPLIT.split(party)]) if _party_core(x)]


_LEVELS = {"国务院": 4, "省": 3, "市": 2, "县": 1, "乡": 0}


def _levels(party: str) -> set[int]:
    """Administrative levels a party may sit at (0 乡 … 4 国务院); every level when it names none."""
    s = party.replace("自治区", "省").replace("直辖市", "省").replace("镇", "乡")
    out = {lvl for word, lvl in _LEVELS.items() if word in s}
    for m in re.finditer(r"(国务院|省|市|县|乡)级?以上", s):
        out.update(range(_LEVELS[m.group(1)], 5))
    if "各级" in s or not out:
        out = set(range(5))
    if "地方" in s:
        out.discard(_LEVELS["国务院"])  # 地方人民政府: local, never the State Council
    return out


def _party_head(party: str) -> str:
    """The kind of body, without its level: 人民政府 for governments, "环境保护主管部门" for departments."""
    core = _party_core(party)
    if core.endswith(("政府", "国务院")):
        return "政府"
    m = re.search(r"(?:政府|国务院)?([^政府院]*?(?:部门|机关|机构))$", core)
    return m.group(1) if m else ""


def _in_passage(value: str, passage: str) -> bool:
    return bool(value) and (value in passage or norm_text(value) in norm_text(passage))


def _occurrences(value: str, passage: str) -> int:
    return max(passage.count(value), norm_text(passage).count(norm_text(value)))


def _party_category(party: str) -> str:
    if party.endswith(("政府", "国务院")):
        return "gov"
    if party.endswith(("部门", "机关", "机构")):
        return "dept"
    return "unit"

