"""The web app: safe rendering, uploads and the admin gate as units; then the real app in chromium.

Browser tests (marker ``browser``) start ``python app.py`` over a real index (see browser.py), drive it
with Debian's chromium, save screenshots to tests/artifacts/ and record timings in
tests/artifacts/webui_metrics.json.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from pathlib import Path
from types import SimpleNamespace

import browser as harness
import pytest
from browser import ADMIN_PASSWORD, PageSession, choose, open_app, record_metric, select_tab, shot
from test_upload_register import pdf_bytes

from indexing.config import Settings
from indexing.types import Citation, Document, Section
from kb.web import app as webui
from kb.web import context as web_context
from kb.web import render as web_render
from kb.web import uploads as web_uploads
from kb.web.tabs import admin as admin_tab
from kb.web.tabs import chat as chat_tab
from kb.web.tabs import documents as documents_tab
from kb.web.tabs import register as web_register

# --- units: rendering ----------------------------------------------------------------------------


def _citation(text: str, highlight: tuple[int, int] | None = None, **kw: object) -> Citation:
    base = dict(n=1, doc_id="d", title="标题<b>", section="一、总则 > （一）<p>", text=text, start=0,
                end=len(text), score=0.5)
    base.update(kw)
    return Citation(**base, highlight=highlight)


def test_escape_keeps_markup_as_text() -> None:
    html = web_render.answer_html("<script>alert(1)</script>答案[1]", [_citation("<p>原文</p>")])
    assert "<script>" not in html and "<p>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;p&gt;原文&lt;/p&gt;" in html
    assert '<span class="kb-cite">[1]</span>' in html
    assert web_render.question_html('<img src=x onerror="alert(1)">') == (
        '<div class="kb-q">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</div>'
    )


def test_answer_html_has_no_blank_lines() -> None:
    # A blank line would end the HTML block inside the chatbot's markdown renderer.
    html = web_render.answer_html("第一段\n\n第二段", [_citation("甲\n\n乙")])
    assert "\n" not in html


def test_highlight_marks_the_answering_span() -> None:
    text = "到2020年，秸秆收集利用率达到90%，工业固体废物综合利用率达到60%以上。"
    card = web_render.source_cards_html([_citation(text, (0, 19), article="第十条", page=3)])
    assert "<mark>到2020年，秸秆收集利用率达到90%</mark>，工业" in card
    assert "第十条 · 第3页" in card
    assert "来源（1）" in card
    # an out-of-range span is ignored rather than cutting the text
    assert "<mark>" not in web_render.highlight_html("abc", (2, 10))
    assert "最接近的段落" in web_render.source_cards_html([_citation("x")], abstained=True)


def test_a_repealed_source_is_marked_on_its_card() -> None:
    repealed = web_render.source_cards_html([_citation("第一条", status="2022-06-05废止")])
    assert '<span class="kb-repealed"' in repealed and "（已于2022-06-05废止）" in repealed
    assert "kb-repealed" not in web_render.source_cards_html([_citation("第一条")])
    replaced = web_render.source_cards_html([_citation("第一条", status="2022-06-05废止",
                                                        replaced_by="中华人民共和国噪声污染防治法")])
    assert "（已于2022-06-05废止，由《中华人民共和国噪声污染防治法》取代）" in replaced
    assert "&lt;i&gt;" in web_render.source_cards_html([_citation("x", status="废止", replaced_by="<i>")])
    assert "&lt;b&gt;" in web_render.source_cards_html([_citation("x", status="<b>")])  # escaped like all text


def test_plain_text_for_the_clipboard() -> None:
    c = _citation("秸秆收集利用率达到90%", article=None, page=None)
    text = web_render.answer_plain_text("秸秆？", "2020年达到90%[1]", [c])
    assert text.startswith("问：秸秆？\n答：2020年达到90%[1]")
    assert "来源：" in text and "[1] 标题<b> > 一、总则 > （一）<p>" in text


def test_stream_pieces_grow_to_the_full_text() -> None:
    pieces = list(chat_tab.stream_pieces("一二三四五六七八九十", step=3))
    assert pieces[-1] == "一二三四五六七八九十"
    assert all(b.startswith(a) for a, b in itertools.pairwise(pieces))
    assert list(chat_tab.stream_pieces("")) == [""]


def test_highlight_terms_is_case_insensitive_and_escaped() -> None:
    out = web_render.highlight_terms_html("PM2.5 与 pm2.5 <p>", "Pm2.5")
    assert out.count("<mark>") == 2 and "&lt;p&gt;" in out


# --- units: documents and obligations --------------------------------------------------------------


def _doc() -> tuple[Document, list[Section]]:
    text = "第一章 总则\n第一条 为了保护环境。\n第二条 环境是指……\n第二章 监督管理\n第三条 监督管理环境。"
    doc = Document("law", "测试法", "law", "laws/t.md", text, text, list(range(len(text))), "x")
    c1_end = text.index("第二章")
    secs = [
        Section("第一章 总则", "chapter", 1, 0, c1_end, ("第一章 总则",)),
        Section("第一条 为了保护环境。", "article", 2, 7, text.index("第二条"), ("第一章 总则", "第一条"), "第一条"),
        Section("第二条 环境是指……", "article", 2, text.index("第二条"), c1_end, ("第一章 总则", "第二条"), "第二条"),
        Section("第二章 监督管理", "chapter", 1, c1_end, len(text), ("第二章 监督管理",)),
        Section("第三条 监督管理环境。", "article", 2, text.index("第三条"), len(text), ("第二章 监督管理", "第三条"),
                "第三条"),
    ]
    return doc, secs


def test_section_lookup_and_search() -> None:
    doc, secs = _doc()
    assert documents_tab.section_at(secs, doc.text.index("监督管理环境")) == 4
    assert documents_tab.section_at(secs, 2) == 0
    hits = documents_tab.search_document(doc, secs, "监督")
    assert [h[0] for h in hits] == [3, 4]
    assert documents_tab.search_document(doc, secs, "  ") == []
    html = documents_tab.section_html(doc, secs[1], "环境")
    assert "第一章 总则 &gt; 第一条<" in html and "<mark>环境</mark>" in html
    assert documents_tab.section_label(secs[1]).startswith("\u3000第一条")


def _ob(year: int | None, **kw: object) -> SimpleNamespace:
    base = dict(ob_id=f"o{year}", doc_id="plan", title="规划", section="三、任务", action="完成黑臭水体治理",
                deadline_kind="end-of-year", deadline_text=f"{year}年底前" if year else "", deadline_date="",
                year=year, party="乌鲁木齐市人民政府", domain="水", start=0, end=5,
                passage="加强治理，完成黑臭水体治理<p>。", target=None, binding="", article=None)
    base.update(kw)
    return SimpleNamespace(**base)


def test_timeline_counts_by_year() -> None:
    html = web_register.timeline_html([_ob(2017), _ob(2017), _ob(2020), _ob(None)])
    years = re.findall(r'kb-tl-year">([^<]+)<', html)
    counts = re.findall(r'kb-tl-n">(\d+)<', html)
    assert years == ["2017", "2020"] and counts == ["2", "1", "1"]
    assert "另有" in html and "未规定年份" in html
    assert "没有符合条件" in web_register.timeline_html([])


def test_obligation_detail_marks_the_action_and_escapes() -> None:
    html = web_register.obligation_detail_html(_ob(2017))
    assert "<mark>完成黑臭水体治理</mark>" in html and "&lt;p&gt;" in html
    assert web_register.ob_row(_ob(2017))[:2] == ["2017", "2017年底前"]


# --- units: uploads and the admin gate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\evil.PDF", "evil.pdf"),
        ("<script>报告.md", "script_报告.md"),
        (".hidden.txt", "hidden.txt"),
        ("a b;rm -rf.txt", "a_b_rm_-rf.txt"),
        ("../.md", "upload.md"),
        ("ＦＵＬＬ.txt", "FULL.txt"),
    ],
)
def test_safe_upload_name(name: str, safe: str) -> None:
    assert web_uploads.safe_upload_name(name) == safe


@pytest.mark.parametrize("name", ["x.exe", "x.html", "x.md.sh", "noext", ""])
def test_safe_upload_name_rejects_other_types(name: str) -> None:
    with pytest.raises(web_uploads.UploadRejected):
        web_uploads.safe_upload_name(name)


def test_save_upload_lands_inside_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = tmp_path / "in.md"
    src.write_text("# 标题\n正文", encoding="utf-8")
    first = web_uploads.save_upload(src, "../../etc/passwd.md", corpus, max_mb=1)
    second = web_uploads.save_upload(src, "../../etc/passwd.md", corpus, max_mb=1)
    assert first == (corpus / "uploads" / "passwd.md").resolve()
    assert second.name == "passwd-2.md" and second.parent == first.parent
    assert not (tmp_path / "etc").exists()
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.txt", b"", "为空"),
        ("big.txt", b"x" * (1024 * 1024 + 1), "过大"),
        ("fake.pdf", b"hello", "不是 PDF"),
        ("bin.txt", b"\x00\x01\x02binary", "二进制"),
    ],
)
def test_save_upload_rejects_bad_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(web_uploads.UploadRejected, match=message):
        web_uploads.save_upload(src, name, tmp_path / "corpus", max_mb=1)
    assert not list((tmp_path / "corpus").rglob("*.*")) if (tmp_path / "corpus").exists() else True


def test_password_check_is_exact() -> None:
    assert admin_tab.password_ok("密码", "密码")
    assert not admin_tab.password_ok("密码 ", "密码")
    assert not admin_tab.password_ok("", "密码")
    assert not admin_tab.password_ok(None, "密码")
    assert not admin_tab.password_ok("", "")  # no password configured: nobody gets in


class _FakeKB:
    """Just enough of KnowledgeBase for building the app."""

    register = ()

    def open(self) -> None:
        raise RuntimeError("no index in unit tests")


def _ctx(tmp_path: Path, password: str = "") -> web_context.AppContext:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", admin_password=password)
    return web_context.AppContext(settings=settings, kb=_FakeKB())


def _fn(demo: object, name: str):
    """The Python function behind an event of the Blocks, by its name."""
    for block_fn in demo.fns.values():
        if getattr(block_fn.fn, "__name__", "") == name:
            return block_fn.fn
    raise LookupError(name)


def _elem_ids(demo: object) -> set[str]:
    return {getattr(b, "elem_id", None) for b in demo.blocks.values()} - {None}


def test_no_admin_tab_without_password(tmp_path: Path) -> None:
    demo = webui.build_app(_ctx(tmp_path))
    ids = _elem_ids(demo)
    assert {"tab-chat", "tab-obligations", "tab-docs"} <= ids
    assert "tab-admin" not in ids and "admin-password" not in ids
    with pytest.raises(LookupError):
        _fn(demo, "do_upload")


def test_admin_handlers_refuse_without_login(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-口令"
    ctx = _ctx(tmp_path, secret)
    demo = webui.build_app(ctx)
    assert "tab-admin" in _elem_ids(demo)
    src = tmp_path / "x.md"
    src.write_text("# x\n正文", encoding="utf-8")
    msg, _ = _fn(demo, "do_upload")(False, [str(src)])
    assert msg == "请先登录。" and not (tmp_path / "corpus").exists()
    assert next(_fn(demo, "do_index")(False, False))[0] == "请先登录。"
    assert _fn(demo, "guarded_stats")(False) == ""
    do_login = _fn(demo, "do_login")
    delays: list[float] = []
    monkeypatch.setattr(admin_tab.time, "sleep", delays.append)
    with caplog.at_level(logging.DEBUG):
        refused = do_login("wrong")
        accepted = do_login(secret)
    assert refused[0] is False and refused[-1] == "密码错误，请重试。"
    assert accepted[0] is True and delays == []  # a wrong password never holds a worker asleep (kb.web.guard)
    assert secret not in caplog.text and "wrong" not in caplog.text


def test_serve_reports_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import signal
    import socket

    before = signal.getsignal(signal.SIGTERM)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ctx_settings = _ctx(tmp_path).settings
        assert webui.serve(ctx_settings, host="127.0.0.1", port=port, kb=_FakeKB()) == 1
    err = capsys.readouterr()
    assert f"无法在 127.0.0.1:{port} 启动网页服务" in err.err and "KB_PORT" in err.err and "--port" in err.err
    assert "http://" not in err.out + err.err  # no URL before the server is really up
    assert signal.getsignal(signal.SIGTERM) is before


def test_public_tabs_is_the_place_for_new_tabs(tmp_path: Path) -> None:
    tabs = webui.public_tabs()
    assert [label for label, _, _ in tabs] == ["问答", "义务与期限", "我要遵守什么？", "文档", "测验"]
    # each builder makes its own tab: the app's tab ids are the ids listed here
    assert {f"tab-{tab_id}" for _, tab_id, _ in tabs} <= _elem_ids(webui.build_app(_ctx(tmp_path)))


def test_web_app_turns_on_background_repair(tmp_path: Path) -> None:
    from kb.service import KnowledgeBase

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    kb = KnowledgeBase(settings)
    assert kb.background_repair is False  # the CLI repairs before it answers
    assert webui.create_context(settings, kb).kb.background_repair is True


def test_export_files_are_unique(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    a = ctx.export_file("义务与期限.csv", "a")
    b = ctx.export_file("义务与期限.csv", "b")
    assert a != b and Path(a).name == Path(b).name == "义务与期限.csv"
    assert Path(a).read_text(encoding="utf-8") == "a"
    calls = []

    def render(obs: list) -> str:
        calls.append(len(obs))
        return ",".join(ob.ob_id for ob in obs)

    first = ctx.cached_export("x.csv", [_ob(2017)], render)
    again = ctx.cached_export("x.csv", [_ob(2017)], render)
    other = ctx.cached_export("x.csv", [_ob(2018)], render)
    assert first == again != other and calls == [1, 1]
    assert Path(other).read_text(encoding="utf-8") == "o2018"


# --- the real app in chromium ----------------------------------------------------------------------

DEADLINE_Q = "秸秆收集利用率要在哪年达到多少？"
STRAW = "秸秆收集利用率达到90%"


def browser_test(fn):
    """Mark a browser test; its budget covers starting the app, which may first build the index."""
    return pytest.mark.timeout(harness.START_TIMEOUT_S + 600)(pytest.mark.browser(fn))
LAST_BOT = "#kb-chat [data-testid=bot]"


def _ask(page: object, question: str, timeout_ms: float = 120_000) -> dict[str, float]:
    """Ask a question; return seconds to the first answer text and to the source cards."""
    n_before = page.locator(LAST_BOT).count()
    box = page.locator("#kb-question textarea")
    box.fill(question)
    t0 = time.monotonic()
    page.locator("#kb-send").click()
    page.wait_for_function(
        """([sel, n]) => { const m = document.querySelectorAll(sel);
             return m.length > n && m[m.length - 1].querySelector('.kb-text') !== null; }""",
        arg=[LAST_BOT, n_before],
        timeout=timeout_ms,
        polling=20,
    )
    first = time.monotonic() - t0
    page.wait_for_function(
        """([sel, n]) => { const m = document.querySelectorAll(sel);
             if (m.length <= n) return false; const last = m[m.length - 1];
             return last.querySelector('.kb-sources') !== null; }""",
        arg=[LAST_BOT, n_before],
        timeout=timeout_ms,
        polling=50,
    )
    return {"first_token_s": first, "full_answer_s": time.monotonic() - t0}


def _last_answer(page: object) -> object:
    return page.locator(LAST_BOT).last


def _show_last_question(page: object) -> None:
    """Scroll the page to the top (the app itself keeps the newest question at the top of the chat)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


