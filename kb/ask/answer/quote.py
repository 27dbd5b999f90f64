"""Cutting the quote: the answering clauses of a long sentence, list lead-ins and list ends, and the key facts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.ask.answer.facts import AUTHORITY, FEATURES, LEAD_LABELS, TARGET_RE, TARGET_VALUE_RE, AnyOf, Near, party_of
from kb.ask.answer.reading import QuestionReading
from kb.ask.answer.sentences import TRAILING_PUNCT, clause_spans, introduces, lead_in, list_end, paragraph_end
from kb.ask.answer.terms import clause_score, credit
from kb.ask.answer.types import Sentence, Term
from kb.ask.query import fold_for_match

MAX_QUOTE_CHARS = 100  # longer sentences are cut to their answering clauses
# Fact questions get a tight quote around the fact; law, definition and list ones need more of it.
QUOTE_LIMITS = {"deadline": 60, "target": 60, "party": 80, "definition": 160, "law": 160, "list": 300}
_LEAD_CLAUSE_RE = re.compile(r"^(?:到|至|在|于|从)?\s*(?:(?:19|20)\d{2}\s*年|“?十[二三四]五”?)[^，,]{0,6}$")


def cut_quote(
    sentence: str, terms: list[Term], weights: list[float], feature: re.Pattern[str] | AnyOf | None, limit: int,
    detach_fact: bool = False, asked: Sequence[str] = (),
) -> str:
    """The sentence, or for a long one its best run of clauses (plus its leading time clause).

    The run starts at the clause that best matches the question, grows by neighbouring clauses that
    add question words, and reaches the nearest clause holding the asked-for fact when it lacks one.
    With ``asked`` words, a clause holding both a fact and an asked word is the fact clause when there is one.
    With ``detach_fact``, a fact clause too far away to join the run is quoted on its own, joined to the
    run by "……" ("排放油烟的餐饮服务业经营者未安装油烟净化设施……处五千元以上五万元以下的罚款").
    """
    body = sentence.rstrip(TRAILING_PUNCT)
    if len(body) <= limit:
        return body
    spans = clause_spans(body)
    texts = [body[s:e] for s, e in spans]
    lead = 0 if len(spans) > 1 and _LEAD_CLAUSE_RE.match(texts[0].strip()) else None
    scores = [clause_score(t, terms, weights) for t in texts]
    has_fact = [bool(feature and feature.search(t)) for t in texts]
    if asked and feature:  # the asked-for fact is the one stated next to what it is asked of
        near = [bool(Near(feature, asked).search(t)) for t in texts]
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
            if any(w > 0 and credit(t, folded) > credit(t, covered) for t, w in zip(terms, weights, strict=True)):
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


def list_lead(text: str, spans: list[tuple[int, int]], i: int, feature: re.Pattern[str] | AnyOf,
              terms: list[Term], weights: list[float]) -> tuple[int, int] | None:
    """For an enumerated item (sentence i: "（二）通过暗管…"), the sentence of its list's lead-in that holds the
    asked-for fact ("…处十日以上十五日以下拘留；情节较轻的，…："), the best-matching one when several do."""
    j = lead_in(text, spans, i)
    if j is None:
        return None
    k = j  # the lead-in: sentences of the same paragraph up to the colon
    while k > 0 and "\n" not in text[spans[k - 1][1]:spans[k][0]] and text[spans[k - 1][1] - 1] not in "。！？":
        k -= 1
    found = [(clause_score(text[a:b], terms, weights), -n, (a, b))
             for n, (a, b) in enumerate(spans[k:j + 1]) if feature.search(text[a:b])]
    return max(found)[2] if found else None


def fact_follow(text: str, spans: list[tuple[int, int]], i: int,
                feature: re.Pattern[str] | AnyOf | Near) -> tuple[int, int] | None:
    """The next sentence of sentence i's paragraph when it holds the asked-for fact ("…的单位和个人，…责令停止违法
    行为；对自然保护区造成破坏的，可以处以300元以上1万元以下的罚款")."""
    if i + 1 >= len(spans) or "\n" in text[spans[i][1]:spans[i + 1][0]] or text[spans[i][1] - 1] not in "；;":
        return None
    a, b = spans[i + 1]
    return (a, b) if feature.search(text[a:b]) else None


