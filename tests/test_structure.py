"""Heading hierarchy of the real plan, laws and PDFs, and the guards against false headings."""

from __future__ import annotations

import pytest

from indexing.structure import box_header, cn_number, parse_sections, section_at, section_path
from indexing.types import Document, Section

# Article counts from shared/corpus/regulations/MANIFEST.tsv (article_count column), checked there
# against the official texts.
ARTICLE_COUNTS = {
    "env-protection-law-2014": 70,
    "air-pollution-law-2018": 129,
    "water-pollution-law-2017": 103,
    "soil-pollution-law-2018": 99,
    "solid-waste-law-2020": 126,
    "eia-law-2018": 37,
    "nuclear-safety-law-2017": 94,
    "radioactive-pollution-law-2003": 63,
    "env-protection-tax-law-2018": 28,
    "env-protection-tax-law-implementing-regs-2017": 26,
    "construction-project-env-regs-2017": 30,
    "planning-eia-regs-2009": 36,
    "pollutant-discharge-permit-regs-2021": 51,
    "nature-reserve-regs-2017": 44,
    "desertification-law-2018": 47,
    "cleaner-production-law-2012": 40,
    "noise-pollution-law-2021": 90,
    "env-noise-pollution-law-2018": 64,
    "national-hazardous-waste-list-2021": 8,
    "eia-classification-list-2021": 7,
    "discharge-permit-classification-list-2019": 10,
}
WATER = "（二）全面推进水污染防治行动计划，持续改善水环境质量"


def _doc(text: str, kind: str) -> Document:
    return Document(doc_id="t", title="t", kind=kind, path="t.txt", raw=text, text=text,
                    offsets=list(range(len(text))), sha256="")


@pytest.fixture(scope="module")
def plan_sections(plan_doc: Document) -> list[Section]:
    return parse_sections(plan_doc)


def _span(doc: Document, sec: Section) -> str:
    return doc.text[sec.start:sec.end]


def test_plan_has_its_six_top_sections(plan_sections: list[Section]) -> None:
    top = [(s.kind, s.heading) for s in plan_sections if s.level == 1]
    assert top == [
        ("preamble", "关于印发《新疆维吾尔自治区环境保护“十三五”规划》的通知"),
        ("h1", "一、环境保护基础与形势"),
        ("h1", "二、指导思想、基本原则和规划目标"),
        ("h1", "三、主要任务和重点工程"),
        ("h1", "四、重点项目的实施"),
        ("h1", "五、保障措施"),
    ]
    under_three = [s.heading[:3] for s in plan_sections if s.kind == "h2" and s.path[0].startswith("三、")]
    assert under_three == ["（一）", "（二）", "(三)", "（四）", "（五）", "（六）", "（七）"]


def test_plan_boxes_one_to_nine(plan_doc: Document, plan_sections: list[Section]) -> None:
    boxes = [s for s in plan_sections if s.kind == "box"]
    assert [s.heading.split()[0] for s in boxes] == [f"专栏{i}" for i in range(1, 10)]
    by_name = {s.heading.split()[0]: s for s in boxes}
    # a box ends where its table (and notes / numbered items) end
    assert _span(plan_doc, by_name["专栏1"]).rstrip().endswith("（GB3095-1996）。")
    assert _span(plan_doc, by_name["专栏2"]).rstrip().endswith("⑥主要污染物排放总量控制指标按照环保部下发的指标执行。")
    box3 = _span(plan_doc, by_name["专栏3"])
    assert "二、南疆和东疆城市" in box3 and "1. 加大城市群" not in box3
    box4 = _span(plan_doc, by_name["专栏4"])
    assert "6. 氯碱行业" in box4 and "推进挥发性有机物污染防治" not in box4
    box6 = _span(plan_doc, by_name["专栏6"])
    assert "生态处理、湖区" in box6 and "2. 重点流域水污染防治" in box6 and "(三)" not in box6
    assert by_name["专栏6"].path[-2] == "5. 着力推进节约保护水资源"
    for box in boxes:
        assert box.level == len(box.path) and box.path[-1] == box.heading


def test_box_header_gives_title_and_columns(plan_doc: Document, plan_sections: list[Section]) -> None:
    boxes = {s.heading.split()[0]: s for s in plan_sections if s.kind == "box"}
    assert box_header(plan_doc, boxes["专栏2"]) == (
        "专栏2 “十三五”环境保护主要指标（共20项）", "指标\t基准年①\t2020年\t属性")
    assert box_header(plan_doc, boxes["专栏1"])[1] == "指标\t“十二五”规划目标\t2015年完成情况\t比较结果"
    assert box_header(plan_doc, boxes["专栏5"]) == ("专栏5 “十三五”期间水质改善优先控制单元", "")


def test_water_section_has_items_one_to_five(plan_sections: list[Section]) -> None:
    items = [s.heading for s in plan_sections if s.kind == "h3" and s.path[1] == WATER]
    assert items == [
        "1. 全面推进各类主要水体污染防控",
        "2. 全面开展各类水体污染综合整治",
        "3. 加快推进重点污染源治理",
        "4. 全面开展水环境综合分析",
        "5. 着力推进节约保护水资源",
    ]
    air = [s.heading[:2] for s in plan_sections if s.kind == "h3" and s.path[1].startswith("（一）全面实施大气")]
    assert air == ["1.", "2.", "3."]


