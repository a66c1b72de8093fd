"""Write side of the working-day calendar: seeding, importing a yearly schedule, admin edits.

Every write runs in one transaction, drops the cached calendar, writes an audit entry and,
after commit, sends `signals.calendar_changed` with the years affected so that stored
deadlines can be recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from django.db import transaction
from django.utils import timezone

from minqing.accounts import audit
from minqing.core.deadlines import fixed_date_holidays
from minqing.core.errors import DomainError
from minqing.workcalendar.models import CalendarDay, CalendarYear
from minqing.workcalendar.schedule_file import parse_schedule
from minqing.workcalendar.selectors import invalidate_calendar_cache
from minqing.workcalendar.signals import calendar_changed

Source = CalendarYear.Source
Kind = CalendarDay.Kind

# chinese-calendar names its holidays in English.
PACKAGE_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _package_days() -> dict[date, tuple[str, str]]:
    from chinese_calendar import constants

    days = {day: (Kind.HOLIDAY.value, PACKAGE_HOLIDAY_NAMES.get(n, n)) for day, n in constants.holidays.items()}
    for day, n in constants.workdays.items():
        days[day] = (Kind.MAKEUP_WORKDAY.value, f"{PACKAGE_HOLIDAY_NAMES.get(n, n)}调休")
    return days


def package_years() -> range:
    """The years the installed chinese-calendar package covers (2004–2026 for 1.11)."""
    from chinese_calendar import constants

    return range(min(constants.holidays).year, max(constants.holidays).year + 1)


def _changed(years: Iterable[int]) -> None:
    years = frozenset(years)
    invalidate_calendar_cache()
    transaction.on_commit(invalidate_calendar_cache)
    if years:
        transaction.on_commit(partial(calendar_changed.send, sender=CalendarDay, years=years))


@dataclass
class SeedResult:
    seeded: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # entered by import or by an administrator
    created: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def seed_from_chinese_calendar(years: Iterable[int] | None = None) -> SeedResult:
    """Store the chinese-calendar package's days for `years` and mark them complete.

    Idempotent, and a second run writes nothing. Years already entered by import or edited
    by an administrator are left alone (reported as skipped).
    """
    available = package_years()
    wanted_years = set(available if years is None else years)
    missing = sorted(wanted_years - set(available))
    if missing:
        raise DomainError(
            f"chinese-calendar 软件包只有 {available.start}–{available.stop - 1} 年的数据，"
            f"没有 {', '.join(map(str, missing))} 年；请用 `minqing calendar import` 导入",
            code="calendar_year_unavailable",
        )
    result = SeedResult()
    with transaction.atomic():
        year_rows = {row.year: row for row in CalendarYear.objects.select_for_update().filter(year__in=wanted_years)}
        result.skipped = sorted(y for y, row in year_rows.items() if row.source != Source.CHINESE_CALENDAR)
        targets = sorted(wanted_years - set(result.skipped))
        result.seeded = targets
        wanted = {day: value for day, value in _package_days().items() if day.year in targets}
        existing = {d.date: d for d in CalendarDay.objects.filter(date__year__in=targets)}
        to_create = [CalendarDay(date=d, kind=k, name=n) for d, (k, n) in wanted.items() if d not in existing]
        to_update = []
        for day, row in existing.items():
            if day in wanted and (row.kind, row.name) != wanted[day]:
                row.kind, row.name = wanted[day]
                row.updated_at = timezone.now()
                to_update.append(row)
        stale = [row.pk for day, row in existing.items() if day not in wanted]
        CalendarDay.objects.bulk_create(to_create)
        CalendarDay.objects.bulk_update(to_update, ["kind", "name", "updated_at"])
        CalendarDay.objects.filter(pk__in=stale).delete()
        result.created, result.updated, result.deleted = len(to_create), len(to_update), len(stale)
        new_years = [CalendarYear(year=y, complete=True, source=Source.CHINESE_CALENDAR) for y in targets]
        new_years = [row for row in new_years if row.year not in year_rows]
        CalendarYear.objects.bulk_create(new_years)
        incomplete = [y for y in targets if y in year_rows and not year_rows[y].complete]
        CalendarYear.objects.filter(year__in=incomplete).update(complete=True, updated_at=timezone.now())
        if result.changed or new_years or incomplete:
            audit.record(
                "calendar_seeded",
                target="chinese-calendar",
                payload={"years": targets, "created": result.created, "updated": result.updated},
            )
            _changed(targets)
    return result


def import_schedule(text: str, *, actor=None, request=None) -> list[int]:
    """Enter a yearly schedule file (format: see schedule_file); returns the years now complete.

    The whole file is validated first; if anything is wrong nothing is written and
    ScheduleFileError lists every bad line. Each covered year's stored days are replaced by
    the file's and the year is marked complete.
    """
    schedule = parse_schedule(text)
    years = sorted(schedule.years)
    spill_over = {e.day: e for e in schedule.entries if e.day.year not in schedule.years}
    with transaction.atomic():
        CalendarDay.objects.filter(date__year__in=years).delete()
        CalendarDay.objects.filter(date__in=list(spill_over)).delete()
        CalendarDay.objects.bulk_create([CalendarDay(date=e.day, kind=e.kind, name=e.name) for e in schedule.entries])
        for year in years:
            CalendarYear.objects.update_or_create(year=year, defaults={"complete": True, "source": Source.IMPORT})
        for year in sorted({d.year for d in spill_over}):
            CalendarYear.objects.get_or_create(year=year, defaults={"complete": False, "source": Source.IMPORT})
        audit.record(
            "calendar_imported",
            actor=actor,
            request=request,
            target=",".join(map(str, years)),
            payload={"years": years, "days": len(schedule.entries)},
        )
        _changed(set(years) | {d.year for d in spill_over})
    return years


def _edited_by_admin(year: int) -> None:
    row, created = CalendarYear.objects.get_or_create(year=year, defaults={"source": Source.ADMIN})
    if not created:
        row.source = Source.ADMIN
        row.save(update_fields=["source", "updated_at"])


def set_day(day: date, kind: str, name: str = "", *, actor=None, request=None) -> CalendarDay:
    """Add or change one special day. The year's source becomes `admin` so a re-seed keeps the edit."""
    if kind not in Kind.values:
        raise DomainError(f"未知的日期类型：{kind}", code="invalid_calendar_day")
    if kind == Kind.MAKEUP_WORKDAY and day.weekday() < 5:
        raise DomainError(f"{day} 不是周末，不能设为调休上班日", code="invalid_calendar_day")
    if kind == Kind.MAKEUP_WORKDAY and day in fixed_date_holidays(day.year):
        raise DomainError(f"{day} 是法定节假日，不能设为调休上班日", code="invalid_calendar_day")
    with transaction.atomic():
        row, _ = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name})
        _edited_by_admin(day.year)
        audit.record(
            "calendar_day_set",
            actor=actor,
            request=request,
            target=day.isoformat(),
            payload={"kind": kind, "name": name},
        )
        _changed([day.year])
    return row


