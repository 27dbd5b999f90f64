"""The web app as people use it, in real chromium at desktop (1280) and phone (390) widths: injection attempts
in every text input of every tab, and the register's canonical party and place filters.

Screenshots go to tests/artifacts/ (usage-*.png).
"""

from __future__ import annotations

import browser as harness
import pytest
from browser import PageSession, choose, open_app, select_tab, shot

PAYLOAD = '<img src=x onerror="window.__kbPwned=(window.__kbPwned||0)+1">'
TABS = ("问答", "义务与期限", "文档", "测验")
TEXT_INPUTS = "textarea:visible, input[type=text]:visible, input:not([type]):visible, input[type=number]:visible"


def browser_test(fn):
    """Mark a browser test; its budget covers starting the app, which may first build the index."""
    return pytest.mark.timeout(harness.START_TIMEOUT_S + 600)(pytest.mark.browser(fn))


def _watch_x_requests(page: object) -> list[str]:
    """Requests for the payload's image (``src=x`` resolves to ``/x`` on the app's host)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.rstrip("/").endswith("/x") else None)
    return seen


def _panel(page: object, label: str) -> object:
    """The visible tab panel of the selected tab."""
    select_tab(page, label)
    return page.locator("[role=tabpanel]:visible").first


def _type_everywhere(page: object, label: str) -> int:
    """Type the payload into every visible text input of a tab and press Enter; returns how many."""
    panel = _panel(page, label)
    boxes = panel.locator(TEXT_INPUTS)
    n = boxes.count()
    for i in range(n):
        box = boxes.nth(i)
        if not box.is_editable():
            continue
        box.fill(PAYLOAD if box.get_attribute("type") != "number" else "")
        if box.get_attribute("type") == "number":
            box.press_sequentially(PAYLOAD)
        box.press("Enter")
        page.keyboard.press("Escape")  # close a dropdown's list
        page.wait_for_timeout(400)
    return n


def _assert_inert(page: object, session: PageSession, x_requests: list[str]) -> None:
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__kbPwned || 0") == 0
    assert page.locator('img[src="x"]').count() == 0
    assert x_requests == []
    assert session.dialogs == [] and session.external == []


def _run_injection(page: object, session: PageSession, url: str, name: str) -> None:
    x_requests = _watch_x_requests(page)
    open_app(page, url)
    typed = 0
    for label in TABS:
        if label == "测验":  # a quiz of fill-ins first, so that the answer box is there too
            select_tab(page, label)
            page.locator("#quiz-kinds label").filter(has_text="单选题").click()
            page.locator("#quiz-kinds label").filter(has_text="判断题").click()
            page.locator("#quiz-generate").click()
            page.locator("#quiz-blank textarea").wait_for(timeout=30_000)
        typed += _type_everywhere(page, label)
    assert typed >= 8
    # the 文档 tab's search shows the search text in its "没有找到" toast: as text
    select_tab(page, "文档")
    page.locator("#doc-term textarea").fill(PAYLOAD)
    page.locator("#doc-find").click()
    toast = page.locator(".toast-body, [data-testid=toast-body]").filter(has_text="没有找到").last
    toast.wait_for(timeout=15_000)
    assert PAYLOAD in toast.inner_text()
    shot(page, f"usage-injection-toast-{name}", full_page=False)
    # the 问答 tab shows the question as text
    select_tab(page, "问答")
    page.locator("#kb-question textarea").fill(PAYLOAD)
    page.locator("#kb-send").click()
    page.locator("#kb-chat [data-testid=user] .kb-q").last.wait_for(timeout=30_000)
    _assert_inert(page, session, x_requests)


@browser_test
def test_injection_in_every_text_input_desktop(app_server, page_session: PageSession) -> None:
    _run_injection(page_session.page, page_session, app_server.url, "desktop")


@browser_test
def test_injection_in_every_text_input_phone(app_server, phone_session: PageSession) -> None:
    _run_injection(phone_session.page, phone_session, app_server.url, "phone")


def _rows(page: object) -> int:
    return page.locator("#ob-table tbody tr").count()


def _wait_summary_change(page: object, before: str) -> None:
    page.wait_for_function("t => document.querySelector('#ob-summary').innerText !== t", arg=before,
                           timeout=30_000)
    page.wait_for_timeout(400)


def _register_parties(page: object, session: PageSession, url: str, name: str) -> None:
    open_app(page, url)
    select_tab(page, "义务与期限")
    page.locator("#ob-table [role=gridcell]").first.wait_for(timeout=30_000)
    before = page.locator("#ob-summary").inner_text()
    choose(page, "ob-year", "2017")
    _wait_summary_change(page, before)
    # the party list narrows with the year: only parties of 2017's tasks, with counts
    page.locator("#ob-party input").click()
    options = page.get_by_role("option").all_inner_texts()
    page.locator("#ob-party input").blur()  # (after Escape the focused box does not open its list on a click)
    assert any(o.startswith("各级人民政府（") for o in options), options
    assert not any(o.startswith("建设单位") for o in options), options
    assert len(options) <= 10, options
    before = page.locator("#ob-summary").inner_text()
    choose(page, "ob-party", "各级人民政府", exact=False)
    page.wait_for_timeout(1500)
    summary = page.locator("#ob-summary").inner_text()
    assert "共 0 条" not in summary, summary
    table_text = page.locator("#ob-table").inner_text()
    assert "规划实施主体（继承）" in table_text
    page.locator("#ob-table [role=gridcell]").nth(6).click()
    cite = page.locator("#ob-detail .kb-party-cite")
    cite.wait_for(timeout=15_000)
    assert "各级人民政府是规划实施的主体" in cite.inner_text()
    shot(page, f"usage-register-party-{name}", full_page=False)
    # a place: some rows, and the rows shown name it
    choose(page, "ob-year", "全部")
    choose(page, "ob-party", "全部")
    before = page.locator("#ob-summary").inner_text()
    choose(page, "ob-place", "乌鲁木齐市", exact=False)
    _wait_summary_change(page, before)
    summary = page.locator("#ob-summary").inner_text()
    assert "共 0 条" not in summary, summary
    assert "乌鲁木齐" in page.locator("#ob-table").inner_text()
    assert session.external == []


@browser_test
def test_register_parties_and_places_desktop(app_server, page_session: PageSession) -> None:
    _register_parties(page_session.page, page_session, app_server.url, "desktop")


@browser_test
def test_register_parties_and_places_phone(app_server, phone_session: PageSession) -> None:
    page = phone_session.page
    _register_parties(page, phone_session, app_server.url, "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 392


def _in_view(page: object, selector: str) -> bool:
    """Whether the element's top is inside the window (and inside its scrolling chat log, if any)."""
    return page.evaluate(
        """sel => { const el = document.querySelector(sel); if (!el) return false;
             const r = el.getBoundingClientRect(); const box = el.closest('[role=log]');
             const inBox = !box || (r.top >= box.getBoundingClientRect().top - 2
                                    && r.top < box.getBoundingClientRect().bottom);
             return inBox && r.top >= -2 && r.top < window.innerHeight; }""",
        selector,
    )


