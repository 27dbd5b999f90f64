"""Composing the answer: rank the candidate sentences, then quote the best with citations or abstain."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexing.tokenize import split_sentences
from indexing.types import Chunk, Citation, Obligation
from kb.ask.answer.confidence import Verdict, judge
from kb.ask.answer.config import DEFAULT_CONFIG, ComposerConfig
from kb.ask.answer.question import QueryPart, read_part
from kb.ask.answer.quote import MAX_QUOTE_CHARS, cut_quote, key_facts, quote_sentence
from kb.ask.answer.reading import QuestionReading, read_question
from kb.ask.answer.routes import ASKS_ARTICLE, ASKS_AUTHORITY
from kb.ask.answer.score import score_sentences
from kb.ask.answer.sentences import TRAILING_PUNCT, introduces, is_heading, passage_header
from kb.ask.answer.types import Answer, Sentence
from kb.ask.answer.verify import prefer_verified
from kb.ask.query import fold_for_match

ABSTAIN_MESSAGE = "未在文件中找到明确答案。"
MAX_TITLES_SHOWN = 6
MAX_AGGREGATE_ITEMS = 30  # obligations listed in an aggregate answer ("2017年底前要完成哪些任务")


@dataclass
class _Ranking:
    """One question's candidate sentences ranked, with what the answer or the abstention is made of."""

    question: str  # as asked
    route: str
    hits: list[tuple[Chunk, float]]
    spans_by_hit: list[list[tuple[int, int]]]
    titles: list[str]  # of the documents searched
    reading: QuestionReading
    ranked: list[Sentence]  # best first
    verdict: Verdict
    started: float  # time.perf_counter() when composing began

    def answer(self, text: str, abstained: bool, citations: list[Citation], n_quoted: int = 0) -> Answer:
        """The Answer with this text and these citations, timed."""
        return Answer(question=self.question, answer=text, abstained=abstained, route=self.route,
                      citations=citations, searched_docs=self.titles,
                      timings_ms={"compose": (time.perf_counter() - self.started) * 1000},
                      confidence=self.verdict.confidence, n_quoted=n_quoted, features=self.verdict.features)


def _citation(n: int, chunk: Chunk, score: float, highlight: tuple[int, int] | None) -> Citation:
    """Citation ``n`` of a hit, highlighting ``highlight`` in its text."""
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, text=chunk.text,
                    start=chunk.start, end=chunk.end, score=float(score), article=chunk.article,
                    page=chunk.page, highlight=highlight)


def _best_spans(ranked: list[Sentence]) -> dict[int, tuple[int, int]]:
    """Span of each hit's best-ranked sentence that shares a word with the question."""
    spans: dict[int, tuple[int, int]] = {}
    for s in ranked:
        if s.lex > 0:
            spans.setdefault(s.hit, (s.start, s.end))
    return spans


def _titles_line(titles: Sequence[str]) -> str:
    """The titles of the searched documents as an abstention names them (the first few, then how many)."""
    shown = [t if t.startswith("《") else f"《{t}》" for t in titles[:MAX_TITLES_SHOWN]]
    more = f"等 {len(titles)} 份文件" if len(titles) > MAX_TITLES_SHOWN else ""
    return "、".join(shown) + more if shown else "（无）"


def compose(
    question: str | QueryPart,
    hits: list[tuple[Chunk, float]],
    k: int = 5,
    route: str | None = None,
    *,
    idf: Mapping[str, float] | None = None,
    searched_docs: Sequence[str] | None = None,
    config: ComposerConfig | None = None,
    signals: Mapping[str, float] | None = None,
    repealed: frozenset[str] = frozenset(),
    focus: str | None = None,
) -> Answer:
    """Answer a question from ranked retrieval hits by quoting the best sentence(s), with citations.

    ``question`` is the question as read by :func:`kb.ask.answer.question.read_part` (the service reads it once), or
    its text, read here with ``route`` (which overrides the routing of the question) and ``focus``. ``idf``
    optionally gives corpus IDF weights of words (otherwise they are computed over the candidate sentences).
    ``searched_docs`` are the titles of the documents searched, named when the composer abstains (default: the
    titles of the hits).
    ``config`` holds the weights and thresholds (default ``DEFAULT_CONFIG``); ``signals`` are the retriever's
    raw scores of the question (``Searcher.search_with_signals``), read by the answerability model. ``repealed``
    names the repealed documents, whose sentences rank below the law in force unless the question names them.
    ``focus`` is a follow-up's own text when ``question`` was resolved against the previous one: its words weigh
    ``config.focus_weight`` times more, since they say what the follow-up is about ("湖库的呢？").
    """
    cfg = config or DEFAULT_CONFIG
    t0 = time.perf_counter()
    part = read_part(question, focus, route) if isinstance(question, str) else question
    nq = part.normalized
    titles = list(searched_docs) if searched_docs is not None else list(dict.fromkeys(c.title for c, _ in hits))
    spans_by_hit, sentences = _candidates(hits)
    reading = read_question(nq, part.route, sentences, hits, idf, cfg, part.focus, titles)
    reading.repealed = repealed
    score_sentences(sentences, hits, spans_by_hit, reading, cfg)
    ranked = sorted(sentences, key=lambda s: (-s.score, s.hit, s.start))
    violated = prefer_verified(nq.text, part.slots, ranked, hits, cfg.verify_margin) if cfg.verify_slots else []
    verdict = judge(nq.text, reading, ranked, hits, cfg, signals, violated)
    ranking = _Ranking(question=part.text, route=part.route, hits=hits, spans_by_hit=spans_by_hit, titles=titles,
                       reading=reading, ranked=ranked, verdict=verdict, started=t0)
    if verdict.abstain:
        return _abstention(ranking, k, cfg)
    return _quoted_answer(ranking, k, list(part.cues), asks_article=bool(ASKS_ARTICLE.search(nq.text)),
                          asks_authority=bool(ASKS_AUTHORITY.search(nq.text)), cfg=cfg)


