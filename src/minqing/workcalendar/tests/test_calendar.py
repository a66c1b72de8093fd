"""The stored calendar: seeding, importing a year's schedule, edits, cache and commands."""

from __future__ import annotations

from datetime import date, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from minqing.accounts.models import AuditEntry
from minqing.core.deadlines import LOCAL_TZ, add_period
from minqing.core.errors import DomainError
from minqing.workcalendar import actions, selectors
from minqing.workcalendar.models import CalendarDay, CalendarYear
from minqing.workcalendar.schedule_file import ScheduleFileError, parse_schedule
from minqing.workcalendar.signals import calendar_changed

pytestmark = pytest.mark.django_db

# A SYNTHETIC schedule for 2027, shaped like a State Council notice (the real one is not used here).
SCHEDULE_2027 = """\
# 2027 年节假日安排（测试用，虚构）
date,kind,name
2027-01-01,holiday,元旦
2027-01-02,holiday,元旦
2027-01-03,holiday,元旦
2027-02-05,holiday,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-12,holiday,春节
2027-02-14,workday,春节调休
2027-05-01,holiday,劳动节
2027-05-02,holiday,劳动节
2027-05-03,holiday,劳动节
2027-05-04,holiday,劳动节
2027-05-05,holiday,劳动节
2027-05-08,workday,劳动节调休
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
2027-10-04,holiday,国庆节
2027-10-05,holiday,国庆节
2027-10-06,holiday,国庆节
2027-10-07,holiday,国庆节
2027-10-09,workday,国庆节调休
"""


def snapshot() -> tuple[list[tuple], list[tuple]]:
    return (
        list(CalendarDay.objects.order_by("date").values_list("date", "kind", "name")),
        list(CalendarYear.objects.order_by("year").values_list("year", "complete", "source")),
    )


def dec_2026(day: int) -> datetime:
    return datetime(2026, 12, day, 10, tzinfo=LOCAL_TZ)


# --- seeding --------------------------------------------------------------------------------


def test_seed_stores_package_years_as_complete():
    result = actions.seed_from_chinese_calendar()
    assert result.seeded == list(range(2004, 2027))
    assert selectors.complete_years() == frozenset(range(2004, 2027))
    assert CalendarDay.objects.get(date=date(2024, 9, 29)).kind == CalendarDay.Kind.MAKEUP_WORKDAY
    assert CalendarDay.objects.get(date=date(2024, 10, 1)).name == "国庆节"


def test_seed_is_idempotent():
    actions.seed_from_chinese_calendar()
    before = snapshot()
    again = actions.seed_from_chinese_calendar()
    assert not again.changed and again.created == again.updated == again.deleted == 0
    assert snapshot() == before


def test_seed_repairs_changed_package_year_but_keeps_admin_edits():
    actions.seed_from_chinese_calendar()
    CalendarDay.objects.filter(date=date(2023, 10, 1)).delete()  # damage a package-sourced year
    actions.set_day(date(2024, 10, 12), CalendarDay.Kind.HOLIDAY, "本地调整")  # an administrator's edit
    result = actions.seed_from_chinese_calendar()
    assert result.created == 1 and result.skipped == [2024]
    assert CalendarDay.objects.filter(date=date(2023, 10, 1), kind="holiday").exists()
    assert CalendarDay.objects.get(date=date(2024, 10, 12)).name == "本地调整"


def test_seed_year_outside_package_refused():
    with pytest.raises(DomainError, match="2027"):
        actions.seed_from_chinese_calendar([2026, 2027])
    assert snapshot() == ([], [])


def test_seeded_years_export_in_a_format_import_accepts():
    actions.seed_from_chinese_calendar()
    text = selectors.export_schedule(range(2004, 2027))
    assert parse_schedule(text).years == frozenset(range(2004, 2027))


def test_seed_command_is_idempotent_and_reports():
    out = StringIO()
    call_command("calendar_seed", stdout=out)
    call_command("calendar_seed", "--years", "2025-2026", stdout=out)
    assert "新增 0" in out.getvalue().splitlines()[-1]


# --- importing a year ---------------------------------------------------------------------