def test_section_path_and_section_at(plan_doc: Document, plan_sections: list[Section]) -> None:
    pos = plan_doc.text.index("强化城镇生活污水治理")
    assert section_path(plan_sections, pos) == f"三、主要任务和重点工程 > {WATER} > 3. 加快推进重点污染源治理"
    sec = section_at(plan_sections, pos)
    assert sec is not None and sec.kind == "h3" and sec.level == 3
    inside_box = plan_doc.text.index("县城污水集中处理率 (%)")
    assert section_at(plan_sections, inside_box).heading.startswith("专栏2")
    after_box = plan_doc.text.index("推进挥发性有机物污染防治")
    assert section_at(plan_sections, after_box).heading == "2. 加强重点行业、领域大气污染治理"
    assert section_at(plan_sections, 0).kind == "preamble"
    assert section_at(plan_sections, len(plan_doc.text)) is None


def test_sections_are_ordered_and_nested(corpus_docs: dict[str, Document]) -> None:
    for doc in corpus_docs.values():
        sections = parse_sections(doc)
        assert sections, doc.doc_id
        assert [s.start for s in sections] == sorted(s.start for s in sections)
        for sec in sections:
            assert sec.start < sec.end <= len(doc.text) and sec.start <= sec.body_start <= sec.end
            assert sec.level == len(sec.path) and sec.path[-1] == sec.heading
            if sec.kind != "preamble":
                assert doc.text[sec.start:].startswith(sec.heading), (doc.doc_id, sec.heading)
            parents = [p for p in sections if p.path == sec.path[:-1] and p.start <= sec.start]
            if sec.level > 1:
                assert parents and parents[-1].end >= sec.end, (doc.doc_id, sec.heading)


def test_environmental_protection_law_has_70_articles_in_7_chapters(corpus_docs: dict[str, Document]) -> None:
    doc = corpus_docs["env-protection-law-2014"]
    sections = parse_sections(doc)
    chapters = [s for s in sections if s.kind == "chapter"]
    articles = [s for s in sections if s.kind == "article"]
    assert len(chapters) == 7 and chapters[0].heading == "第一章 总则"
    assert len(articles) == 70
    assert [a.article for a in articles[:3]] == ["第一条", "第二条", "第三条"]
    assert articles[-1].article == "第七十条" and articles[-1].path[0].startswith("第七章")
    tenth = articles[9]
    assert tenth.heading == tenth.article == "第十条" and tenth.level == 2
    assert doc.text[tenth.body_start:].startswith("国务院环境保护主管部门")
    # 款 and 项 stay inside their article
    assert all(s.kind in ("chapter", "article") for s in sections)


@pytest.mark.parametrize(("doc_id", "count"), sorted(ARTICLE_COUNTS.items()))
def test_article_counts_match_the_manifest(corpus_docs: dict[str, Document], doc_id: str, count: int) -> None:
    articles = [s for s in parse_sections(corpus_docs[doc_id]) if s.kind == "article"]
    assert len(articles) == count
    assert len({a.article for a in articles}) == count


def test_pdf_lists_have_articles_and_appendices(corpus_docs: dict[str, Document]) -> None:
    waste = parse_sections(corpus_docs["national-hazardous-waste-list-2021"])
    assert [(s.kind, s.heading) for s in waste if s.kind == "h1"] == [("h1", "附表"), ("h1", "附录")]
    doc = corpus_docs["discharge-permit-classification-list-2019"]
    sections = parse_sections(doc)
    categories = [s for s in sections if s.kind == "h1"]
    assert categories[0].heading == "一、畜牧业03" and categories[-1].heading == "五十一、通用工序"
    assert len(categories) == 51
    assert doc.page_at(categories[-1].start) == 20
    annex = parse_sections(corpus_docs["env-protection-tax-law-annex2-pollution-equivalents"])
    assert annex[0].heading == "附表二"
    assert [s.heading[:2] for s in annex if s.kind == "h2"] == ["一、", "二、", "三、", "四、", "五、"]


def test_cross_references_are_not_articles() -> None:
    text = ("第一章 总则\n\n第一条 为了保护环境，制定本法。\n\n第二条 违反本法规定的，依照本法第十条处罚。\n\n"
            "第十条规定的情形，依照前款处理。\n\n第三条 本法自公布之日起施行。")
    sections = parse_sections(_doc(text, "law"))
    assert [s.heading for s in sections] == ["第一章 总则", "第一条", "第二条", "第三条"]


def test_long_sentences_and_broken_numbering_are_not_headings() -> None:
    text = ("一、总体要求\n\n（一）指导思想\n\n"
            "一、坚持生态优先，推进绿色发展，到2020年全区主要污染物排放总量持续下降，环境质量明显改善。\n\n"
            "1. 大气污染防治\n\n正文。\n\n3. 跳号的条目\n\n二、主要任务")
    sections = parse_sections(_doc(text, "plan"))
    assert [s.heading for s in sections] == ["一、总体要求", "（一）指导思想", "1. 大气污染防治", "二、主要任务"]


def test_list_items_inside_a_box_are_not_headings() -> None:
    text = ("一、任务\n\n（一）水\n\n专栏1 重点工程\n\n1. 造纸行业\n\n2. 印染行业\n\n"
            "1. 推进节水\n\n正文。\n\n2. 加强监管\n\n（二）气")
    sections = parse_sections(_doc(text, "plan"))
    assert [(s.kind, s.heading) for s in sections] == [
        ("h1", "一、任务"), ("h2", "（一）水"), ("box", "专栏1 重点工程"),
        ("h3", "1. 推进节水"), ("h3", "2. 加强监管"), ("h2", "（二）气")]
    box = sections[2]
    assert text[box.start:box.end].rstrip().endswith("2. 印染行业")


def test_chinese_numerals() -> None:
    assert [cn_number(s) for s in ("一", "十", "十二", "二十", "五十一", "一百零二", "一百二十九", "7")] == [
        1, 10, 12, 20, 51, 102, 129, 7]
