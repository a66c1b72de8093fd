"""Deadlines for one case: pick the local SLA policy, then count on the working-day calendar."""

from __future__ import annotations

import time
from datetime import datetime

from minqing.cases.models import Case, Category, SlaPolicy
from minqing.core.deadlines import Deadline, add_extension, add_period, policy_deadline
from minqing.workcalendar.selectors import load_calendar

# Legal defaults (《信访工作条例》) used when no local policy matches.
DEFAULT_PERIODS = {
    SlaPolicy.Stage.ACCEPT: (15, SlaPolicy.PeriodUnit.CALENDAR_DAYS),
    SlaPolicy.Stage.HANDLE: (60, SlaPolicy.PeriodUnit.CALENDAR_DAYS),
}


_POLICY_CACHE_SECONDS = 5.0
_policy_memo: tuple[float, list[SlaPolicy]] | None = None


def _policies() -> list[SlaPolicy]:
    """Active policies, re-read at most every few seconds (they change a few times a year)."""
    global _policy_memo
    if _policy_memo is None or time.monotonic() - _policy_memo[0] > _POLICY_CACHE_SECONDS:
        _policy_memo = (time.monotonic(), list(SlaPolicy.objects.filter(active=True)))
    return _policy_memo[1]


def forget_policies() -> None:
    global _policy_memo
    _policy_memo = None


def policy_for(
    stage: str, category: Category | None, urgency: str, policies: list[SlaPolicy] | None = None
) -> tuple[int, str]:
    """The most specific active policy: category+urgency, category, urgency, then the default."""
    category_ids = {category.pk, category.parent_id} - {None} if category else set()

    def rank(policy: SlaPolicy) -> tuple[int, int] | None:
        if policy.stage != stage:
            return None
        if policy.category_id and policy.category_id not in category_ids:
            return None
        if policy.urgency and policy.urgency != urgency:
            return None
        own_category = bool(category and policy.category_id == category.pk)
        return (2 if own_category else 1 if policy.category_id else 0, 1 if policy.urgency else 0)

    ranked = [(r, p) for p in (policies if policies is not None else _policies()) if (r := rank(p)) is not None]
    if not ranked:
        return DEFAULT_PERIODS[stage]
    best = max(ranked, key=lambda pair: pair[0])[1]
    return best.amount, best.unit


def due_for(case: Case, stage: str, start: datetime) -> Deadline:
    amount, unit = policy_for(stage, case.category, case.urgency)
    return policy_deadline(start, amount, unit, stage, load_calendar())


def extended_due(case: Case, days: int, approved_at: datetime) -> Deadline:
    """An approved extension counts `days` from the approval time (《信访工作条例》: the
    petitioner is told the new date), never past the original due date plus 30 days in
    total (`add_extension` also refuses a total above 30 days)."""
    calendar = load_calendar()
    cap = add_extension(case.handle_due_original or case.handle_due, days, case.extension_days, calendar)
    extended = add_period(approved_at, days, "calendar_days", calendar)
    return min(extended, cap, key=lambda deadline: deadline.due)
