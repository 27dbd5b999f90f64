"""A Chinese PDF regulation put in the corpus (as the admin upload does) reaches the register and the calendar.

pypdf gives one newline per printed line, so articles and sentences arrive broken across lines; the file has no
manifest line, so its kind comes from its text; its dated duty must be a register record with that date.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

from icalendar import Calendar
from test_hardening import _text_pdf, copy_small, run_kb

from indexing.loaders import load_document

LINES = [
    "扬尘治理工作要求",
    "第一章 总则",
    "第一条 为了防治扬尘污染，改善大气环境质量，保障公众健康，根据《中华人民共和国大气污染防治法》，制定本要求。",
    "第二条 本要求适用于本市行政区域内施工工地、道路保洁、物料堆场等活动产生的扬尘污染防治。",
    "第二章 防治措施",
    "第三条 建筑施工单位应当在2027年6月30日前完成施工工地视频监控设备的安装，并与生态环境主管部门联网。",
    "第四条 物料堆场经营者应当每年向生态环境主管部门报告扬尘污染防治措施落实情况。",
]


def pdf_bytes() -> bytes:
    """The lines above wrapped at 30 characters, like a printed page, in a PDF with a Chinese text layer."""
    return _text_pdf("\n".join(part for line in LINES for part in textwrap.wrap(line, 30)))


def _pdf(path: Path) -> None:
    path.write_bytes(pdf_bytes())


def test_a_pdf_regulation_reaches_the_register_and_the_calendar(small_index: Path, tmp_path: Path) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    pdf = settings.corpus_dir / "uploads" / "yangchen.pdf"
    pdf.parent.mkdir()
    _pdf(pdf)
    doc = load_document(pdf, settings.corpus_dir)
    article = doc.raw[doc.raw.index("第三条") : doc.raw.index("联网。")]
    assert "\n" in article  # pypdf broke the article across printed lines
    assert doc.kind == "regulation"  # no manifest line, no telling title: two lines open with 第N条

    built = run_kb(settings, "index")
    assert built.returncode == 0, built.stderr
    got = run_kb(settings, "obligations", "--doc", "yangchen", "--format", "json")
    assert got.returncode == 0, got.stderr
    records = json.loads(got.stdout)
    (dated,) = [r for r in records if r["deadline_date"] == "2027-06-30"]
    assert dated["party"] == "建筑施工单位" and "视频监控设备的安装" in dated["action"]
    assert dated["article"] == "第三条"
    (yearly,) = [r for r in records if r["deadline_kind"] == "annual"]
    assert yearly["party"] == "物料堆场经营者"

    ics = run_kb(settings, "obligations", "--doc", "yangchen", "--format", "ics")
    assert ics.returncode == 0, ics.stderr
    events = Calendar.from_ical(ics.stdout).walk("VEVENT")
    (due,) = [ev for ev in events if "视频监控" in str(ev["SUMMARY"]) + str(ev.get("DESCRIPTION", ""))]
    assert due.decoded("DTSTART") == date(2027, 6, 30) and "RRULE" not in due
    (recurring,) = [ev for ev in events if "RRULE" in ev]
    assert recurring["RRULE"]["FREQ"] == ["YEARLY"]


def test_the_register_tab_says_it_is_loading_after_a_re_index(small_index: Path, tmp_path: Path) -> None:
    """Until the new index's register has been read, a filter first shows the loading note, then the rows."""
    import gradio as gr

    from kb.api import KnowledgeBase
    from kb.web import app as webui
    from kb.web import context as web_context
    from kb.web.tabs.register import LOADING_NOTE

    settings = copy_small(small_index, tmp_path / "kb")
    kb = KnowledgeBase(settings)
    ctx = web_context.AppContext(settings=settings, kb=kb)
    ctx.ready.set()
    demo = webui.build_app(ctx)
    note = next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "note")
    assert note() == LOADING_NOTE  # nothing read yet
    assert kb.register.records
    assert isinstance(note(), type(gr.skip()))  # read: no note
    pdf = settings.corpus_dir / "uploads" / "yangchen.pdf"
    pdf.parent.mkdir()
    _pdf(pdf)
    assert kb.build().status == "built"
    assert note() == LOADING_NOTE  # a new generation: its register is not read yet
    assert any(r.deadline_date == "2027-06-30" for r in kb.register.records)
    assert isinstance(note(), type(gr.skip()))
