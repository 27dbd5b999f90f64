"""Quiz facts and distractors for the law facts of the register (penalties, periods, bans, permits).

The facts come from ``Register.law_facts`` (extracted at index time by :mod:`kb.quiz.facts_law`); the
distractors are of the key's kind (see :func:`kb.quiz.rules.rule_same_kind`): fines of the same form and
numeral style drawn from the other fines of the corpus, nearest first; other 责令 measures; durations of the
same unit; the other modal options of a ban; other approving bodies of the same kind; other documents.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

from kb.quiz.bodies import admin_level, other_system
from kb.quiz.grading import arabic, canonical, cn_number
from kb.quiz.model import Fact, QuizCitation, norm_text, same_value
from kb.quiz.rules import (
    pick_distractors,
    rule_ban_swappable,
    rule_files_upward,
    rule_no_overlap,
    rule_not_in_article,
    rule_same_kind,
)
from kb.quiz.vocabulary import vocab

NEAREST = 6


def law_quiz_facts(register, include_repealed: bool = False) -> list[Fact]:
    """The register's law facts as quiz facts (repealed documents left out unless asked)."""
    status = getattr(register, "doc_status", {}) or {}
    out = []
    for lf in getattr(register, "law_facts", []) or []:
        if lf.doc_id in status and not include_repealed:
            continue
        cit = QuizCitation(doc_id=lf.doc_id, title=lf.title, section=lf.section, passage=lf.passage, start=lf.start,
                           end=lf.end, article=lf.article or None)
        key = (lf.fact_type, lf.doc_id, norm_text(lf.statement).replace(norm_text(lf.value), "_", 1))
        out.append(Fact(lf.fact_type, lf.value, cit, lf.domain, f"{lf.doc_id}#{lf.start}-{lf.end}", "law",
                        keys=(key,), unit=lf.subtype if lf.fact_type == "period" else "", statement=lf.statement,
                        subtype=lf.subtype))
    return out


def article_texts(register) -> dict[tuple[str, str], str]:
    """(doc_id, article) -> every passage of that article the register holds (its obligations and law facts)."""
    parts: dict[tuple[str, str], dict[str, None]] = {}
    for r in [*register.records, *(getattr(register, "law_facts", []) or [])]:
        if getattr(r, "article", None):
            parts.setdefault((r.doc_id, r.article), {})[r.passage] = None
    return {key: "\n".join(passages) for key, passages in parts.items()}


# A department of the State Council or of a province, named in full ("国务院卫生行政部门").
_UPPER_BODY = re.compile(r"(?:国务院|省、自治区、直辖市人民政府)[\u4e00-\u9fff]{2,14}?(?:主管|行政|管理)部门")


def law_pools(register) -> dict[str, list]:
    """Values of each law fact kind in the corpus: fines, approving bodies with their doc_id, and the State
    Council's and provinces' departments each law's passages name with their doc_id (options for a key of their
    level only, so that an upper body is not alone at its level: :func:`kb.quiz.rules.rule_level_not_unique`)."""
    amounts: dict[str, None] = {}
    bodies: dict[tuple[str, str], None] = {}
    upper: dict[tuple[str, str], None] = {}
    for lf in getattr(register, "law_facts", []) or []:
        if lf.fact_type == "penalty" and lf.subtype == "amount":
            amounts[lf.value] = None
        elif lf.fact_type == "permit" and lf.subtype == "who":
            bodies[(lf.value, lf.doc_id)] = None
    for (doc_id, _), text in article_texts(register).items():
        for m in _UPPER_BODY.finditer(text):
            upper[(m.group(0), doc_id)] = None
    return {"amounts": sorted(amounts), "bodies": sorted(bodies), "upper_bodies": sorted(upper)}


def _top(amount: str) -> float:
    nums = [cn_number(x) for x in re.findall(r"[\d.]+|[零〇一二两三四五六七八九十百千万]+", arabic(amount))]
    nums = [n for n in nums if n is not None]
    return max(nums) if nums else 0.0


