from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from minqing.cases import actions
from minqing.cases.models import Case, CaseEvent
from minqing.cases.scans import scan_deadlines
from minqing.notify.models import Notification
from minqing.testing.personas import LIUQUAN


@pytest.fixture
def assigned(registered, dispatcher, township_handler, unit):
    case = actions.accept_case(registered, dispatcher)
    return actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))


def test_scan_flags_overdue_once_and_notifies_once(assigned, township_handler, county_manager):
    later = assigned.handle_due + timedelta(hours=1)
    first = scan_deadlines(now=later)
    second = scan_deadlines(now=later + timedelta(hours=1))
    assert (first.overdue, second.overdue) == (1, 0)
    assert Notification.objects.filter(kind="overdue", recipient=township_handler, channel="in_app").count() == 1
    assert Notification.objects.filter(kind="overdue", recipient=county_manager, channel="in_app").count() == 1
    assert CaseEvent.objects.filter(case=assigned, action="flag_overdue").count() == 1


def test_scan_flags_nearly_due_after_warning_share(assigned, township_handler):
    start, due = assigned.assigned_at, assigned.handle_due
    too_early = start + (due - start) * 0.5
    nearly = start + (due - start) * 0.8
    assert scan_deadlines(now=too_early).nearly_due == 0
    assert scan_deadlines(now=nearly).nearly_due == 1
    assert scan_deadlines(now=nearly).nearly_due == 0
    assert Notification.objects.filter(kind="nearly_due", recipient=township_handler, channel="in_app").count() == 1


def test_scan_flags_unaccepted_case_past_accept_due(registered):
    assert scan_deadlines(now=registered.accept_due + timedelta(minutes=1)).overdue == 1
    assert Case.objects.get(pk=registered.pk).overdue_notified_at is not None


def test_audit_verify_passes_on_untouched_chains(assigned):
    call_command("audit_verify")


def test_audit_verify_reports_an_altered_event(assigned):
    event = CaseEvent.objects.filter(case=assigned, action="accept").get()
    payload = dict(event.payload, category=999)
    CaseEvent.objects.filter(pk=event.pk).update(payload=payload)
    with pytest.raises(CommandError, match="1 个案件"):
        call_command("audit_verify")


def test_audit_verify_reports_a_deleted_last_event(assigned):
    CaseEvent.objects.filter(case=assigned).order_by("-seq").first().delete()
    with pytest.raises(CommandError):
        call_command("audit_verify")


def test_deadline_scan_command_is_idempotent(assigned, capsys):
    Case.objects.filter(pk=assigned.pk).update(handle_due=timezone.now() - timedelta(minutes=1))
    call_command("deadlines_scan")
    call_command("deadlines_scan")
    output = capsys.readouterr().out.splitlines()
    assert output == ["临期 0 件，超期 1 件", "临期 0 件，超期 0 件"]
