"""Answer composer: routing, sentence splitting, cited extractive answers and abstention.

Passages are real corpus text (read from the files, so they are verbatim) wrapped in Chunk objects
by hand: these tests need neither an index nor an embedding model.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from indexing.manifest import read_manifest
from indexing.types import Chunk, Obligation
from kb.ask.answer import (
    ABSTAIN_MESSAGE,
    DEFAULT_CONFIG,
    ROUTES,
    Answer,
    ComposerConfig,
    compose,
    compose_from_obligations,
    route,
    split_sentences,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = read_manifest(CORPUS)
PLAN = "plan/xinjiang-env-protection-13th-fyp-2017.txt"
EIA = "laws/eia-law-2018.md"
PLAN_TITLE = "新疆维吾尔自治区环境保护“十三五”规划"
EIA_TITLE = "中华人民共和国环境影响评价法"


def _source(rel: str) -> str:
    return (CORPUS / rel).read_text(encoding="utf-8")


def _line(rel: str, prefix: str) -> str:
    """The whole line of a corpus file that starts with ``prefix`` (verbatim)."""
    lines = [ln for ln in _source(rel).splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, (prefix, len(lines))
    return lines[0]


def _between(rel: str, first: str, stop: str) -> str:
    """Verbatim text of a corpus file from ``first`` up to (not including) ``stop``, stripped."""
    text = _source(rel)
    a = text.index(first)
    return text[a : text.index(stop, a)].strip()


def _chunk(rel: str, text: str, section: str, article: str | None = None) -> Chunk:
    """A passage of a corpus file as the index would hold it, with the document's manifest metadata."""
    source = _source(rel)
    assert text in source, "test passages must be verbatim corpus text"
    entry = MANIFEST[rel]
    doc_id, title, kind = entry.doc_id, entry.title, entry.kind
    start = source.index(text)
    return Chunk(
        chunk_id=f"{doc_id}#{start}",
        doc_id=doc_id,
        title=title,
        kind=kind,
        section=section,
        start=start,
        end=start + len(text),
        text=text,
        embed_text=f"{title}\n{section}\n{text}",
        article=article,
    )


TARGETS_SECTION = "二、指导思想、基本原则和规划目标 > （三）规划目标"
TASKS = "三、主要任务和重点工程"
P_POLLUTION_TARGETS = _chunk(PLAN, _line(PLAN, "城市污水集中处理率达到90%以上"), TARGETS_SECTION + " > 3. 污染防治目标")
P_AIR_TARGETS = _chunk(
    PLAN, "全区城市空气质量好于II级的天数比例达到71.6%（AQI），其中乌鲁木齐市达到75%（AQI）。",
    TARGETS_SECTION + " > 1. 环境质量目标",
)
P_ECO_TARGETS = _chunk(PLAN, _line(PLAN, "生态环境质量总体改善"), TARGETS_SECTION + " > 5. 生态保护目标")
P_GROUNDWATER = _chunk(
    PLAN, _line(PLAN, "推进地下水污染整治"),
    TASKS + " > （二）全面推进水污染防治行动计划，持续改善水环境质量",
)
P_PERMITS = _chunk(PLAN, _line(PLAN, "建立和完善污染物排放许可制"), TASKS + " > （六）推进体制改革，促进责任落实")
P_PROGRESS = _chunk(
    PLAN, _line(PLAN, "全区污染治理设施建设步伐显著加快"), "一、环境保护基础与形势 > （一）环境保护工作取得积极进展"
)
P_AIR_TASKS = _chunk(
    PLAN, _line(PLAN, "开展重点防控区大气环境综合整治"), TASKS + " > （一）全面实施大气污染防治行动计划"
)
EIA_ART2 = _chunk(EIA, _line(EIA, "第二条 "), "第一章 总则", "第二条")
EIA_ART10 = _chunk(EIA, _between(EIA, "第十条 ", "第十一条 "), "第二章 规划的环境影响评价", "第十条")
EIA_ART13 = _chunk(EIA, _between(EIA, "第十三条 ", "第十四条 "), "第二章 规划的环境影响评价", "第十三条")
EIA_ART7 = _chunk(EIA, _between(EIA, "第七条 ", "第八条 "), "第二章 规划的环境影响评价", "第七条")

