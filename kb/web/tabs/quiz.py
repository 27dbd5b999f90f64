"""The 测验 tab of the web app: generate a quiz, take it one item at a time, download the exports.

Mounted by ``kb.web.app.public_tabs`` as ``("测验", "quiz", build_quiz_tab)``; the builder is called inside
the tab's ``gr.Tab`` with the app's context (``ctx.kb.register``, ``ctx.ready``, ``ctx.error``,
``ctx.export_file``). Every document or user text that reaches the page is HTML-escaped here.

The rendering helpers and the quiz session (:class:`QuizSession`) are plain functions and data so that
they can be tested without a browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.quiz import build as quiz
from kb.quiz.export import FORMATTERS
from kb.quiz.model import KIND_LABELS, LETTERS, QuizItem
from kb.web.context import ALL
from kb.web.render import esc
from kb.web.toasts import warn

KIND_CHOICES = [("单选题", "mcq"), ("填空题", "blank"), ("判断题", "judge")]
DEFAULT_N = 10
MAX_N = 100
MAX_SEED = 1_000_000  # quiz numbers are 0 … 999999: short enough to read out or copy
EXPORTS = (  # (format, file name, button label, elem_id)
    ("md", "测验试卷.md", "试卷（Markdown）", "quiz-dl-md"),
    ("json", "测验.json", "JSON", "quiz-dl-json"),
    ("csv", "测验.csv", "CSV", "quiz-dl-csv"),
    ("gift", "测验-Moodle-GIFT.txt", "Moodle GIFT", "quiz-dl-gift"),
    ("aiken", "测验-Aiken.txt", "Aiken（仅单选题）", "quiz-dl-aiken"),
)


# --- the session -------------------------------------------------------------------------------------


@dataclass
class QuizSession:
    """One user's quiz in progress (kept in a gr.State as a dict)."""

    items: list[dict] = field(default_factory=list)
    index: int = 0
    score: int = 0
    answered: int = 0
    submitted: bool = False  # the current item has been answered
    seed: int = 0  # the quiz's number (题目编号): the same number and filters give the same quiz

    @classmethod
    def from_state(cls, state: dict | None) -> QuizSession | None:
        """The session held in a gr.State (None when no quiz has been generated)."""
        return cls(**state) if state else None

    def to_state(self) -> dict:
        """The session as a plain dict for gr.State."""
        return asdict(self)

    @property
    def item(self) -> QuizItem:
        """The current item."""
        return QuizItem.from_dict(self.items[self.index])

    @property
    def finished(self) -> bool:
        """Every item has been answered."""
        return self.answered >= len(self.items)

    def answer(self, response: str) -> bool:
        """Record the response to the current item; returns whether it was right."""
        ok = self.item.is_correct(response)
        if not self.submitted:
            self.submitted = True
            self.answered += 1
            self.score += int(ok)
        return ok


def _clamp_n(n: Any) -> int:
    try:
        value = int(float(n))
    except (TypeError, ValueError, OverflowError):
        value = DEFAULT_N
    return max(1, min(MAX_N, value))


def count_problem(n: Any) -> str:
    """Why ``n`` is not a usable number of items ("" when it is), in Chinese."""
    try:
        value = float(n)
    except (TypeError, ValueError):
        return f"题数应为 1 到 {MAX_N} 之间的整数，已按 {DEFAULT_N} 道出题。"
    if value != value or not 1 <= value <= MAX_N or value != int(value):  # NaN, out of range or a fraction
        return f"题数应为 1 到 {MAX_N} 之间的整数，已按 {_clamp_n(n)} 道出题。"
    return ""


def quiz_number(seed: Any) -> tuple[int, str]:
    """The quiz number to use: the one given, else a new random one; and a Chinese note when the given one was
    unusable."""
    if seed is None or str(seed).strip() == "":
        return secrets.randbelow(MAX_SEED), ""
    try:
        value = float(seed)
    except (TypeError, ValueError):
        value = -1.0
    if value != value or not 0 <= value < MAX_SEED or value != int(value):
        return secrets.randbelow(MAX_SEED), f"题目编号应为 0 到 {MAX_SEED - 1} 之间的整数，已随机出题。"
    return int(value), ""