def _open_row_in_document(page: object, name: str) -> None:
    select_tab(page, "义务与期限")
    page.locator("#ob-table [role=gridcell]").first.wait_for(timeout=30_000)
    before = page.locator("#ob-summary").inner_text()
    choose(page, "ob-year", "2017")
    _wait_summary_change(page, before)
    page.locator("#ob-table [role=gridcell]").nth(6).click()
    page.locator("#ob-detail .kb-passage").first.wait_for(timeout=15_000)
    assert _in_view(page, "#ob-detail")  # the detail is next to the row, on a phone too
    shot(page, f"usage-register-detail-{name}", full_page=False)
    page.locator("#ob-open").click()
    mark = page.locator("#doc-body mark.kb-focus")
    mark.wait_for(timeout=15_000)
    page.wait_for_timeout(800)
    assert "2017" in mark.inner_text()
    assert _in_view(page, "#doc-body mark.kb-focus")
    shot(page, f"usage-open-in-document-{name}", full_page=False)


def _search_hit_in_view(page: object, name: str) -> None:
    select_tab(page, "文档")
    choose(page, "doc-select", "中华人民共和国环境保护法")
    page.wait_for_function("() => document.querySelector('#doc-body').innerText.includes('环境保护法')",
                           timeout=15_000)
    page.locator("#doc-term textarea").fill("举报")
    page.locator("#doc-find").click()
    hits = page.locator("#doc-hits label")
    hits.first.wait_for(timeout=15_000)
    hits.nth(1).click()
    page.locator("#doc-body mark.kb-focus").wait_for(timeout=15_000)
    page.wait_for_timeout(800)
    assert page.locator("#doc-body mark.kb-focus").inner_text() == "举报"
    assert _in_view(page, "#doc-body mark.kb-focus")
    shot(page, f"usage-search-hit-{name}", full_page=False)


