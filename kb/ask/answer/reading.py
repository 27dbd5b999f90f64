"""How the composer reads a question: its terms and their weights, the route's fact pattern, the asked-of words and
the anchors a sentence must not contradict."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexing import tokenize
from indexing.types import Chunk
from kb.ask.answer.config import ComposerConfig
from kb.ask.answer.facts import FEATURES, LEAD_LABELS, PERMISSION_RE, AnyOf, Near, definition_feature
from kb.ask.answer.routes import ARTICLE_IN_Q, PERMISSION_CUE
from kb.ask.answer.terms import (
    CHANGES,
    COMPARATORS,
    SCOPES,
    TIME_ANCHOR_RE,
    asked_words,
    named_documents,
    question_terms,
)
from kb.ask.answer.types import Sentence, Term
from kb.ask.query import NormalizedQuery, fold_for_match, normalize_query


@dataclass
class QuestionReading:
    """What every candidate sentence of one question is scored against."""

    route: str
    terms: list[Term]
    weights: list[float]
    total: float  # sum of the weights
    pairs: list[str]  # adjacent question words joined as the question joins them
    feature: re.Pattern[str] | AnyOf | None  # the fact a sentence of this route carries
    bonus: float  # what carrying it adds to a sentence's score
    asked: tuple[str, ...]  # the words the question asks a fact of
    near: Near | None  # the fact next to one of the specific asked words
    places: list[Term]  # place anchors a sentence or what precedes it must name
    years: set[int]
    named: set[str]  # titles of the documents the question names
    article: re.Match[str] | None  # the law article the question names
    repealed: frozenset[str] = frozenset()  # doc_ids of repealed documents (the manifest's "…废止")


def idf_weights(terms: list[Term], sentences: list[Sentence], idf: Mapping[str, float] | None) -> list[float]:
    """Weight of each term: its corpus IDF when given, else a BM25-style IDF over the candidate sentences."""
    if idf:
        top = max(idf.values())
        return [max(idf.get(t.forms[0], top), 0.0) for t in terms]
    n = len(sentences)
    weights = []
    for t in terms:
        df = sum(1 for s in sentences if any(f in s.folded for f in t.forms))
        weights.append(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    return weights


def read_question(nq: NormalizedQuery, route: str, sentences: list[Sentence], hits: list[tuple[Chunk, float]],
                  idf: Mapping[str, float] | None, cfg: ComposerConfig, focus: str | None = None,
                  titles: Sequence[str] = ()) -> QuestionReading:
    """Read a normalised question of ``route`` against its candidate sentences; the words of ``focus`` (a
    follow-up's own text) weigh ``cfg.focus_weight`` times more. ``titles`` are the documents searched, whose
    names the question may use (default: the hits' documents)."""
    question_words = tokenize.cut_words(nq.text)  # jieba once, for the terms and for the asked-of words
    folded_q = fold_for_match(nq.text)
    terms = question_terms(nq, question_words, sentences, indicators=route == "target")
    weights = idf_weights(terms, sentences, idf)
    if focus:
        own = fold_for_match(normalize_query(focus).text)
        weights = [w * cfg.focus_weight if t.forms[0] in own else w for t, w in zip(terms, weights, strict=True)]
    pairs = [a.forms[0] + b.forms[0] for a, b in itertools.pairwise(terms) if a.forms[0] + b.forms[0] in folded_q]
    feature = definition_feature(terms) if route == "definition" and terms else FEATURES.get(route)
    if route == "general" and PERMISSION_CUE.search(nq.text):
        feature = PERMISSION_RE  # "能不能…" is answered by what the documents permit or forbid
    asked = asked_words(question_words) if route in LEAD_LABELS else ()
    specific = [a for a in asked if a not in COMPARATORS and a not in CHANGES]
    return QuestionReading(
        route=route, terms=terms, weights=weights, total=sum(weights), pairs=pairs, feature=feature,
        bonus=cfg.definition_bonus if route == "definition" else cfg.route_bonus, asked=asked,
        near=Near(feature, specific) if specific and feature else None,
        places=[t for t in terms if t.anchor and not TIME_ANCHOR_RE.match(t.forms[0]) and t.forms[0] not in SCOPES],
        years=set(nq.years), named=named_documents(nq.text, list(titles) or [c.title for c, _ in hits]),
        article=ARTICLE_IN_Q.search(nq.text),
    )