ALL = [P_POLLUTION_TARGETS, P_AIR_TARGETS, P_ECO_TARGETS, P_GROUNDWATER, P_PERMITS, P_PROGRESS, P_AIR_TASKS,
       EIA_ART2, EIA_ART10, EIA_ART13, EIA_ART7]


def _hits(*chunks: Chunk) -> list[tuple[Chunk, float]]:
    """Hits in the given order with decreasing fused scores, as the retriever returns them."""
    return [(c, 0.03 - 0.002 * i) for i, c in enumerate(chunks)]


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def assert_grounded(ans: Answer) -> None:
    """Every [n] names a citation, and every number in the answer is written in a cited passage."""
    ns = {c.n for c in ans.citations}
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)]
    assert markers or ans.abstained
    assert set(markers) <= ns
    cited = [_squash(c.text) for c in ans.citations]
    body = _squash(re.sub(r"\[\d+\]", "", ans.answer))
    for number in re.findall(r"\d+(?:\.\d+)?%?|[零〇一二两三四五六七八九十百千万]+元", body):
        assert any(number in text for text in cited), f"{number} is not in any cited passage"
    for c in ans.citations:
        if c.highlight:
            a, b = c.highlight
            assert 0 <= a < b <= len(c.text)


# Routing on real questions (several from eval/qa_dev.jsonl).
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("秸秆收集利用率要在哪年达到多少？", "deadline"),
        ("加油站地下油罐什么时候要完成双层罐改造？", "deadline"),
        ("规划执行情况的中期评估安排在什么时候？", "deadline"),
        ("2017年底前要完成乌鲁木齐市建成区黑臭水体治理吗", "deadline"),
        ("我国的环境日是哪一天？", "deadline"),
        ("到2020年，非化石能源占一次能源消费的比重要达到多少？", "target"),
        ("“十三五”期间电能替代电量累计要达到多少？", "target"),
        ("受污染耕地安全利用率目标", "target"),
        ("环境保护税的纳税人是谁？", "party"),
        ("大气污染防治由哪个部门统一监督管理？", "party"),
        ("专项规划的环境影响报告书应当包括哪些内容？", "list"),
        ("规划提出要建立哪些严格的制度？", "list"),
        ("环评法第十条规定了什么？", "law"),
        ("环境保护法哪一条规定了按日连续处罚？", "law"),
        ("违反排污许可管理条例会受到什么处罚？", "law"),
        ("什么是环境影响评价？", "definition"),
        ("环境保护税法中的“污染当量”是什么意思？", "definition"),
        ("如何加强兵地环境同治", "general"),
    ],
)
def test_route(question: str, expected: str) -> None:
    assert route(question) == expected
    assert expected in ROUTES


def test_split_sentences_keeps_terminators_and_spans() -> None:
    text = "第十条 应当包括下列内容：\n\n（一）分析；\n（二）对策。  结论！最后一句"
    spans = split_sentences(text)
    parts = [text[a:b] for a, b in spans]
    assert parts == ["第十条 应当包括下列内容：", "（一）分析；", "（二）对策。", "结论！", "最后一句"]
    assert all(text[a:b] == p for (a, b), p in zip(spans, parts, strict=True))


def test_compose_target_and_year_quotes_the_clause() -> None:
    q = "秸秆收集利用率要在哪年达到多少？"
    ans = compose(q, _hits(P_PROGRESS, P_POLLUTION_TARGETS, P_AIR_TASKS))
    assert not ans.abstained
    assert "到2020年，秸秆收集利用率达到90% [1]" in ans.answer
    assert ans.answer.startswith("期限：到2020年；数值：达到90%。")
    first = ans.citations[0]
    assert first.doc_id == "xj-env-13fyp-2017" and first.text == P_POLLUTION_TARGETS.text
    a, b = first.highlight
    assert first.text[a:b].startswith("到2020年，非化石能源") and first.text[a:b].endswith("60%以上。")
    assert ans.n_quoted == 1 and len(ans.citations) == 3
    assert ans.confidence >= DEFAULT_CONFIG.threshold
    assert_grounded(ans)


