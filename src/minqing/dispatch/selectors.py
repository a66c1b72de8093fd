"""Read side of urging and supervision, always scoped through `cases.selectors.cases_visible_to`."""

from __future__ import annotations

from django.db.models import QuerySet

from minqing.cases.selectors import cases_visible_to
from minqing.dispatch.models import SupervisionOrder, Urging

BOARD_STATES = (SupervisionOrder.State.OPEN, SupervisionOrder.State.ANSWERED)


def supervision_board(user) -> QuerySet[SupervisionOrder]:
    """督办台: orders not yet closed on cases the user may see, soonest reply deadline first."""
    return (
        SupervisionOrder.objects.filter(state__in=BOARD_STATES, case__in=cases_visible_to(user))
        .select_related("case", "case__lead_unit", "issued_by", "answered_by")
        .order_by("reply_due", "id")
    )


def urgings_for_case(user, case_id: int) -> QuerySet[Urging]:
    return Urging.objects.filter(case__in=cases_visible_to(user), case_id=case_id).select_related("issued_by")


def supervision_for_case(user, case_id: int) -> QuerySet[SupervisionOrder]:
    return SupervisionOrder.objects.filter(case__in=cases_visible_to(user), case_id=case_id).select_related(
        "issued_by", "answered_by"
    )