def _chat_checks(page: object, name: str) -> None:
    select_tab(page, "问答")
    box = page.locator("#kb-question textarea")
    n_users = page.locator("#kb-chat [data-testid=user]").count()
    box.fill("   ")
    page.locator("#kb-send").click()
    page.locator(".toast-body, [data-testid=toast-body]").filter(has_text="请输入问题").last.wait_for(timeout=15_000)
    long_question = "排污许可" * 150  # 600 characters, over the 500 limit
    box.fill(long_question)
    page.locator("#kb-send").click()
    page.locator(".toast-body, [data-testid=toast-body]").filter(has_text="问题太长").last.wait_for(timeout=15_000)
    assert box.input_value() == long_question  # refused, not cut
    assert page.locator("#kb-chat [data-testid=user]").count() == n_users
    for question in ("秸秆收集利用率要在哪年达到多少？", "排污许可证的有效期是多久？", "夜间施工噪声有什么规定？"):
        before = page.locator("#kb-chat [data-testid=bot] .kb-sources").count()
        box.fill(question)
        page.locator("#kb-send").click()
        page.wait_for_function("n => document.querySelectorAll('#kb-chat [data-testid=bot] .kb-sources').length > n",
                               arg=before, timeout=120_000)
        page.wait_for_timeout(800)
        assert page.locator("#kb-chat [data-testid=user]").last.inner_text().strip() == question
        assert page.evaluate(
            """() => { const u = [...document.querySelectorAll('#kb-chat [data-testid=user]')].pop();
                 const box = u.closest('[role=log]'); const r = u.getBoundingClientRect();
                 const b = box.getBoundingClientRect();
                 return r.top >= b.top - 2 && r.top < b.bottom && r.top >= -2 && r.top < window.innerHeight; }"""
        ), f"the newest question is out of view ({question})"
    shot(page, f"usage-chat-newest-{name}", full_page=False)


def _roles(page: object, name: str) -> None:
    select_tab(page, "我要遵守什么？")
    page.locator("#roles-pick label").filter(has_text="机动车车主").click()
    page.locator("#roles-body .kb-role-item").first.wait_for(timeout=60_000)
    assert page.locator("#roles-body .kb-role-item").count() >= 10
    assert page.locator("#roles-body .kb-role-topic").count() >= 2
    text = page.locator("#roles-body").inner_text()
    assert "《中华人民共和国大气污染防治法》第" in text and "不能" in text
    shot(page, f"usage-roles-{name}", full_page=False)


def _reading(page: object, session: PageSession, url: str, name: str) -> None:
    open_app(page, url)
    _chat_checks(page, name)
    _open_row_in_document(page, name)
    _search_hit_in_view(page, name)
    _roles(page, name)
    select_tab(page, "义务与期限")
    assert "预期性" in page.locator("#ob-legend").inner_text()
    assert session.external == [] and session.errors == []


@browser_test
def test_reading_and_chat_desktop(app_server, page_session: PageSession) -> None:
    _reading(page_session.page, page_session, app_server.url, "desktop")


@browser_test
def test_reading_and_chat_phone(app_server, phone_session: PageSession) -> None:
    _reading(phone_session.page, phone_session, app_server.url, "phone")
    assert phone_session.page.evaluate("document.documentElement.scrollWidth") <= 392