def test_compose_deadline_leads_with_the_deadline() -> None:
    ans = compose("加油站地下油罐什么时候要全部换成双层罐？", _hits(P_PERMITS, P_GROUNDWATER, P_AIR_TASKS))
    assert ans.route == "deadline"
    assert ans.answer.startswith("期限：2017年底前。")
    assert "2017年底前，加油站地下油罐全部更新为双层罐或完成防渗池设施建设 [1]" in ans.answer
    assert ans.citations[0].text == P_GROUNDWATER.text
    assert_grounded(ans)


def test_compose_target_prefers_the_named_sub_case() -> None:
    ans = compose("乌市空气质量好于二级的天数比例目标是多少？", _hits(P_AIR_TARGETS, P_PROGRESS, P_ECO_TARGETS))
    assert ans.route == "target"
    assert ans.answer.startswith("数值：达到75%。")  # 乌鲁木齐市, not the region's 71.6%
    assert_grounded(ans)


def test_compose_target_from_a_semicolon_clause() -> None:
    ans = compose("森林覆盖率到2020年要提高到多少？", _hits(P_ECO_TARGETS, P_POLLUTION_TARGETS))
    assert "森林覆盖率提高到5.6% [1]" in ans.answer
    assert ans.answer.startswith("数值：提高到5.6%。")
    assert_grounded(ans)


def test_compose_party_names_the_party_of_the_passage() -> None:
    ans = compose("专项规划环境影响报告书的审查办法由哪个部门制定？", _hits(EIA_ART7, EIA_ART13, EIA_ART10))
    assert ans.route == "party"
    assert ans.answer.startswith("责任主体：国务院生态环境主管部门。")
    assert "由国务院生态环境主管部门会同国务院有关部门制定 [1]" in ans.answer
    assert ans.citations[0].article == "第十三条"
    assert_grounded(ans)


def test_compose_law_article_lists_its_items() -> None:
    ans = compose("环评法第10条规定了什么？", _hits(EIA_ART13, EIA_ART7, EIA_ART10))
    assert ans.route == "law"
    assert ans.citations[0].article == "第十条"
    assert ans.answer.startswith("第十条 专项规划的环境影响报告书应当包括下列内容：（一）")
    assert "（三）环境影响评价的结论 [1]" in ans.answer
    a, b = ans.citations[0].highlight
    assert (a, b) == (0, len(EIA_ART10.text))
    assert_grounded(ans)


def test_compose_definition_quotes_the_whole_definition() -> None:
    ans = compose("什么是环境影响评价？", _hits(EIA_ART7, EIA_ART13, EIA_ART2))
    assert ans.route == "definition"
    assert ans.answer.startswith("第二条 本法所称环境影响评价，是指对规划和建设项目实施后")
    assert ans.answer.endswith("进行跟踪监测的方法与制度 [1]")
    assert_grounded(ans)


def test_compose_abstains_off_corpus() -> None:
    hits = _hits(P_AIR_TASKS, EIA_ART13, P_PROGRESS)
    ans = compose("个人所得税起征点是多少？", hits)
    assert ans.abstained
    assert ans.answer == f"{ABSTAIN_MESSAGE}已检索：《{PLAN_TITLE}》、《{EIA_TITLE}》"
    assert ans.confidence < DEFAULT_CONFIG.threshold
    assert ans.n_quoted == 0
    assert [c.text for c in ans.citations] == [c.text for c, _ in hits]  # the nearest passages
    d = ans.to_dict(id="q173")
    assert d["abstained"] is True and {c["role"] for c in d["citations"]} == {"nearest"}
    assert_grounded(ans)


def test_compose_abstains_for_a_place_no_passage_names() -> None:
    ans = compose("甘肃省“十三五”森林覆盖率目标是多少？", _hits(P_ECO_TARGETS, P_POLLUTION_TARGETS))
    assert ans.abstained
    ok = compose("新疆“十三五”森林覆盖率目标是多少？", _hits(P_ECO_TARGETS, P_POLLUTION_TARGETS))
    assert not ok.abstained and "5.6%" in ok.answer


