"""The answer's confidence: the anchors of the question an answer lacks, the words that only say how the question is
put, and the features the answerability model reads."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexing import tokenize
from indexing.types import Chunk
from kb.ask.answer.config import ComposerConfig
from kb.ask.answer.facts import UNITS, AnyOf
from kb.ask.answer.reading import QuestionReading
from kb.ask.answer.score import review_years, sentence_years
from kb.ask.answer.sentences import passage_header
from kb.ask.answer.terms import ASK_PREFIXES, CHANGES, SCOPES, TIME_ANCHOR_RE, spoken_name
from kb.ask.answer.types import Sentence, Term
from kb.ask.query import fold_for_match

# "多少亿元", "多少微克/立方米": the unit an amount is asked in (个/次/天… are too generic to require).
_ASKED_UNIT = re.compile(
    r"多少(" + "|".join(re.escape(u) for u in UNITS if len(u) >= 2 and u not in ("个百分点",)) + ")"
)


@functools.cache
def _pos_tokenizer():
    import jieba.posseg

    # POSTokenizer(tokenizer) re-reads jieba's 349k-line dictionary for its tag table (~0.3 s and ~50 MB), which
    # importing jieba.posseg has just read for the module's own tagger: ours uses the same main dictionary, so it
    # takes that table (our user words' tags are merged into it at the first cut; nothing else uses jieba.posseg).
    pos = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
    pos.tokenizer = tokenize._tokenizer()
    pos.word_tag_tab = jieba.posseg.dt.word_tag_tab
    return pos


@functools.lru_cache(maxsize=256)
def _pos_tags(question: str) -> tuple[tuple[str, str], ...]:
    """(word, part-of-speech tag) pairs of a question by jieba; cached, since one answer asks for them twice."""
    with tokenize._lock:
        return tuple((p.word, p.flag) for p in _pos_tokenizer().lcut(question))


def _proper_names(question: str) -> list[str]:
    """Place and transliterated names in a question by jieba's part-of-speech tags (ns, nrt), folded, once each in
    the question's order (a refusal names them in that order). Only words of jieba's dictionary count: the tag of a
    word it does not know is the HMM's guess ("一路撒土" gives 撒土/ns)."""
    known = _pos_tokenizer().word_tag_tab
    return list(dict.fromkeys(fold_for_match(w) for w, flag in _pos_tags(question)
                              if flag in ("ns", "nrt") and len(w) >= 2 and w in known))


# jieba's tags for place words and numerals (天上, 楼上, 家里; 一年, 四周): a question's setting, not its topic.
# Pronouns (每年) and locatives (下游) are not among them: with either the unanswerable dev question q180 was answered.
_SETTING_TAGS = frozenset(("s", "m"))


def setting_words(question: str) -> set[str]:
    """Place words and numerals of a question by jieba's part-of-speech tags (天上, 楼上, 一年), folded."""
    return {fold_for_match(w) for w, flag in _pos_tags(question) if flag in _SETTING_TAGS}


def reviews_earlier_period(q: QuestionReading, best: Sentence, chunk: Chunk) -> bool:
    """Whether the answer is a plan's review of the period before it (a section "…取得积极进展", its sentence naming
    no year) while the question asks about the plan's own period or later ("十三五期间…", "到2020年…")."""
    reviewed = review_years(chunk)
    return bool(reviewed and q.years) and not sentence_years(best.folded) and min(q.years) > max(reviewed)


def _time_anchor(q: QuestionReading) -> str:
    """The question's own words for the time it asks about ("十三五", "2020年")."""
    return next((t.forms[0] for t in q.terms if TIME_ANCHOR_RE.match(t.forms[0])), f"{min(q.years)}年")


def missing_anchors(question: str, terms: list[Term], best: Sentence, passages: Sequence[str],
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
        if not t.anchor or t.forms[0] in SCOPES:
            continue
        time_anchor = bool(TIME_ANCHOR_RE.match(t.forms[0]))
        if not any(f in text for f in t.forms for text in (passages if time_anchor else [where])):
            missing.append(t.forms[0])
    unit = _ASKED_UNIT.search(question)
    if unit and fold_for_match(unit.group(1)) not in best.folded + "\n" + header:
        missing.append(unit.group(1))
    return missing


def phrasing_weight(terms: list[Term], weights: list[float], passages: Sequence[str], setting: set[str]) -> float:
    """Weight of the question's words that say how it is put, not what it asks, and that no passage has: a modal and
    a verb jieba keeps as one word ("能管", "要罚"), a place word or numeral ("天上", "一年"). Their absence is no sign
    of missing evidence."""
    def phrasing(t: Term) -> bool:
        word = t.forms[0]
        return (len(word) == 2 and word[0] in ASK_PREFIXES) or (word in setting and not t.anchor)

    return sum(w for t, w in zip(terms, weights, strict=True)
               if phrasing(t) and not any(f in p for p in passages for f in t.forms))


def answer_features(best: Sentence, ranked: list[Sentence], hits: list[tuple[Chunk, float]],
                    feature: re.Pattern[str] | AnyOf | None,
                    terms: list[Term], weights: list[float], passages: Sequence[str], support: float,
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


@dataclass
class Verdict:
    """Whether the best sentence answers the question: its confidence, the anchors it lacks, and the model's input."""

    confidence: float
    missing: list[str]
    features: dict[str, float]
    abstain: bool
    violated: tuple[str, ...] = ()  # what of the asked slots the best sentence lacks (kb.ask.answer.verify)


def judge(question: str, q: QuestionReading, ranked: list[Sentence], hits: list[tuple[Chunk, float]],
          cfg: ComposerConfig, signals: Mapping[str, float] | None, violated: Sequence[str] = ()) -> Verdict:
    """The verdict on the best of the ``ranked`` sentences for the normalised ``question``; ``violated`` names what
    of the asked slots the best one lacks (kb.ask.answer.verify), counted as missing anchors."""
    best = ranked[0] if ranked else None
    passages = [fold_for_match(f"{c.title}\n{c.section}\n{c.text}") for c, _ in hits]
    missing = (missing_anchors(question, q.terms, best, passages, fold_for_match(passage_header(hits[best.hit][0])))
               if best else [])
    changes = [a for a in q.asked if a in CHANGES]
    if best and changes and "\t" not in best.folded and not any(a in best.folded for a in changes):
        missing.append(changes[0])  # "下降多少" answered by a sentence that states no change
    missing += [v for v in violated if v not in missing]
    if cfg.named_doc_anchor and best and q.named and hits[best.hit][0].title not in q.named:
        missing.append(spoken_name(min(q.named)) + (q.article.group(0) if q.article else ""))
    if best and reviews_earlier_period(q, best, hits[best.hit][0]):
        missing.append(_time_anchor(q))
    phrasing = phrasing_weight(q.terms, q.weights, passages, setting_words(question))
    total = q.total
    support = min(1.0, best.lex * total / (total - phrasing)) if best and total > phrasing else 0.0
    lexical = support * cfg.anchor_miss_factor ** len(missing)
    features = answer_features(best, ranked, hits, q.feature, q.terms, q.weights, passages, support, lexical,
                               missing, signals) if best else {}
    if best:
        features["violated"] = float(len(violated))
    model = cfg.answerability
    confidence = model.probability(features) if model and best else lexical
    # No question word is found whole in any passage: whatever matched, matched in part ("个人" of 个人所得税).
    nothing_found = best is not None and features.get("coverage_hits", 1.0) == 0.0
    return Verdict(confidence=confidence, missing=missing, features=features,
                   abstain=best is None or nothing_found or confidence < cfg.threshold, violated=tuple(violated))
