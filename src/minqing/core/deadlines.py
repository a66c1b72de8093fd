"""Deadline arithmetic on the Chinese statutory working-day calendar. Pure: no models, no I/O.

Counting follows 《民法典》 art. 201/203 (see docs/calendar.md):

* the day on which the period starts is not counted; counting begins the next day;
* a period whose last day is not a working day (weekend or statutory holiday) runs to the
  end of the next working day, whether the period is counted in calendar or working days;
* a due date is the end of that day, 23:59:59 Asia/Shanghai.

The calendar itself is data (`minqing.workcalendar` loads it from the database and hands a
`WorkCalendar` to these functions). A year the calendar does not hold completely is
*provisional*: it falls back to Monday–Friday minus the fixed-date statutory holidays
(元旦 1/1, 劳动节 5/1–5/2, 国庆节 10/1–10/3). The lunar holidays (春节, 端午, 中秋), 清明 and the
make-up working days (调休) of such a year cannot be known until the State Council publishes
its schedule, so every deadline that consults such a day is flagged provisional and must be
recomputed once the year is entered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from minqing.core.errors import DomainError

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)

PeriodUnit = Literal["calendar_days", "working_days"]
Stage = Literal["accept", "handle", "extension"]
PERIOD_UNITS: tuple[PeriodUnit, ...] = ("calendar_days", "working_days")

#: Legal maxima in calendar days under 《信访工作条例》(2022): decide on acceptance within 15
#: days (art. 31), handle within 60 days (art. 35), extend by at most 30 days in total (art. 35).
#: A local SLA policy may be stricter, never longer: see `clamp_to_legal_cap`.
LEGAL_CAPS: Mapping[Stage, int] = MappingProxyType({"accept": 15, "handle": 60, "extension": 30})
EXTENSION_CAP_DAYS = LEGAL_CAPS["extension"]


def fixed_date_holidays(year: int) -> dict[date, str]:
    """The statutory holidays of `year` that fall on the same solar date every year.

    《全国年节及纪念日放假办法》: 元旦 1/1; 劳动节 5/1–5/3 until 2007, 5/1 from 2008, 5/1–5/2 from
    2025 (2024 revision); 国庆节 10/1–10/3. 春节, 端午 and 中秋 follow the lunar calendar and 清明
    a solar term; they, the bridging rest days and the 调休 working days are only known from
    the State Council's yearly schedule.
    """
    days = {date(year, 1, 1): "元旦"}
    labour_days = 3 if year < 2008 else (1 if year < 2025 else 2)
    days.update({date(year, 5, 1 + i): "劳动节" for i in range(labour_days)})
    days.update({date(year, 10, 1 + i): "国庆节" for i in range(3)})
    return days


@lru_cache(maxsize=256)
def _fixed_dates(year: int) -> frozenset[date]:
    return frozenset(fixed_date_holidays(year))


def _frozen_dates(values: Iterable[date]) -> frozenset[date]:
    result = frozenset(values)
    for value in result:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"calendar entries must be dates, not {type(value).__name__}")
    return result


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days.

    holidays: statutory rest days (the whole holiday block, weekend days included).
    makeup_workdays: weekend days declared working days (调休上班).
    complete_years: years whose schedule has been entered in full. Outside them the fallback
    rule applies (Mon–Fri minus `fixed_date_holidays`), although an explicit entry still wins.
    """

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)
    complete_years: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", _frozen_dates(self.holidays))
        object.__setattr__(self, "makeup_workdays", _frozen_dates(self.makeup_workdays))
        object.__setattr__(self, "complete_years", frozenset(int(y) for y in self.complete_years))
        both = self.holidays & self.makeup_workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates cannot be both holiday and make-up working day: {listed}")

    def is_provisional(self, day: date) -> bool:
        """True when `day`'s year has not been entered completely (the fallback rule applies)."""
        return day.year not in self.complete_years

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        if self.is_provisional(day) and day in _fixed_dates(day.year):
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.working_day_on_or_after(day + timedelta(days=1))

    def working_day_on_or_after(self, day: date) -> date:
        """`day` itself if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


@dataclass(frozen=True)
class Deadline:
    """A due time (end of day, timezone-aware) and whether it may still move.

    `provisional` is True when a day consulted to compute it lies in a year the calendar
    does not hold completely; recompute it once that year is entered.
    """

    due: datetime
    provisional: bool

    @property
    def due_date(self) -> date:
        return self.due.astimezone(LOCAL_TZ).date()


class ExtensionCapExceeded(DomainError):
    """The extensions of one case would exceed the legal total of 30 days."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="extension_cap_exceeded")


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("deadline arithmetic needs timezone-aware datetimes")
    return moment.astimezone(LOCAL_TZ).date()


