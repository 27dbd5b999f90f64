"""The chat handler of the web app over the real knowledge base (the session's full index), with and without an LLM.

The LLM is the scripted OpenAI-compatible server of fake_openai.py on loopback; nothing of ours is replaced. Each
test reads the answer text the user sees (the ``kb-text`` block, not the 理解为 note or the source cards).
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI

from indexing.config import Settings
from kb.ask.llm import NOTICES
from kb.service import KnowledgeBase
from kb.web import app as webui
from kb.web import context as web_context
from kb.web.tabs import chat as chat_tab

STRAW_Q = "秸秆收集利用率要在哪年达到多少？"
STRAW = "秸秆收集利用率达到90%"
FABRICATED = "到2020年秸秆收集利用率达到95% [1]。"


def _fn(demo: object, name: str):
    """The Python function behind an event of the Blocks, by its name."""
    for block_fn in demo.fns.values():
        if getattr(block_fn.fn, "__name__", "") == name:
            return block_fn.fn
    raise LookupError(name)


def _respond(settings: Settings, kb: KnowledgeBase):
    ctx = web_context.AppContext(settings=settings, kb=kb)
    ctx.ready.set()
    return _fn(webui.build_app(ctx), "respond")


def _turns(respond, question: str, asked: list[str], doc_id: str = "") -> list[tuple]:
    """Every update the chat handler yields, copied as it was when yielded (it reuses its message dicts)."""
    return [copy.deepcopy(update) for update in respond(question, [], asked, doc_id)]


def _text(message: str) -> str:
    """The answer text of an assistant message, as the user reads it (no note, no source cards)."""
    m = re.search(r'<div class="kb-text">(.*?)</div>', message, re.S)
    assert m, message
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


@pytest.fixture(scope="module")
def plain_respond(built_settings: Settings, knowledge_base: KnowledgeBase):
    """The chat handler of an app over the session's index, without an LLM."""
    return _respond(built_settings, knowledge_base)


@pytest.fixture(scope="module")
def llm_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def llm_respond(built_settings: Settings, embeddings, llm_server: FakeOpenAI):
    """The chat handler of an app over the session's index, with the scripted LLM configured."""
    settings = Settings(data_dir=built_settings.data_dir, corpus_dir=built_settings.corpus_dir,
                        llm_base_url=llm_server.base_url, llm_model="fake", llm_timeout_s=5)
    return _respond(settings, KnowledgeBase(settings, embeddings=embeddings))


def test_chat_streams_the_answer_then_the_cards_and_keeps_history(plain_respond) -> None:
    turns = _turns(plain_respond, STRAW_Q, ["之前的问题"])
    messages = [t[0][-1]["content"] for t in turns]
    assert "正在检索" in messages[0]
    streamed = [m for m in messages[1:-1] if "kb-text" in m]
    assert len(streamed) >= 3 and all("kb-sources" not in m for m in streamed)
    assert STRAW in _text(messages[-1]) and "kb-sources" in messages[-1]
    first_card = messages[-1][messages[-1].index("kb-sources"):]
    assert STRAW in re.search(r"<mark>(.*?)</mark>", first_card, re.S).group(1)  # the card marks the clause
    _, asked, box, plain = turns[-1]
    assert asked == ["之前的问题", STRAW_Q] and box == ""
    assert plain.startswith(f"问：{STRAW_Q}") and STRAW in plain and "来源：" in plain


def test_chat_follow_up_is_answered_for_the_place_asked(plain_respond) -> None:
    first = "到2020年北疆未达标城市细颗粒物年均浓度要下降多少？"
    asked = _turns(plain_respond, first, [])[-1][1]
    final = _turns(plain_respond, "那乌鲁木齐呢？", asked)[-1]
    text = _text(final[0][-1]["content"])
    assert "乌鲁木齐市、昌吉市下降20%" in text, text
    assert "理解为：到2020年乌鲁木齐" in final[0][-1]["content"]
    assert final[1] == [first, "到2020年乌鲁木齐未达标城市细颗粒物年均浓度要下降多少？"]