def test_compose_names_the_searched_documents() -> None:
    ans = compose("个人所得税起征点是多少？", _hits(P_AIR_TASKS), searched_docs=["甲法", "《乙条例》"])
    assert ans.answer.endswith("已检索：《甲法》、《乙条例》")
    assert ans.searched_docs == ["甲法", "《乙条例》"]


def test_compose_without_hits_abstains() -> None:
    ans = compose("秸秆收集利用率要在哪年达到多少？", [])
    assert ans.abstained and ans.citations == [] and ans.confidence == 0.0


def test_citations_order_numbering_and_k() -> None:
    hits = _hits(P_PROGRESS, P_AIR_TASKS, P_POLLUTION_TARGETS, P_ECO_TARGETS, P_PERMITS, P_GROUNDWATER)
    ans = compose("秸秆收集利用率要在哪年达到多少？", hits, k=3)
    assert [c.n for c in ans.citations] == [1, 2, 3]
    assert [c.text for c in ans.citations] == [P_POLLUTION_TARGETS.text, P_PROGRESS.text, P_AIR_TASKS.text]
    assert [c.score for c in ans.citations] == [hits[2][1], hits[0][1], hits[1][1]]
    for c, chunk in zip(ans.citations, (P_POLLUTION_TARGETS, P_PROGRESS, P_AIR_TASKS), strict=True):
        assert (c.start, c.end, c.section, c.title) == (chunk.start, chunk.end, chunk.section, chunk.title)


def test_route_override_and_unknown_route() -> None:
    hits = _hits(P_POLLUTION_TARGETS)
    assert compose("秸秆收集利用率要在哪年达到多少？", hits, route="target").answer.startswith("数值：达到90%；期限")
    with pytest.raises(ValueError):
        compose("秸秆", hits, route="nonsense")


def test_to_dict_matches_the_ask_json_contract() -> None:
    ans = compose("秸秆收集利用率要在哪年达到多少？", _hits(P_POLLUTION_TARGETS, P_PROGRESS))
    d = json.loads(json.dumps(ans.to_dict(id=7), ensure_ascii=False))
    assert {"id", "question", "answer", "abstained", "route", "citations", "timings_ms"} <= set(d)
    assert d["id"] == 7 and d["question"] == "秸秆收集利用率要在哪年达到多少？" and d["abstained"] is False
    c = d["citations"][0]
    assert {"n", "doc_id", "title", "section", "text", "start", "end", "score"} <= set(c)
    assert c["role"] == "answer" and d["citations"][1]["role"] == "support"
    assert c["text"] == P_POLLUTION_TARGETS.text
    assert "compose" in d["timings_ms"]
    assert ans.to_dict()["id"] is None


@pytest.mark.parametrize(
    "question",
    [
        "秸秆收集利用率要在哪年达到多少？",
        "排污许可证核发工作哪年完成？",
        "用水总量要控制在多少以内？",
        "城市污水集中处理率要达到多少？",
        "专项规划的环境影响报告书应当包括哪些内容？",
        "由谁召集审查小组审查环境影响报告书？",
        "如何推进地下水污染整治？",
    ],
)
def test_answers_are_grounded_in_their_citations(question: str) -> None:
    ans = compose(question, _hits(*ALL))
    assert not ans.abstained
    assert_grounded(ans)


def test_threshold_is_a_config_value_the_confidence_is_compared_with() -> None:
    hits = _hits(P_POLLUTION_TARGETS)
    lexical = ComposerConfig(answerability=None)
    ans = compose("秸秆收集利用率要在哪年达到多少？", hits, config=lexical)
    assert not ans.abstained
    stricter = dataclasses.replace(lexical, abstain_threshold=ans.confidence + 0.01)
    assert compose("秸秆收集利用率要在哪年达到多少？", hits, config=stricter).abstained
    model = DEFAULT_CONFIG.answerability
    assert model is not None  # the shipped kb/ask/answerability.json
    ans = compose("秸秆收集利用率要在哪年达到多少？", hits)
    assert not ans.abstained and ans.confidence == model.probability(ans.features)
    stricter_model = dataclasses.replace(model, threshold=ans.confidence + 0.01)
    stricter = dataclasses.replace(DEFAULT_CONFIG, answerability=stricter_model)
    assert compose("秸秆收集利用率要在哪年达到多少？", hits, config=stricter).abstained


