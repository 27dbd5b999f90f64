"""One reading of dates everywhere: 2017年前 is filed under 2017 in the register, the CSV and the calendar;
自YYYY年起 and yearly duties recur in the calendar (RRULE); an optional reminder 30 days before (VALARM)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from icalendar import Calendar

from kb.register.deadlines import parse_deadlines
from kb.register.ics import document_year, event_start, period_end, to_ics

STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def _ob(ob_id: str, kind: str, text: str, iso: str, year: int | None, doc_id: str = "xj-env-13fyp-2017",
        title: str = "新疆维吾尔自治区环境保护“十三五”规划") -> SimpleNamespace:
    return SimpleNamespace(ob_id=ob_id, doc_id=doc_id, title=title, deadline_kind=kind, deadline_text=text,
                           deadline_date=iso, year=year, action=f"{text}完成某项任务", passage=f"{text}完成某项任务。",
                           article=None, section="三、任务", party="各级人民政府", binding="", domain="水")


def test_year_before_is_that_year_like_end_of_year() -> None:
    (before,) = parse_deadlines("2017年前完成督察", min_year=2017)
    (eoy,) = parse_deadlines("2017年底前完成调查", min_year=2017)
    (to,) = parse_deadlines("到2017年，基本实现", min_year=2017)
    assert before.date == eoy.date == to.date == "2017-12-31"
    assert before.year == eoy.year == to.year == 2017


def _events(text: str) -> list[object]:
    return Calendar.from_ical(text).walk("VEVENT")


def _by_summary(events: list[object], summary: str) -> list[object]:
    return [ev for ev in events if str(ev["SUMMARY"]) == summary]


def test_recurring_events_and_one_day_events() -> None:
    records = [
        _ob("a", "end-of-year", "2017年底前", "2017-12-31", 2017),
        _ob("b", "from-year-on", "自2018年起", "2018-01-01", 2018),
        _ob("c", "annual", "每年", "", None),
        _ob("d", "annual", "每年", "", None, doc_id="env-protection-law-2014", title="中华人民共和国环境保护法"),
        _ob("e", "none", "", "", None),
    ]
    events = _events(to_ics(records, dtstamp=STAMP))
    assert len(events) == 4  # the record without a date has no event
    (one_day,) = _by_summary(events, "2017年底前完成某项任务")
    assert "RRULE" not in one_day and one_day.decoded("DTSTART") == date(2017, 12, 31)
    (from_on,) = _by_summary(events, "自2018年起完成某项任务")
    assert from_on.decoded("DTSTART") == date(2018, 1, 1)
    rule = from_on["RRULE"]
    assert rule["FREQ"] == ["YEARLY"] and rule["UNTIL"][0] == date(2020, 12, 31)  # the plan's period ends
    yearly = _by_summary(events, "每年完成某项任务")
    starts = sorted(ev.decoded("DTSTART") for ev in yearly)
    assert starts == [date(2014, 12, 31), date(2017, 12, 31)]
    law = next(ev for ev in yearly if ev.decoded("DTSTART") == date(2014, 12, 31))
    assert law["RRULE"]["FREQ"] == ["YEARLY"] and "UNTIL" not in law["RRULE"]  # a law's duty does not end
    assert all("VALARM" not in ev.to_ical().decode() for ev in events)


def test_optional_reminder_thirty_days_before() -> None:
    text = to_ics([_ob("a", "end-of-year", "2017年底前", "2017-12-31", 2017)], dtstamp=STAMP, alarm_days=30)
    (event,) = Calendar.from_ical(text).walk("VEVENT")
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-30)
    assert str(alarm["ACTION"]) == "DISPLAY" and "30 天后到期" in str(alarm["DESCRIPTION"])


def test_helpers() -> None:
    assert period_end("新疆维吾尔自治区环境保护“十三五”规划") == date(2020, 12, 31)
    assert period_end("中华人民共和国环境保护法") is None
    assert document_year(_ob("x", "annual", "每年", "", None, doc_id="upload", title="2019年工作方案")) == 2019
    assert event_start(_ob("x", "none", "", "", None)) is None
    undated = _ob("u", "annual", "每年", "", None, doc_id="upload", title="扬尘治理工作要求")
    assert event_start(undated) is None and event_start(undated, 2026) == (date(2026, 12, 31), True)
