"""The 测验 tab: rendering and session as units; then in chromium, standalone and (once mounted) in the app.

Browser flow: generate 5 items, answer one, see the feedback with its source, download an export.
"""

from __future__ import annotations

import re
import tempfile
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import browser as harness
import pytest
from browser import PageSession, free_port, open_app, select_tab, shot

from kb.quiz.model import QuizCitation, QuizItem


@pytest.fixture(scope="module")
def register(corpus_register):
    """The register of the shipped corpus, built without an index (shared by the session)."""
    return corpus_register


def _item(**kw) -> QuizItem:
    passage = kw.pop("passage", "<b>建设单位</b>应当<script>alert(1)</script>报批")
    cit = QuizCitation("d", "标题<i>", "第一章 > <p>", passage, 0, len(passage), article="第三条")
    base = dict(id="q-1", kind="mcq", stem="“<b>____</b>应当报批”中横线处应填入的责任主体是：",
                options=["建设单位", "排污单位", "施工单位", "<img src=x>"], answer="建设单位", answer_letter="A",
                explanation="", citation=cit, domain="环评", ob_id="", fact_type="party", fact="建设单位",
                distractors=["排污单位", "施工单位", "<img src=x>"])
    base.update(kw)
    return QuizItem(**base)


# --- units ---------------------------------------------------------------------------------------------


def test_rendering_escapes_document_text() -> None:
    from kb.web.tabs import quiz as quiz_tab

    it = _item()
    q = quiz_tab.question_html(it, 0, 5)
    assert "第 1 / 5 题" in q and "<b>" not in q and "&lt;b&gt;____&lt;/b&gt;" in q
    fb = quiz_tab.feedback_html(it, "D", correct=False)
    assert "<script>" not in fb and "<img" not in fb and "<p>" not in fb and "<i>" not in fb
    assert "&lt;script&gt;" in fb and "<mark>建设单位</mark>" in fb
    assert "回答错误" in fb and "正确答案：A. 建设单位" in fb and "你的答案：D. &lt;img src=x&gt;" in fb
    assert "第三条" in fb and "标题&lt;i&gt;" in fb
    assert "回答正确" in quiz_tab.feedback_html(it, "A", correct=True)
    judge = _item(kind="judge", options=["正确", "错误"], answer="错误", answer_letter="", distractors=["排污单位"])
    assert "题干误作“排污单位”" in quiz_tab.feedback_html(judge, "正确", correct=False)
    assert quiz_tab.option_choices(judge) == [("正确", "正确"), ("错误", "错误")]
    assert quiz_tab.option_choices(it)[3] == ("D. <img src=x>", "D")  # gradio shows labels as text


def test_session_scores_once_per_item(register) -> None:
    from kb.web.tabs import quiz as quiz_tab

    session, items = quiz_tab.start_session(register, "", quiz_tab.ALL, 5, ["mcq", "blank", "judge"], 0)
    assert len(items) == 5 and len(session.items) == 5
    session = quiz_tab.QuizSession.from_state(session.to_state())
    assert session.answer(session.item.answer) is True
    assert session.answer("不对") is False  # a second submission of the same item does not count
    assert (session.score, session.answered) == (1, 1)
    assert "得分：1 / 1（共 5 题）" in quiz_tab.score_html(session)
    session.index, session.submitted = 1, False
    session.answer("肯定不对的答案")
    assert (session.score, session.answered) == (1, 2)
    assert quiz_tab._clamp_n("abc") == quiz_tab.DEFAULT_N and quiz_tab._clamp_n(10_000) == quiz_tab.MAX_N
    assert "没有符合条件的题目" in quiz_tab.summary_text([], 5)


def test_each_quiz_has_a_number_that_gives_it_again(register) -> None:
    """An empty 题目编号 draws a new quiz each time; the number shown gives the same quiz again."""
    from kb.web.tabs import quiz as quiz_tab

    kinds = ["mcq", "blank", "judge"]
    drawn = [quiz_tab.start_session(register, "", quiz_tab.ALL, 5, kinds, "") for _ in range(3)]
    numbers = {session.seed for session, _ in drawn}
    assert len(numbers) > 1  # three draws from a million numbers
    assert len({tuple(it.id for it in items) for _, items in drawn}) > 1  # and they are different quizzes
    first, items = drawn[0]
    again, same = quiz_tab.start_session(register, "", quiz_tab.ALL, 5, kinds, str(first.seed))
    assert again.seed == first.seed and [it.id for it in same] == [it.id for it in items]
    text = quiz_tab.summary_text(items, 5, first.seed)
    assert f"题目编号 **{first.seed}**" in text and "重出这套题" in text
    assert quiz_tab.quiz_number("42") == (42, "") and quiz_tab.quiz_number(" ")[1] == ""
    for bad in ("abc", "-3", "1.5", "1e12", "nan"):
        number, note = quiz_tab.quiz_number(bad)
        assert 0 <= number < quiz_tab.MAX_SEED and note.startswith("题目编号应为"), bad


@pytest.mark.parametrize(("n", "used"), [(0, 1), (1000, 100), ("abc", 10), (2.5, 2), (-4, 1)])
def test_count_out_of_range_is_said_in_chinese(n, used) -> None:
    from kb.web.tabs import quiz as quiz_tab

    assert quiz_tab.count_problem(n) == f"题数应为 1 到 {quiz_tab.MAX_N} 之间的整数，已按 {used} 道出题。"
    assert quiz_tab._clamp_n(n) == used
    assert quiz_tab.count_problem(5) == quiz_tab.count_problem("7") == ""


