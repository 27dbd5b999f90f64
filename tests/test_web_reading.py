"""Reading helpers of the web app: the focused passage in a document section, and the chat's question checks."""

from __future__ import annotations

from indexing.types import Document, Section
from kb.web.tabs import chat as chat_tab
from kb.web.tabs import documents as documents_tab


def test_question_problem() -> None:
    assert chat_tab.question_problem("  ", 500).startswith("请输入问题")
    assert chat_tab.question_problem(None, 500).startswith("请输入问题")
    assert chat_tab.question_problem("甲" * 501, 500) == "问题太长（501 字），请精简到 500 字以内再提问。"
    assert chat_tab.question_problem("甲" * 500, 500) == ""


def test_section_marks_the_focused_passage() -> None:
    text = "第一章 总则\n第一条 为了<保护>环境。\n第二条 环境是指……"
    doc = Document("law", "测试法", "law", "laws/t.md", text, text, list(range(len(text))), "x")
    sec = Section("第一章 总则", "chapter", 1, 0, len(text), ("第一章 总则",))
    s = text.index("为了")
    html = documents_tab.section_html(doc, sec, "环境", focus=("law", s, s + 8))
    assert '<mark class="kb-focus">为了&lt;保护&gt;环境</mark>' in html
    assert html.count("<mark") == 1  # the focus replaces the term marks
    # a focus in another document or outside the section is ignored
    assert "kb-focus" not in documents_tab.section_html(doc, sec, "环境", focus=("other", s, s + 8))
    assert "<mark>环境</mark>" in documents_tab.section_html(doc, sec, "环境", focus=None)