def _candidates(hits: list[tuple[Chunk, float]]) -> tuple[list[list[tuple[int, int]]], list[Sentence]]:
    """The sentence spans of each hit, and the candidate sentences: the first copy of each (overlapping chunks
    repeat sentences), headings left out."""
    spans_by_hit = [split_sentences(chunk.text) for chunk, _ in hits]
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for h, (chunk, _) in enumerate(hits):
        context = fold_for_match(passage_header(chunk))
        for s, e in spans_by_hit[h]:
            text = chunk.text[s:e]
            folded = fold_for_match(text)
            if folded not in seen and not is_heading(text):
                seen.add(folded)
                sentences.append(Sentence(hit=h, start=s, end=e, folded=folded, context=context))
            context += "\n" + folded
    return spans_by_hit, sentences


def _abstention(r: _Ranking, k: int, cfg: ComposerConfig) -> Answer:
    """No answer: the nearest passages, and for a near miss what the documents lack and what they do say."""
    best = r.ranked[0] if r.ranked else None
    # A best sentence that lacks only what the question asks of it (a unit, a subject, a grade) is a near miss even
    # when it shares fewer of the question's words.
    floor = cfg.neighbour_min_support * (cfg.violated_neighbour_factor if r.verdict.violated else 1.0)
    neighbour = best if best is not None and best.lex >= floor else None
    order = [h for h in range(min(k, len(r.hits))) if neighbour is None or h != neighbour.hit]
    text = ABSTAIN_MESSAGE
    if neighbour is not None:  # a near miss: say what the documents lack, and what they do say
        order = [neighbour.hit, *order][:k]
        chunk = r.hits[neighbour.hit][0]
        q = r.reading
        quote = cut_quote(chunk.text[neighbour.start:neighbour.end], q.terms, q.weights, q.feature, MAX_QUOTE_CHARS)
        missing = r.verdict.missing
        lack = f"文件没有给出与问题中“{'、'.join(dict.fromkeys(missing))}”对应的内容。" if missing else ""
        text += f"{lack}文件中与此最接近的内容是：{quote} [1]。"
    best_span = _best_spans(r.ranked)
    citations = [_citation(n + 1, r.hits[h][0], r.hits[h][1], best_span.get(h)) for n, h in enumerate(order)]
    return r.answer(f"{text}已检索：{_titles_line(r.titles)}", abstained=True, citations=citations)


def _quoted_answer(r: _Ranking, k: int, cues: list[str], asks_article: bool, asks_authority: bool,
                   cfg: ComposerConfig) -> Answer:
    """The answer: the key facts, then the best sentence quoted (list and general questions may add close
    runners-up), each with the number of its citation."""
    best, hits = r.ranked[0], r.hits
    extra = {"list": 2, "general": 1}.get(r.route, 0)
    if introduces(hits[best.hit][0].text[best.start:best.end]):
        extra = 0  # the best sentence introduces a list or a paragraph: what follows it is the answer
    runners_up = [s for s in r.ranked[1:] if s.score >= cfg.extra_sentence_ratio * best.score
                  and s.lex >= cfg.abstain_threshold]
    order: list[int] = []  # hit indices in citation order
    highlights: dict[int, tuple[int, int]] = {}
    quotes: list[tuple[str, int]] = []
    for sent in [best, *runners_up[:extra]]:
        quote, end = quote_sentence(hits[sent.hit][0].text, r.spans_by_hit[sent.hit], sent, r.reading)
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
    best_span = _best_spans(r.ranked)
    citations = [_citation(n + 1, hits[h][0], hits[h][1], highlights.get(h, best_span.get(h)))
                 for n, h in enumerate(order)]
    q = r.reading
    facts = key_facts(quotes[0][0], cues, q.terms, q.weights, q.asked, authority=asks_authority)
    best_chunk = hits[best.hit][0]
    if asks_article and best_chunk.article and best_chunk.article in best_chunk.text:
        facts.insert(0, f"条文：{best_chunk.article}")
    lead = "；".join(facts) + "。" if facts else ""
    text = lead + "；".join(f"{quote} [{n}]" for quote, n in quotes)
    return r.answer(text, abstained=False, citations=citations, n_quoted=n_quoted)


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
        lines.append(f"· {when}{ob.action.rstrip(TRAILING_PUNCT)}{party} [{numbers[key]}]")
    # No counts or item numbers: every figure in the text is one a cited passage states.
    head = "文件中的相关义务如下：" if len(records) <= MAX_AGGREGATE_ITEMS else (
        "文件中的相关义务如下（仅列出一部分，完整清单请用 kb obligations 查询）："
    )
    return Answer(question=question, answer="\n".join([head, *lines]), abstained=False, route=route or "list",
                  citations=citations, searched_docs=list(dict.fromkeys(ob.title for ob in records)),
                  timings_ms={"compose": (time.perf_counter() - t0) * 1000}, confidence=1.0,
                  n_quoted=len(citations))