def test_compose_from_obligations_lists_cited_duties() -> None:
    passage = "2017年底前，加油站地下油罐全部更新为双层罐或完成防渗池设施建设。"
    start = _source(PLAN).index(passage)
    ob = Obligation(
        ob_id="o1", doc_id="xj-env-13fyp-2017", title=PLAN_TITLE, section=P_GROUNDWATER.section,
        action="加油站地下油罐全部更新为双层罐或完成防渗池设施建设", deadline_kind="end-of-year",
        deadline_text="2017年底前", deadline_date="2017-12-31", year=2017, party="未明确", party_source="none",
        domain="水", start=start, end=start + len(passage), passage=passage,
    )
    ans = compose_from_obligations("2017年底前要完成哪些任务？", [ob, ob])
    assert ans.answer.splitlines() == [
        "文件中的相关义务如下：",
        "· 2017年底前：加油站地下油罐全部更新为双层罐或完成防渗池设施建设 [1]",
        "· 2017年底前：加油站地下油罐全部更新为双层罐或完成防渗池设施建设 [1]",
    ]
    assert len(ans.citations) == 1 and ans.citations[0].text == passage and ans.n_quoted == 1
    assert_grounded(ans)


# Which sentence answers: place, time and the word the fact is asked of (real plan and law text).
TAX = "laws/env-protection-tax-law-2018.md"
P_PM25_TARGETS = _chunk(
    PLAN, _between(PLAN, "1. 2015年细颗粒物平均浓度未达标的城市", "2. 2015年细颗粒物年均浓度已达标"),
    "专栏3 “十三五”期间各城市细颗粒物浓度下降目标要求 > 一、北疆城市",
)
P_PM25_MET = _chunk(
    PLAN, _between(PLAN, "2. 2015年细颗粒物年均浓度已达标的北疆4个城市", "(2015年4城市"),
    "专栏3 “十三五”期间各城市细颗粒物浓度下降目标要求 > 一、北疆城市",
)
P_AIR_2020 = _chunk(PLAN, _line(PLAN, "到2020年，北疆未达标城市"), TASKS + " > （一）全面实施大气污染防治行动计划")
P_REVIEW_ECO = _chunk(PLAN, _line(PLAN, "牧还草、生态修复、荒漠化治理等生态工程"), "一、环境保护基础与形势")


def _tax_chunk() -> Chunk:
    return _chunk(TAX, _line(TAX, "第十三条 "), "第三章 税收减免", "第十三条")


def test_place_of_the_question_picks_its_sentence():
    ans = compose("“十三五”期间伊宁市的PM2.5浓度要下降多少？", _hits(P_PM25_TARGETS, P_AIR_TARGETS))
    assert not ans.abstained
    assert ans.answer.startswith("数值：下降15%")
    assert "18.3%" not in ans.answer
    assert_grounded(ans)


def test_sentence_about_another_plan_period_loses():
    ans = compose("到2020年全区森林覆盖率要提高到多少？", _hits(P_REVIEW_ECO, P_ECO_TARGETS, P_AIR_2020))
    assert not ans.abstained
    assert "5.6%" in ans.answer and "4.7%" not in ans.answer
    assert_grounded(ans)


def test_fact_next_to_the_asked_word_is_quoted():
    ans = compose("排放浓度低于标准百分之三十的，环境保护税按多少比例征收？", _hits(_tax_chunk()))
    assert not ans.abstained
    assert "减按百分之七十五征收" in ans.answer
    assert ans.answer.startswith("数值：百分之七十五")
    assert_grounded(ans)


def test_title_line_is_quoted_with_its_paragraph():
    ans = compose("2015年细颗粒物年均浓度已达标的北疆4个城市是哪些？", _hits(P_PM25_MET, P_PM25_TARGETS))
    assert not ans.abstained
    assert "克拉玛依市、博乐市、塔城市和阿勒泰市" in ans.answer
    assert_grounded(ans)