def remove_day(day: date, *, actor=None, request=None) -> bool:
    """Delete one special day (it becomes an ordinary weekday or weekend day)."""
    with transaction.atomic():
        deleted, _ = CalendarDay.objects.filter(date=day).delete()
        if deleted:
            _edited_by_admin(day.year)
            audit.record("calendar_day_removed", actor=actor, request=request, target=day.isoformat())
            _changed([day.year])
    return bool(deleted)


def missing_fixed_holidays(year: int) -> list[str]:
    """The fixed-date statutory holidays of `year` not stored as holidays, e.g. ["2027-10-01（国庆节）"]."""
    holidays = set(CalendarDay.objects.filter(date__year=year, kind=Kind.HOLIDAY).values_list("date", flat=True))
    return [f"{d}（{n}）" for d, n in sorted(fixed_date_holidays(year).items()) if d not in holidays]


def set_year_complete(year: int, complete: bool, *, actor=None, request=None) -> CalendarYear:
    """Mark a year's schedule as fully entered (or not). Refused while a fixed-date holiday is missing."""
    missing = missing_fixed_holidays(year) if complete else []
    if missing:
        raise DomainError(
            f"{year} 年还缺少法定节假日 {'、'.join(missing)}，请先录入全年安排再标记为完整",
            code="calendar_year_incomplete",
        )
    with transaction.atomic():
        row, _ = CalendarYear.objects.update_or_create(
            year=year, defaults={"complete": complete, "source": Source.ADMIN}
        )
        audit.record(
            "calendar_year_marked", actor=actor, request=request, target=str(year), payload={"complete": complete}
        )
        _changed([year])
    return row
