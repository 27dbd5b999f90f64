"""Optional LLM synthesis (kb/ask/llm.py) against a real local OpenAI-compatible server (fake_openai.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI

from indexing.config import Settings
from indexing.types import Citation
from kb.ask.llm import (
    NOTICES,
    LLMResult,
    build_messages,
    llm_enabled,
    split_sentences,
    stream_synthesize,
    synthesize,
    verify,
)

TITLE = "新疆环境保护“十三五”规划"
# Verbatim passages of corpus/plan/xinjiang-env-protection-13th-fyp-2017.txt.
PASSAGES = [
    (
        "二、规划目标 > （二）具体指标",
        "城市污水集中处理率达到90%以上，县城污水集中处理率达到80%以上；城市生活垃圾无害化处理率达到90%以上，"
        "县城生活垃圾无害化处理率达到60%以上。到2020年，非化石能源占一次能源消费比重达到15%以上，"
        "电能替代电量累计330亿千瓦时，年均替代电量保持10-20%的增速，秸秆收集利用率达到90%。",
    ),
    (
        "三、主要任务和重点工程 > （二）全面推进水污染防治行动计划，持续改善水环境质量",
        "推进地下水污染整治。2017年底前，加油站地下油罐全部更新为双层罐或完成防渗池设施建设。",
    ),
    (
        "五、保障措施 > （三）加强兵地环境同治",
        "牢固树立兵地环境保护“一盘棋”的思想，兵团在自治区人民政府统一领导下，依照环境保护法律、法规和"
        "《新疆维吾尔自治区环境保护条例》规定，负责其管辖区域内的环境保护工作。",
    ),
]
CITATIONS = [
    Citation(n=i, doc_id="xj-plan", title=TITLE, section=sec, text=text, start=0, end=len(text), score=1.0)
    for i, (sec, text) in enumerate(PASSAGES, start=1)
]
QUESTION = "到2020年城市污水集中处理率要达到多少？"
EXTRACTIVE = "城市污水集中处理率达到90%以上[1]。"

FAITHFUL = (
    "到2020年，城市污水集中处理率达到90%以上，县城污水集中处理率达到80%以上[1]。"
    "电能替代电量累计330亿千瓦时[1]。"
    "2017年底前，加油站地下油罐全部更新为双层罐或完成防渗池设施建设[2]。"
    "兵团在自治区人民政府统一领导下负责其管辖区域内的环境保护工作[3]。"
)
FABRICATED = "到2020年城市污水集中处理率达到95%[1]。"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _settings(server: FakeOpenAI, timeout_s: float = 10) -> Settings:
    return Settings(llm_base_url=server.base_url, llm_model="fake-model", llm_api_key="", llm_timeout_s=timeout_s)


def _stream(settings: Settings) -> tuple[list[str], LLMResult]:
    items = list(stream_synthesize(QUESTION, EXTRACTIVE, CITATIONS, settings))
    *pieces, final = items
    assert all(isinstance(p, str) for p in pieces)
    assert isinstance(final, LLMResult)
    return pieces, final


def test_llm_disabled_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KB_LLM_BASE_URL", "KB_LLM_MODEL", "KB_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert not llm_enabled(settings)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, settings)
    assert (result.path, result.text) == ("skipped", EXTRACTIVE)


def test_llm_enabled_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("KB_LLM_MODEL", "qwen")
    assert llm_enabled(Settings())


def test_prompt_numbers_the_passages() -> None:
    system, user = build_messages(QUESTION, CITATIONS)
    assert "[1][3]" in system.content  # the marker format is spelled out
    assert "未在文件中找到" in system.content
    for c in CITATIONS:
        assert f"[{c.n}] 《{TITLE}》 {c.section}\n{c.text}" in user.content
    assert user.content.endswith(QUESTION)


def test_faithful_answer_passes_with_markers(server: FakeOpenAI) -> None:
    server.reply(FAITHFUL)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server))
    assert result.path == "llm"
    assert result.text == FAITHFUL
    assert result.dropped == [] and result.notice == ""
    body, headers = server.requests[-1], server.headers[-1]
    assert body["model"] == "fake-model" and body["temperature"] == 0 and not body.get("stream")
    assert PASSAGES[1][1] in body["messages"][1]["content"]
    assert headers["authorization"] == "Bearer none"


def test_fabricated_number_is_dropped(server: FakeOpenAI) -> None:
    server.reply(FAITHFUL + FABRICATED)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server))
    assert result.path == "llm"
    assert result.dropped == [FABRICATED]
    assert result.text == FAITHFUL
    assert "95%" not in result.text


def test_mostly_fabricated_answer_falls_back(server: FakeOpenAI) -> None:
    server.reply(FABRICATED + "乌鲁木齐市人民政府负责地下油罐改造[2]。2017年底前完成改造[2]。")
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server))
    assert result.path == "fallback-unsupported"
    assert result.text == NOTICES["fallback-unsupported"] + "\n" + EXTRACTIVE
    assert result.dropped == [FABRICATED, "乌鲁木齐市人民政府负责地下油罐改造[2]。"]


def test_not_found_answer_falls_back(server: FakeOpenAI) -> None:
    server.reply("未在文件中找到。")
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server))
    assert result.path == "fallback-unsupported"
    assert result.text.endswith(EXTRACTIVE)


def test_timeout_falls_back_quickly(server: FakeOpenAI) -> None:
    server.reply(FAITHFUL, delay_s=5)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server, timeout_s=1))
    assert result.path == "fallback-timeout"  # the client's timeout fired, not the server's late answer
    assert result.text == NOTICES["fallback-timeout"] + "\n" + EXTRACTIVE
    assert "Timeout" in result.error


def test_server_error_falls_back(server: FakeOpenAI) -> None:
    server.reply("boom", status=500)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, _settings(server))
    assert result.path == "fallback-error"
    assert result.text == NOTICES["fallback-error"] + "\n" + EXTRACTIVE
    assert "boom" in result.error


def test_unreachable_endpoint_falls_back() -> None:
    with FakeOpenAI() as fake:
        settings = _settings(fake)
    result = synthesize(QUESTION, EXTRACTIVE, CITATIONS, settings)
    assert result.path in ("fallback-error", "fallback-timeout")
    assert result.text.endswith(EXTRACTIVE)


def test_streaming_yields_pieces_then_verified_text(server: FakeOpenAI) -> None:
    server.reply(FAITHFUL + FABRICATED, chunk_chars=5)
    pieces, final = _stream(_settings(server))
    assert server.requests[-1]["stream"] is True
    assert len(pieces) > 5
    assert "".join(pieces) == final.raw == FAITHFUL + FABRICATED
    assert final.path == "llm"
    assert final.text == FAITHFUL
    assert final.dropped == [FABRICATED]


def test_streaming_timeout_and_error_fall_back(server: FakeOpenAI) -> None:
    server.reply(FAITHFUL, delay_s=5)
    pieces, final = _stream(_settings(server, timeout_s=1))
    assert pieces == [] and final.path == "fallback-timeout" and "Timeout" in final.error
    server.reply("boom", status=500)
    pieces, final = _stream(_settings(server))
    assert pieces == [] and final.path == "fallback-error"
    assert final.text.startswith(NOTICES["fallback-error"])


def test_no_citations_skips_the_llm(server: FakeOpenAI) -> None:
    calls = len(server.requests)
    result = synthesize(QUESTION, "未在文件中找到相关内容。", [], _settings(server))
    assert (result.path, result.text) == ("skipped", "未在文件中找到相关内容。")
    assert len(server.requests) == calls


# --- verify() on its own -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "到２０２０ 年，秸秆收集利用率达到９０％[1]。",  # full-width digits and stray spaces
        "年均替代电量保持10%～20%的增速[1]。",  # a range written differently
        "2017年底前，加油站地下油罐全部更新为双层罐[2]。",
        "自治区人民政府统一领导兵团的环境保护工作[3]。",
        "新疆维吾尔自治区人民政府统一领导兵团的环境保护工作[3]。",  # full name of 自治区
        "该规划要求推进地下水污染整治。[2]",  # marker after the full stop
        "县城污水集中处理率达到80%以上[1][7]。",  # one known passage is enough
    ],
)
def test_verify_keeps_supported(sentence: str) -> None:
    kept, dropped = verify(sentence, CITATIONS)
    assert dropped == []
    assert kept == sentence.replace("[7]", "")


@pytest.mark.parametrize(
    "sentence",
    [
        "城市污水集中处理率达到90%以上。",  # no marker
        "城市污水集中处理率达到90%以上[4]。",  # marker to a passage that does not exist
        "城市污水集中处理率达到90%以上[2]。",  # the number is in another passage than the cited one
        "2018年底前，加油站地下油罐全部更新为双层罐[2]。",  # wrong year
        "2017年6月前，加油站地下油罐全部更新为双层罐[2]。",  # a date the passage does not give
        "电能替代电量累计330万千瓦时[1]。",  # wrong magnitude
        "秸秆收集利用率达到90.5%[1]。",  # wrong decimal
        "自治区环境保护厅负责加油站地下油罐改造[2]。",  # a party the passage does not name
        "乌鲁木齐市人民政府统一领导兵团[3]。",  # a narrower party than the passage's
    ],
)
def test_verify_drops_unsupported(sentence: str) -> None:
    assert verify(sentence, CITATIONS) == ("", [sentence])


def test_verify_keeps_line_structure() -> None:
    answer = (
        "要点如下：\n"
        "1. 城市污水集中处理率达到90%以上[1]。\n"
        "2. 县城污水集中处理率达到85%以上[1]。\n"
        "3. 2017年底前完成加油站改造[2]。"
    )
    kept, dropped = verify(answer, CITATIONS)
    assert kept == "1. 城市污水集中处理率达到90%以上[1]。\n3. 2017年底前完成加油站改造[2]。"
    assert dropped == ["要点如下：", "2. 县城污水集中处理率达到85%以上[1]。"]


def test_split_sentences_attaches_markers() -> None:
    assert split_sentences("甲。[1]乙[2]。\n[3]丙！……") == [["甲。[1]", "乙[2]。[3]"], ["丙！"]]
