"""Quizzable facts of the laws and regulations, extracted at index time into the obligations register.

A *law fact* is one value stated once in a verbatim span of a law article, and the sentence a question is
asked on (``statement``, with the value in it). Four kinds:

- ``penalty``: a fine range (…元以上…元以下, …倍以上…倍以下, …元以下) or a 责令 measure (停产整治,
  停业、关闭 …) or a per-day fine (按日连续处罚), with the offence it punishes. When the article lists the
  offences (有下列行为之一的：（一）…), one fact per listed offence: the statement names that offence and the
  cited span runs from the article's lead-in to that item;
- ``period``: a time limit or duration (…日内, …个月内, 不少于…年), the value being the number and its unit;
- ``ban``: 禁止/严禁/不得 with the conduct banned (and the subject who must obey, when named);
- ``permit``: who approves, receives a filing or an application (报…审批, 报…备案, 向…申请), or which
  document must be prepared and filed (环境影响报告书 …).

A sentence that depends on the preceding paragraph (前款, 前两款, 依照前款) carries that paragraph as its
lead-in, and a sentence inside a paragraph carries the sentences before it ("原审批部门应当自收到…10日内" is
about the 重新审核 the sentence before sets up): the cited span starts there. Sentences longer than the limits are
left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from indexing.types import Document, Obligation, Section
from kb.quiz.vocabulary import vocab
from kb.register.spans import ARTICLE_LABEL, LIST_ITEM

MAX_STATEMENT_CHARS = 170
MAX_SPAN_CHARS = 420
_NUM = "[零〇一二三四五六七八九十百千万两\\d.]"
AMOUNT_RE = re.compile(
    rf"{_NUM}+(?:万元|元|倍)以上{_NUM}+(?:万元|元|倍)以下|(?<![以上]){_NUM}+(?:万元|元)以下"
)
_PENALTY_CUE = re.compile(r"罚款|罚金")
PERIOD_RE = re.compile(
    rf"(?<![月年\d零〇一二三四五六七八九十])(?:不少于|不超过)?(?P<v>{_NUM}+(?:个工作日|工作日|日|个月|年))(?:内|以内|以上)?"
)
_PERIOD_CONTEXT = re.compile(rf"(?:之日起|起|后|前|内|以内|不少于|不超过|每)|{_NUM}+(?:个工作日|工作日|日|个月|年)内")
BAN_RE = re.compile(r"禁止|严禁|不得")
_PERMIT_WHO = re.compile(
    r"(?:报经?(?![告表])|报请|报送|提请|向)(?P<who>[^，。；：、]{3,30}?(?:人民政府|国务院|部门|机关|机构))"
    r"(?:审批|批准|备案|审查|审核|核准|申请|提出申请|报告|登记)"
)
_DEPENDS = re.compile(r"前款|前两款|前三款|依照前|上述")
_OFFENCE_LEAD = re.compile(r"^.*?有下列(?:行为|情形)之一的(?P<who>[^，：；]{2,10}(?=，))?，?")  # 之一的单位和个人，
_OFFENDER = re.compile(
    r"^(?:违反本(?:法|条例)规定，)?(?P<who>[^，；]{2,20}?)(?:违反本(?:法|条例)规定，)?有下列(?:行为|情形)之一")
_SENT = re.compile(r"[^。]+。?")
_LEANS_ON = re.compile(r"该类|此类|前述|上述|下列")  # refers to text the statement does not carry
_FOLLOW_ON = re.compile(r"^(?:造成|情节|拒不|逾期|有前款|其中|对直接负责|并)")


@dataclass
class LawFact:
    """One fact of a law article: the value, the sentence to ask on, and the verbatim cited span."""

    fact_type: str  # penalty | period | ban | permit
    value: str  # as written, once in ``statement`` and once in ``passage``
    statement: str  # the sentence a question masks (verbatim, or an offence joined to its penalty clause)
    doc_id: str
    title: str
    section: str
    article: str
    passage: str  # verbatim span of Document.text
    start: int
    end: int
    domain: str
    subtype: str = ""  # penalty: amount | order | per-day; period: the unit; ban: the modal; permit: who | document
    subject: str = ""  # who must obey or who decides, when named


def _clean_item(item: str) -> str:
    """A listed offence as a clause: without its marker and the trailing 的；/的。."""
    s = LIST_ITEM.sub("", item).strip()
    return re.sub(r"[；;。，]+$", "", s)


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in re.finditer(r"\n+", text[start:end]):
        a, b = pos, start + m.start()
        if text[a:b].strip():
            out.append((a, b))
        pos = start + m.end()
    if text[pos:end].strip():
        out.append((pos, end))
    return out


def _strip_label(text: str, a: int, b: int) -> int:
    m = ARTICLE_LABEL.match(text[a:b])
    return a + (m.end() if m else 0)


def _once(value: str, *texts: str) -> bool:
    return bool(value) and all(t.count(value) == 1 for t in texts)


class _Article:
    """One article's paragraphs, sentences and listed items."""

    def __init__(self, doc: Document, sec: Section, domain: str) -> None:
        self.doc, self.sec, self.domain = doc, sec, domain
        text = doc.text
        paras = _paragraphs(text, sec.start, sec.end)
        if paras:
            paras[0] = (_strip_label(text, *paras[0]), paras[0][1])
        self.paras = paras

    def fact(self, ftype: str, value: str, statement: str, span: tuple[int, int], subtype: str = "",
             subject: str = "") -> LawFact | None:
        """A fact when the value is unambiguous and the texts fit the limits."""
        a, b = span
        passage = self.doc.text[a:b]
        if (not _once(value, statement, passage) or len(statement) > MAX_STATEMENT_CHARS or _LEANS_ON.search(statement)
                or re.search(r"[：:]。?$", statement)
                or len(passage) > MAX_SPAN_CHARS or "\t" in passage):
            return None
        return LawFact(ftype, value, statement, self.doc.doc_id, self.doc.title, " > ".join(self.sec.path),
                       self.sec.article or "", passage, a, b, self.domain, subtype, subject)

    def units(self) -> list[tuple[str, str, tuple[int, int], list[tuple[int, int]]]]:
        """(lead-in, sentence, span with lead-in, listed items) of every sentence outside the lists.

        The lead-in is the paragraph before a sentence that refers to it (前款), or the sentences before it in its
        own paragraph, else "".
        """
        text = self.doc.text
        out = []
        for i, (pa, pb) in enumerate(self.paras):
            if LIST_ITEM.match(text[pa:pb]):
                continue
            items = []
            for qa, qb in self.paras[i + 1:]:
                if not LIST_ITEM.match(text[qa:qb]):
                    break
                items.append((qa, qb))
            for m in _SENT.finditer(text, pa, pb):
                sa, sb = m.start(), m.end()
                sent = text[sa:sb].strip()
                if len(sent) < 8:
                    continue
                if "本条第" in sent:
                    continue  # refers to paragraphs a single lead-in cannot carry
                lead_start = pa  # the sentences before it in its paragraph
                if _DEPENDS.search(text[pa:sb]):
                    if i == 0:
                        continue  # depends on something this span cannot carry whole
                    lead_start = self.paras[i - 1][0]
                    if LIST_ITEM.match(text[lead_start:self.paras[i - 1][1]]):
                        continue
                lead = re.sub(r"\s*\n\s*", "", text[lead_start:sa]).strip()
                has_list = sb == pb and sent.endswith(("：", ":"))
                out.append((lead, sent, (lead_start, sb), items if has_list else []))
        return out


