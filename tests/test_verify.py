"""Typed slots and verification (kb.ask.answer.slots, kb.ask.answer.verify): what a question asks for, and whether a
candidate holds it in the asked unit, of the asked subject and for the asked member of a contrast set. Passages are
verbatim corpus text wrapped in Chunk objects, as in test_answer."""

from __future__ import annotations

import pytest
from test_answer import _chunk, _line

from indexing.tokenize import split_sentences
from kb.ask.answer import compose
from kb.ask.answer.slots import read_slots
from kb.ask.answer.types import Sentence
from kb.ask.answer.verify import has_amount_in, violations
from kb.ask.query import fold_for_match
from kb.service import KnowledgeBase

SOLID = "laws/solid-waste-law-2020.md"
WATER = "laws/water-pollution-law-2017.md"
GARBAGE = _chunk(SOLID, _line(SOLID, "违反本法规定，未在指定的地点分类投放生活垃圾的"), "第六章 法律责任",
                 "第一百一十一条")
FISHING = _chunk(WATER, _line(WATER, "在饮用水水源一级保护区内从事网箱养殖"), "第七章 法律责任", "第九十一条")


def _sentence(chunk, needle: str) -> Sentence:
    """The sentence of a chunk that holds ``needle``, as the composer's candidate."""
    s, e = next((s, e) for s, e in split_sentences(chunk.text) if needle in chunk.text[s:e])
    return Sentence(hit=0, start=s, end=e, folded=fold_for_match(chunk.text[s:e]), context="")


def test_slots_read_the_asked_unit_subject_and_contrast() -> None:
    slots = read_slots("个人在饮用水源二级保护区里钓鱼要罚多少钱？", "target")
    assert slots.kind == "amount" and slots.unit.name == "金额" and slots.subject.name == "个人"
    assert slots.contrasts == (("二级保护区", ("一级保护区", "准保护区")),)
    assert read_slots("被拘留几天？", "target").unit.name == "拘留"
    assert read_slots("没做环评就开工，最多会被罚多少？", "target").unit.name == "罚款"
    assert read_slots("多久报一次？", "deadline").unit.name == "期间"
    assert read_slots("燃煤电厂超低排放哪一年做到？", "deadline").kind == "date"
    assert read_slots("高考那几天能不能限制吵闹的活动？", "general").unit is None
    assert read_slots("规划环评审查小组中专家人数至少要占多少？", "target").kind == "amount"
    assert read_slots("规划讲了什么？", "general").kind is None


def test_an_amount_needs_the_asked_unit() -> None:
    assert has_amount_in("处二万元以上十万元以下的罚款", ("元", "倍"))
    assert has_amount_in("处所收费用1倍以上3倍以下的罚款", ("元", "倍"))
    assert has_amount_in("处建设项目总投资额百分之一以上百分之五以下的罚款", ("元", "百分之"))
    assert not has_amount_in("重点行业重金属排放强度较2013年下降10%", ("吨",))
    assert not has_amount_in("到2020年完成治理", ("日", "天", "月", "年"))  # a year is not a period
    assert has_amount_in("环境保护税按月计算，按季申报缴纳", ("日",), words=("按季",))


def test_the_fine_of_a_unit_does_not_answer_a_question_about_an_individual() -> None:
    sent = _sentence(GARBAGE, "对单位处五万元以上五十万元以下的罚款")
    q = "小区里不按规定分类扔垃圾，个人要罚多少钱？"
    assert violations(q, read_slots(q, "target"), sent, GARBAGE) == ["个人"]
    q = "单位不按规定分类投放垃圾，罚多少？"
    assert violations(q, read_slots(q, "target"), sent, GARBAGE) == []


DESERT = "laws/desertification-law-2018.md"
STATE_LAND = _chunk(DESERT, _line(DESERT, "第三十四条 使用已经沙化的国有土地"), "第五章 保障措施", "第三十四条")


@pytest.mark.parametrize(("chunk", "needle", "route", "rival_q", "missing", "own_q"), [
    # the first-grade zone does not answer for the second
    (FISHING, "个人在饮用水水源一级保护区内", "target", "在饮用水源二级保护区里钓鱼，个人要罚多少钱？", "二级保护区",
     "在饮用水源一级保护区里钓鱼，个人要罚多少钱？"),
    # 土地权属: the 70 years are for 国有 land; the law gives none for 集体所有 land
    (STATE_LAND, "不超过七十年", "law", "集体所有的沙化土地包下来治沙，最长能给多少年使用权？", "集体",
     "国有的沙化土地拿来治沙，使用权最长多少年？"),
])
def test_a_contrast_member_does_not_answer_for_its_rival(chunk, needle, route, rival_q, missing, own_q) -> None:
    """kb/vocab/contrasts.tsv: a sentence naming only one member of a set does not answer a question on another."""
    sent = _sentence(chunk, needle)
    assert missing in violations(rival_q, read_slots(rival_q, route), sent, chunk)
    assert violations(own_q, read_slots(own_q, route), sent, chunk) == []


def test_a_near_miss_is_refused_and_names_what_is_missing() -> None:
    ans = compose("在饮用水源二级保护区里钓鱼，个人要罚多少钱？", [(FISHING, 1.0)])
    assert ans.abstained
    assert "二级保护区" in ans.answer and "文件中与此最接近的内容是" in ans.answer
    ans = compose("在饮用水源一级保护区里钓鱼，个人要罚多少钱？", [(FISHING, 1.0)])
    assert not ans.abstained and "五百元以下" in ans.answer


