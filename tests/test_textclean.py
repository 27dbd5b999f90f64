"""Question text at the web boundary: lone surrogates and control characters removed, markup and SQL noise
around a question stripped, and the answer unchanged by it. The web case runs the real gradio app on loopback
over the session's knowledge base."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from browser import free_port

from kb.textclean import clean_question, clean_text
from kb.web import app as webui
from kb.web import context as web_context


def _get(url: str) -> tuple[int, bytes]:
    url = urllib.parse.quote(url, safe=":/=?&%")
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _serve(ctx: web_context.AppContext):
    demo = webui.build_app(ctx)
    port = free_port()
    webui.launch(demo, ctx, "127.0.0.1", port, block=False)
    return demo, f"http://127.0.0.1:{port}"



CLEAN = {
    "<script>alert('x')</script>排污许可证有效期多长？": "排污许可证有效期多长？",
    "'; DROP TABLE chunks; -- 排污许可证有效期多长？": "排污许可证有效期多长？",
    "排污许可证有效期多长？' OR 1=1 --": "排污许可证有效期多长？",
    "<b>秸秆</b>收集利用率要在哪年达到多少？": "秸秆收集利用率要在哪年达到多少？",
    "&lt;img src=x onerror=alert(1)&gt;排污许可证有效期多长？": "排污许可证有效期多长？",
    "\"><svg onload=alert(1)>排污许可证有效期多长？<!-- c -->": "排污许可证有效期多长？",
    "{{7*7}} 排污许可证有效期多长？ UNION SELECT 1 FROM x": "排污许可证有效期多长？",
    "\ud800排污许可证\x00有效期\x1b多长？\u200b": "排污许可证有效期多长？",
}
UNCHANGED = ["PM2.5 浓度 target 是多少", "《大气污染防治法》第二条", "GB 3095-2012 标准的二级浓度限值",
             "罚款是1.5倍还是3倍?", "a<5微克", "What is the straw utilisation target by 2020?"]


@pytest.mark.parametrize("raw", list(CLEAN))
def test_markup_and_sql_noise_is_stripped(raw: str) -> None:
    assert clean_question(raw) == CLEAN[raw]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_questions_pass_unchanged(text: str) -> None:
    assert clean_question(text) == text and clean_text(text) == text


def test_noise_does_not_change_the_answer(knowledge_base) -> None:
    plain = knowledge_base.ask("排污许可证有效期多长？")
    for raw in [q for q, clean in CLEAN.items() if clean == "排污许可证有效期多长？"]:
        noisy = knowledge_base.ask(clean_question(raw))
        assert (noisy.answer, [c.start for c in noisy.citations]) == (plain.answer, [c.start for c in plain.citations])


def test_lone_surrogate_in_a_web_question_is_answered(built_settings, knowledge_base) -> None:
    """A lone surrogate and a NUL inside a question sent to the web app's chat: cleaned and answered."""
    ctx = web_context.AppContext(settings=built_settings, kb=knowledge_base)
    ctx.ready.set()
    demo, url = _serve(ctx)
    try:
        payload = '{"data": ["\\ud800秸秆收集利用率\\u0000要在哪年达到多少？", [], [], ""]}'.encode()
        req = urllib.request.Request(url + "/gradio_api/call/chat", data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            event_id = json.loads(r.read())["event_id"]
        status, stream = _get(url + f"/gradio_api/call/chat/{event_id}")
        text = stream.decode("utf-8")
        assert status == 200 and "event: complete" in text and "event: error" not in text, text[-2000:]
        last = json.loads(text.rsplit("data: ", 1)[1])
        assert "秸秆收集利用率达到90%" in json.dumps(last, ensure_ascii=False), text[-2000:]
    finally:
        demo.close()
