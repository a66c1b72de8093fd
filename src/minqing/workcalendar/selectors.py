"""Read side of the working-day calendar.

`load_calendar()` is what every deadline computation uses. It is cached per process and
revalidated on each call by one cheap aggregate (row counts and last-update times of the two
tables), so an import made by another process (web, worker, a management command) is seen at
once even with the local-memory cache; the actions also drop the cache when they write.
Code computing many deadlines should call it once and pass the `WorkCalendar` along.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q

from minqing.core.deadlines import WorkCalendar
from minqing.workcalendar.models import CalendarDay, CalendarYear
from minqing.workcalendar.schedule_file import format_schedule

_lock = threading.Lock()
_memo: tuple[Any, WorkCalendar, float] | None = None
# Writes in this process invalidate at once; other processes (web, worker) notice a change
# within this many seconds. Checking the stamp on every call cost two queries per deadline.
STAMP_CHECK_SECONDS = 5.0


def invalidate_calendar_cache() -> None:
    global _memo
    with _lock:
        _memo = None


def _stamp() -> tuple[Any, ...]:
    days = CalendarDay.objects.aggregate(n=Count("id"), last_id=Max("id"), last=Max("updated_at"))
    years = CalendarYear.objects.aggregate(
        n=Count("id"), complete=Count("id", filter=Q(complete=True)), last=Max("updated_at")
    )
    return (days["n"], days["last_id"], days["last"], years["n"], years["complete"], years["last"])


def load_calendar() -> WorkCalendar:
    """The current calendar: stored holidays, make-up working days and complete years."""
    global _memo
    memo = _memo
    if memo is not None and time.monotonic() - memo[2] < STAMP_CHECK_SECONDS:
        return memo[1]
    stamp = _stamp()
    if memo is not None and memo[0] == stamp:
        with _lock:
            _memo = (stamp, memo[1], time.monotonic())
        return memo[1]
    holidays, makeup = set(), set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else makeup).add(day)
    complete = CalendarYear.objects.filter(complete=True).values_list("year", flat=True)
    calendar = WorkCalendar(frozenset(holidays), frozenset(makeup), frozenset(complete))
    with _lock:
        _memo = (stamp, calendar, time.monotonic())
    return calendar


def complete_years() -> frozenset[int]:
    """Years whose schedule is fully entered; deadlines touching any other year are provisional."""
    return load_calendar().complete_years


def is_year_complete(year: int) -> bool:
    return year in complete_years()


@dataclass(frozen=True)
class YearSummary:
    year: int
    complete: bool
    source: str
    holidays: int
    makeup_workdays: int


def year_summaries() -> list[YearSummary]:
    """One row per year that has a CalendarYear row or stored days, in order."""
    counts: dict[int, dict[str, int]] = {}
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        per_kind = counts.setdefault(day.year, {})
        per_kind[kind] = per_kind.get(kind, 0) + 1
    rows = {row.year: row for row in CalendarYear.objects.all()}
    return [
        YearSummary(
            year=year,
            complete=bool(rows.get(year) and rows[year].complete),
            source=rows[year].source if year in rows else "",
            holidays=counts.get(year, {}).get(CalendarDay.Kind.HOLIDAY, 0),
            makeup_workdays=counts.get(year, {}).get(CalendarDay.Kind.MAKEUP_WORKDAY, 0),
        )
        for year in sorted(set(rows) | set(counts))
    ]


def export_schedule(years: Iterable[int]) -> str:
    """The stored days of `years` in the import file format (see schedule_file)."""
    years = sorted(set(years))
    rows = CalendarDay.objects.filter(date__year__in=years).values_list("date", "kind", "name")
    title = "、".join(str(y) for y in years) + " 年节假日安排" if years else ""
    return format_schedule(rows, title=title)
