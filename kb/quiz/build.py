"""Quiz builder for trainers: questions with answer keys and verbatim sources, from the obligations register.

Every question is built on one *fact* (:mod:`kb.quiz.facts`, :mod:`kb.quiz.law`):

- from the plan: a deadline ("2017年底前") of a task; a 2020 target or a reduction over 2015, in the text or
  in an indicator table (专栏2/3/5; the 十二五 review table 专栏1 only with ``period="12th"``); the party
  named in a task;
- from the laws: a penalty (fine range, 责令 measure, per-day fine) with the offence it punishes; a time limit
  (…日内, 不少于…年); a ban (禁止/不得/严禁); who approves or receives a filing, or which document is filed;
  the party named in a duty.

Only facts worth asking are used (:func:`kb.quiz.rules.worth_asking`). Three kinds of item are made from a
fact: ``mcq`` (the key and three distractors of its kind), ``blank`` (the key masked as "____"; keys longer
than 12 characters are only asked as mcq) and ``judge`` (the sentence as written, or with the key swapped
for a near miss of its kind). Every item carries a difficulty tag (记忆/理解/应用, from its fact type).

A mixed quiz follows a schedule that alternates plan and law items and balances the difficulty tags; no two
items of a quiz share (or overlap) a passage; repealed documents are left out unless asked; generation is
deterministic for a seed and for the filters. Exports live in :mod:`kb.quiz.export`, the register a quiz is
drawn from in :mod:`kb.register.store` (``register_for``), `kb quiz` in :mod:`kb.commands`.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, deque
from collections.abc import Iterable
from functools import lru_cache

from kb.quiz.facts import DistractorPools, _masked, distractor_pools, distractors, quiz_facts
from kb.quiz.grading import arabic
from kb.quiz.model import (
    _NUM_RE,
    BLANK,
    FACT_LABELS,
    FACT_TYPES,
    FALSE_TEXT,
    KINDS,
    LETTERS,
    N_DISTRACTORS,
    TRUE_TEXT,
    Fact,
    QuizItem,
)
from kb.quiz.rules import (
    rule_blank_asks_substance,
    rule_blank_key_short,
    rule_blank_not_end_year,
    rule_blank_party_unique,
    rule_document_not_given_away,
    rule_key_not_in_stem,
    rule_mcq_asks_a_choice,
    rule_options_balanced,
    rule_party_statement_complete,
)

PLAN_PERIOD_LABEL = "2016—2020年"  # the plan's period, after its title (which names 十三五)
# A mixed quiz's slots: plan and law alternate (5 plan, 7 law: the plan's pool is small, and it names only two
# parties, so plan party facts come in only when a filter leaves little else) and every difficulty tag gets a
# fair share (记忆: deadline, number, period; 理解: party, permit, ban; 应用: penalty).
# Two plan deadlines in eleven slots, not three in twelve: the plan's deadlines before its end year are one-off
# nodes that have passed, and reviews r8-r10 judged most of them not worth an official's time (12 of 17 such
# verdicts in r10); its 34 deadline facts also repeated across quizzes.
SCHEDULE = (
    ("plan", "deadline"), ("law", "penalty"), ("plan", "number"), ("law", "ban"), ("law", "permit"),
    ("plan", "deadline"), ("law", "period"), ("plan", "number"), ("law", "penalty"), ("law", "party"),
    ("law", "penalty"),
)
END_YEAR_SHARE = 3  # at most one deadline in this many is the plan's end year (while others remain)
_SUB_LABELS = {("penalty", "amount"): "罚款数额", ("penalty", "order"): "责令措施", ("penalty", "per-day"): "处罚方式",
               ("permit", "who"): "机关", ("permit", "document"): "文件"}
_HALF_PUNCT = re.compile(r"(?<=[\u4e00-\u9fff）”])\s*([,;:])\s*|\s*([,;:])\s*(?=[\u4e00-\u9fff（“])")
_FULL = {",": "，", ";": "；", ":": "："}


_TABLE_COUNT = re.compile(r"（共\d+项）")  # "（共20项）" in a table's title says nothing to the reader
_HALF_PARENS = re.compile(r"\(([^()]*[\u4e00-\u9fff][^()]*)\)")


_LATIN_CLASS = re.compile(r"(?<![A-Za-z])(IV|V|III|II|I)(?=类)")
_ROMAN = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ", "V": "Ⅴ"}


_NUMBER_RANGE = re.compile(r"(?<=\d)-(?=\d)")  # 10-20%, 1-2个: a range is written 10～20%


def cjk_punct(text: str) -> str:
    """Half-width commas, semicolons, colons and parentheses in Chinese text (from the PDF) in their full-width
    form, a range's hyphen as "～" (10-20% → 10～20%), and water-quality classes in Roman numerals (III类 → Ⅲ类)."""
    text = _NUMBER_RANGE.sub("～", text)
    text = _LATIN_CLASS.sub(lambda m: _ROMAN[m.group(1)], text)
    text = _HALF_PARENS.sub(r"（\1）", text)
    return _HALF_PUNCT.sub(lambda m: _FULL[m.group(1) or m.group(2)], text)