def test_lexicon_phrase_finds_the_official_wording() -> None:
    """"放羊、打猎" is "放牧、狩猎" in the regulation: the composer matches it and does not abstain."""
    rel = "laws/nature-reserve-regs-2017.md"
    chunk = _chunk(rel, _line(rel, "第三十五条 "), "第四章 法律责任", "第三十五条")
    ans = compose("在保护区里放羊打猎，把保护区搞坏了罚多少？", _hits(chunk, P_AIR_TASKS))
    assert not ans.abstained
    assert "300元以上1万元以下" in ans.answer
    assert_grounded(ans)


@pytest.mark.parametrize(
    "question, passages",
    [
        # The plan sets no CO2 target: the PM2.5 decline is another pollutant's figure.
        ("“十三五”期间单位GDP二氧化碳排放要下降多少？", (P_PM25_TARGETS, P_AIR_2020)),
        # The plan sets no green-coverage rate: the sludge treatment rate is another indicator's figure.
        ("城市建成区绿化覆盖率到2020年要达到多少？", (P_POLLUTION_TARGETS, P_AIR_2020)),
    ],
)
def test_figure_of_another_pollutant_or_indicator_is_no_answer(question: str, passages: tuple[Chunk, ...]) -> None:
    ans = compose(question, _hits(*passages))
    assert ans.abstained, ans.answer


def test_period_in_chinese_numerals_is_the_fact() -> None:
    art22 = _chunk(EIA, _between(EIA, "第二十二条 ", "第二十三条 "), "第三章 建设项目的环境影响评价", "第二十二条")
    ans = compose("审批部门收到环境影响报告书后要在多少日内作出审批决定？", _hits(art22, EIA_ART13))
    assert not ans.abstained
    assert ans.answer.startswith("数值：六十日内")
    assert "三十日" in ans.answer or "报告书之日起六十日内" in ans.answer
    assert_grounded(ans)


def test_list_item_is_quoted_with_its_lead_in() -> None:
    art12 = _chunk(TAX, _between(TAX, "第十二条 ", "第十三条 "), "第三章 税收减免", "第十二条")
    ans = compose("农业生产排放污染物要缴纳环境保护税吗？", _hits(art12, _tax_chunk()))
    assert not ans.abstained
    assert "暂予免征环境保护税……（一）农业生产" in ans.answer
    assert_grounded(ans)


def test_a_count_in_the_question_is_not_a_topic_word() -> None:
    """"多久算一次" is about a period, not about "一次性办公用品"."""
    waste = "laws/solid-waste-law-2020.md"
    office = _chunk(waste, _line(waste, "机关、企业事业单位等的办公场所应当使用"), "第四章 生活垃圾")
    tax18 = _chunk(TAX, _line(TAX, "第十八条 "), "第四章 征收管理", "第十八条")
    ans = compose("环境保护税多久算一次、多久交一次？", _hits(office, tax18))
    assert not ans.abstained
    assert "按月计算，按季申报缴纳" in ans.answer and "一次性" not in ans.answer
    assert_grounded(ans)


def test_asking_whether_something_is_allowed_is_not_a_topic_word() -> None:
    """"能不能" asks for permission; it is not a word the answering sentence has to contain."""
    rel = "laws/construction-project-env-regs-2017.md"
    art13 = _chunk(rel, _between(rel, "第十三条 ", "第十四条 "), "第二章 环境影响评价", "第十三条")
    ans = compose("环保部门能不能指定企业找哪家机构做环评？", _hits(art13, P_PERMITS))
    assert not ans.abstained
    assert "任何行政机关不得为建设单位指定" in ans.answer
    assert_grounded(ans)


PERMIT_REGS = "laws/pollutant-discharge-permit-regs-2021.md"
NOISE = "laws/noise-pollution-law-2021.md"
P_REVIEW_TABLE = _chunk(
    PLAN, _between(PLAN, "专栏1 “十二五”环境保护规划指标完成情况", "水质好于III类的区控河流断面比例"),
    "一、环境保护基础与形势 > （一）环境保护工作取得积极进展 > 5. 环境监管得到提升 > "
    "专栏1 “十二五”环境保护规划指标完成情况",
)
P_WATER_TARGETS = _chunk(PLAN, _line(PLAN, "全区79条主要监测河流"), TARGETS_SECTION + " > 1. 环境质量目标")


