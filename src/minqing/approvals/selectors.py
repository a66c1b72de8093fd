"""Read side of approvals, always scoped through `cases.selectors.cases_visible_to`."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.scoping import remit_for
from minqing.approvals.chains import CHAINS, Scope
from minqing.approvals.models import ApprovalRequest, State
from minqing.cases.selectors import cases_visible_to


def _step_filter(user) -> Q:
    """Requests whose current step's role the user holds over the requesting unit or the case."""
    remit = remit_for(user)
    query = Q(pk__in=[])
    for chain in CHAINS.values():
        for step in chain.steps:
            field = "requesting_unit__path" if step.scope == Scope.REQUESTING_UNIT else "case__location_path"
            for path in remit.paths_with_role(step.role):
                query |= Q(kind=chain.kind, current_step=step.level, **{f"{field}__startswith": path})
    return query


def pending_for(user) -> QuerySet[ApprovalRequest]:
    """待我审批: pending requests whose current step `user` may decide."""
    return (
        ApprovalRequest.objects.filter(state=State.PENDING, case__in=cases_visible_to(user))
        .filter(_step_filter(user))
        .exclude(requested_by=user)
        .select_related("case", "requested_by", "requesting_unit")
        .order_by("created_at", "id")
    )


def requests_for_case(user, case_id: int) -> QuerySet[ApprovalRequest]:
    """All requests of one case the user may see, with their steps."""
    return (
        ApprovalRequest.objects.filter(case__in=cases_visible_to(user), case_id=case_id)
        .select_related("requested_by", "requesting_unit")
        .prefetch_related("steps__decided_by")
        .order_by("-created_at", "-id")
    )


def mine(user) -> QuerySet[ApprovalRequest]:
    """我的申请: requests the user made, newest first."""
    return (
        ApprovalRequest.objects.filter(requested_by=user, case__in=cases_visible_to(user))
        .select_related("case", "requesting_unit")
        .order_by("-created_at", "-id")
    )


def inbox_queue(user) -> dict:
    """The 待审批 tile of the staff inbox."""
    return {
        "name": "approvals",
        "label": _("待审批"),
        "count": pending_for(user).count(),
        "url": reverse("approvals:queue"),
    }
