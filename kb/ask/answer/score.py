"""Scoring the candidate sentences against the question (see the package docstring for the terms of the score)."""

from __future__ import annotations

import re

from indexing.types import Chunk
from kb import vocab
from kb.ask.answer.config import ComposerConfig
from kb.ask.answer.facts import LEAD_LABELS
from kb.ask.answer.quote import fact_follow, list_lead
from kb.ask.answer.reading import QuestionReading
from kb.ask.answer.sentences import clause_spans
from kb.ask.answer.terms import credit
from kb.ask.answer.types import Sentence
from kb.ask.query import PLAN_PERIODS, fold_for_match

_SENTENCE_TIME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=年)|(" + "|".join(PLAN_PERIODS) + ")")


def sentence_years(text: str) -> set[int]:
    """Years a sentence names, plan periods ("十二五") expanded to the years they cover."""
    years: set[int] = set()
    for m in _SENTENCE_TIME.finditer(text):
        if m.group(1):
            years.add(int(m.group(1)))
        else:
            first, last = PLAN_PERIODS[m.group(2)]
            years.update(range(first, last + 1))
    return years


_REVIEW = re.compile(vocab.alternation("review_sections.tsv"))


def review_years(chunk: Chunk) -> set[int]:
    """The five years before a plan's own period when the chunk stands in its review of them (a section "…取得积极
    进展", kb/vocab/review_sections.tsv); else none."""
    if chunk.kind != "plan" or not _REVIEW.search(chunk.section):
        return set()
    own = sentence_years(fold_for_match(chunk.title))
    return set(range(min(own) - 5, min(own))) if own else set()


def quoted_with(sent: Sentence, text: str) -> list[str]:
    """The sentence and what is quoted with it (its list's lead-in, or the next sentence holding the fact), folded."""
    return [sent.folded, *(fold_for_match(text[a:b]) for a, b in sent.quoted_spans()[1:])]


def score_sentences(sentences: list[Sentence], hits: list[tuple[Chunk, float]],
                    spans_by_hit: list[list[tuple[int, int]]], q: QuestionReading, cfg: ComposerConfig) -> None:
    """Set each sentence's lexical support (``lex``) and score (``score``), and its lead-in or follower when the
    fact the question asks for is there rather than in the sentence."""
    scores = [float(s) for _, s in hits]
    lo_s, hi_s = (min(scores), max(scores)) if scores else (0.0, 0.0)
    for sent in sentences:
        retrieval = (scores[sent.hit] - lo_s) / (hi_s - lo_s) if hi_s > lo_s else 1.0
        _score(sent, hits[sent.hit][0], spans_by_hit[sent.hit], retrieval, q, cfg)


def _score(sent: Sentence, chunk: Chunk, spans: list[tuple[int, int]], retrieval: float, q: QuestionReading,
           cfg: ComposerConfig) -> None:
    """Score one sentence of ``chunk`` whose passage has the normalised retrieval score ``retrieval``."""
    support = 0.0
    for t, w in zip(q.terms, q.weights, strict=True):
        if w > 0:
            support += w * max(credit(t, sent.folded), cfg.context_credit * credit(t, sent.context))
    sent.lex = support / q.total if q.total > 0 else 0.0
    sent.score = sent.lex + cfg.retrieval_weight * retrieval
    if q.pairs:
        sent.score += cfg.phrase_bonus * sum(p in sent.folded for p in q.pairs) / len(q.pairs)
    if q.feature and q.feature.search(chunk.text[sent.start:sent.end]):
        sent.score += q.bonus
    elif q.feature and q.route in LEAD_LABELS:
        i = spans.index((sent.start, sent.end))
        sent.lead = list_lead(chunk.text, spans, i, q.feature, q.terms, q.weights)
        sent.follow = None if sent.lead else fact_follow(chunk.text, spans, i, q.near or q.feature)
        if sent.lead or sent.follow:
            sent.score += q.bonus
    if q.article and (chunk.article == q.article.group(0) or chunk.text.startswith(q.article.group(0))):
        sent.score += cfg.article_bonus
    if chunk.title in q.named:
        sent.score += cfg.named_doc_bonus
    elif chunk.doc_id in q.repealed:
        sent.score -= cfg.repealed_penalty
    where = sent.folded + "\n" + sent.context
    if any(not any(f in where for f in t.forms) for t in q.places):
        sent.score -= cfg.place_miss_penalty
    named_years = sentence_years(sent.folded)
    asked_years = q.years
    if not q.years and chunk.kind == "plan":  # the plan's own period ("十三五") is the time a plan question means
        asked_years = sentence_years(fold_for_match(chunk.title))
        named_years = named_years or sentence_years(fold_for_match(chunk.section)) or review_years(chunk)
    if asked_years and named_years and not named_years & asked_years:
        sent.score -= cfg.time_conflict_penalty
    if q.near and any(q.near.search(piece[a:b])
                      for piece in quoted_with(sent, chunk.text) for a, b in clause_spans(piece)):
        sent.score += cfg.asked_bonus
