"""The deadline calculator: known dates on the statutory calendar, and property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from chinese_calendar import constants
from hypothesis import given
from hypothesis import strategies as st

from minqing.core.deadlines import (
    LEGAL_CAPS,
    LOCAL_TZ,
    PERIOD_UNITS,
    Deadline,
    ExtensionCapExceeded,
    WorkCalendar,
    add_extension,
    add_period,
    clamp_to_legal_cap,
    fixed_date_holidays,
    legal_cap,
    local_date,
    policy_deadline,
    share_of_time_used,
)
from minqing.core.errors import DomainError

PACKAGE_YEARS = frozenset(range(2004, 2027))
SEEDED = WorkCalendar(frozenset(constants.holidays), frozenset(constants.workdays), PACKAGE_YEARS)


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=LOCAL_TZ)


def due_on(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=LOCAL_TZ)


# --- known dates ----------------------------------------------------------------------------


def test_working_days_across_national_day_2024_skip_golden_week():
    # 2024: 10/1–10/7 off; Sunday 9/29 and Saturday 10/12 are make-up working days.
    deadline = add_period(at(2024, 9, 27), 15, "working_days", SEEDED)
    assert deadline == Deadline(due=due_on(2024, 10, 23), provisional=False)


def test_spring_festival_2025_makeup_days_count_as_working_days():
    # 2025 春节: 1/28–2/4 off; Sunday 1/26 and Saturday 2/8 are working days.
    assert add_period(at(2025, 1, 24), 1, "working_days", SEEDED).due == due_on(2025, 1, 26)
    assert add_period(at(2025, 1, 24), 3, "working_days", SEEDED).due == due_on(2025, 2, 5)
    assert add_period(at(2025, 2, 6), 2, "working_days", SEEDED).due == due_on(2025, 2, 8)


def test_calendar_day_period_ending_on_holiday_runs_to_next_working_day():
    # 9/16 + 15 days = 10/1 (国庆), so the period runs to 10/8.
    assert add_period(at(2024, 9, 16), 15, "calendar_days", SEEDED).due == due_on(2024, 10, 8)


def test_calendar_day_period_ending_on_weekend_runs_to_monday():
    # 2024-03-09 is a Saturday.
    assert add_period(at(2024, 3, 4), 5, "calendar_days", SEEDED).due == due_on(2024, 3, 11)


def test_calendar_day_period_ending_on_makeup_workday_stays():
    # 2024-09-29 is a Sunday, but a make-up working day.
    assert add_period(at(2024, 9, 14), 15, "calendar_days", SEEDED).due == due_on(2024, 9, 29)


def test_first_day_not_counted():
    assert add_period(at(2024, 3, 4, hour=0), 1, "calendar_days", SEEDED).due == due_on(2024, 3, 5)
    assert add_period(at(2024, 3, 4, hour=23), 1, "calendar_days", SEEDED).due == due_on(2024, 3, 5)
    assert add_period(at(2024, 3, 8), 1, "working_days", SEEDED).due == due_on(2024, 3, 11)  # Friday → Monday


def test_zero_length_period_on_holiday_runs_to_next_working_day():
    assert add_period(at(2024, 10, 3), 0, "calendar_days", SEEDED).due == due_on(2024, 10, 8)
    assert add_period(at(2024, 10, 3), 0, "working_days", SEEDED).due == due_on(2024, 10, 8)
    assert add_period(at(2024, 10, 9), 0, "working_days", SEEDED).due == due_on(2024, 10, 9)


def test_due_is_end_of_shanghai_day_in_start_timezone():
    start = datetime(2024, 3, 4, 20, 0, tzinfo=UTC)  # 2024-03-05 04:00 in Shanghai
    deadline = add_period(start, 1, "calendar_days", SEEDED)
    assert deadline.due.tzinfo is UTC
    assert deadline.due == due_on(2024, 3, 6)
    assert deadline.due_date == date(2024, 3, 6)


def test_naive_start_rejected():
    with pytest.raises(ValueError):
        add_period(datetime(2024, 3, 4, 10), 1, "calendar_days", SEEDED)


def test_negative_amount_or_unknown_unit_rejected():
    with pytest.raises(ValueError):
        add_period(at(2024, 3, 4), -1, "calendar_days", SEEDED)
    with pytest.raises(ValueError):
        add_period(at(2024, 3, 4), 1, "hours", SEEDED)  # type: ignore[arg-type]


def test_december_2026_start_crossing_into_2027_is_provisional():
    # 2027 is not in the package: Mon–Fri minus 元旦 2027-01-01 (a Friday).
    deadline = add_period(at(2026, 12, 15), 15, "working_days", SEEDED)
    assert deadline == Deadline(due=due_on(2027, 1, 6), provisional=True)
    assert add_period(at(2026, 12, 20), 15, "calendar_days", SEEDED).provisional is True


def test_period_staying_inside_2026_is_not_provisional():
    assert add_period(at(2026, 12, 1), 10, "working_days", SEEDED) == Deadline(due_on(2026, 12, 15), False)
    assert add_period(at(2026, 12, 1), 15, "calendar_days", SEEDED).provisional is False


def test_incomplete_year_falls_back_to_weekdays_minus_fixed_date_holidays():
    empty = WorkCalendar()
    # 2027-10-01 is a Friday: Fri–Sun off, Monday 10/4 works (no bridging days without data).
    assert [empty.is_working_day(date(2027, 10, d)) for d in range(1, 6)] == [False, False, False, True, True]
    assert empty.is_working_day(date(2028, 5, 1)) is False  # Monday, 劳动节
    assert empty.is_working_day(date(2028, 5, 2)) is False  # 5/2 is statutory since 2025
    assert empty.is_working_day(date(2028, 5, 3)) is True
    assert empty.is_provisional(date(2028, 5, 3)) is True


def test_complete_year_ignores_fallback_and_explicit_entries_win():
    # In a complete year only stored days count: an unlisted 10/1 would be a working day.
    bare = WorkCalendar(complete_years=frozenset({2027}))
    assert bare.is_working_day(date(2027, 10, 1)) is True
    makeup = WorkCalendar(makeup_workdays=frozenset({date(2027, 2, 6)}))  # incomplete year, entry still wins
    assert makeup.is_working_day(date(2027, 2, 6)) is True


def test_fixed_date_holidays_agree_with_package_data():
    for year in PACKAGE_YEARS:
        assert set(fixed_date_holidays(year)) <= set(constants.holidays), year


def test_calendar_rejects_day_both_holiday_and_makeup():
    with pytest.raises(ValueError, match="2027-02-06"):
        WorkCalendar(holidays=frozenset({date(2027, 2, 6)}), makeup_workdays=frozenset({date(2027, 2, 6)}))


def test_next_working_day_is_strictly_after():
    assert SEEDED.next_working_day(date(2024, 9, 30)) == date(2024, 10, 8)
    assert SEEDED.next_working_day(date(2024, 10, 8)) == date(2024, 10, 9)
    assert SEEDED.working_day_on_or_after(date(2024, 10, 8)) == date(2024, 10, 8)


def test_extension_counts_cumulative_total_from_original_due():
    original = due_on(2024, 10, 8)
    assert add_extension(original, 10, 0, SEEDED).due == due_on(2024, 10, 18)
    assert add_extension(original, 10, 10, SEEDED).due == due_on(2024, 10, 28)
    assert add_extension(original, 30, 0, SEEDED).due == due_on(2024, 11, 7)


def test_extension_beyond_30_days_refused_with_chinese_message():
    with pytest.raises(ExtensionCapExceeded) as caught:
        add_extension(due_on(2024, 10, 8), 11, 20, SEEDED)
    assert isinstance(caught.value, DomainError)
    assert "30" in caught.value.message and "最多还可延期10日" in caught.value.message


def test_extension_of_zero_days_refused():
    with pytest.raises(DomainError):
        add_extension(due_on(2024, 10, 8), 0, 0, SEEDED)


def test_clamp_caps_a_working_day_acceptance_policy_at_15_calendar_days():
    start = at(2024, 9, 27)
    policy = add_period(start, 15, "working_days", SEEDED).due  # 10/23
    # 9/27 + 15 days = Saturday 10/12, a make-up working day.
    assert clamp_to_legal_cap(start, policy, "accept", SEEDED) == due_on(2024, 10, 12)
    assert clamp_to_legal_cap(start, policy, "accept") == due_on(2024, 10, 12)
    assert policy_deadline(start, 15, "working_days", "accept", SEEDED).due == due_on(2024, 10, 12)


def test_clamp_keeps_a_stricter_policy():
    start = at(2024, 3, 4)
    policy = add_period(start, 1, "calendar_days", SEEDED).due
    assert clamp_to_legal_cap(start, policy, "handle", SEEDED) == policy


def test_legal_cap_runs_past_holiday_with_calendar():
    # 9/16 + 15 = 10/1: with the calendar the legal cap runs to 10/8, without it stays at 10/1.
    assert legal_cap(at(2024, 9, 16), "accept", SEEDED).due == due_on(2024, 10, 8)
    assert legal_cap(at(2024, 9, 16), "accept").due == due_on(2024, 10, 1)


def test_share_of_time_used():
    start, due = at(2024, 3, 4, hour=0), at(2024, 3, 5, hour=0)
    assert share_of_time_used(start, due, start - timedelta(hours=1)) == 0.0
    assert share_of_time_used(start, due, start) == 0.0
    assert share_of_time_used(start, due, at(2024, 3, 4, hour=12)) == pytest.approx(0.5)
    assert share_of_time_used(start, due, due) == 1.0
    assert share_of_time_used(start, due, at(2024, 3, 5, hour=12)) == pytest.approx(1.5)
    assert share_of_time_used(due, due, due) == 1.0
    assert share_of_time_used(due, due, start) == 0.0


# --- properties -----------------------------------------------------------------------------

starts = st.builds(
    lambda day, seconds: datetime.combine(day, time(), tzinfo=LOCAL_TZ) + timedelta(seconds=seconds),
    st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 6, 30)),
    st.integers(min_value=0, max_value=86_399),
)
amounts = st.integers(min_value=0, max_value=90)
units = st.sampled_from(PERIOD_UNITS)
calendars = st.one_of(
    st.just(SEEDED),
    st.just(WorkCalendar()),
    st.frozensets(st.integers(min_value=2003, max_value=2029)).map(
        lambda years: WorkCalendar(SEEDED.holidays, SEEDED.makeup_workdays, years)
    ),
)
stages = st.sampled_from(tuple(LEGAL_CAPS))


@given(start=starts, later_by=st.integers(min_value=0, max_value=400 * 86_400), amount=amounts, unit=units)
def test_due_monotonic_in_start(start, later_by, amount, unit):
    later = start + timedelta(seconds=later_by)
    assert add_period(start, amount, unit, SEEDED).due <= add_period(later, amount, unit, SEEDED).due


@given(start=starts, amount=amounts, more=st.integers(min_value=0, max_value=60), unit=units, calendar=calendars)
def test_due_monotonic_in_amount(start, amount, more, unit, calendar):
    assert add_period(start, amount, unit, calendar).due <= add_period(start, amount + more, unit, calendar).due


@given(start=starts, amount=amounts, unit=units, calendar=calendars)
def test_due_never_on_non_working_day(start, amount, unit, calendar):
    deadline = add_period(start, amount, unit, calendar)
    assert calendar.is_working_day(deadline.due_date)
    assert deadline.due.timetz() == time(23, 59, 59, tzinfo=LOCAL_TZ)
    assert deadline.due_date >= local_date(start) + timedelta(days=amount if unit == "calendar_days" else 0)


@given(start=starts, amount=st.integers(min_value=1, max_value=90), calendar=calendars)
def test_working_day_period_counts_exactly_amount_working_days(start, amount, calendar):
    due = add_period(start, amount, "working_days", calendar).due_date
    first = local_date(start) + timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((due - first).days + 1)]
    assert sum(calendar.is_working_day(d) for d in days) == amount


@given(start=starts, amount=amounts, unit=units, calendar=calendars)
def test_provisional_iff_incomplete_year_touched(start, amount, unit, calendar):
    deadline = add_period(start, amount, unit, calendar)
    begin = local_date(start)
    first_consulted = begin + timedelta(days=amount if unit == "calendar_days" else min(amount, 1))
    touched = range(first_consulted.year, deadline.due_date.year + 1)
    assert deadline.provisional == any(year not in calendar.complete_years for year in touched)


@given(
    original=starts,
    days=st.integers(min_value=1, max_value=40),
    already=st.integers(min_value=0, max_value=40),
    calendar=calendars,
)
def test_extension_never_passes_30_day_cap(original, days, already, calendar):
    original_due = add_period(original, 0, "calendar_days", calendar).due
    if already + days > 30:
        with pytest.raises(ExtensionCapExceeded):
            add_extension(original_due, days, already, calendar)
        return
    extended = add_extension(original_due, days, already, calendar)
    assert original_due < extended.due <= legal_cap(original_due, "extension", calendar).due
    assert calendar.is_working_day(extended.due_date)


@given(start=starts, amount=st.integers(min_value=0, max_value=120), unit=units, stage=stages, calendar=calendars)
def test_clamp_never_exceeds_legal_cap(start, amount, unit, stage, calendar):
    due = add_period(start, amount, unit, calendar).due
    cap = legal_cap(start, stage, calendar).due
    clamped = clamp_to_legal_cap(start, due, stage, calendar)
    assert clamped <= cap and clamped <= due
    assert clamped == due or due > cap
    assert clamp_to_legal_cap(start, due, stage) <= local_date_end(start, LEGAL_CAPS[stage], cap)
    assert policy_deadline(start, amount, unit, stage, calendar).due == clamped


def local_date_end(start: datetime, days: int, cap: datetime) -> datetime:
    """The plain (not rolled forward) legal end of day, which is never after the rolled cap."""
    plain = datetime.combine(local_date(start) + timedelta(days=days), time(23, 59, 59), tzinfo=LOCAL_TZ)
    assert plain <= cap
    return plain


@given(
    start=starts,
    length=st.integers(min_value=1, max_value=90 * 86_400),
    a=st.integers(min_value=-86_400, max_value=200 * 86_400),
    b=st.integers(min_value=-86_400, max_value=200 * 86_400),
)
def test_share_of_time_used_monotonic_in_now(start, length, a, b):
    due = start + timedelta(seconds=length)
    low, high = sorted((a, b))
    share_low = share_of_time_used(start, due, start + timedelta(seconds=low))
    share_high = share_of_time_used(start, due, start + timedelta(seconds=high))
    assert 0.0 <= share_low <= share_high
