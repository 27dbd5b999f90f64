"""Aggregate questions answered from the obligations register ("2017年底前要完成哪些任务", "…由谁负责")."""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexing.types import Obligation
from kb.register.parties import UNSPECIFIED
from kb.register.query import by_deadline
from kb.register.store import Register

# Share of the question's topic bigrams a record must hold: to stay in a list (date, annual), and to answer a
# "由谁负责" question at all (below, the question is left to retrieval). Records within WHO_WINDOW of the best
# are listed, at most WHO_MAX.
LIST_OVERLAP = 0.5
WHO_OVERLAP = 0.85
WHO_WINDOW = 0.1
WHO_MAX = 10
WHO_MIN_TOPIC = 2  # fewer topic bigrams say too little about what the question is on
_AGG_CUE = re.compile(r"哪些|哪几|所有|全部|清单|列出|列举|有什么|都有|汇总|一览|多少项|几项")
_BINDING_Q = re.compile(r"(约束性|预期性)")
_WHO_Q = re.compile(r"由谁|谁(?:来)?负责|谁(?:来)?承担|责任主体|责任单位|哪个部门|哪些部门|哪个单位|哪些单位")
_Q_DATE = re.compile(r"(?:到|至|截至|在|于)?((?:19|20)\d\d)年(?:(\d{1,2})月)?(底)?(前|以前|之前)?")
_Q_ANNUAL = re.compile(r"每年|逐年|年度")
_PARTY_DUTY_Q = r"(?:要|应|需|必须|负责|承担|有哪些|的(?:责任|义务|任务))"  # "兵团要/负责…" after a party
_Q_STOP = re.compile(
    r"哪些|哪几|哪个|什么|所有|全部|清单|列出|列举|汇总|一览|任务|工作|事项|需要|完成|要求|必须|应当|应该|要|请问"
    r"|在|前|之前|以前|底|有|的|了|是|都|规划|新疆|自治区|方面|目标|指标|达到|实现|由谁|谁|来|负责|承担|责任|主体"
    r"|部门|单位|按照|根据|规定|吗|呢|和|与|及|[？?，,。、\s]"
)
_Q_DOMAINS = (
    ("大气", ("大气", "空气", "颗粒物")), ("水", ("水污染", "水环境", "水质", "水资源", "污水", "饮用水")),
    ("土壤", ("土壤",)), ("生态", ("生态", "自然保护区", "生物多样性")), ("风险", ("风险", "辐射", "危险废物")),
    ("体制", ("体制", "督察", "排污许可")), ("保障", ("保障措施",)),
)


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the Chinese, Latin and digit runs of ``text``."""
    runs = re.findall(r"[\u4e00-\u9fffA-Za-z0-9.]+", text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def _topic(question: str, *remove: str) -> set[str]:
    """Bigrams of what the question is about: without question words, cues and the ``remove`` pieces."""
    q = question
    for piece in remove:
        if piece:
            q = q.replace(piece, " ")
    return _bigrams(_Q_STOP.sub(" ", q))


def _overlap(topic: set[str], r: Obligation) -> float:
    """Share of the topic bigrams found in the record's passage and section (1.0 for no topic)."""
    if not topic:
        return 1.0
    hay = r.passage + r.section
    return sum(1 for b in topic if b in hay) / len(topic)


def _question_domain(question: str) -> tuple[str, str]:
    """The register domain a question names, and the word that named it (or two empty strings)."""
    for dom, words in _Q_DOMAINS:
        for w in words:
            if w in question:
                return dom, w
    return "", ""


def answer_aggregate(register: Register, question: str) -> list[Obligation] | None:
    """Every record answering an aggregate, deadline or party question; None for other questions.

    - "哪些是约束性指标": the table records with that binding, in table order;
    - "哪些任务要在2017年底前完成", "2018年有哪些任务": dated records whose deadline is in that year
      (by-date, end-of-year, period), by date then document order; with 目标/指标/达到, the records with a
      target for that year instead, in document order; a domain word (水污染, 大气 …) or other topic words in
      the question narrow the list;
    - "每年要做哪些工作": the annual and from-year-on records;
    - "兵团负责哪些工作" (a party of the register named with 哪些…): that party's records;
    - "…由谁负责": the records on that topic whose party is named, most relevant first (None unless a record
      holds 85% of the question's topic bigrams: the question is then left to retrieval).
    A recognised question with no matching record gives [].
    """
    q = question.strip()
    rank = {d: i for i, d in enumerate(register.doc_order)}

    def doc_order(records: Iterable[Obligation]) -> list[Obligation]:
        return sorted(records, key=lambda r: (rank.get(r.doc_id, len(rank)), r.start, r.ob_id))

    by_date = by_deadline(register)
    m_bind = _BINDING_Q.search(q)
    if m_bind and (_AGG_CUE.search(q) or "指标" in q):
        return doc_order(r for r in register.records if r.binding == m_bind.group(1))
    domain, domain_word = _question_domain(q)
    m_date = _Q_DATE.search(q)
    if m_date and _AGG_CUE.search(q):
        year = int(m_date.group(1))
        topic = _topic(q, m_date.group(0), domain_word)
        pool = [r for r in register.records if not domain or r.domain == domain]
        if re.search(r"目标|指标|达到", q):
            hits = [r for r in pool if r.target and (r.year == year or r.target.target_year == str(year))]
            return doc_order(r for r in hits if _overlap(topic, r) >= LIST_OVERLAP)
        hits = [
            r for r in pool
            if r.deadline_kind in ("by-date", "end-of-year", "period")
            and (str(year) in r.deadline_text or r.deadline_date[:4] == str(year))
        ]
        return sorted((r for r in hits if _overlap(topic, r) >= LIST_OVERLAP), key=by_date)
    if _Q_ANNUAL.search(q) and _AGG_CUE.search(q):
        topic = _topic(q, domain_word)
        hits = [r for r in register.records if r.deadline_kind in ("annual", "from-year-on")
                and (not domain or r.domain == domain) and _overlap(topic, r) >= LIST_OVERLAP]
        return doc_order(hits)
    parties = sorted({r.party for r in register.records if r.party != UNSPECIFIED and len(r.party) >= 2},
                     key=len, reverse=True)
    named = next((p for p in parties if re.search(rf"(?<!哪些)(?<!哪个){re.escape(p)}{_PARTY_DUTY_Q}", q)), "")
    if named and _AGG_CUE.search(q) and not _WHO_Q.search(q):
        return sorted((r for r in register.records if named in r.party and (not domain or r.domain == domain)),
                      key=by_date)
    if _WHO_Q.search(q):
        topic = _topic(q)
        if len(topic) < WHO_MIN_TOPIC:
            return None
        scored = [(s, r) for r in register.records
                  if r.party_source != "none" and (s := _overlap(topic, r)) >= WHO_OVERLAP]
        if not scored:
            return None
        best = max(s for s, _ in scored)
        keep = [(s, r) for s, r in scored if s >= best - WHO_WINDOW]
        keep.sort(key=lambda sr: (-sr[0], rank.get(sr[1].doc_id, len(rank)), sr[1].start))
        return [r for _, r in keep[:WHO_MAX]]
    return None