def _quoted(text: str) -> str:
    """``text`` in double quotes, its own double quotes made single (“大气十条” inside a quote: ‘大气十条’)."""
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"


def _item_id(fact: Fact, kind: str, stem: str) -> str:
    h = hashlib.sha1(f"{fact.ob_id}|{fact.passage_key}|{fact.fact_type}|{kind}|{stem}".encode()).hexdigest()
    return f"q-{h[:12]}"


def _where(fact: Fact) -> str:
    c = fact.citation
    if fact.doc_kind == "plan":
        return f"《{c.title}》（{PLAN_PERIOD_LABEL}）"
    return f"《{c.title}》{c.article or ''}"


def _explanation(fact: Fact, extra: str) -> str:
    c = fact.citation
    loc = c.article or c.section
    return f"{extra}出处：《{c.title}》{('（' + loc + '）') if loc else ''}。原文：“{c.passage}”"


def _stem(fact: Fact, kind: str, shown: str | None = None) -> str:
    """The question text; ``shown`` is the value a judge statement asserts."""
    label = _SUB_LABELS.get((fact.fact_type, fact.subtype), FACT_LABELS[fact.fact_type])
    where = _where(fact)
    if fact.subject:  # table fact: a composed question about one cell
        src = f"根据{where}{_TABLE_COUNT.sub('', fact.table)}"
        if kind == "mcq":
            return f"{src}，{fact.subject}是："
        if kind == "blank":
            return f"{src}，{fact.subject}为{BLANK}。"
        return f"判断正误：{src}，{fact.subject}为{cjk_punct(shown or fact.value)}。"
    raw = (fact.statement or fact.citation.passage).strip()
    before, found, after = raw.partition(fact.value)  # the value stays as written: it is the key
    sentence = cjk_punct(before) + found + cjk_punct(after) if found else cjk_punct(raw)
    if kind == "mcq":
        return f"根据{where}，{_quoted(_masked(sentence, fact.value))}中横线处应填入的{label}是："
    if kind == "blank":
        return f"根据{where}，填空（{label}）：{_quoted(_masked(sentence, fact.value))}"
    stated = sentence.replace(fact.value, shown or fact.value, 1)
    return f"判断正误：根据{where}，{_quoted(stated)}"