def _penalty_facts(art: _Article, lead: str, sent: str, span, items) -> list[LawFact]:
    v = vocab()
    values: list[tuple[str, str]] = [(m.group(0), "amount") for m in AMOUNT_RE.finditer(sent)]
    values += [(x, "order") for x in v["order_measures"] if re.search(f"责令{x}(?:[，。；：,;:]|$)", sent)
               and not any(x != y and x in y and f"责令{y}" in sent for y in v["order_measures"])]
    if "按日连续处罚" in sent:
        values.append(("按日连续处罚", "per-day"))
    out: list[LawFact] = []
    for value, sub in values:
        if items and _OFFENCE_LEAD.match(sent):
            parts = re.split(r"(?<=；)", _OFFENCE_LEAD.sub("", sent).rstrip("：:。"))
            i = next((j for j, c in enumerate(parts) if value in c), None)
            if i is None:
                continue
            clause = "".join(parts[: i + 1]).rstrip("；;，")  # the penalties up to this one: 情节严重的 keeps its base
            who = _OFFENDER.match(sent) or _OFFENCE_LEAD.match(sent)
            for qa, qb in items[:4]:
                item = _clean_item(art.doc.text[qa:qb])
                subject = (who.group("who") or "") if who else ""
                offence = item if subject in item else subject + item  # the item may name its offender itself
                if not offence or value in offence:
                    continue
                stmt = f"{offence}{'' if offence.endswith('的') else '的'}，{clause}。"
                f = art.fact("penalty", value, stmt, (span[0], qb), sub)
                if f:
                    out.append(f)
        elif not items:
            clause = _penalty_clause(sent, value)
            f = art.fact("penalty", value, lead + clause, span, sub) if clause else None
            if f:
                out.append(f)
    return out