def test_an_item_whose_lead_in_states_the_penalty_asked_for_wins() -> None:
    """"罚多少" is answered next to "罚款": in article 33 that is the lead-in of the item the question describes."""
    art33 = _chunk(PERMIT_REGS, _between(PERMIT_REGS, "第三十三条 ", "第三十四条 "), "第五章 法律责任", "第三十三条")
    art40 = _chunk(PERMIT_REGS, _line(PERMIT_REGS, "第四十条 "), "第五章 法律责任", "第四十条")
    ans = compose("没拿到排污证就偷偷排污，按排污许可管理条例要罚多少？", _hits(art33, art40))
    assert not ans.abstained
    assert ans.answer.startswith("数值：20万元以上100万元以下")
    assert "(一)未取得排污许可证排放污染物" in ans.answer
    assert_grounded(ans)


def test_a_word_of_a_lexicon_phrase_said_again_on_its_own_still_counts() -> None:
    """"装修噪音" is a lexicon phrase; "对装修有什么要求" asks about 装修 again, outside it."""
    life = "第七章　社会生活噪声污染防治"
    old_law = "laws/env-noise-pollution-law-2018.md"
    hits = [_passage(NOISE, 7776, 7844, life, "第六十六条"),
            _passage(old_law, 4526, 4592, "第六章 社会生活噪声污染防治", "第四十七条"),
            _passage(NOISE, 10539, 10830, "第八章　法律责任", "第八十二条"),
            _passage(NOISE, 8170, 8301, life, "第七十条"),
            _passage(NOISE, 3006, 3119, "第三章　噪声污染防治的监督管理", "第二十六条"),
            _passage(old_law, 2846, 2984, "第四章 建筑施工噪声污染防治", "第三十条"),
            _passage(NOISE, 2217, 2289, "第二章　噪声污染防治标准和规划", "第十九条")]
    ans = compose("按噪声污染防治法，楼上装修噪音扰民，对装修有什么要求？", _hits(*hits))
    assert not ans.abstained
    assert "限定作业时间" in ans.answer
    assert_grounded(ans)


def _passage(rel: str, start: int, end: int, section: str, article: str | None = None) -> Chunk:
    """A passage by its character span in a corpus file (the spans of the index's top hits for a question)."""
    return _chunk(rel, _source(rel)[start:end], section, article)


def test_question_words_joined_as_in_the_question_pick_the_sentence() -> None:
    """"县城污水集中处理率" is written so in the targets, not in "县城、城市污水处理率分别达到80%、90%左右"."""
    water = TASKS + " > （二）全面推进水污染防治行动计划，持续改善水环境质量 > 3. 加快推进重点污染源治理"
    table = _between(PLAN, "3. 污染防治（7项）", "医疗废物无害化处置率")
    indicators = _chunk(PLAN, table, f"{TARGETS_SECTION} > 专栏2")
    hits = [_chunk(PLAN, _line(PLAN, "现有城镇污水处理设施因地制宜进行提标改造"), water), P_POLLUTION_TARGETS,
            indicators, P_PROGRESS]
    ans = compose("县城污水集中处理率到2020年要达到多少？", _hits(*hits))
    assert not ans.abstained
    assert "县城污水集中处理率达到80%以上" in ans.answer
    assert_grounded(ans)


def test_a_plan_question_without_a_time_asks_for_the_plan_period() -> None:
    """A target asked with no year is the 十三五 one, not the 十二五 review table's."""
    ans = compose("城镇喝的水的水源地，水质达标比例目标是多少？", _hits(P_WATER_TARGETS, P_REVIEW_TABLE))
    assert not ans.abstained
    assert ans.answer.startswith("数值：不低于91%")
    assert "92.1" not in ans.answer
    assert_grounded(ans)