def test_import_2027_makes_year_complete_and_clears_provisional_flag():
    actions.seed_from_chinese_calendar()
    before = add_period(dec_2026(28), 30, "calendar_days", selectors.load_calendar())
    assert before.provisional is True
    assert before.due_date == date(2027, 1, 27)

    assert actions.import_schedule(SCHEDULE_2027) == [2027]

    calendar = selectors.load_calendar()
    assert 2027 in selectors.complete_years() and selectors.is_year_complete(2027)
    assert calendar.is_provisional(date(2027, 1, 27)) is False
    after = add_period(dec_2026(28), 30, "calendar_days", calendar)
    assert after.provisional is False and after.due_date == date(2027, 1, 27)
    # 2026-12-31 + 3 working days: 元旦 1/1–1/3 now known, so it lands on 1/6 (not 1/5).
    assert add_period(dec_2026(31), 3, "working_days", calendar).due_date == date(2027, 1, 6)
    # 春节: 2/5–2/12 off, Sunday 2/14 works.
    assert add_period(datetime(2027, 2, 4, tzinfo=LOCAL_TZ), 1, "working_days", calendar).due_date == date(2027, 2, 14)
    year = CalendarYear.objects.get(year=2027)
    assert year.complete and year.source == CalendarYear.Source.IMPORT


def test_import_refused_whole_with_line_numbers_and_db_unchanged():
    actions.seed_from_chinese_calendar()
    before = snapshot()
    bad = SCHEDULE_2027 + (
        "2027-13-01,holiday,坏日期\n"  # line 29
        "2027-03-01,rest,未知类型\n"  # line 30
        "2027-02-14,holiday,矛盾\n"  # line 31: line 14 says workday
        "2027-03-03,workday,周三\n"  # line 32: a Wednesday
        "2028-06-01,holiday,别的年份\n"  # line 33: 2028 not covered
    )
    with pytest.raises(ScheduleFileError) as caught:
        actions.import_schedule(bad)
    errors = caught.value.errors
    assert [e.split("：", 1)[0] for e in errors] == ["第29行", "第30行", "第31行", "第32行", "第33行"]
    assert "第14行" in errors[2]
    assert snapshot() == before
    assert selectors.load_calendar().is_provisional(date(2027, 6, 1))


def test_import_missing_fixed_date_holiday_refused():
    text = SCHEDULE_2027.replace("2027-10-02,holiday,国庆节\n", "")
    with pytest.raises(ScheduleFileError, match="2027-10-02"):
        actions.import_schedule(text)
    assert snapshot() == ([], [])


def test_import_replaces_stored_days_of_covered_year():
    actions.import_schedule(SCHEDULE_2027)
    actions.set_day(date(2027, 6, 12), CalendarDay.Kind.HOLIDAY, "旧数据")
    actions.import_schedule(SCHEDULE_2027.replace("2027-10-09,workday,国庆节调休\n", ""))
    assert not CalendarDay.objects.filter(date__in=[date(2027, 6, 12), date(2027, 10, 9)]).exists()
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.IMPORT


def test_import_spill_over_day_does_not_complete_previous_year():
    text = SCHEDULE_2027.replace("2027-", "2028-").replace("2028-02-14,workday", "2028-02-13,workday")
    text = text.replace("2028-05-08,workday", "2028-05-06,workday").replace("2028-10-09,workday", "2028-10-07,workday")
    text = text.replace("2028-10-07,holiday,国庆节\n", "") + "2027-12-31,holiday,元旦\n"
    assert actions.import_schedule(text) == [2028]
    assert CalendarDay.objects.get(date=date(2027, 12, 31)).kind == CalendarDay.Kind.HOLIDAY
    assert not selectors.is_year_complete(2027)


def test_import_accepts_byte_order_mark_aliases_and_quoted_names():
    text = "\ufeff" + SCHEDULE_2027.replace("2027-01-02,holiday,元旦", '2027-01-02,休,"元旦,第二天"')
    assert actions.import_schedule(text) == [2027]
    assert CalendarDay.objects.get(date=date(2027, 1, 2)).name == "元旦,第二天"


def test_import_writes_audit_entry_and_sends_signal_after_commit(django_capture_on_commit_callbacks):
    received = []

    def listener(sender, years, **kwargs):
        received.append(years)

    calendar_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            actions.import_schedule(SCHEDULE_2027)
            assert received == []
    finally:
        calendar_changed.disconnect(listener)
    assert received == [frozenset({2027})]
    assert AuditEntry.objects.filter(action="calendar_imported", target="2027").exists()