def _penalty_clause(sent: str, value: str) -> str:
    """The part of a penalty sentence that states ``value``, from its offence ("…的，") on; "" when none."""
    segs = re.split(r"(?<=；)", sent)
    i = next((j for j, seg in enumerate(segs) if value in seg), None)
    if i is None:
        return ""
    seg = segs[i]
    if i > 0 and not seg.startswith("违反"):
        # a later clause (造成严重后果的，…; 农业投入品使用者为个人的，可以处…) is about the offence before it
        seg = "".join(segs[: i + 1])
    if "的，" not in seg[: seg.find(value)] or seg.rstrip("。").endswith(("：", ":")) or _FOLLOW_ON.match(seg):
        return ""  # no offence stated, a list lead-in, or a clause that leans on the sentence before
    return re.sub(r"[；;，]+$", "", seg) + ("" if seg.endswith("。") else "。")


def _period_facts(art: _Article, lead: str, sent: str, span) -> list[LawFact]:
    out = []
    for m in PERIOD_RE.finditer(sent):
        value = m.group("v")
        around = sent[max(0, m.start() - 6): m.end() + 3]
        if not _PERIOD_CONTEXT.search(around) or re.match(r"\d{4}年", value) or (value.endswith("年") and \
                re.search(r"\d", value)):
            continue
        unit = re.sub(rf"^{_NUM}+", "", value)
        f = art.fact("period", value, lead + sent, span, unit)
        if f:
            out.append(f)
    return out


def _ban_facts(art: _Article, lead: str, sent: str, span) -> list[LawFact]:
    bans = BAN_RE.findall(sent)
    if len(bans) != 1 or _PENALTY_CUE.search(sent) or len(sent) < 14:
        return []
    modal = bans[0]
    if sent[sent.find(modal) + len(modal):].startswith("的"):
        return []  # 禁止的时段: a ban named inside a clause, not the rule the sentence states
    before = sent[: sent.find(modal)]
    subject = re.split(r"[，,]", before)[-1] if modal == "不得" else ""
    f = art.fact("ban", modal, lead + sent, span, modal, subject)
    return [f] if f else []


def _permit_facts(art: _Article, lead: str, sent: str, span) -> list[LawFact]:
    out = []
    for m in _PERMIT_WHO.finditer(sent):
        who = m.group("who")
        if re.search(r"有关|其他|所在地的?$|^其|^本", who) or len(who) > 20:
            continue
        f = art.fact("permit", who, lead + sent, span, "who", who)
        if f:
            out.append(f)
    if re.search(r"报批|报送|编制|申请|取得|备案|提交", sent):
        for group in vocab()["filed_documents"]:
            name = group[0]
            if name in sent and not any(o != name and name in o and o in sent
                                        for g in vocab()["filed_documents"] for o in g):
                f = art.fact("permit", name, lead + sent, span, "document")
                if f:
                    out.append(f)
                break
    return out


def extract_law_facts(doc: Document, sections: Sequence[Section],
                      domain_of: Callable[[Sequence[str]], str] | None = None) -> list[LawFact]:
    """Penalty, period, ban and permit facts of every article of a law or regulation, in document order."""
    if doc.kind not in ("law", "regulation"):
        return []
    out: list[LawFact] = []
    for sec in sections:
        if not sec.article:
            continue
        art = _Article(doc, sec, domain_of(sec.path) if domain_of else "综合")
        for lead, sent, span, items in art.units():
            if _PENALTY_CUE.search(sent) or "责令" in sent or "按日连续处罚" in sent:
                out.extend(_penalty_facts(art, lead, sent, span, items))
            out.extend(_period_facts(art, lead, sent, span))
            out.extend(_ban_facts(art, lead, sent, span))
            out.extend(_permit_facts(art, lead, sent, span))
    return out


def paragraph_lead_ins(doc: Document, records: Iterable[Obligation]) -> dict[str, tuple[int, str]]:
    """(start, text) of what precedes each record inside its paragraph, its article label left out; records that
    open their paragraph have none (``Register.lead_ins``: a law party is asked with it)."""
    out: dict[str, tuple[int, str]] = {}
    for r in records:
        start = _strip_label(doc.text, doc.text.rfind("\n", 0, r.start) + 1, r.start)
        if doc.text[start:r.start].strip():
            out[r.ob_id] = (start, doc.text[start:r.start])
    return out


def law_fact_from_dict(d: dict) -> LawFact:
    """Inverse of ``dataclasses.asdict`` (unknown keys ignored)."""
    names = LawFact.__dataclass_fields__
    return LawFact(**{k: v for k, v in d.items() if k in names})
