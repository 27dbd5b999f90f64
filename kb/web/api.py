"""The JSON web API on the app's own server: `ask`, `obligations`, `quiz` and `documents`.

Each endpoint takes plain, named parameters and returns the same JSON objects as the CLI's ``--json`` /
``--format json`` (docs/CONTRACTS.md). Filters are checked here against the live index; a bad value is refused
with a Chinese message listing the valid ones. Called with gradio_client (``api_name="/ask"``) or over HTTP
(``POST /gradio_api/call/ask``); see README "Web API".
"""

from __future__ import annotations

import html
import time
from typing import Any

import gradio as gr

from kb import inputs
from kb.textclean import clean_text

READY_WAIT_S = 600.0  # how long a call made while the index is still being built waits for it


def _refuse(message: str) -> gr.Error:
    """An API error carrying a Chinese message (escaped: a caller's text may be shown in a page)."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def _ready_kb(ctx: Any) -> Any:
    """The knowledge base once the index is ready; an API error if it failed or is still loading."""
    deadline = time.monotonic() + READY_WAIT_S
    while not ctx.ready.wait(1.0):
        if time.monotonic() > deadline:
            raise _refuse(f"索引尚未就绪，请稍后再试。{ctx.status_text()}")
    if ctx.error:
        raise _refuse(ctx.error)
    return ctx.kb


def register_api(ctx: Any) -> None:
    """Add the JSON endpoints to the Blocks being built (call inside ``with gr.Blocks()``)."""

    def ask(question: str, doc_ids: list[str] | None = None, kinds: list[str] | None = None, k: int = 5) -> dict:
        """Answer a question with numbered verbatim citations; the object of `kb ask --json`.

        doc_ids: only these documents (see the documents endpoint); kinds: only these kinds (plan, law,
        regulation, list); k: at most this many citations (1-20).
        """
        kb = _ready_kb(ctx)
        question = clean_text(question or "").strip()
        if not question:
            raise _refuse("问题不能为空，请输入要查询的内容。")
        try:
            top = inputs.check_int(k, "k", 1, 20)
            return kb.ask(question, k=top, doc_ids=doc_ids or [], kinds=kinds or []).to_dict()
        except ValueError as e:
            raise _refuse(f"参数错误：{e}") from None

    def obligations(
        year: int | None = None,
        due_before: str | None = None,
        party: str | None = None,
        doc: str | None = None,
        domain: str | None = None,
        text: str | None = None,
        binding: str | None = None,
    ) -> list[dict]:
        """Records of the obligations register matching every filter; the array of `kb obligations --format json`.

        year: deadline year; due_before: YYYY-MM-DD (inclusive); party, text: substrings; doc: a doc_id;
        domain: a domain label; binding: 约束性 or 预期性.
        """
        from kb.register.store import obligation_to_dict

        kb = _ready_kb(ctx)
        try:
            records = kb.obligations(year=year, due_before=due_before, party=party, doc=doc, domain=domain,
                                     text=text, binding=binding)
        except ValueError as e:
            raise _refuse(f"参数错误：{e}") from None
        return [obligation_to_dict(r) for r in records]

    def quiz(n: int = 10, seed: int = 0, kinds: list[str] | None = None, doc: str | None = None,
             domain: str | None = None) -> list[dict]:
        """Up to n quiz items with answers and sources, fixed by seed; the array of `kb quiz --format json`.

        kinds: among mcq, blank, judge; doc: a doc_id with quizzable content; domain: a domain label.
        """
        kb = _ready_kb(ctx)
        try:
            items = kb.quiz(n=n, seed=seed, kinds=kinds or [], doc=doc, domain=domain)
        except ValueError as e:
            raise _refuse(f"参数错误：{e}") from None
        return [item.to_dict() for item in items]

    def documents() -> list[dict]:
        """Every indexed document as {"doc_id", "title", "kind"}: the values the doc and kind filters accept."""
        return _ready_kb(ctx).documents()

    for fn in (ask, obligations, quiz, documents):
        gr.api(fn, api_name=fn.__name__, concurrency_id="ask" if fn is ask else None,
               concurrency_limit=4 if fn is ask else "default")