def test_how_many_years_asks_for_a_period() -> None:
    art14 = _chunk(PERMIT_REGS, _line(PERMIT_REGS, "第十四条 "), "第二章 申请与审批", "第十四条")
    art13 = _chunk(PERMIT_REGS, _between(PERMIT_REGS, "第十三条 ", "第十四条 "), "第二章 申请与审批", "第十三条")
    assert route("排污许可证有效期是几年？") == "target"
    assert route("高考那几天能不能施工？") != "target"
    ans = compose("排污证一次能管几年？", _hits(art14, art13))
    assert not ans.abstained
    assert ans.answer.startswith("数值：5年")
    assert_grounded(ans)


def test_place_words_and_numerals_no_passage_has_do_not_make_it_abstain() -> None:
    """"天上" and "一年" say how the question is put; the monitoring sentence answers it."""
    nr = "laws/nature-reserve-regs-2017.md"
    space = TASKS + " > （四）全面推进国土空间管控，维护生态系统服务功能 > 1. 建立生态空间保障体系"
    hits = [_passage(nr, 2685, 2852, "第三章 自然保护区的管理", "第二十一条"),
            _chunk(PLAN, _line(PLAN, "开展自然保护区人类活动遥感监测"), space),
            _passage(nr, 1836, 1962, "第二章 自然保护区的建设", "第十六条"),
            _passage(nr, 1036, 1246, "第二章 自然保护区的建设", "第十一条"),
            _passage(nr, 1248, 1615, "第二章 自然保护区的建设", "第十二条"),
            _passage(nr, 2544, 2683, "第三章 自然保护区的管理", "第二十条")]
    ans = compose("天上卫星看自然保护区，省级保护区一年看几次？", _hits(*hits))
    assert not ans.abstained
    assert "省级自然保护区每年遥感监测1次" in ans.answer
    assert_grounded(ans)


def test_asking_whether_it_is_allowed_is_answered_by_what_forbids_it() -> None:
    """"能不能…排污水" is answered by "禁止设置排污口", not only by the plan's clean-up task."""
    water_law = "laws/water-pollution-law-2017.md"
    special = "第五章 饮用水水源和其他特殊水体保护"
    hits = [_passage(PLAN, 12173, 12431, TASKS + " > （二）全面推进水污染防治行动计划，持续改善水环境质量"),
            _passage(water_law, 8600, 8625, special, "第六十四条"),
            _passage(water_law, 9834, 9911, special, "第七十五条"),
            _passage(water_law, 8103, 8598, special, "第六十三条")]
    ans = compose("水源地保护区里能不能开个口子往里排污水？", _hits(*hits))
    assert not ans.abstained
    assert "禁止设置排污口" in ans.answer
    assert_grounded(ans)


def test_which_department_is_answered_with_the_department() -> None:
    """"归哪个部门管" is answered with the authority of the article, not the producer it is about."""
    waste = "laws/solid-waste-law-2020.md"
    art105 = _chunk(waste, _line(waste, "第一百零五条 "), "第八章  法律责任", "第一百零五条")
    ans = compose("商品包装搞得太夸张，归哪个部门管？", _hits(art105))
    assert ans.answer.startswith("责任主体：县级以上地方人民政府市场监督管理部门。")
    assert_grounded(ans)


def test_a_near_miss_abstention_says_what_is_missing_and_quotes_what_the_documents_say() -> None:
    """The plan gives the region's 秸秆 figure, not 伊宁市's: abstain, name the missing place, quote the neighbour."""
    lexical = ComposerConfig(answerability=None)
    ans = compose("伊宁市秸秆收集利用率要达到多少？", _hits(P_POLLUTION_TARGETS, P_AIR_TARGETS), config=lexical)
    assert ans.abstained
    assert ans.answer.startswith(ABSTAIN_MESSAGE) and "“伊宁市”" in ans.answer
    assert "秸秆收集利用率达到90%" in _squash(ans.answer) and "[1]" in ans.answer
    assert ans.citations[0].text == P_POLLUTION_TARGETS.text


def test_an_out_of_scope_abstention_quotes_nothing() -> None:
    ans = compose("火车票改签要收多少手续费？", _hits(P_POLLUTION_TARGETS, P_AIR_TARGETS),
                  config=ComposerConfig(answerability=None))
    assert ans.abstained and "最接近" not in ans.answer and "[1]" not in ans.answer
