from __future__ import annotations

from datetime import timedelta

import pytest

from minqing.approvals import actions
from minqing.approvals.models import ApprovalRequest, ApprovalStep, Kind, State
from minqing.approvals.selectors import pending_for
from minqing.approvals.tests.conftest import snapshot
from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, CaseState, CaseUnit, Outcome
from minqing.cases.selectors import cases_visible_to
from minqing.core.deadlines import ExtensionCapExceeded, add_period
from minqing.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from minqing.notify.models import Notification
from minqing.orgs.selectors import centre_office
from minqing.testing.personas import HANCHENG
from minqing.workcalendar.selectors import load_calendar


def _request_extension(case, handler, days=20, at=None):
    return actions.request_approval(case, handler, Kind.EXTENSION, "需现场勘验，无法按期办结", days=days, at=at)


def _approve_extension(request, township_manager, county_manager, at=None):
    actions.decide(request, township_manager, True, "同意", at=at)
    return actions.decide(request, county_manager, True, "同意延期", at=at)


def test_extension_chain_moves_due_from_approval_time_and_keeps_original(
    case, township_handler, township_manager, county_manager
):
    original = case.handle_due
    approved_at = original - timedelta(days=1)  # the approval time, not the old due date, is the base
    request = _request_extension(case, township_handler, at=approved_at - timedelta(hours=3))
    assert Notification.objects.filter(kind="approval_requested", recipient=township_manager).count() == 1

    request = actions.decide(request, township_manager, True, "情况属实", at=approved_at - timedelta(hours=2))
    assert (request.state, request.current_step) == (State.PENDING, 2)
    assert Case.objects.get(pk=case.pk).handle_due == original  # level 1 alone changes nothing
    assert Notification.objects.filter(kind="approval_requested", recipient=county_manager).count() == 1

    request = actions.decide(request, county_manager, True, "同意延期20日", at=approved_at)
    case = Case.objects.get(pk=case.pk)
    assert request.state == State.APPROVED and request.decided_at == approved_at
    assert case.handle_due == add_period(approved_at, 20, "calendar_days", load_calendar()).due
    assert case.handle_due > original
    assert case.handle_due_original == original
    assert case.extension_days == 20
    assert list(request.steps.values_list("level", "approver_role", "decision")) == [
        (1, "unit_manager", "approved"),
        (2, "county_manager", "approved"),
    ]
    actions_logged = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions_logged[-5:] == ["sign_for", "request_approval", "decide_approval", "extend", "decide_approval"]
    assert Notification.objects.filter(kind="approval_decided", recipient=township_handler).count() == 1


def test_extension_cap_second_twenty_days_refused_and_nothing_changes(
    case, township_handler, township_manager, county_manager
):
    _approve_extension(_request_extension(case, township_handler), township_manager, county_manager)
    before, requests = snapshot(case), ApprovalRequest.objects.count()
    with pytest.raises(ExtensionCapExceeded):
        _request_extension(case, township_handler, days=20)
    assert snapshot(case) == before
    assert ApprovalRequest.objects.count() == requests
    assert Case.objects.get(pk=case.pk).extension_days == 20


def test_extension_cap_refused_at_final_decision_writes_nothing(
    case, township_handler, township_manager, county_manager
):
    request = _request_extension(case, township_handler, days=20)
    actions.decide(request, township_manager, True, "同意")
    case_actions.extend_deadline(case, county_manager, days=15, reason="县级直接延期")
    before = snapshot(case)
    with pytest.raises(DomainError):
        actions.decide(request, county_manager, True, "同意")
    request.refresh_from_db()
    assert (request.state, request.current_step, request.steps.count()) == (State.PENDING, 2, 1)
    assert snapshot(case) == before


@pytest.mark.parametrize("days", [0, 31, -1, "abc", None])
def test_extension_days_outside_one_to_thirty_refused(case, township_handler, days):
    with pytest.raises(DomainError):
        actions.request_approval(case, township_handler, Kind.EXTENSION, "理由", days=days)
    assert not ApprovalRequest.objects.exists()


def test_extension_that_would_not_move_due_later_refused(make_case, township_handler, township_manager, county_manager):
    fresh = make_case(days_ago=1)  # most of the period left: 10 days from today is earlier than the due
    before = snapshot(fresh)
    with pytest.raises(DomainError) as refused:
        _request_extension(fresh, township_handler, days=10)
    assert refused.value.code == "extension_not_needed"
    assert snapshot(fresh) == before


@pytest.mark.parametrize("who", ["county_manager", "other_township_manager", "dispatcher", "township_handler"])
def test_wrong_approver_not_permitted_and_nothing_changes(case, township_handler, request, who):
    extension = _request_extension(case, township_handler)
    wrong = request.getfixturevalue(who)
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        actions.decide(extension, wrong, True, "同意")
    extension.refresh_from_db()
    assert (extension.state, extension.current_step) == (State.PENDING, 1)
    assert not ApprovalStep.objects.exists()
    assert snapshot(case) == before


def test_requester_cannot_approve_own_request(case, township_manager):
    extension = _request_extension(case, township_manager)
    with pytest.raises(NotPermitted):
        actions.decide(extension, township_manager, True, "同意")
    assert not ApprovalStep.objects.exists()