def start_session(register: Any, doc: str | None, domain: str | None, n: Any, kinds: list[str] | None,
                  seed: Any) -> tuple[QuizSession, list[QuizItem]]:
    """Generate the items for the chosen filters and start a session over them; an empty ``seed`` draws a new
    quiz number (kept in the session)."""
    number, _ = quiz_number(seed)
    items = quiz.generate(register, n=_clamp_n(n), seed=number, kinds=kinds or None, doc=doc or None,
                          domain=None if not domain or domain == ALL else domain)
    return QuizSession(items=[it.to_dict() for it in items], seed=number), items


# --- rendering -----------------------------------------------------------------------------------------


def question_html(item: QuizItem, index: int, total: int) -> str:
    """The current question: its number, kind and stem (escaped)."""
    return (
        '<div class="kb-quiz-q">'
        f'<div class="kb-card-path">第 {index + 1} / {total} 题 · {esc(KIND_LABELS[item.kind])}</div>'
        f'<div class="kb-quiz-stem" style="font-size:1.02rem;line-height:1.7;margin-top:0.25rem">'
        f"{esc(item.stem)}</div></div>"
    )


def option_choices(item: QuizItem) -> list[tuple[str, str]]:
    """Radio choices (label, value) of a choice item; none for a blank."""
    if item.kind == "mcq":
        return [(f"{LETTERS[i]}. {opt}", LETTERS[i]) for i, opt in enumerate(item.options)]
    if item.kind == "judge":
        return [(opt, opt) for opt in item.options]
    return []


def _marked(passage: str, fact: str) -> str:
    """The passage escaped, with the fact marked (the first occurrence; facts occur once)."""
    pos = passage.find(fact) if fact else -1
    if pos < 0:
        return esc(passage)
    return esc(passage[:pos]) + f"<mark>{esc(fact)}</mark>" + esc(passage[pos + len(fact):])


def source_html(item: QuizItem) -> str:
    """The cited source of an item as a card: title, section path, article, the verbatim passage."""
    c = item.citation
    return (
        '<div class="kb-card kb-quiz-source">'
        f'<div class="kb-card-h">来源：《{esc(c.title)}》</div>'
        + (f'<div class="kb-card-path">{esc(c.section)}</div>' if c.section else "")
        + (f'<div class="kb-card-loc">{esc(c.article)}</div>' if c.article and c.article not in c.section else "")
        + f'<div class="kb-passage" style="white-space:pre-wrap">{_marked(c.passage, item.fact)}</div>'
        "</div>"
    )


def feedback_html(item: QuizItem, response: str, correct: bool) -> str:
    """Right or wrong, the correct answer, what a false statement changed, and the source."""
    if item.kind == "mcq":
        right = f"{item.answer_letter}. {item.answer}"
        given = next((label for label, value in option_choices(item) if value == response), response)
    else:
        right, given = item.answer, response
    colour = "#1e7b34" if correct else "#b3261e"
    verdict = "回答正确" if correct else "回答错误"
    parts = [
        '<div class="kb-quiz-feedback" style="display:flex;flex-direction:column;gap:0.4rem">',
        f'<div class="kb-quiz-verdict" style="font-weight:600;color:{colour}">{verdict}</div>',
    ]
    if not correct:
        parts.append(f'<div class="kb-quiz-given">你的答案：{esc(given)}</div>')
    parts.append(f'<div class="kb-quiz-answer">正确答案：{esc(right)}</div>')
    if item.kind == "judge" and item.distractors:
        changed = f"原文为“{item.fact}”，题干误作“{item.distractors[0]}”。"
        parts.append(f'<div class="kb-card-path">{esc(changed)}</div>')
    parts.append(source_html(item))
    parts.append("</div>")
    return "".join(parts)


def score_html(session: QuizSession | None) -> str:
    """The running score."""
    if session is None or not session.items:
        return ""
    text = f"得分：{session.score} / {session.answered}（共 {len(session.items)} 题）"
    if session.finished:
        pct = round(100 * session.score / len(session.items))
        text = f"测验完成！得分：{session.score} / {len(session.items)}（{pct}%）"
    return f'<div class="kb-quiz-score" style="font-weight:600">{esc(text)}</div>'