@browser_test
def test_deadline_question_streams_answer_with_source_card(app_server, page_session: PageSession) -> None:
    page = page_session.page
    load_s = open_app(page, app_server.url)
    timings = _ask(page, DEADLINE_Q)
    answer = _last_answer(page)
    text = answer.locator(".kb-text").inner_text()
    assert STRAW in text and "2020" in text, text  # the straw clause, not 城市污水集中处理率达到90% beside it
    card = answer.locator(".kb-card").first
    assert card.is_visible()
    assert "新疆维吾尔自治区环境保护" in card.locator(".kb-card-h").inner_text()
    assert card.locator(".kb-card-path").inner_text().strip()
    assert "秸秆" in answer.locator("mark").first.inner_text()
    _show_last_question(page)
    shot(page, "chat-deadline-desktop", full_page=False)
    record_metric("page_load_s", round(load_s, 2))
    record_metric("deadline_first_token_s", round(timings["first_token_s"], 3))
    record_metric("deadline_full_answer_s", round(timings["full_answer_s"], 3))
    # copy the answer with its sources
    page.locator("#kb-copy").click()
    page.wait_for_timeout(500)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"问：{DEADLINE_Q}") and "来源：" in copied and "[1]" in copied
    assert page_session.external == [] and page_session.dialogs == []


