"""Follow-ups, off-topic next questions and multi-part questions: the reading (kb.ask.dialogue), the combined answer
(kb.ask.parts) and the service on the real index, with the LLM called once per question."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fake_openai import FakeOpenAI

from indexing.config import Settings
from kb.ask.dialogue import leans_on_previous, resolve, split_parts
from kb.service import KnowledgeBase

PLAN_TARGETS = "克拉玛依市细颗粒物浓度要下降多少？"


def test_an_entity_follow_up_swaps_the_entity_into_the_previous_question() -> None:
    r = resolve("那乌鲁木齐呢？", [PLAN_TARGETS])
    assert r.merged and r.text == "乌鲁木齐细颗粒物浓度要下降多少？"
    assert resolve("那2018年呢？", ["2017年底前要完成哪些任务？"]).text == "2018年底前要完成哪些任务？"


def test_a_contrast_member_follow_up_swaps_its_rival() -> None:
    """kb/vocab/contrasts.tsv: "那重点管理的呢？" after 简化管理 asks the same of 重点管理, not of both."""
    r = resolve("那重点管理的呢？", ["简化管理的排污许可证多少天内审批完？"])
    assert r.merged and r.text == "重点管理的排污许可证多少天内审批完？"
    assert resolve("二级保护区呢？", ["在饮用水一级保护区钓鱼罚多少？"]).text == "在饮用水二级保护区钓鱼罚多少？"
    assert resolve("那重点管理的呢？", ["排污许可证多少天内审批完？"]).text != "排污许可证多少天内审批完？"


def test_a_contrast_member_follow_up_is_answered_for_that_member(knowledge_base: KnowledgeBase) -> None:
    ans = knowledge_base.ask("那重点管理的呢？", history=["简化管理的排污许可证多少天内审批完？"], use_llm=False)
    assert not ans.abstained and "30日" in ans.answer


def test_an_aspect_follow_up_keeps_the_topic_and_asks_the_new_thing() -> None:
    r = resolve("罚多少？", ["饮用水水源一级保护区里能不能网箱养殖？"])
    assert r.merged
    assert r.text.startswith("饮用水水源一级保护区里网箱养殖") and r.text.endswith("罚多少？")
    # The previous question's own question words go: "哪个部门" would otherwise route the merged question to a party.
    merged = resolve("审批的时候收费吗？", ["建设项目环境影响报告书报哪个部门审批？"]).text
    assert "哪个部门" not in merged and "收费" in merged


def test_an_off_topic_next_question_is_not_merged() -> None:
    for q in ("今天天气怎么样？", "火车票多少钱一张？", "博斯腾湖水质目标是什么？"):
        r = resolve(q, ["到2020年细颗粒物浓度要下降多少？"])
        assert not r.merged and r.text == q
    assert not leans_on_previous("个人所得税起征点是多少？")
    assert leans_on_previous("这种情况归谁管？") and leans_on_previous("那如果是单位呢？")


def test_a_question_asking_two_things_is_split_and_the_second_part_keeps_the_topic() -> None:
    parts = split_parts("排污许可证有效期几年？逾期不延续会怎样？")
    assert len(parts) == 2 and parts[0] == "排污许可证有效期几年？"
    assert parts[1].startswith("排污许可证有效期") and parts[1].endswith("逾期不延续会怎样？")
    assert split_parts("秸秆收集利用率要在哪年达到多少？") == ["秸秆收集利用率要在哪年达到多少？"]
    assert split_parts("请注意。秸秆收集利用率是多少？") == ["请注意。秸秆收集利用率是多少？"]


def test_a_question_asking_the_same_of_two_things_is_split_per_thing() -> None:
    assert split_parts("环评法里，报告书和报告表的审批时限分别是多少天？") == [
        "环评法里，报告书的审批时限是多少天？", "环评法里，报告表的审批时限是多少天？"]
    assert split_parts("非化石能源占比和秸秆收集利用率，2020年分别要到多少？") == [
        "非化石能源占比，2020年要到多少？", "秸秆收集利用率，2020年要到多少？"]
    assert split_parts("企业造成一般或较大水污染事故、重大或特大水污染事故，分别按直接损失的多少计罚？")[1] == (
        "企业造成重大或特大水污染事故，按直接损失的多少计罚？")
    assert split_parts("2030年前各省碳达峰的排放上限分别是多少？") == ["2030年前各省碳达峰的排放上限分别是多少？"]


def test_follow_up_is_answered_from_the_resolved_question(knowledge_base: KnowledgeBase) -> None:
    """Before, the composer got the raw follow-up ("那乌鲁木齐呢？") and could not see what was asked of the place."""
    ans = knowledge_base.ask("那乌鲁木齐呢？", history=["喀什市的黑臭水体哪年要治理完？"])
    assert ans.resolved_question == "乌鲁木齐的黑臭水体哪年要治理完？"
    assert not ans.abstained and ans.answer.startswith("期限：2017年底前")
    assert "乌鲁木齐市建成区黑臭水体" in ans.answer


def test_off_topic_next_question_is_answered_alone_and_abstains(knowledge_base: KnowledgeBase) -> None:
    ans = knowledge_base.ask("今天天气怎么样？", history=["秸秆收集利用率要在哪年达到多少？"])
    assert ans.resolved_question is None
    assert ans.abstained and "90%" not in ans.answer


def test_two_part_question_answers_each_part_with_one_citation_list(knowledge_base: KnowledgeBase) -> None:
    ans = knowledge_base.ask("排污许可证有效期是几年？延续的话要提前多少日申请？")
    assert ans.route == "multipart" and not ans.abstained
    first, second = ans.answer.splitlines()[:2]
    assert first.startswith("①") and "5年" in first
    assert second.startswith("②") and "60日" in second
    numbers = [c.n for c in ans.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    quoted = " ".join(c.text for c in ans.citations[: ans.n_quoted])
    assert "5年" in quoted and "60日" in quoted


def test_llm_is_called_once_per_question_through_the_service(built_settings: Settings, embeddings,
                                                              tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        settings = replace(built_settings, llm_base_url=server.base_url, llm_model="fake", llm_timeout_s=5)
        kb = KnowledgeBase(settings, embeddings=embeddings)
        server.reply("根据规划，到2020年秸秆收集利用率达到90% [1]。")
        items = list(kb.ask_stream("秸秆收集利用率要在哪年达到多少？"))
        final = items[-1]
        assert all(isinstance(i, str) for i in items[:-1]) and items[:-1]
        assert final.llm["path"] == "llm" and "90%" in final.answer
        assert len(server.requests) == 1
        kb.ask("秸秆收集利用率要在哪年达到多少？")
        assert len(server.requests) == 2
