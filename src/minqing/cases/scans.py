"""The deadline scan: flags cases nearly due and overdue, and tells the people responsible.

Idempotent: each case is flagged once per due time (the flag is cleared when the
due time moves), and the notifications carry dedupe keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from minqing.cases import notifications
from minqing.cases.actions import _acting
from minqing.cases.models import HANDLING_STATES, Case, CaseState
from minqing.core.deadlines import share_of_time_used

# No policy gives more than 60 days plus 30 of extension, so a case with more than a
# quarter of 90 days left cannot have used 75% of its time; this bounds the candidates.
LONGEST_PERIOD = timedelta(days=90)


@dataclass
class ScanResult:
    nearly_due: int = 0
    overdue: int = 0


def _handling_start(case: Case) -> datetime:
    return case.assigned_at or case.accepted_at or case.submitted_at


def scan_deadlines(now: datetime | None = None) -> ScanResult:
    now = now or timezone.now()
    share = settings.DEADLINE_WARNING_SHARE
    result = ScanResult()
    overdue = Case.objects.filter(overdue_notified_at__isnull=True).filter(
        state__in=HANDLING_STATES, handle_due__lt=now
    ) | Case.objects.filter(overdue_notified_at__isnull=True, state=CaseState.SUBMITTED, accept_due__lt=now)
    for case_id in overdue.values_list("pk", flat=True):
        result.overdue += _flag(case_id, "flag_overdue", now)
    window_end = now + LONGEST_PERIOD * (1 - share)
    candidates = Case.objects.filter(
        state__in=HANDLING_STATES,
        nearly_due_notified_at__isnull=True,
        handle_due__gte=now,
        handle_due__lte=window_end,
    ).only("pk", "handle_due", "assigned_at", "accepted_at", "submitted_at")
    for case in candidates:
        if share_of_time_used(_handling_start(case), case.handle_due, now) >= share:
            result.nearly_due += _flag(case.pk, "flag_nearly_due", now)
    return result


def _flag(case_id: int, action: str, now: datetime) -> int:
    field = "overdue_notified_at" if action == "flag_overdue" else "nearly_due_notified_at"
    with transaction.atomic():
        # Re-checked under the row lock: a concurrent scan or an extension may have got here first.
        case = Case.objects.select_for_update().filter(pk=case_id, **{f"{field}__isnull": True}).first()
        if case is None or (action == "flag_nearly_due" and case.handle_due < now):
            return 0
        with _acting(case, None, action, at=now) as step:
            setattr(step.case, field, now)
            due = step.case.accept_due if step.case.state == CaseState.SUBMITTED else step.case.handle_due
            step.payload = {"due": due.isoformat()}
        if action == "flag_overdue":
            notifications.case_overdue(step.case)
        else:
            notifications.case_nearly_due(step.case)
    return 1