@browser_test
def test_example_question_is_asked(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    groups = page.locator(".kb-examples")
    groups.nth(2).wait_for(timeout=30_000)
    assert groups.count() == 3
    groups.nth(1).get_by_text(DEADLINE_Q, exact=True).click()
    page.locator(f"{LAST_BOT} .kb-sources").wait_for(timeout=120_000)
    assert page.locator("#kb-chat [data-testid=user]").last.inner_text().strip() == DEADLINE_Q
    assert STRAW in _last_answer(page).locator(".kb-text").inner_text()


@browser_test
def test_follow_up_and_clear(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    _ask(page, "到2020年北疆未达标城市细颗粒物年均浓度要下降多少？")
    _ask(page, "那乌鲁木齐呢？")
    follow = _last_answer(page).locator(".kb-text").inner_text()  # the answer, not the 理解为 note
    assert "乌鲁木齐市、昌吉市下降20%" in follow, follow
    _show_last_question(page)
    shot(page, "chat-follow-up", full_page=False)
    page.locator("#kb-clear").click()
    page.wait_for_function(f"document.querySelectorAll('{LAST_BOT}').length === 0", timeout=10_000)


@browser_test
def test_script_question_renders_as_text(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    payload = "<script>alert(1)</script>"
    page.locator("#kb-question textarea").fill(payload)
    page.locator("#kb-send").click()
    user = page.locator("#kb-chat [data-testid=user] .kb-q").last
    user.wait_for(timeout=30_000)
    page.wait_for_function(
        f"""() => {{ const m = document.querySelectorAll('{LAST_BOT}');
             return m.length > 0 && m[m.length - 1].querySelector('.kb-wait') === null; }}""",
        timeout=120_000,
    )
    page.wait_for_timeout(500)
    assert user.inner_text() == payload
    assert page.locator("#kb-chat script").count() == 0
    assert page_session.dialogs == []
    _show_last_question(page)
    shot(page, "chat-script-payload", full_page=False)


@browser_test
def test_obligations_filter_2017_row_source_and_exports(app_server, page_session: PageSession, knowledge_base) -> None:
    from icalendar import Calendar

    from kb.register.export import from_csv
    from kb.register.query import query

    due_2017 = [ob for ob in query(knowledge_base.register, year=2017) if ob.deadline_date]  # "只看有明确期限" is on
    assert due_2017
    page = page_session.page
    open_app(page, app_server.url)
    select_tab(page, "义务与期限")
    cells = page.locator("#ob-table [role=gridcell]")
    cells.first.wait_for(timeout=30_000)
    total = page.locator("#ob-summary").inner_text()
    choose(page, "ob-year", "2017")
    page.wait_for_function(
        "t => document.querySelector('#ob-summary').innerText !== t", arg=total, timeout=30_000
    )
    page.wait_for_timeout(300)
    table_text = page.locator("#ob-table").inner_text()
    assert "2017年底前" in table_text, table_text[:2000]
    years = page.locator("#ob-timeline .kb-tl-year").all_inner_texts()
    assert years == ["2017"], years
    cells.nth(6).click()  # the 内容 cell of the first row
    detail = page.locator("#ob-detail .kb-passage").first  # the source passage (a party citation may follow)
    detail.wait_for(timeout=15_000)
    assert "2017" in page.locator("#ob-detail").inner_text()
    shot(page, "obligations-2017")
    with page.expect_download(timeout=30_000) as dl:
        page.locator("#ob-csv").click()
    rows = from_csv(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert [r.ob_id for r in rows] == [ob.ob_id for ob in due_2017]  # exactly the filtered rows, in table order
    assert {r.year for r in rows} == {2017}
    with page.expect_download(timeout=30_000) as dl:
        page.locator("#ob-ics").click()
    events = Calendar.from_ical(Path(dl.value.path()).read_text(encoding="utf-8")).walk("VEVENT")
    got = sorted((str(ev["DTSTART"].dt), str(ev["SUMMARY"])[:20]) for ev in events)
    assert got == sorted((ob.deadline_date, ob.action[:20]) for ob in due_2017)
    # the selected row opens its passage in the document browser
    page.locator("#ob-open").click()
    page.locator("#doc-body .kb-section").wait_for(timeout=15_000)
    assert page.locator("#doc-body").inner_text().strip()
    assert page_session.external == []


@browser_test
def test_document_browser_section_and_search(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    select_tab(page, "文档")
    page.locator("#doc-body .kb-section").wait_for(timeout=30_000)
    choose(page, "doc-select", "中华人民共和国环境保护法")
    page.wait_for_function(
        "() => document.querySelector('#doc-body').innerText.includes('环境保护法')", timeout=15_000
    )
    choose(page, "doc-section", "第五十七条", exact=False)
    page.wait_for_function(
        "() => document.querySelector('#doc-body .kb-section').innerText.includes('举报')", timeout=15_000
    )
    assert "第五十七条" in page.locator("#doc-body .kb-section-path").inner_text()
    page.locator("#doc-term textarea").fill("举报")
    page.locator("#doc-find").click()
    hits = page.locator("#doc-hits label")
    hits.first.wait_for(timeout=15_000)
    assert hits.count() >= 2
    hits.nth(1).click()
    page.wait_for_function(
        "() => document.querySelectorAll('#doc-body mark').length > 0", timeout=15_000
    )
    shot(page, "documents-section")
    assert page_session.external == []


@browser_test
def test_no_admin_tab_without_password_in_browser(app_server, page_session: PageSession) -> None:
    page = page_session.page
    open_app(page, app_server.url)
    tabs = page.get_by_role("tab").all_inner_texts()
    assert "管理" not in tabs and {"问答", "义务与期限", "文档"} <= set(tabs)
    config = page.evaluate("fetch('/config').then(r => r.text())")
    assert "admin-password" not in config and "管理员密码" not in config


@browser_test
def test_phone_width_is_usable(app_server, phone_session: PageSession) -> None:
    page = phone_session.page
    open_app(page, app_server.url)
    _ask(page, DEADLINE_Q)
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    _show_last_question(page)
    shot(page, "chat-phone", full_page=False)
    select_tab(page, "义务与期限")
    page.locator("#ob-table [role=gridcell]").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    shot(page, "obligations-phone", full_page=False)
    select_tab(page, "文档")
    page.locator("#doc-body .kb-section").wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    shot(page, "documents-phone", full_page=False)
    assert phone_session.external == []


@browser_test
def test_admin_login_upload_reindex(admin_server, page_session: PageSession) -> None:
    """Upload a text file, a PDF regulation (no manifest line) and a fake PDF; re-index; the PDF's dated duty is in
    the register tab."""
    page = page_session.page
    open_app(page, admin_server.url)
    select_tab(page, "管理")
    assert not page.locator("#admin-files").is_visible()
    page.locator("#admin-password input").fill("wrong-password")
    page.locator("#admin-login").click()
    page.wait_for_function(
        "() => document.querySelector('#admin-login-msg').innerText.includes('密码错误')", timeout=15_000
    )
    assert not page.locator("#admin-upload").is_visible()
    page.locator("#admin-password input").fill(ADMIN_PASSWORD)
    page.locator("#admin-login").click()
    page.locator("#admin-upload").wait_for(state="visible", timeout=15_000)
    page.locator("#admin-stats table").wait_for(timeout=30_000)
    body = "# 上传测试文件\n\n第一条 乌鲁木齐上传测试条款应当于2018年底前完成。\n".encode()
    page.locator("#admin-files input[type=file]").set_input_files(
        files=[
            {"name": "../../etc/passwd.md", "mimeType": "text/markdown", "buffer": body},
            {"name": "fake.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"},
            {"name": "扬尘治理.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
        ]
    )
    page.wait_for_timeout(1500)
    page.locator("#admin-upload").click()
    page.wait_for_function(
        "() => document.querySelector('#admin-upload-msg').innerText.includes('uploads/')", timeout=30_000
    )
    message = page.locator("#admin-upload-msg").inner_text()
    assert "已拒绝：fake.pdf：文件扩展名为 .pdf，但内容不是 PDF。" in message, message
    corpus = admin_server.corpus_dir
    saved = sorted(p.name for p in (corpus / "uploads").iterdir())
    assert saved == ["passwd.md", "扬尘治理.pdf"]
    assert not (corpus.parent / "etc").exists()
    page.locator("#admin-index").click()
    page.wait_for_function(
        "() => document.querySelector('#admin-index-msg').innerText.includes('索引已建立')", timeout=600_000
    )
    page.wait_for_function(
        "() => document.querySelector('#admin-stats').innerText.includes('上传测试文件')", timeout=30_000
    )
    shot(page, "admin-after-reindex")
    select_tab(page, "义务与期限")
    page.locator("#ob-text textarea, #ob-text input").first.fill("视频监控")
    page.locator("#ob-search").click()
    page.wait_for_function(
        "() => document.querySelector('#ob-table').innerText.includes('2027-06-30')", timeout=30_000
    )
    table = page.locator("#ob-table").inner_text()
    assert "建筑施工单位" in table and "扬尘治理工作要求" in table, table
    shot(page, "register-after-pdf-upload")
    assert page_session.external == []