def test_import_command_prints_years(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    out = StringIO()
    call_command("calendar_import", str(path), stdout=out)
    assert "2027" in out.getvalue()


def test_import_command_bad_file_lists_lines_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(SCHEDULE_2027 + "2027-03-03,workday,周三\n2027-02-30,holiday,\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("calendar_import", str(path))
    assert "第29行" in str(caught.value) and "第30行" in str(caught.value)
    assert snapshot() == ([], [])


# --- edits and the cache ------------------------------------------------------------------


def test_load_calendar_reflects_edits():
    actions.seed_from_chinese_calendar()
    assert selectors.load_calendar().is_working_day(date(2026, 6, 1))
    actions.set_day(date(2026, 6, 1), CalendarDay.Kind.HOLIDAY, "地方假日")
    assert not selectors.load_calendar().is_working_day(date(2026, 6, 1))
    actions.remove_day(date(2026, 6, 1))
    assert selectors.load_calendar().is_working_day(date(2026, 6, 1))


def test_load_calendar_sees_writes_made_behind_its_back(monkeypatch):
    # Another process writing (with its own cache) must not leave this one stale once the
    # freshness window has passed (here: no window).
    monkeypatch.setattr(selectors, "STAMP_CHECK_SECONDS", 0)
    actions.seed_from_chinese_calendar()
    assert selectors.load_calendar().is_working_day(date(2026, 6, 2))
    CalendarDay.objects.create(date=date(2026, 6, 2), kind=CalendarDay.Kind.HOLIDAY)
    assert not selectors.load_calendar().is_working_day(date(2026, 6, 2))
    CalendarYear.objects.filter(year=2026).update(complete=False)
    assert selectors.load_calendar().is_provisional(date(2026, 6, 2))


def test_load_calendar_cached_between_writes(django_assert_num_queries, monkeypatch):
    monkeypatch.setattr(selectors, "STAMP_CHECK_SECONDS", 0)
    actions.seed_from_chinese_calendar()
    first = selectors.load_calendar()
    with django_assert_num_queries(2):  # past the freshness window: the stamp check only
        assert selectors.load_calendar() is first


def test_set_day_makeup_on_weekday_refused():
    with pytest.raises(DomainError, match="不是周末"):
        actions.set_day(date(2027, 3, 3), CalendarDay.Kind.MAKEUP_WORKDAY)
    assert snapshot() == ([], [])


def test_set_year_complete_refused_while_fixed_holidays_missing():
    actions.set_day(date(2027, 1, 1), CalendarDay.Kind.HOLIDAY, "元旦")
    with pytest.raises(DomainError, match="2027-05-01"):
        actions.set_year_complete(2027, True)
    assert not selectors.is_year_complete(2027)


def test_admin_edit_of_package_year_marks_it_admin_sourced():
    actions.seed_from_chinese_calendar()
    actions.set_day(date(2025, 6, 3), CalendarDay.Kind.HOLIDAY, "地方假日")
    year = CalendarYear.objects.get(year=2025)
    assert year.source == CalendarYear.Source.ADMIN and year.complete


# --- admin --------------------------------------------------------------------------------


def test_admin_import_view_imports_file(admin_client):
    response = admin_client.post("/admin/workcalendar/calendaryear/import/", {"text": SCHEDULE_2027})
    assert response.status_code == 302
    assert selectors.is_year_complete(2027)


def test_admin_import_view_shows_bad_lines_and_writes_nothing(admin_client):
    response = admin_client.post(
        "/admin/workcalendar/calendaryear/import/", {"text": SCHEDULE_2027 + "2027-03-03,workday,周三\n"}
    )
    assert response.status_code == 200
    assert "第29行" in response.content.decode()
    assert snapshot() == ([], [])


def test_admin_day_change_form_refuses_weekday_makeup(admin_client):
    response = admin_client.post(
        "/admin/workcalendar/calendarday/add/", {"date": "2027-03-03", "kind": "makeup_workday", "name": ""}
    )
    assert response.status_code == 200
    assert not CalendarDay.objects.exists()
    response = admin_client.post(
        "/admin/workcalendar/calendarday/add/", {"date": "2027-03-06", "kind": "makeup_workday", "name": "调休"}
    )
    assert response.status_code == 302
    assert selectors.load_calendar().is_working_day(date(2027, 3, 6))


def test_admin_pages_render(admin_client):
    actions.seed_from_chinese_calendar([2026])
    for url in (
        "/admin/workcalendar/calendaryear/",
        "/admin/workcalendar/calendaryear/import/",
        "/admin/workcalendar/calendarday/?year=2026",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "导入年度安排" in admin_client.get("/admin/workcalendar/calendaryear/").content.decode()


def test_load_calendar_within_the_freshness_window_runs_no_query(django_assert_num_queries):
    actions.seed_from_chinese_calendar()
    first = selectors.load_calendar()
    with django_assert_num_queries(0):
        assert selectors.load_calendar() is first
