"""Every routed kind end to end on the session's full index, through `KnowledgeBase.ask` and `kb ask --json`.

Each row names the clause of the corpus that answers the question, copied verbatim; the answer must quote that
clause, from that document, as one of the passages it answers with. A wrong clause that shares a number or a word
with the right one fails (e.g. 城市污水集中处理率达到90% for the straw question). The aggregate questions are checked
record by record against the gold register (eval/obligations_gold.jsonl).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from eval.obligations_eval import load_gold
from indexing.config import Settings
from indexing.types import Document
from kb.service import KnowledgeBase

PLAN = "xj-env-13fyp-2017"
KB = [sys.executable, "-m", "kb.cli"]

# kind -> (question, history, document, verbatim clause of that document that answers it)
ROUTED = {
    "deadline": ("全区单一水源供水的城市要在什么时候前完成备用水源或应急水源建设？", [], PLAN,
                 "2020年底前，全区单一水源供水的城市完成备用水源或应急水源建设"),
    "deadline straw": ("秸秆收集利用率要在哪年达到多少？", [], PLAN, "秸秆收集利用率达到90%"),
    "target": ("2020年工业固体废物综合利用率的目标是多少？", [], PLAN, "工业固体废物综合利用率达到60%以上"),
    "party": ("谁负责全国排污许可的统一监督管理？", [], "pollutant-discharge-permit-regs-2021",
              "国务院生态环境主管部门负责全国排污许可的统一监督管理"),
    "list": ("2015年细颗粒物年均浓度已达标的北疆4个城市是哪些？", [], PLAN, "克拉玛依市、博乐市、塔城市和阿勒泰市"),
    "law": ("环境保护法哪一条规定了按日连续处罚？", [], "env-protection-law-2014",
            "依法作出处罚决定的行政机关可以自责令改正之日的次日起，按照原处罚数额按日连续处罚"),
    "definition": ("什么是危险废物？", [], "solid-waste-law-2020",
                   "危险废物，是指列入国家危险废物名录或者根据国家规定的危险废物鉴别标准和鉴别方法认定的具有危险特性的固体废物"),
    "permission": ("水源地保护区里能不能开个口子排污水？", [], "water-pollution-law-2017",
                   "在饮用水水源保护区内，禁止设置排污口"),
    "follow-up": ("那乌鲁木齐呢？", ["到2020年北疆未达标城市细颗粒物年均浓度要下降多少？"], PLAN,
                  "乌鲁木齐市、昌吉市下降20%"),
}
# A question on the plan's own subject whose fact the corpus does not hold (the plan ends in 2020).
NEAR_MISS = "新疆2025年PM2.5浓度目标是多少？"
DUE_2017 = "哪些任务要在2017年底前完成？"
TARGETS_2020 = "2020年要达到哪些目标？"


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(settings.data_dir), KB_CORPUS_DIR=str(settings.corpus_dir))
    return env


def _kb_ask_json(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KB, "ask", *args, "--json"], env=_env(settings), capture_output=True, text=True,
                          timeout=600, check=True)


def _answer_lines(answer: str) -> list[str]:
    """The lines of an answer that end with a citation marker (one per listed record)."""
    return [line for line in answer.splitlines() if re.search(r"\[\d+\]\s*$", line)]


@pytest.fixture(scope="module")
def cli_answers(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """`kb ask --batch --json` over every routed question, the near miss and the aggregates, by id."""
    batch = tmp_path_factory.mktemp("routes") / "questions.jsonl"
    items = [{"id": kind, "q": q, "history": history} for kind, (q, history, _, _) in ROUTED.items()]
    items += [{"id": "near-miss", "q": NEAR_MISS}, {"id": "2020", "q": TARGETS_2020}]
    batch.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in items), encoding="utf-8")
    out = _kb_ask_json(built_settings, "--batch", str(batch))
    return {row["id"]: row for row in map(json.loads, out.stdout.splitlines())}


@pytest.mark.parametrize("kind", list(ROUTED))
def test_clauses_in_the_table_are_verbatim_corpus_text(kind: str, corpus_docs: dict[str, Document]) -> None:
    _, _, doc_id, clause = ROUTED[kind]
    assert clause in corpus_docs[doc_id].text


@pytest.mark.parametrize("kind", list(ROUTED))
def test_routed_question_quotes_its_clause(kind: str, knowledge_base: KnowledgeBase) -> None:
    question, history, doc_id, clause = ROUTED[kind]
    ans = knowledge_base.ask(question, history=history)
    assert not ans.abstained, ans.answer
    assert clause in ans.answer, ans.answer
    quoted = ans.citations[: ans.n_quoted]
    assert any(c.doc_id == doc_id and clause in c.text for c in quoted), [(c.doc_id, c.text[:60]) for c in quoted]


@pytest.mark.parametrize("kind", list(ROUTED))
def test_kb_ask_json_quotes_its_clause(kind: str, cli_answers: dict[str, dict]) -> None:
    _, _, doc_id, clause = ROUTED[kind]
    out = cli_answers[kind]
    assert not out["abstained"], out["answer"]
    assert clause in out["answer"], out["answer"]
    assert any(c["role"] == "answer" and c["doc_id"] == doc_id and clause in c["text"] for c in out["citations"])


def test_near_miss_abstains(knowledge_base: KnowledgeBase, cli_answers: dict[str, dict]) -> None:
    ans = knowledge_base.ask(NEAR_MISS)
    assert ans.abstained and ans.answer.startswith("未在文件中找到"), ans.answer
    head = ans.answer.split("文件中与此最接近的内容是")[0]  # a near miss then quotes what the documents do say
    assert ans.n_quoted == 0 and "%" not in head and "2025" in head  # no 2020 target as the 2025 one; 2025 named
    out = cli_answers["near-miss"]
    assert out["abstained"] and out["answer"].startswith("未在文件中找到"), out["answer"]
    assert {c["role"] for c in out["citations"]} <= {"nearest"}


def _gold_2017() -> list[str]:
    """The passages of the plan's duties due by the end of 2017 (gold register)."""
    return [g["passage_contains"] for g in load_gold() if g["kind"] == "deadline" and "2017" in g["deadline_text"]
            and g["deadline_kind"] != "from-year-on"]


