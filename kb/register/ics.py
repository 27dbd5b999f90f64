"""The register as an iCalendar file (RFC 5545), read the same way as the register, the chat and the CSV.

- a dated record (到2020年, 2017年底前, 2017年前, “十三五”期间 …) is one all-day event on its deadline date
  (kb.register.deadlines.parse_deadlines gives the single reading of every expression);
- 自YYYY年起 is a yearly recurring event from 1 January of that year (``RRULE:FREQ=YEARLY``);
- 每年/逐年 duties are yearly events on 31 December, from the year of the document (the first four-digit year
  of its id, else of its title; a document without one, such as an upload, from the year of the export),
  recurring without end; a plan ("十三五" in its title) bounds both to the
  last day of its period (``UNTIL``);
- with ``alarm_days`` each event carries a reminder (``VALARM``) that many days before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kb.register.deadlines import PERIOD_END

_YEAR = re.compile(r"(?:19|20)\d\d")
RECURRING_KINDS = ("from-year-on", "annual")


def _clip(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def period_end(title: str) -> date | None:
    """The last day of the five-year period a plan's title names (None for other documents)."""
    for name, year in PERIOD_END.items():
        if name in (title or ""):
            return date(year, 12, 31)
    return None


def document_year(ob: Any) -> int | None:
    """The year a record's document was issued, read from its id, else its title."""
    for text in (ob.doc_id or "", ob.title or ""):
        m = _YEAR.search(text)
        if m:
            return int(m.group(0))
    return None


def event_start(ob: Any, this_year: int | None = None) -> tuple[date, bool] | None:
    """The first day of a record's event and whether it recurs yearly (None: nothing to put in a calendar).

    A yearly duty of a document with no year of its own starts in ``this_year`` (the export's).
    """
    if ob.deadline_kind == "annual":
        year = ob.year or document_year(ob) or this_year
        return (date(year, 12, 31), True) if year else None
    if not ob.deadline_date:
        return None
    return date.fromisoformat(ob.deadline_date), ob.deadline_kind in RECURRING_KINDS


def to_ics(records: Iterable[Any], dtstamp: datetime | None = None, alarm_days: int | None = None) -> str:
    """An iCalendar file: one all-day VEVENT per record with a date, yearly ones recurring, optional reminders."""
    from icalendar import Alarm, Calendar, Event

    stamp = dtstamp or datetime.now(UTC)
    cal = Calendar()
    cal.add("prodid", "-//xjenv-kb//obligations register//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "环境保护义务与期限")
    for r in records:
        start = event_start(r, stamp.year)
        if start is None:
            continue
        day, recurs = start
        ev = Event()
        ev.add("uid", f"{hashlib.sha1(r.ob_id.encode()).hexdigest()[:20]}@xjenv-kb")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", day)
        ev.add("dtend", day + timedelta(days=1))
        if recurs:
            rule: dict[str, Any] = {"freq": "yearly"}
            until = period_end(r.title)
            if until is not None and until >= day:
                rule["until"] = until
            ev.add("rrule", rule)
        ev.add("summary", _clip(r.action, 120))
        where = " > ".join(x for x in (r.title, r.article or r.section) if x)
        when = r.deadline_text + ("（每年）" if recurs and r.deadline_kind == "from-year-on" else "")
        extra = f"\n责任主体：{r.party}" + (f"\n属性：{r.binding}" if r.binding else "")
        ev.add("description", f"{r.passage}\n——{where}（{when}）{extra}")
        ev.add("categories", [r.domain])
        if alarm_days:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{alarm_days} 天后到期：{_clip(r.action, 60)}")
            alarm.add("trigger", timedelta(days=-int(alarm_days)))
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical().decode("utf-8")
