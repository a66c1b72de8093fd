from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from minqing.cases import actions
from minqing.cases.deadlines import due_for
from minqing.cases.models import CaseEvent, SlaPolicy, Urgency
from minqing.core.deadlines import local_date
from minqing.core.errors import DomainError
from minqing.workcalendar.actions import import_schedule
from minqing.workcalendar.selectors import load_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULE_2027 = """date,kind,name
# test data, not the real State Council schedule
2027-01-01,holiday,元旦
2027-01-04,holiday,测试假日
2027-05-01,holiday,劳动节
2027-05-02,holiday,劳动节
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
"""


def test_accept_uses_the_local_policy_on_working_days(registered, dispatcher):
    accepted_at = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)  # Friday before 国庆
    case = actions.accept_case(registered, dispatcher, at=accepted_at)
    due = local_date(case.handle_due)
    assert load_calendar().is_working_day(due)
    assert due > local_date(accepted_at) + timedelta(days=15)  # 15 working days across the holiday


def test_urgent_policy_is_stricter(registered, dispatcher):
    case = actions.accept_case(registered, dispatcher, urgency=Urgency.URGENT)
    normal = due_for(registered, SlaPolicy.Stage.HANDLE, case.accepted_at)  # registered keeps normal urgency
    assert case.handle_due <= normal.due


def test_december_case_is_provisional_until_next_year_is_entered(
    registered, dispatcher, django_capture_on_commit_callbacks
):
    case = actions.accept_case(registered, dispatcher, at=datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI))
    assert case.due_provisional is True
    provisional_due = case.handle_due
    with django_capture_on_commit_callbacks(execute=True):
        import_schedule(SCHEDULE_2027)
    case.refresh_from_db()
    assert case.due_provisional is False
    # The test schedule adds a holiday on 2027-01-04, so 15 working days end one day later.
    assert case.handle_due == provisional_due + timedelta(days=1)
    assert CaseEvent.objects.filter(case=case, action="deadline_recomputed").exists()


def test_extension_moves_due_from_approval_and_keeps_original(registered, dispatcher, county_manager, unit):
    case = actions.accept_case(registered, dispatcher)
    original = case.handle_due
    near_due = original - timedelta(days=1)
    case = actions.extend_deadline(case, county_manager, days=10, reason="需现场勘验", at=near_due)
    assert case.handle_due > original
    assert case.handle_due_original == original
    assert case.extension_days == 10
    with pytest.raises(DomainError, match="30日"):
        actions.extend_deadline(case, county_manager, days=21, reason="再延", at=near_due)
    case.refresh_from_db()
    assert case.extension_days == 10


def test_early_extension_is_refused_rather_than_shortening(registered, dispatcher, county_manager):
    case = actions.accept_case(registered, dispatcher)
    with pytest.raises(DomainError, match="无需延期"):
        actions.extend_deadline(case, county_manager, days=5, reason="过早", at=case.accepted_at)
    case.refresh_from_db()
    assert (case.extension_days, case.handle_due) == (0, case.handle_due_original)