def _assert_lists_exactly(answer: str, quoted_texts: list[str], gold: list[str]) -> None:
    """Each listed line is one gold record and each gold record is listed once, quoted from its passage."""
    lines = _answer_lines(answer)
    matches = [[g for g in gold if g in line] for line in lines]
    assert all(len(m) == 1 for m in matches), [line for line, m in zip(lines, matches, strict=True) if len(m) != 1]
    assert sorted(m[0] for m in matches) == sorted(gold)
    assert all(any(g in text for text in quoted_texts) for g in gold)


def test_2017_aggregate_lists_the_gold_records(knowledge_base: KnowledgeBase, corpus_docs) -> None:
    ans = knowledge_base.ask(DUE_2017)
    assert not ans.abstained, ans.answer
    quoted = ans.citations[: ans.n_quoted]
    assert all(corpus_docs[c.doc_id].text[c.start : c.end] == c.text for c in quoted)
    _assert_lists_exactly(ans.answer, [c.text for c in quoted], _gold_2017())


def test_2017_aggregate_through_kb_ask_json(built_settings: Settings) -> None:
    out = json.loads(_kb_ask_json(built_settings, DUE_2017).stdout)
    assert not out["abstained"], out["answer"]
    quoted = [c["text"] for c in out["citations"] if c["role"] == "answer"]
    _assert_lists_exactly(out["answer"], quoted, _gold_2017())


def _table_rows_2020(answer: str) -> dict[str, str]:
    """Indicator -> stated value of the answer's indicator-table lines (``2020年：指标：值 [n]``)."""
    rows = {}
    for line in _answer_lines(answer):
        m = re.search(r"2020年：(.+)：(.+?)\s*\[\d+\]\s*$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _assert_2020_targets(answer: str) -> None:
    """The 2020 indicator rows listed are exactly the gold rows of 专栏2 (the plan's 2020 targets), each with its
    gold value; no row of 专栏1 (the 十二五 results) is passed off as a 2020 target."""
    gold = {g["indicator"]: g["target"] for g in load_gold() if g["kind"] == "indicator" and g["table"] == "专栏2"}
    rows = _table_rows_2020(answer)
    assert set(rows) == set(gold), answer
    assert all(rows[name].startswith(value) for name, value in gold.items()), rows
    # and the plan's own sentence on the 2020 energy and straw targets
    assert "非化石能源占一次能源消费比重达到15%以上" in answer and "秸秆收集利用率达到90%" in answer


def test_2020_aggregate_lists_the_gold_targets(knowledge_base: KnowledgeBase, cli_answers: dict[str, dict]) -> None:
    ans = knowledge_base.ask(TARGETS_2020)
    assert not ans.abstained, ans.answer
    _assert_2020_targets(ans.answer)
    _assert_2020_targets(cli_answers["2020"]["answer"])


def test_a_repealed_law_is_marked_and_said(knowledge_base: KnowledgeBase, built_settings: Settings) -> None:
    """The 环境噪声污染防治法 was repealed on 2022-06-05: its citations say so, and an answer quoting it ends with a
    line that sends the reader to the law in force; an answer from the current law carries no such line."""
    old = knowledge_base.ask("环境噪声污染防治法所称环境噪声污染是指什么？")
    assert not old.abstained, old.answer
    quoted = old.citations[: old.n_quoted]
    assert quoted and quoted[0].doc_id == "env-noise-pollution-law-2018" and quoted[0].status == "2022-06-05废止"
    assert old.answer.endswith("注意：[1]《中华人民共和国环境噪声污染防治法》已于 2022-06-05 废止，"
                               "由《中华人民共和国噪声污染防治法》取代，请以现行规定为准。")
    assert all(c.status == ("2022-06-05废止" if c.doc_id == "env-noise-pollution-law-2018" else "")
               for c in old.citations)
    assert all(c.replaced_by == ("中华人民共和国噪声污染防治法" if c.status else "") for c in old.citations)
    current = knowledge_base.ask("全区单一水源供水的城市要在什么时候前完成备用水源或应急水源建设？")
    assert "废止" not in current.answer and all(c.status == "" for c in current.citations)
    out = json.loads(_kb_ask_json(built_settings, "环境噪声污染防治法所称环境噪声污染是指什么？").stdout)
    assert out["citations"][0]["status"] == "2022-06-05废止" and "已于 2022-06-05 废止" in out["answer"]
    assert out["citations"][0]["replaced_by"] == "中华人民共和国噪声污染防治法"


def test_the_law_in_force_is_quoted_before_the_repealed_one(knowledge_base: KnowledgeBase) -> None:
    """Both noise laws say a road past homes needs sound barriers; the answer quotes only the law in force (without
    the repealed-law penalty it quoted the 环境噪声污染防治法 first), so no repeal notice is needed."""
    ans = knowledge_base.ask("城市高架路经过住宅区要不要设声屏障？")
    quoted = ans.citations[: ans.n_quoted]
    assert quoted and all(c.doc_id == "noise-pollution-law-2021" for c in quoted), [c.doc_id for c in quoted]
    assert "声屏障" in ans.answer and "废止" not in ans.answer