def make_item(fact: Fact, kind: str, pools: DistractorPools, rng: random.Random,
              truthful: bool | None = None) -> QuizItem | None:
    """One item of ``kind`` on ``fact``, or None when a rule of :mod:`kb.quiz.rules` forbids it; a true/false item
    states the fact as it is when ``truthful`` (swapped when False, a coin toss when None)."""
    blank_stem = _stem(fact, "blank")
    if not (rule_key_not_in_stem(fact, blank_stem) and rule_document_not_given_away(fact, blank_stem)
            and rule_party_statement_complete(fact)):
        return None
    base = dict(citation=fact.citation, domain=fact.domain, ob_id=fact.ob_id, fact_type=fact.fact_type,
                fact=fact.value, difficulty=fact.difficulty)
    if kind == "mcq":
        if not rule_mcq_asks_a_choice(fact):
            return None
        wrong = distractors(fact, pools, rng)
        if len(wrong) < N_DISTRACTORS or not rule_options_balanced(fact.value, wrong):
            return None
        options = [fact.value, *wrong]
        rng.shuffle(options)
        letter = LETTERS[options.index(fact.value)]
        stem = _stem(fact, kind)
        expl = _explanation(fact, f"正确答案：{letter}. {fact.value}。")
        return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=options, answer=fact.value,
                        answer_letter=letter, explanation=expl, distractors=wrong, **base)
    if kind == "blank":
        if not (rule_blank_key_short(fact.value) and rule_blank_not_end_year(fact)
                and rule_blank_asks_substance(fact) and rule_blank_party_unique(fact)):
            return None
        stem = _stem(fact, kind)
        expl = _explanation(fact, f"答案：{fact.value}。")
        return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=[], answer=fact.value,
                        answer_letter="", explanation=expl, **base)
    coin = rng.random() < 0.5  # drawn either way, so that the quiz's other draws do not depend on ``truthful``
    truthful = coin if truthful is None else truthful
    swap = distractors(fact, pools, rng, k=1, near_miss=True)
    if not swap:
        return None  # no fair false statement: another fact is asked (asked only as true, true would be the safe guess)
    wrong = [] if truthful else swap
    shown = fact.value if truthful else wrong[0]
    stem = _stem(fact, kind, shown)
    if truthful:
        expl = _explanation(fact, f"答案：{TRUE_TEXT}。题干与原文一致。")
    else:
        expl = _explanation(fact, f"答案：{FALSE_TEXT}。原文为“{fact.value}”，题干误作“{shown}”。")
    return QuizItem(id=_item_id(fact, kind, stem), kind=kind, stem=stem, options=[TRUE_TEXT, FALSE_TEXT],
                    answer=TRUE_TEXT if truthful else FALSE_TEXT, answer_letter="", explanation=expl,
                    distractors=wrong, **base)


def _kinds(kinds: str | Iterable[str] | None) -> list[str]:
    if kinds is None:
        return list(KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    out = []
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"未知题型：{k}（可选 {'/'.join(KINDS)}）")
        if k not in out:
            out.append(k)
    return out or list(KINDS)


def select_facts(register, doc: str | None = None, domain: str | None = None, period: str | None = None,
                 include_repealed: bool = False) -> list[Fact]:
    """The facts a quiz may use, filtered by document id and domain (a substring of the domain label)."""
    return [f for f in quiz_facts(register, period, include_repealed or bool(doc))
            if (not doc or f.citation.doc_id == doc) and (not domain or domain in f.domain)]


def _source(f: Fact) -> str:
    return "plan" if f.doc_kind == "plan" else "law"


def _spread_end_year(facts: list[Fact]) -> list[Fact]:
    """Deadlines reordered so that at most one in END_YEAR_SHARE is the plan's end year while others remain."""
    end = str(SCHEDULE_END_YEAR)
    late = [f for f in facts if f.year == end]
    other = [f for f in facts if f.year != end]
    out: list[Fact] = []
    while late or other:
        take_late = late and (not other or (len(out) + 1) % END_YEAR_SHARE == 0)
        out.append(late.pop(0) if take_late else other.pop(0))
    return out


SCHEDULE_END_YEAR = 2020
JUDGE_BAND = 2  # how far apart the counts of true and false statements may drift within a quiz
SAME_STATEMENT = 0.6  # share of character pairs (of the shorter) two statements share when they state one rule
STATEMENT_WINDOW = 80  # statements compared with: a batch of papers (the 80 items of a review), not a bank of all


def _figure(value: str) -> str:
    """The number a plan figure states, without its unit ("94%" and the table's "94" are one figure); "" for a
    figure without digits (a water class: Ⅲ类 is in many stems without giving anything away)."""
    m = _NUM_RE.search(value)
    return m.group(0) if m else ""