def test_rejection_leaves_case_untouched_but_records_decision(case, township_handler, township_manager):
    extension = _request_extension(case, township_handler)
    fields = ("state", "handle_due", "handle_due_original", "extension_days", "lead_unit_id")
    before = Case.objects.filter(pk=case.pk).values(*fields).get()
    extension = actions.decide(extension, township_manager, False, "理由不充分")
    assert extension.state == State.REJECTED and extension.decided_at
    step = extension.steps.get()
    assert (step.decision, step.reason, step.decided_by) == ("rejected", "理由不充分", township_manager)
    assert Case.objects.filter(pk=case.pk).values(*fields).get() == before
    event = CaseEvent.objects.filter(case=case).last()
    assert event.action == "decide_approval" and event.payload["decision"] == "rejected"
    assert Notification.objects.filter(kind="approval_decided", recipient=township_handler).exists()


def test_rejection_without_reason_refused(case, township_handler, township_manager):
    extension = _request_extension(case, township_handler)
    with pytest.raises(DomainError):
        actions.decide(extension, township_manager, False, "  ")
    assert not ApprovalStep.objects.exists()


def test_decided_request_cannot_be_decided_again(case, township_handler, township_manager):
    extension = _request_extension(case, township_handler)
    actions.decide(extension, township_manager, False, "不同意")
    with pytest.raises(Conflict):
        actions.decide(extension, township_manager, True, "同意")


def test_duplicate_pending_request_refused(case, township_handler):
    _request_extension(case, township_handler, days=10)
    before = snapshot(case)
    with pytest.raises(DomainError) as refused:
        _request_extension(case, township_handler, days=5)
    assert refused.value.code == "duplicate_request"
    assert ApprovalRequest.objects.count() == 1
    assert snapshot(case) == before


def test_withdrawn_request_frees_the_kind(case, township_handler, township_manager):
    first = _request_extension(case, township_handler, days=10)
    with pytest.raises(NotPermitted):
        actions.withdraw(first, township_manager)
    first = actions.withdraw(first, township_handler)
    assert first.state == State.WITHDRAWN
    second = _request_extension(case, township_handler, days=5)
    assert second.is_pending


def test_other_unit_handler_cannot_request(case, other_township_handler):
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        _request_extension(case, other_township_handler)
    assert snapshot(case) == before and not ApprovalRequest.objects.exists()


def test_closure_review_only_when_replied(case, township_handler):
    with pytest.raises(InvalidTransition):
        actions.request_approval(case, township_handler, Kind.CLOSURE_REVIEW, "申请办结审核")


def test_escalation_puts_case_in_assessor_view(case, township_handler, county_manager, assessor):
    assert not cases_visible_to(assessor).filter(pk=case.pk).exists()
    request = actions.request_approval(case, township_handler, Kind.ESCALATION, "群体性矛盾，需研判")
    assert not cases_visible_to(assessor).filter(pk=case.pk).exists()  # asking changes nothing
    request = actions.decide(request, county_manager, True, "同意提交研判")
    room = centre_office("hard_case_room")
    assert request.state == State.APPROVED and request.payload["office"] == room.code
    assert cases_visible_to(assessor).filter(pk=case.pk).exists()
    link = CaseUnit.objects.get(case=case, unit=room, active=True)
    assert link.role == CaseUnit.Role.CO
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.lead_unit.code) == (CaseState.IN_PROGRESS, case.lead_unit.code)
    assert Notification.objects.filter(kind="escalated", recipient=assessor).count() == 1


def test_legal_handover_brings_in_the_legal_office(case, township_handler, county_manager):
    request = actions.request_approval(case, township_handler, Kind.LEGAL_HANDOVER, "已进入诉讼程序")
    actions.decide(request, county_manager, True, "同意移交")
    assert CaseUnit.objects.filter(case=case, unit=centre_office("legal_office"), active=True).exists()


def test_reassign_approved_by_centre_moves_the_lead(case, township_handler, dispatcher, township_manager, unit):
    request = actions.request_approval(
        case, township_handler, Kind.REASSIGN, "事发地属韩城镇", target_unit=unit(HANCHENG)
    )
    with pytest.raises(NotPermitted):
        actions.decide(request, township_manager, True, "同意")
    actions.decide(request, dispatcher, True, "同意改派")
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.lead_unit.code) == (CaseState.ASSIGNED, HANCHENG)


def test_closure_review_two_levels_marks_reviewed(case, township_handler, dispatcher, county_manager):
    case = case_actions.reply_case(
        case, township_handler, outcome=Outcome.SUPPORTED, reply_text="已清理道路，恢复通行。"
    )
    request = actions.request_approval(case, township_handler, Kind.CLOSURE_REVIEW, "请审核办结")
    actions.decide(request, dispatcher, True, "答复规范")
    assert not request.payload.get("reviewed")
    request = actions.decide(request, county_manager, True, "同意办结")
    assert request.payload["reviewed"] is True
    assert Case.objects.get(pk=case.pk).state == CaseState.REPLIED  # closing stays the centre's verb


def test_pending_for_follows_the_current_step(
    case, township_handler, township_manager, county_manager, other_township_manager
):
    request = _request_extension(case, township_handler)
    assert list(pending_for(township_manager)) == [request]
    assert not pending_for(county_manager).exists()
    assert not pending_for(other_township_manager).exists()
    assert not pending_for(township_handler).exists()
    actions.decide(request, township_manager, True, "同意")
    assert not pending_for(township_manager).exists()
    assert list(pending_for(county_manager)) == [request]