def end_of_day(day: date, tz: tzinfo | None = None) -> datetime:
    """23:59:59 Asia/Shanghai on `day`, expressed in `tz` (default Asia/Shanghai)."""
    moment = datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ)
    return moment.astimezone(tz) if tz is not None else moment


def add_period(start: datetime, amount: int, unit: PeriodUnit, calendar: WorkCalendar) -> Deadline:
    """The deadline of a period of `amount` calendar or working days starting at `start`.

    The start day is not counted. A calendar-day period ending on a non-working day, and a
    zero-length period starting on one, run to the next working day. The result is the end
    of a working day, in `start`'s timezone.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount must be an int")
    if amount < 0:
        raise ValueError("a period cannot be negative")
    if unit not in PERIOD_UNITS:
        raise ValueError(f"unknown period unit {unit!r}; expected one of {PERIOD_UNITS}")
    day = local_date(start)
    provisional = False
    if unit == "working_days":
        counted = 0
        while counted < amount:
            day += timedelta(days=1)
            provisional = provisional or calendar.is_provisional(day)
            if calendar.is_working_day(day):
                counted += 1
    else:
        day += timedelta(days=amount)
    # The last day must be a working day (民法典 art. 203); a no-op after counting working days.
    while True:
        provisional = provisional or calendar.is_provisional(day)
        if calendar.is_working_day(day):
            break
        day += timedelta(days=1)
    return Deadline(due=end_of_day(day, start.tzinfo), provisional=provisional)


def add_extension(original_due: datetime, days: int, already_extended_days: int, calendar: WorkCalendar) -> Deadline:
    """The due date after extending a case by `days` more calendar days.

    `original_due` is the due date before any extension (the case keeps it), and
    `already_extended_days` the total of the extensions already approved. The new deadline
    is counted from `original_due` with the cumulative total, so successive extensions do
    not compound their roll-forwards. The total may not exceed 30 days (《信访工作条例》 art. 35).
    """
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise DomainError("延期天数必须是正整数", code="invalid_extension")
    if isinstance(already_extended_days, bool) or not isinstance(already_extended_days, int):
        raise TypeError("already_extended_days must be an int")
    if already_extended_days < 0:
        raise ValueError("already_extended_days cannot be negative")
    total = already_extended_days + days
    if total > EXTENSION_CAP_DAYS:
        remaining = max(EXTENSION_CAP_DAYS - already_extended_days, 0)
        raise ExtensionCapExceeded(
            f"延期累计不得超过{EXTENSION_CAP_DAYS}日：已延期{already_extended_days}日，"
            f"本次申请{days}日，最多还可延期{remaining}日"
        )
    return add_period(original_due, total, "calendar_days", calendar)


def legal_cap(start: datetime, stage: Stage, calendar: WorkCalendar | None = None) -> Deadline:
    """The latest due date the law allows for `stage` counted from `start`.

    With a calendar, a cap ending on a non-working day runs to the next working day (民法典
    art. 203). Without one the cap is the plain calendar date, which is never later.
    """
    if stage not in LEGAL_CAPS:
        raise ValueError(f"unknown stage {stage!r}; expected one of {tuple(LEGAL_CAPS)}")
    if calendar is None:
        day = local_date(start) + timedelta(days=LEGAL_CAPS[stage])
        return Deadline(due=end_of_day(day, start.tzinfo), provisional=False)
    return add_period(start, LEGAL_CAPS[stage], "calendar_days", calendar)


def clamp_to_legal_cap(start: datetime, due: datetime, stage: Stage, calendar: WorkCalendar | None = None) -> datetime:
    """`due`, or the legal cap of `stage` from `start` if that is earlier: a local policy may only be stricter.

    For `stage="extension"`, `start` is the original due date. Pass the calendar so the cap
    itself may run past a holiday, as the law allows; without it the plain date is used.
    """
    cap = legal_cap(start, stage, calendar).due
    return min(due, cap)


def policy_deadline(start: datetime, amount: int, unit: PeriodUnit, stage: Stage, calendar: WorkCalendar) -> Deadline:
    """`add_period` for a local SLA policy, never later than the legal cap of `stage`."""
    policy = add_period(start, amount, unit, calendar)
    cap = legal_cap(start, stage, calendar)
    return cap if cap.due < policy.due else policy


def share_of_time_used(start: datetime, due: datetime, now: datetime) -> float:
    """Elapsed share of the period: 0.0 at `start` (and before), 1.0 at `due`, above 1.0 when overdue.

    A period with no length counts as fully used from its due time on.
    """
    total = (due - start).total_seconds()
    elapsed = (now - start).total_seconds()
    if total <= 0:
        return 1.0 if now >= due else 0.0
    return max(elapsed, 0.0) / total