class _Used:
    """What a quiz (or a batch of papers) has asked. A passage that overlaps an asked one, or a figure already asked
    or shown in a stem (the plan states many figures twice: in the text and in its table; a statement of five figures
    gives away a blank on one of them, review r13), is not asked again, nor is an item whose stem shows a figure
    already asked. A penalty already the key of an item (一倍以上三倍以下 three times in one 10-item quiz, review r12)
    is asked again only when its bucket has nothing else (a bank of every item repeats the common ones)."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.figures: set[tuple[str, str]] = set()
        self.stems: dict[str, list[str]] = {}
        self.penalties: set[str] = set()
        self.statements: deque[tuple[str, str, str]] = deque(maxlen=STATEMENT_WINDOW)  # (doc, statement, key)

    def overlaps(self, f: Fact) -> bool:
        """Whether the fact's passage or figure was asked already, or its figure stands in an asked stem."""
        c = f.citation
        figure = _figure(f.value) if f.fact_type == "number" else ""
        if figure and ((c.doc_id, figure) in self.figures
                       or any(_shows(stem, figure) for stem in self.stems.get(c.doc_id, []))):
            return True
        return any(a < c.end and c.start < b for a, b in self.spans.get(c.doc_id, []))

    def gives_away(self, item: QuizItem, f: Fact) -> bool:
        """Whether the item's stem shows a figure already asked of its document, or its fact's statement restates,
        in another document, one of the last STATEMENT_WINDOW asked with either key in the other (two laws state one
        rule: 满5年…重新审核…十日内, review r14)."""
        doc = item.citation.doc_id
        if any(d == doc and _shows(item.stem, figure) for d, figure in self.figures):
            return True
        statement = f.statement or f.citation.passage
        return any(seen_doc != doc and _parallel(statement, f.value, seen, key)
                   for seen_doc, seen, key in self.statements)

    def repeats(self, f: Fact) -> bool:
        """Whether the fact is a penalty (a fine or a 责令 measure) already the key of an item."""
        return f.fact_type == "penalty" and f.value in self.penalties

    def add(self, f: Fact | QuizItem, stem: str = "") -> None:
        """Record an asked fact with its item's stem, or an item of another paper (its ``fact`` is the value)."""
        if isinstance(f, QuizItem):
            value, stem, statement = f.fact, f.stem, f.citation.passage
        else:
            value, statement = f.value, f.statement or f.citation.passage
        doc = f.citation.doc_id
        self.spans.setdefault(doc, []).append((f.citation.start, f.citation.end))
        self.statements.append((doc, statement, value))
        self.stems.setdefault(doc, []).append(stem)
        if f.fact_type == "number" and _figure(value):
            self.figures.add((doc, _figure(value)))
        if f.fact_type == "penalty":
            self.penalties.add(value)


@lru_cache(maxsize=8192)
def _plain(text: str) -> str:
    """A text folded for comparison: whitespace out, Chinese numerals as digits (五年 = 5年)."""
    return arabic(re.sub(r"\s+", "", text))


@lru_cache(maxsize=8192)
def _pairs(text: str) -> frozenset[str]:
    """The character pairs of a folded text."""
    plain = _plain(text)
    return frozenset(plain[i:i + 2] for i in range(len(plain) - 1))


def _parallel(statement: str, key: str, seen_statement: str, seen_key: str) -> bool:
    """Whether two statements state one rule (most character pairs of the shorter shared) and one's key stands in
    the other: the answer of one item would be read off the other's stem."""
    pa, pb = _pairs(statement), _pairs(seen_statement)
    if not pa or not pb or len(pa & pb) < SAME_STATEMENT * min(len(pa), len(pb)):
        return False
    return _plain(key) in _plain(seen_statement) or _plain(seen_key) in _plain(statement)


def _shows(stem: str, figure: str) -> bool:
    """Whether a stem states the figure (as a whole number: 330 is not in 3300)."""
    return bool(re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d.])", stem))


def _take(bucket: list[Fact], kind: str, pools: DistractorPools, rng: random.Random, used: _Used,
          dead: set[str], truthful: bool | None = None) -> QuizItem | None:
    """Make an item of ``kind`` from the first fact of ``bucket`` that can, removing that fact (``truthful`` as for
    :func:`make_item`); a repeated penalty only when no other fact of the bucket can."""
    for allow_repeat in (False, True):
        i = 0
        while i < len(bucket):
            f = bucket[i]
            if used.overlaps(f):
                bucket.pop(i)
                continue
            fid = repr(f.keys)
            if fid in dead or (used.repeats(f) and not allow_repeat):
                i += 1
                continue
            item = make_item(f, kind, pools, rng, truthful)
            if item is None or used.gives_away(item, f):
                dead.add(fid)
                i += 1
                continue
            bucket.pop(i)
            used.add(f, item.stem)
            return item
    return None


