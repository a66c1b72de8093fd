"""Who hears about approval requests. Called inside the action's transaction."""

from __future__ import annotations

from minqing.accounts.models import Role
from minqing.approvals.chains import ChainStep, Scope, chain_for
from minqing.approvals.models import ApprovalRequest
from minqing.cases.models import Case
from minqing.cases.notifications import case_link, county_staff, unit_staff
from minqing.notify.actions import Message, queue
from minqing.orgs.models import OrgUnit


def _message(kind: str, case: Case, title: str, body: str = "") -> Message:
    return Message(kind=kind, title=title, body=body, link=case_link(case), case_id=case.pk)


def approvers(request: ApprovalRequest, case: Case, step: ChainStep) -> list:
    """Users who hold `step`'s role over the request (notification recipients)."""
    if step.scope == Scope.REQUESTING_UNIT:
        return unit_staff([request.requesting_unit], roles=[step.role]) if request.requesting_unit_id else []
    return county_staff(case, [step.role])


def approval_requested(request: ApprovalRequest, case: Case) -> None:
    step = chain_for(request.kind).step(request.current_step)
    recipients = [u for u in approvers(request, case, step) if u.pk != request.requested_by_id]
    queue(
        _message(
            "approval_requested",
            case,
            f"待审批：案件 {case.reference} {request.get_kind_display()}",
            request.reason,
        ),
        recipients,
        key=f"approval_requested:{request.pk}:{request.current_step}",
    )


def approval_decided(request: ApprovalRequest, case: Case, reason: str) -> None:
    queue(
        _message(
            "approval_decided",
            case,
            f"案件 {case.reference} {request.get_kind_display()}{request.get_state_display()}",
            reason,
        ),
        [request.requested_by],
        key=f"approval_decided:{request.pk}",
    )


def office_joined(request: ApprovalRequest, case: Case, office: OrgUnit) -> None:
    queue(
        _message("escalated", case, f"案件 {case.reference} 已{request.get_kind_display()}，请研判", request.reason),
        unit_staff([office], roles=[Role.ASSESSOR, Role.HANDLER, Role.UNIT_MANAGER]),
        key=f"escalated:{request.pk}",
    )