def summary_text(items: list[QuizItem], asked: int, number: int | None = None) -> str:
    """One line on what was generated, with the quiz number that gives the same quiz again."""
    if not items:
        return "没有符合条件的题目：请放宽文件、领域或题型的筛选。"
    by_kind = "，".join(f"{label} {sum(it.kind == k for it in items)} 道" for label, k in KIND_CHOICES
                        if any(it.kind == k for it in items))
    note = f"（符合条件的素材只够 {len(items)} 道）" if len(items) < asked else ""
    again = f"题目编号 **{number}**：在“题目编号”中填入它、筛选不变，即可重出这套题。" if number is not None else ""
    return f"已生成 **{len(items)}** 道题：{by_kind}{note}。每题作答后显示答案与原文出处。{again}"


# --- the tab --------------------------------------------------------------------------------------------


ITEM_OUTPUTS = 6  # what `item_updates` returns: the question, choice, blank, submit, next and feedback


@dataclass
class QuizView:
    """The components of the 测验 tab that its events use."""

    doc: Any
    domain: Any
    count: Any
    seed: Any
    kinds: Any
    generate_btn: Any
    downloads: list[Any]
    summary: Any
    question: Any
    choice: Any
    blank: Any
    submit_btn: Any
    next_btn: Any
    feedback: Any
    score: Any
    state: Any
    timer: Any

    @property
    def item(self) -> list[Any]:
        """The components `item_updates` fills, in its order."""
        return [self.question, self.choice, self.blank, self.submit_btn, self.next_btn, self.feedback]


def quiz_layout() -> QuizView:
    """The source, domain, count, seed and kinds; generate and the downloads; the item, its answer and the score."""
    with gr.Row():
        doc = gr.Dropdown(choices=[(ALL, "")], value="", label="来源文件", scale=3, elem_id="quiz-doc")
        domain = gr.Dropdown(choices=[ALL], value=ALL, label="领域", scale=1, min_width=120, elem_id="quiz-domain")
        # No minimum/maximum on the box: gradio would refuse out-of-range values with an English message;
        # the handler says it in Chinese and uses the nearest valid count.
        count = gr.Number(value=DEFAULT_N, precision=0, label=f"题数（1–{MAX_N}）", scale=1, min_width=90,
                          elem_id="quiz-n")
        seed = gr.Textbox(value="", label="题目编号（留空则每次出新题）", placeholder="如 123456，重出同一套题",
                          scale=1, min_width=150, max_lines=1, elem_id="quiz-seed")
    kinds = gr.CheckboxGroup(choices=KIND_CHOICES, value=[k for _, k in KIND_CHOICES], label="题型",
                             elem_id="quiz-kinds")
    with gr.Row():
        generate_btn = gr.Button("生成测验", variant="primary", size="sm", elem_id="quiz-generate")
        downloads = [gr.DownloadButton(label, size="sm", visible=False, elem_id=elem_id)
                     for _, _, label, elem_id in EXPORTS]
    summary = gr.Markdown(elem_id="quiz-summary")
    question = gr.HTML(elem_id="quiz-question")
    choice = gr.Radio(choices=[], label="选择答案", visible=False, elem_id="quiz-choice")
    blank = gr.Textbox(label="填写答案", placeholder="在此填写横线处的内容", visible=False, elem_id="quiz-blank")
    with gr.Row():
        submit_btn = gr.Button("提交答案", variant="primary", size="sm", visible=False, elem_id="quiz-submit")
        next_btn = gr.Button("下一题", size="sm", visible=False, elem_id="quiz-next")
    feedback = gr.HTML(elem_id="quiz-feedback")
    score = gr.HTML(elem_id="quiz-score")
    state = gr.State(None)
    timer = gr.Timer(1.0, active=True)
    return QuizView(doc, domain, count, seed, kinds, generate_btn, downloads, summary, question, choice, blank,
                    submit_btn, next_btn, feedback, score, state, timer)


def item_updates(session: QuizSession) -> tuple:
    """Question, answer inputs and buttons for the current item (before it is answered)."""
    item = session.item
    choices = option_choices(item)
    return (
        question_html(item, session.index, len(session.items)),
        gr.update(choices=choices, value=None, visible=bool(choices), interactive=True),
        gr.update(value="", visible=item.kind == "blank", interactive=True),
        gr.update(visible=True, interactive=True),
        gr.update(visible=False),
        "",
    )