def generate(register, n: int = 10, seed: int = 0, kinds: str | Iterable[str] | None = None, doc: str | None = None,
             domain: str | None = None, period: str | None = None, include_repealed: bool = False,
             avoid: Iterable[QuizItem] = ()) -> list[QuizItem]:
    """Up to ``n`` items from the register, deterministic for ``seed``, the filters and ``avoid``.

    Kinds take turns (mcq, blank, judge …); the slots follow :data:`SCHEDULE` (plan and law alternating,
    difficulty balanced), a slot whose bucket is empty taking the next one that can give an item. The
    random order depends on the seed *and* the filters, so a document filter gives that document's own
    spread. A passage is asked at most once per quiz, and never when an item of ``avoid`` (earlier papers of
    a batch: A卷, B卷 …) asked it. Distractors come from the whole corpus.
    """
    kind_list = _kinds(kinds)
    if n <= 0:
        return []
    rng = random.Random(f"{seed}|{doc or ''}|{domain or ''}|{period or ''}")
    pools = distractor_pools(register)
    buckets: dict[tuple[str, str], list[Fact]] = {b: [] for b in SCHEDULE}
    for f in select_facts(register, doc, domain, period, include_repealed):
        buckets.setdefault((_source(f), f.fact_type), []).append(f)
    order = list(SCHEDULE) + [b for b in buckets if b not in SCHEDULE]
    for b in order:
        rng.shuffle(buckets[b])
    for b in order:
        if b[1] == "deadline":
            buckets[b] = _spread_end_year(buckets[b])
    offset = rng.randrange(len(SCHEDULE))
    used = _Used()
    for earlier in avoid:
        used.add(earlier)
    dead: dict[str, set[str]] = {k: set() for k in kind_list}  # facts that cannot make a kind
    items: list[QuizItem] = []
    taken: Counter[tuple[str, str]] = Counter()
    judged: Counter[bool] = Counter()  # true/false items so far, by whether the statement is true
    slot = 0
    stalled = 0
    while len(items) < n and stalled < len(kind_list):
        kind = kind_list[slot % len(kind_list)]
        start = (offset + slot) % len(SCHEDULE)
        slot += 1
        turn = [SCHEDULE[(start + j) % len(SCHEDULE)] for j in range(len(SCHEDULE))]
        turn += [b for b in order if b not in turn]  # kinds of fact outside the schedule: only as a fallback
        own = turn[0][0]
        # The slot's own bucket, then its source's least used ones (stable: schedule order), so that a document
        # without some kinds of fact still gets a spread of the others instead of the next in the schedule each time.
        turn[1:] = sorted(turn[1:], key=lambda b: (b[0] != own, taken[b]))
        # True/false keys stay within two of each other as the quiz goes, drawn at random inside that band: strict
        # alternation (正确, 错误, 正确 …) let review r14 guess every second key.
        truthful = None if abs(judged[True] - judged[False]) < JUDGE_BAND else judged[True] < judged[False]
        made = None
        for b in turn:
            made = _take(buckets[b], kind, pools, rng, used, dead[kind], truthful)
            if made is not None:
                taken[b] += 1
                if made.kind == "judge":
                    judged[made.answer == TRUE_TEXT] += 1
                break
        if made is None:
            stalled += 1
            continue
        stalled = 0
        items.append(made)
    return items


def available(register, doc: str | None = None, domain: str | None = None) -> dict[str, int]:
    """How many facts of each type the filters leave (an upper bound on a quiz's length)."""
    out = dict.fromkeys(FACT_TYPES, 0)
    for f in select_facts(register, doc, domain):
        out[f.fact_type] += 1
    return out


def quiz_domains(register) -> list[str]:
    """Domain labels that have at least one usable fact, sorted."""
    return sorted({f.domain for f in quiz_facts(register) if f.domain})


def quiz_documents(register, include_repealed: bool = False) -> list[tuple[str, str]]:
    """(title, doc_id) of the documents that have at least one usable fact, in corpus order."""
    seen: dict[str, str] = {}
    for f in quiz_facts(register, include_repealed=include_repealed):
        seen.setdefault(f.citation.doc_id, f.citation.title)
    order = {d: i for i, d in enumerate(getattr(register, "doc_order", []) or [])}
    return [(t, d) for d, t in sorted(seen.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