def test_chat_abstains_on_a_question_the_corpus_does_not_answer(plain_respond) -> None:
    final = _turns(plain_respond, "新疆2025年PM2.5浓度目标是多少？", [])[-1][0][-1]["content"]
    assert _text(final).startswith("未在文件中找到"), final
    assert "最接近的段落" in final


def test_chat_shows_the_near_miss_notice_and_each_part(plain_respond) -> None:
    """A near miss names what the documents lack and quotes what they say; a two-part question gets ① and ②."""
    final = _turns(plain_respond, "伊宁市秸秆收集利用率要达到多少？", [])[-1][0][-1]["content"]
    text = _text(final)
    assert text.startswith("未在文件中找到") and "“伊宁市”" in text, text
    assert "最接近的内容是" in text and "秸秆收集利用率达到90%" in text, text
    final = _turns(plain_respond, "排污许可证有效期是几年？延续的话要提前多少日申请？", [])[-1][0][-1]["content"]
    first, second = _text(final).split("②")
    assert first.startswith("①") and "有效期为5年" in first
    assert "届满60日前" in second


def test_chat_scope_restricts_retrieval_to_one_document(plain_respond) -> None:
    final = _turns(plain_respond, "谁负责本行政区域的环境质量？", [], "env-protection-law-2014")[-1][0][-1]["content"]
    titles = re.findall(r'<span class="kb-card-n">\[\d+\]</span>([^<]+)', final)
    assert titles and set(titles) == {"中华人民共和国环境保护法"}, titles
    assert "地方各级人民政府应当对本行政区域的环境质量负责" in _text(final)


def test_chat_does_not_answer_before_the_index_is_ready(
    built_settings: Settings, knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_tab, "READY_WAIT_S", 0.0)
    ctx = web_context.AppContext(settings=built_settings, kb=knowledge_base)  # ready is never set
    respond = _fn(webui.build_app(ctx), "respond")
    turns = _turns(respond, STRAW_Q, [])
    messages = [t[0][-1]["content"] for t in turns]
    assert "索引准备中" in messages[1] and "索引尚未就绪" in messages[-1]
    assert STRAW not in messages[-1] and turns[-1][1] == []


def test_chat_llm_answer_streams_once_and_shows_the_verified_text(llm_respond, llm_server: FakeOpenAI) -> None:
    before = len(llm_server.requests)
    llm_server.reply(f"根据规划，到2020年{STRAW} [1]。" + FABRICATED, chunk_chars=4)
    messages = [t[0][-1]["content"] for t in _turns(llm_respond, STRAW_Q, [])]
    assert len(llm_server.requests) - before == 1
    assert llm_server.requests[-1]["stream"] is True
    assert any("根据规划" in _text(m) for m in messages[1:-1] if "kb-text" in m)  # the deltas as they come
    final = _text(messages[-1])
    assert f"根据规划，到2020年{STRAW}" in final and "95%" not in final  # the unsupported sentence is dropped
    assert not any(notice in final for notice in NOTICES.values())
    assert "kb-sources" in messages[-1]


def test_chat_llm_unsupported_answer_falls_back_with_the_notice(llm_respond, llm_server: FakeOpenAI) -> None:
    before = len(llm_server.requests)
    llm_server.reply(FABRICATED)
    final = _text(_turns(llm_respond, STRAW_Q, [])[-1][0][-1]["content"])
    assert len(llm_server.requests) - before == 1
    assert final.startswith(NOTICES["fallback-unsupported"]) and final.count("（大模型") == 1
    assert STRAW in final and "95%" not in final


def test_chat_llm_is_not_called_when_the_answer_abstains(llm_respond, llm_server: FakeOpenAI) -> None:
    before = len(llm_server.requests)
    final = _text(_turns(llm_respond, "个人所得税的起征点是多少？", [])[-1][0][-1]["content"])
    assert final.startswith("未在文件中找到") and len(llm_server.requests) == before
