"""The 问答 tab: streamed answers with numbered source cards, example questions per user group, copy and clear."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.inputs import UnknownFilterError
from kb.textclean import clean_question, clean_text
from kb.web.assets import asset
from kb.web.context import ALL, AppContext
from kb.web.render import answer_html, answer_plain_text, question_html, wait_html
from kb.web.toasts import inform, warn

log = logging.getLogger(__name__)

STREAM_STEP_CHARS = 6  # characters per streamed piece of an extractive answer
STREAM_STEP_S = 0.01
STREAM_MAX_STEPS = 40  # a long answer streams in bigger pieces, so that streaming takes under a second
READY_WAIT_S = 1800.0  # how long a question waits for the first index build

EXAMPLES: dict[str, list[str]] = {
    "政府官员": [
        "2017年底前要完成哪些任务？",
        "到2020年北疆未达标城市细颗粒物年均浓度要下降多少？",
        "乌鲁木齐市建成区黑臭水体治理要在什么时候完成？",
    ],
    "培训讲师": [
        "秸秆收集利用率要在哪年达到多少？",
        "建设项目环境影响报告书应当包括哪些内容？",
        "排污许可证的有效期是多久？",
    ],
    "公众": [
        "发现污染环境的行为可以向哪里举报？",
        "饮用水水源保护区内禁止哪些行为？",
        "夜间施工噪声有什么规定？",
    ],
}


@dataclass
class ChatView:
    """The components of the 问答 tab that its events use."""

    chatbot: Any
    questions: Any
    msg: Any
    send: Any
    copy_btn: Any
    clear_btn: Any
    copy_text: Any
    scope: Any
    datasets: list[Any]


def question_problem(message: str | None, max_chars: int) -> str:
    """Why a chat question cannot be asked (empty, or over the limit), in Chinese; "" when it can."""
    text = (message or "").strip()
    if not text:
        return "请输入问题，例如：秸秆收集利用率要在哪年达到多少？"
    if len(text) > max_chars:
        return f"问题太长（{len(text)} 字），请精简到 {max_chars} 字以内再提问。"
    return ""


def stream_pieces(text: str, step: int = STREAM_STEP_CHARS) -> Iterator[str]:
    """Growing prefixes of ``text``, ``step`` characters at a time (the last one is the whole text)."""
    for end in range(step, len(text), step):
        yield text[:end]
    yield text


def chat_layout() -> ChatView:
    """The chat, the question box with its buttons, the search scope and the example questions."""
    chatbot = gr.Chatbot(
        label="问答",
        show_label=False,
        elem_id="kb-chat",
        height=600,
        autoscroll=False,  # page.js scrolls the new question to the top instead
        latex_delimiters=[],
        sanitize_html=True,
        render_markdown=True,
        buttons=[],
        feedback_options=None,
        placeholder="请输入关于新疆环境保护“十三五”规划或相关法律法规的问题。回答只引用原文，并列出来源。",
    )
    questions = gr.State([])
    with gr.Row(equal_height=True):
        msg = gr.Textbox(
            show_label=False,
            placeholder="例如：秸秆收集利用率要在哪年达到多少？",
            lines=1,
            max_lines=4,
            scale=5,
            elem_id="kb-question",
            autofocus=True,
        )
        send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="kb-send")
    with gr.Row():
        copy_btn = gr.Button("复制回答及来源", size="sm", min_width=130, elem_id="kb-copy")
        clear_btn = gr.Button("清空对话", size="sm", min_width=130, elem_id="kb-clear")
    copy_text = gr.Textbox(visible="hidden", elem_id="kb-copy-text")
    with gr.Accordion("检索范围", open=False):
        # Choices arrive when the index is ready; a value sent through the API is checked in respond().
        scope = gr.Dropdown(choices=[(ALL, "")], value="", label="只在以下文件中检索", allow_custom_value=True,
                            elem_id="kb-scope")
    datasets = []
    with gr.Accordion("示例问题（点击即提问）", open=True, elem_id="kb-examples"), gr.Row():
        for group, items in EXAMPLES.items():
            datasets.append(
                gr.Dataset(
                    components=[msg],
                    samples=[[q] for q in items],
                    label=group,
                    type="values",
                    layout="table",
                    min_width=240,
                    elem_classes=["kb-examples"],
                )
            )
    return ChatView(chatbot, questions, msg, send, copy_btn, clear_btn, copy_text, scope, datasets)


def responder(ctx: AppContext) -> Callable[..., Iterator[tuple[list[dict], list[str], str, str]]]:
    """The chat's `respond` handler over ``ctx``."""

    def respond(
        message: str, history: list[dict], asked: list[str], doc_id: str
    ) -> Iterator[tuple[list[dict], list[str], str, str]]:
        """Answer one question, streaming the text, then the source cards."""
        problem = question_problem(message, ctx.settings.max_question_chars)
        if problem:  # nothing is asked; the text stays in the box to be shortened
            warn(problem)
            yield history, asked, gr.skip(), gr.skip()
            return
        message = clean_question(message or "") or clean_text(message or "").strip()
        if not message:
            yield history, asked, "", gr.skip()
            return
        history = [*history, {"role": "user", "content": question_html(message)}]
        history.append({"role": "assistant", "content": wait_html("正在检索……")})
        yield history, asked, "", gr.skip()
        deadline = time.monotonic() + READY_WAIT_S
        while not ctx.ready.wait(1.0):
            history[-1]["content"] = wait_html(f"索引准备中，请稍候。{ctx.status_text()}")
            yield history, asked, "", gr.skip()
            if time.monotonic() > deadline:
                break
        if ctx.error or not ctx.ready.is_set():
            history[-1]["content"] = answer_html(ctx.error or "索引尚未就绪，请稍后再试。")
            yield history, asked, "", gr.skip()
            return
        try:
            filters = ctx.kb.filters(doc_ids=[doc_id]) if doc_id else None
        except UnknownFilterError as e:  # a document id the index does not hold (sent through the API)
            history[-1]["content"] = answer_html(f"检索范围有误：{e}")
            yield history, asked, "", gr.skip()
            return
        ans = None
        pieces: list[str] = []
        try:  # the service calls the LLM (when configured) once, streaming its unverified text first
            for item in ctx.kb.ask_stream(message, k=5, filters=filters, history=list(asked)):
                if isinstance(item, str):
                    pieces.append(item)
                    history[-1]["content"] = answer_html("".join(pieces))
                    yield history, asked, "", gr.skip()
                else:
                    ans = item
        except Exception as e:  # a failed question must not break the chat
            log.exception("question failed")
            history[-1]["content"] = answer_html(f"处理问题时出错（{type(e).__name__}），请换个说法再试。")
            yield history, asked, "", gr.skip()
            return
        resolved = getattr(ans, "resolved_question", None)
        note = f"理解为：{resolved}" if resolved and resolved != message else ""
        final_text = ans.answer
        streamed = bool(pieces)
        if not streamed:
            step = max(STREAM_STEP_CHARS, -(-len(final_text) // STREAM_MAX_STEPS))
            for part in stream_pieces(final_text, step):
                history[-1]["content"] = answer_html(part, note=note)
                yield history, asked, "", gr.skip()
                time.sleep(STREAM_STEP_S)
        history[-1]["content"] = answer_html(final_text, ans.citations, ans.abstained, note=note)
        if ans.route != "invalid":  # an empty or unreadable question is no context for a follow-up
            asked = [*asked, resolved or message]
        plain = answer_plain_text(message, final_text, ans.citations, ans.abstained)
        yield history, asked, "", plain

    return respond


def wire_chat(view: ChatView, respond: Callable[..., Any]) -> None:
    """Ask on Enter, 提问 or an example; copy the last answer; clear the chat and its follow-up history."""
    answer = dict(
        fn=respond,
        inputs=[view.msg, view.chatbot, view.questions, view.scope],
        outputs=[view.chatbot, view.questions, view.msg, view.copy_text],
        concurrency_id="ask",
        concurrency_limit=4,
        show_progress="hidden",
    )
    ask_event = gr.on(
        triggers=[view.msg.submit, view.send.click],
        **answer,
        api_name="chat",  # the streamed chat (HTML); the JSON answer is the "ask" endpoint of kb.web.api
        api_visibility="undocumented",
    )
    for ds in view.datasets:
        ds.click(
            fn=lambda sample: sample[0] if sample else "", inputs=[ds], outputs=[view.msg], show_progress="hidden",
            api_visibility="undocumented",
        ).then(**answer, api_visibility="undocumented")

    view.copy_btn.click(fn=None, inputs=[view.copy_text], outputs=None, js=asset("copy.js")).then(
        fn=lambda t: inform("已复制回答及来源。") if t else warn("还没有可复制的回答。"),
        inputs=[view.copy_text],
        outputs=None,
        api_visibility="undocumented",
    )
    view.clear_btn.click(
        fn=lambda: ([], [], "", ""),
        outputs=[view.chatbot, view.questions, view.msg, view.copy_text],
        cancels=[ask_event],
        api_visibility="undocumented",
    )
    # the chatbot's own trash button clears the messages; forget the follow-up history with them
    view.chatbot.clear(fn=lambda: ([], ""), outputs=[view.questions, view.copy_text], api_visibility="undocumented")


def build_chat_tab(ctx: AppContext, ui: Any) -> None:
    """问答: streamed answers with numbered source cards, examples per user group, copy and clear."""
    view = chat_layout()
    ui.scope = view.scope
    wire_chat(view, responder(ctx))