def test_a_verified_candidate_is_quoted_before_a_closer_one_without_the_fact() -> None:
    """The garbage article's first sentence matches more words; the fine is in the one after it."""
    q = "不在指定地点分类投放生活垃圾，单位罚款是多少？"
    ans = compose(q, [(GARBAGE, 1.0)])
    assert not ans.abstained and "五万元以上五十万元以下" in ans.answer


def test_a_follow_up_is_answered_about_its_own_words(knowledge_base: KnowledgeBase) -> None:
    """"湖库的呢？" after a question on river sections: the lakes' target, not the rivers' again."""
    ans = knowledge_base.ask("湖库的呢？", history=["河流断面水质优良比例2020年目标是多少？"])
    assert not ans.abstained and "71" in ans.answer and "94%" not in ans.answer.split("。")[0]


def test_a_question_is_read_once_and_composed_from_that_reading(knowledge_base: KnowledgeBase) -> None:
    """The service reads each part once (normalised, routed, slots, focus); compose takes that reading or the text."""
    from kb.ask.answer.question import read_part

    query = knowledge_base.read("那乌鲁木齐呢？", history=["喀什市的黑臭水体哪年要治理完？"])
    (part,) = query.parts
    assert part.text == "乌鲁木齐的黑臭水体哪年要治理完？" and part.focus == "那乌鲁木齐呢？"
    assert part.route == "deadline" and part.cues[0] == "deadline" and part.slots.kind == "date"
    assert read_part("个人要罚多少钱？").slots.unit.name == "金额"
    hits = [(GARBAGE, 1.0), (FISHING, 0.5)]
    q = "单位不按规定分类投放垃圾，罚多少？"
    assert compose(read_part(q), hits).answer == compose(q, hits).answer


def test_a_named_law_is_answered_from_that_law_or_not_at_all(knowledge_base: KnowledgeBase) -> None:
    # The 噪声污染防治法 ends at 第九十条; the 大气污染防治法's 第九十八条 answers nothing about noise.
    ans = knowledge_base.ask("噪声污染防治法第九十八条规定了什么？", use_llm=False)
    assert ans.abstained and "问题中“噪声污染防治法第九十八条”" in ans.answer
    ans = knowledge_base.ask("大气污染防治法第九十八条规定了什么？", use_llm=False)
    assert not ans.abstained and "拒不接受" in ans.answer


def test_a_word_jieba_does_not_know_is_no_place_name(knowledge_base: KnowledgeBase) -> None:
    """jieba's HMM tags the unknown 撒土 (一路撒土) as a place name; only dictionary words count as names, so the
    question is not refused for a "place" the documents never mention."""
    from kb.ask.answer.confidence import _proper_names

    assert _proper_names("拉渣土的货车一路撒土，要罚多少钱？") == []
    assert _proper_names("上海的垃圾分类怎么罚？") == ["上海"]
    # in the question's order, so that a refusal names them the same way every time
    assert _proper_names("上海和广州的垃圾分类怎么罚？") == ["上海", "广州"]
    assert _proper_names("广州和上海的垃圾分类怎么罚？") == ["广州", "上海"]
    ans = knowledge_base.ask("拉渣土的货车一路撒土，要罚多少钱？", use_llm=False)
    assert not ans.abstained and "二千元以上二万元以下" in ans.answer


def test_a_target_for_one_medium_does_not_answer_another(knowledge_base: KnowledgeBase) -> None:
    """The plan sets no 2020 figure for groundwater; the rivers' 94% is not one (kb/vocab/media.tsv)."""
    ans = knowledge_base.ask("全区地下水水质优良比例到2020年要达到多少？", use_llm=False)
    assert ans.abstained and "94%" not in ans.answer.split("文件中与此最接近的内容是")[0]
    ans = knowledge_base.ask("河流水质优良断面比例到2020年目标多少？", use_llm=False)
    assert not ans.abstained and "94%" in ans.answer


def test_a_count_asked_needs_a_count_in_its_measure_word() -> None:
    """kb/vocab/asked_units.tsv 数目: "几条黑臭水体" is not answered by a deadline sentence with no count."""
    slots = read_slots("乌鲁木齐建成区一共有几条黑臭水体要治？", "target")
    assert slots.unit is not None and slots.unit.name == "数目"
    assert not has_amount_in("2017年底前完成乌鲁木齐市建成区黑臭水体治理任务", slots.unit.units, "", slots.unit.words)
    assert has_amount_in("全区共排查出黑臭水体12条", slots.unit.units, "", slots.unit.words)
    assert read_slots("有哪几条规定？", "law").unit is None and read_slots("第几条规定的？", "law").unit is None


def test_the_plans_review_of_the_last_period_does_not_answer_for_its_own(knowledge_base: KnowledgeBase) -> None:
    """"完成沙化土地治理4200万亩" is the 十二五 record (一、… > （一）环境保护工作取得积极进展), not a 十三五 task
    (kb/vocab/review_sections.tsv)."""
    ans = knowledge_base.ask("十三五期间全区要治理多少万亩沙化土地？", use_llm=False)
    assert ans.abstained and "问题中“十三五”" in ans.answer
    ans = knowledge_base.ask("十二五期间沙化土地治理了多少万亩？", use_llm=False)
    assert not ans.abstained and "4200万亩" in ans.answer


def test_a_plan_question_without_a_year_means_the_plans_own_period(knowledge_base: KnowledgeBase) -> None:
    """"实施了1836个村庄环境综合整治" is the 十二五 record; "打算整治多少个村" asks the 十三五 plan (3600)."""
    ans = knowledge_base.ask("这几年全区打算整治多少个村？", use_llm=False)
    assert not ans.abstained and "3600" in ans.answer and "1836" not in ans.answer