def _duration_options(fact: Fact) -> list[str]:
    unit = fact.subtype
    digits = bool(re.search(r"\d", fact.value))
    words = vocab()["durations"].get(unit, [])
    return [(f"{cn_number(w):g}" if digits else w) + unit for w in words]


def _candidates(fact: Fact, pools: dict[str, list], party_pool: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
    """(candidate, distance) pairs of the key's kind; smaller distance first when drawing."""
    t, sub = fact.fact_type, fact.subtype
    v = vocab()
    if t == "penalty" and sub == "amount":
        top = _top(fact.value) or 1.0
        return [(a, abs(math.log((_top(a) or 1.0) / top))) for a in pools["amounts"]]
    if t == "penalty" and sub == "order":
        families = [f for f in v["order_measure_families"] if fact.value in f]
        return [(m, 0.0) for m in v["order_measures"] if any(m in f for f in families)]
    if t == "penalty":
        return [(m, 0.0) for m in v["per_day_options"]]
    if t == "period":
        key = cn_number(re.sub(r"\D*$", "", arabic(fact.value))) or 1.0
        out = []
        for c in _duration_options(fact):
            n = cn_number(re.sub(r"\D*$", "", arabic(c))) or 1.0
            out.append((c, abs(math.log(n / key))))
        return out
    if t == "ban":
        opts = v["ban_options"].get(fact.value, [])
        if any(m in fact.statement for m in v["ban_exception_markers"]):
            opts = [o for o in opts if "经批准" not in o]
        if not rule_ban_swappable(fact):
            opts = []
        return [(o, float(i)) for i, o in enumerate(opts)]
    if t == "permit" and sub == "document":
        family = next((f for f in v["filed_document_families"] if fact.value in f), [])
        return [(g[0], float(g[0] not in family)) for g in v["filed_documents"]]
    # A body another law names (核安全监督管理部门 in a 自然保护区 item) is no alternative a reader would weigh.
    doc = fact.citation.doc_id
    level = admin_level(fact.value)
    upper = [(p, d) for p, d in pools["upper_bodies"] if level is not None and admin_level(p) == level]
    return [(p, float(other_system(fact.value, p))) for p, d in [*pools["bodies"], *party_pool, *upper] if d == doc]


def _ok(fact: Fact, cand: str, chosen: Sequence[str]) -> bool:
    text = fact.statement + fact.citation.passage
    if not cand or cand in text or norm_text(cand) in norm_text(text):
        return False
    if canonical(fact.fact_type, cand) == canonical(fact.fact_type, fact.value):
        return False
    if not (rule_same_kind(fact, cand) and rule_no_overlap(fact.value, cand) and rule_not_in_article(fact, cand)
            and rule_files_upward(fact, cand)):
        return False
    if fact.fact_type == "permit" and fact.subtype == "who" and same_value("party", cand, fact.value):
        return False
    overlaps = vocab()["filed_document_overlaps"]
    if any({cand, fact.value} == set(pair) for pair in overlaps):
        return False
    if same_value(fact.fact_type, cand, fact.value):
        return False
    return all(rule_no_overlap(c, cand) and not same_value(fact.fact_type, c, cand) for c in chosen)


def law_distractors(fact: Fact, pools: dict[str, list], party_pool: Sequence[tuple[str, str]], rng: random.Random,
                    k: int = 3, near_miss: bool = False) -> list[str]:
    """Up to ``k`` wrong values of the key's kind; ``near_miss`` keeps only swaps fit for a false statement."""
    cands = _candidates(fact, pools, party_pool)
    rng.shuffle(cands)
    cands.sort(key=lambda c: c[1])
    ordered = [c for c, _ in cands]
    if fact.fact_type in ("penalty", "period"):  # the nearest amounts in a random order; bodies and documents
        head = ordered[:NEAREST]                    # keep theirs (their own system or family first)
        rng.shuffle(head)
        ordered = head + ordered[NEAREST:]
    return pick_distractors(fact, ordered, k, _ok, near_miss)