# --- chromium --------------------------------------------------------------------------------------------


def _take_one_item(page: object, name: str) -> None:
    """Generate 5 items, answer the first, check the feedback and its source, download the GIFT file."""
    page.locator("#quiz-generate").wait_for(state="visible", timeout=60_000)
    n_box = page.locator("#quiz-n input")
    n_box.fill("5")
    n_box.press("Tab")
    page.locator("#quiz-generate").click()
    question = page.locator("#quiz-question .kb-quiz-stem")
    question.wait_for(timeout=60_000)
    assert "第 1 / 5 题" in page.locator("#quiz-question").inner_text()
    summary = page.locator("#quiz-summary").inner_text().replace("*", "")
    assert "已生成 5 道题" in summary and re.search(r"题目编号 \d+", summary), summary
    if "填空题" in page.locator("#quiz-question .kb-card-path").inner_text():
        box = page.locator("#quiz-blank textarea, #quiz-blank input").first
        box.wait_for(state="visible", timeout=30_000)
        box.fill("不知道")
    else:
        option = page.locator("#quiz-choice label").first
        option.wait_for(state="visible", timeout=30_000)
        option.click()
    page.locator("#quiz-submit").click()
    source = page.locator("#quiz-feedback .kb-quiz-source")
    source.wait_for(timeout=30_000)
    feedback = page.locator("#quiz-feedback").inner_text()
    assert re.search("回答(正确|错误)", feedback) and "正确答案" in feedback
    assert "来源：《" in feedback
    assert page.locator("#quiz-feedback .kb-passage mark").count() == 1  # the answer, marked in the passage
    assert "（共 5 题）" in page.locator("#quiz-score").inner_text()
    shot(page, name)
    with page.expect_download(timeout=30_000) as dl:
        page.locator("#quiz-dl-gift").click()
    gift = Path(dl.value.path()).read_text(encoding="utf-8")
    assert gift.count("::Q") == 5 and gift.count("{") - gift.count("\\{") == 5
    page.locator("#quiz-next").click()
    page.wait_for_function(
        "() => document.querySelector('#quiz-question').innerText.includes('第 2 / 5 题')", timeout=30_000
    )
    assert page.locator("#quiz-feedback .kb-quiz-source").count() == 0


@pytest.fixture(scope="module")
def standalone_url(register):
    """The 测验 tab alone in a Blocks, served in-process over the corpus register (no index needed)."""
    import gradio as gr

    from kb.web.tabs.quiz import build_quiz_tab

    export_dir = Path(tempfile.mkdtemp(prefix="kb-quiz-export-"))

    def export_file(name: str, content: str) -> str:
        folder = export_dir / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        (folder / name).write_text(content, encoding="utf-8")
        return str(folder / name)

    ready = threading.Event()
    ready.set()
    ctx = SimpleNamespace(ready=ready, error="", kb=SimpleNamespace(register=register), export_file=export_file)
    with gr.Blocks(analytics_enabled=False) as demo, gr.Tabs(), gr.Tab("测验", id="quiz", elem_id="tab-quiz"):
        build_quiz_tab(ctx, SimpleNamespace())
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        ssr_mode=False, allowed_paths=[str(export_dir)])
    yield f"http://127.0.0.1:{port}"
    demo.close()


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_quiz_tab_standalone(page_session: PageSession, standalone_url: str) -> None:
    page = page_session.page
    page.goto(standalone_url, wait_until="load", timeout=60_000)
    _take_one_item(page, "quiz-tab-standalone")
    _count_warning_and_quiz_number(page)
    assert page_session.external == [] and page_session.errors == []


def _generate(page: object, n: str, number: str) -> str:
    """Fill 题数 and 题目编号, generate, and return the new summary line."""
    before = page.locator("#quiz-summary").inner_text()
    page.locator("#quiz-n input").fill(n)
    page.locator("#quiz-seed textarea, #quiz-seed input").first.fill(number)
    page.locator("#quiz-generate").click()
    page.wait_for_function("(old) => { const s = document.querySelector('#quiz-summary').innerText;"
                           " return s !== old && s.includes('题目编号') && !/\\d\\.\\ds/.test(s); }",
                           arg=before, timeout=30_000)
    return page.locator("#quiz-summary").inner_text().replace("*", "")


def _count_warning_and_quiz_number(page: object) -> None:
    """题数 0 gives a Chinese warning and one item; each click a new quiz number; a number typed in gives its quiz
    again."""
    summary = _generate(page, "0", "")
    toast = page.locator(".toast-body, [data-testid=toast-body]").filter(has_text="题数应为").last
    toast.wait_for(timeout=15_000)
    assert "题数应为 1 到 100 之间的整数，已按 1 道出题" in toast.inner_text()
    assert "已生成 1 道题" in summary
    shot(page, "quiz-tab-count-warning", full_page=False)
    first = re.search(r"题目编号 (\d+)", _generate(page, "5", "")).group(1)
    stem = page.locator("#quiz-question .kb-quiz-stem").inner_text()
    numbers = {first, *(re.search(r"题目编号 (\d+)", _generate(page, "5", "")).group(1) for _ in range(2))}
    assert len(numbers) > 1, numbers
    again = _generate(page, "5", first)
    assert f"题目编号 {first}" in again
    assert page.locator("#quiz-question .kb-quiz-stem").inner_text() == stem


@pytest.mark.browser
@pytest.mark.timeout(harness.START_TIMEOUT_S + 600)
def test_quiz_tab_in_the_app(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    select_tab(page, "测验")
    _take_one_item(page, "quiz-tab")
    assert page_session.external == []
