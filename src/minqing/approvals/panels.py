"""The approvals panel on the case page: pending requests and the requests this user may make."""

from __future__ import annotations

from django.template.loader import render_to_string

from minqing.approvals.chains import CHAINS
from minqing.approvals.models import ApprovalRequest, Kind, State


def case_panel(user, case, kinds: frozenset[str]) -> str:
    pending = list(ApprovalRequest.objects.filter(case=case, state=State.PENDING).select_related("requested_by"))
    may_request = [
        (kind, Kind(kind).label)
        for kind, chain in CHAINS.items()
        if chain.requesters & kinds and case.state in chain.states
    ]
    if not pending and not may_request:
        return ""
    return render_to_string(
        "approvals/_case_panel.html", {"case": case, "pending": pending, "may_request": may_request}
    )
