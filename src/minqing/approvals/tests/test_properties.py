"""Property: whatever extension requests and decisions happen, in any order, the 30-day total cap
holds and an extension never moves the handling deadline earlier."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.approvals import actions
from minqing.approvals.models import ApprovalRequest, Kind, State
from minqing.cases.models import Case
from minqing.core.errors import DomainError

OUTCOMES = ("approve", "reject_first", "reject_second", "withdraw", "leave_pending")
operations = st.lists(
    st.tuples(st.integers(min_value=-2, max_value=35), st.sampled_from(OUTCOMES), st.integers(1, 240)),
    min_size=1,
    max_size=6,
)


def _play(case, when, days, outcome, handler, unit_manager, county_manager):
    pending = ApprovalRequest.objects.filter(case=case, kind=Kind.EXTENSION, state=State.PENDING).first()
    try:
        request = pending or actions.request_approval(case, handler, Kind.EXTENSION, "理由", days=days, at=when)
        if outcome == "withdraw":
            actions.withdraw(request, handler, at=when)
        elif outcome == "reject_first" and request.current_step == 1:
            actions.decide(request, unit_manager, False, "不同意", at=when)
        elif outcome != "leave_pending":
            if request.current_step == 1:
                actions.decide(request, unit_manager, True, "同意", at=when)
            approve = outcome != "reject_second"
            actions.decide(request, county_manager, approve, "" if approve else "不同意", at=when)
    except DomainError:
        pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_extensions_never_exceed_cap_nor_move_due_earlier(
    steps, make_case, township_handler, township_manager, county_manager
):
    case = make_case()
    original, when = case.handle_due, case.accepted_at
    previous_due = original
    for days, outcome, hours in steps:
        when += timedelta(hours=hours)
        _play(case, when, days, outcome, township_handler, township_manager, county_manager)
        fresh = Case.objects.get(pk=case.pk)
        assert fresh.extension_days <= 30
        assert fresh.handle_due >= previous_due
        assert fresh.handle_due_original == original
        approved = ApprovalRequest.objects.filter(case=case, state=State.APPROVED)
        assert fresh.extension_days == sum(r.payload["days"] for r in approved)
        previous_due = fresh.handle_due
