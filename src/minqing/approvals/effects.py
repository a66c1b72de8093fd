"""What the last approval of each kind does to the case, through `minqing.cases.actions`.

Called inside `actions.decide`'s transaction, after the decision event; a refused
effect (e.g. the 30-day extension cap) raises and rolls the whole decision back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from minqing.approvals import notifications
from minqing.approvals.models import ApprovalRequest, Kind
from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseUnit
from minqing.core.errors import DomainError
from minqing.orgs.models import OrgUnit
from minqing.orgs.selectors import centre_office, county_of

# Request kind → the centre office that joins the case when the request is approved.
OFFICE_FOR_KIND = {Kind.ESCALATION: "hard_case_room", Kind.LEGAL_HANDOVER: "legal_office"}


def office_for(request: ApprovalRequest, case: Case) -> OrgUnit:
    try:
        return centre_office(OFFICE_FOR_KIND[request.kind], county_of(case.location_unit))
    except OrgUnit.DoesNotExist:
        raise DomainError("本县未设置相应的中心办公室，无法移交", code="no_office") from None


def reassign_target(request: ApprovalRequest, target_unit: OrgUnit | None) -> OrgUnit:
    if target_unit is not None:
        return target_unit
    code = request.payload.get("target_unit")
    unit = OrgUnit.objects.filter(code=code).first() if code else None
    if unit is None:
        raise DomainError("请选择改派的承办单位", code="no_target_unit")
    return unit


def _extend(request: ApprovalRequest, case: Case, actor, at: datetime, target_unit: OrgUnit | None) -> dict:
    days = int(request.payload["days"])
    case_actions.extend_deadline(case, actor, days=days, reason=request.reason, approval_id=request.pk, at=at)
    return {"days": days}


def _reassign(request: ApprovalRequest, case: Case, actor, at: datetime, target_unit: OrgUnit | None) -> dict:
    target = reassign_target(request, target_unit)
    co_units = [
        link.unit
        for link in CaseUnit.objects.filter(case=case, active=True, role=CaseUnit.Role.CO).select_related("unit")
    ]
    note = f"依审批改派（申请#{request.pk}）：{request.reason}"
    case_actions.reassign_case(case, actor, lead_unit=target, co_units=co_units, note=note, at=at)
    request.payload["target_unit"] = target.code
    return {"target_unit": target.code}


def _mark_reviewed(request: ApprovalRequest, case: Case, actor, at: datetime, target_unit: OrgUnit | None) -> dict:
    request.payload.update(reviewed=True, reviewed_at=at.isoformat(), reviewed_by=actor.get_username())
    return {"reviewed": True}


def _office_joins(request: ApprovalRequest, case: Case, actor, at: datetime, target_unit: OrgUnit | None) -> dict:
    """The office joins as a co-unit (协办): the lead unit keeps the case and its clock."""
    office = office_for(request, case)
    if not CaseUnit.objects.filter(case=case, unit=office, active=True).exists():
        note = f"依审批（申请#{request.pk}）：{request.reason}"
        case_actions.add_co_unit(case, actor, unit=office, note=note, approval_id=request.pk, at=at)
    notifications.office_joined(request, case, office)
    request.payload["office"] = office.code
    return {"co_unit": office.code}


EFFECTS: dict[str, Callable[..., dict[str, Any]]] = {
    Kind.EXTENSION: _extend,
    Kind.REASSIGN: _reassign,
    Kind.CLOSURE_REVIEW: _mark_reviewed,
    Kind.ESCALATION: _office_joins,
    Kind.LEGAL_HANDOVER: _office_joins,
}


def apply_effect(
    request: ApprovalRequest, case: Case, actor, at: datetime, target_unit: OrgUnit | None = None
) -> dict[str, Any]:
    return EFFECTS[request.kind](request, case, actor, at, target_unit)