def key_facts(quote: str, cues: list[str], terms: list[Term], weights: list[float],
              asked: Sequence[str] = (), authority: bool = False) -> list[str]:
    """Facts like "期限：2017年底前", "数值：90%" that are substrings of the quote.

    Each fact is taken from the clause of the quote that best matches the question among those
    holding such a fact (so "…达到71.6%，其中乌鲁木齐市达到75%" answers 75% for 乌鲁木齐市), preferring a clause
    that also holds an asked word (see ``asked_words``). With ``authority`` (the question asks which department or
    government) a clause whose party is one comes first.
    """
    clauses = [quote[s:e] for s, e in clause_spans(quote)]
    # A clause opening with 其中 narrows the sentence to a sub-case; when it matches the question at
    # all, the question is about that sub-case.
    narrow = sum(weights)
    scores = [clause_score(c, terms, weights) for c in clauses]
    scores = [sc + (narrow if sc > 0 and c.startswith("其中") else 0.0) for sc, c in zip(scores, clauses, strict=True)]
    facts = []
    for cue in cues:
        if cue not in LEAD_LABELS:
            continue
        patterns = (TARGET_VALUE_RE, TARGET_RE) if cue == "target" else (FEATURES[cue],)
        # A clause holding an asked word first, then the more specific pattern, then the better-matching clause.
        found = [(cue == "party" and authority and bool(AUTHORITY.search(party_of(c) or "")),
                  any(a in fold_for_match(c) for a in asked), -p, scores[i], -i, c)
                 for p, pattern in enumerate(patterns) for i, c in enumerate(clauses) if pattern.search(c)]
        if found:
            _, _, p, *_, clause = max(found)
            pattern = patterns[-p]
            value = party_of(clause) if cue == "party" else pattern.search(clause).group(0).strip()
            if value:
                facts.append(f"{LEAD_LABELS[cue]}：{value}")
    return facts


def quote_sentence(text: str, spans: list[tuple[int, int]], sent: Sentence, q: QuestionReading) -> tuple[str, int]:
    """The quote of an answering sentence of the passage ``text`` (``spans`` are its sentences), and where the quoted
    span ends: a list lead-in with its items, a title line with its paragraph, else the sentence cut to its answering
    clauses with the lead-in or next sentence quoted with it."""
    sentence = text[sent.start:sent.end]
    i = spans.index((sent.start, sent.end))
    if sentence[-1] in "：:":
        end = spans[list_end(text, spans, i) - 1][1]
        return text[sent.start:end].replace("\n", "").rstrip(TRAILING_PUNCT), end
    if introduces(sentence) and i + 1 < len(spans):  # a title line ("2. …的北疆4个城市"): add what it titles
        end = paragraph_end(text, spans, i + 1)
        return sentence + text[spans[i + 1][0]:end].replace("\n", "").rstrip(TRAILING_PUNCT), end
    end = sent.end
    terms, weights, feature, asked = q.terms, q.weights, q.feature, q.asked
    limit = QUOTE_LIMITS.get(q.route, MAX_QUOTE_CHARS)
    quote = cut_quote(sentence, terms, weights, feature, limit, detach_fact=q.route in LEAD_LABELS, asked=asked)
    if sent.lead:  # an item of a list whose lead-in states the fact: quote both
        lead_text = text[sent.lead[0]:sent.lead[1]]
        lead_quote = cut_quote(lead_text, terms, weights, feature, limit, detach_fact=True, asked=asked)
        quote = f"{lead_quote}……{quote}"
    elif sent.follow:  # the offence in one sentence, its penalty in the next: quote both
        end = sent.follow[1]
        follow_text = text[sent.follow[0]:end]
        follow_quote = cut_quote(follow_text, terms, weights, feature, limit, detach_fact=True, asked=asked)
        quote = f"{quote}……{follow_quote}"
    elif q.route not in LEAD_LABELS and (j := lead_in(text, spans, i)) is not None:
        # An item means what its list's lead-in says of it ("下列情形，暂予免征环境保护税：……（一）农业生产…").
        sent.lead = spans[j]
        lead_text = text[spans[j][0]:spans[j][1]]
        quote = f"{cut_quote(lead_text, terms, weights, None, limit)}……{quote}"
    return quote, end