def submit(data: dict | None, picked: str | None, typed: str | None) -> tuple:
    """Score the answer to the current item and show the answer with its source."""
    session = QuizSession.from_state(data)
    if session is None or session.submitted:
        return (gr.skip(),) * 7
    item = session.item
    response = (typed or "").strip() if item.kind == "blank" else (picked or "")
    if not response:
        warn("请先作答。")
        return (gr.skip(),) * 7
    correct = session.answer(response)
    last = session.index + 1 >= len(session.items)
    return (
        session.to_state(),
        feedback_html(item, response, correct),
        score_html(session),
        gr.update(interactive=False),
        gr.update(interactive=False),
        gr.update(visible=False),
        gr.update(visible=not last, interactive=not last),
    )


def next_item(data: dict | None) -> tuple:
    """Move on to the next item."""
    session = QuizSession.from_state(data)
    if session is None or not session.submitted or session.index + 1 >= len(session.items):
        return (gr.skip(),) * (1 + ITEM_OUTPUTS)
    session.index += 1
    session.submitted = False
    return (session.to_state(), *item_updates(session))


def choices_filler(ctx: Any) -> Callable[[], tuple]:
    """The handler that fills the document and domain choices once the register is ready."""

    def fill_choices() -> tuple:
        """Fill the document and domain choices once the register is ready; then stop the timer."""
        if not ctx.ready.is_set():
            return gr.skip(), gr.skip(), gr.Timer(active=True)
        if ctx.error:
            return gr.skip(), gr.skip(), gr.Timer(active=False)
        register = ctx.kb.register
        docs = quiz.quiz_documents(register)
        return (gr.update(choices=[(ALL, ""), *docs]), gr.update(choices=[ALL, *quiz.quiz_domains(register)]),
                gr.Timer(active=False))

    return fill_choices


def quiz_generator(ctx: Any) -> Callable[..., tuple]:
    """The handler that generates a quiz and writes its exports."""

    def generate(doc_id: str, dom: str, n: Any, kind_values: list[str], seed_value: Any) -> tuple:
        """Generate a quiz, write its exports and show the first item."""
        hidden = [gr.update(visible=False)] * len(EXPORTS)
        empty_view = ("", gr.update(visible=False), gr.update(visible=False), gr.update(visible=False),
                      gr.update(visible=False), "")
        if not ctx.ready.is_set() or ctx.error:
            message = ctx.error or "索引准备中，请稍候……"
            return (None, message, *empty_view, "", *hidden)
        if not kind_values:
            warn("请至少选择一种题型。")
            return (gr.skip(), gr.skip(), *[gr.skip()] * ITEM_OUTPUTS, gr.skip(), *[gr.skip()] * len(EXPORTS))
        number, seed_note = quiz_number(seed_value)
        for problem in (count_problem(n), seed_note):
            if problem:
                warn(problem)
        session, items = start_session(ctx.kb.register, doc_id, dom, n, kind_values, number)
        if not items:
            return (None, summary_text(items, _clamp_n(n)), *empty_view, "", *hidden)
        files = []
        for fmt, name, _, _ in EXPORTS:
            if fmt == "aiken" and not any(it.kind == "mcq" for it in items):
                files.append(gr.update(visible=False))
                continue
            files.append(gr.update(value=ctx.export_file(name, FORMATTERS[fmt](items)), visible=True))
        return (session.to_state(), summary_text(items, _clamp_n(n), session.seed), *item_updates(session),
                score_html(session),
                *files)

    return generate


def build_quiz_tab(ctx: Any, ui: Any = None) -> None:
    """测验: choose source, domain, count and kinds; generate; answer one item at a time; download exports."""
    v = quiz_layout()
    v.timer.tick(fn=choices_filler(ctx), outputs=[v.doc, v.domain, v.timer], show_progress="hidden",
                 api_visibility="private")
    v.generate_btn.click(
        fn=quiz_generator(ctx),
        inputs=[v.doc, v.domain, v.count, v.kinds, v.seed],
        outputs=[v.state, v.summary, *v.item, v.score, *v.downloads],
        show_progress="minimal",
        api_visibility="private",  # UI updates only; the JSON endpoint is kb.web.api's "quiz"
    )
    gr.on(
        triggers=[v.submit_btn.click, v.blank.submit],
        fn=submit,
        inputs=[v.state, v.choice, v.blank],
        outputs=[v.state, v.feedback, v.score, v.choice, v.blank, v.submit_btn, v.next_btn],
        show_progress="hidden",
        api_visibility="private",
    )
    v.next_btn.click(fn=next_item, inputs=[v.state], outputs=[v.state, *v.item], show_progress="hidden",
                     api_visibility="private")
