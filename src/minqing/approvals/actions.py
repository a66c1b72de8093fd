"""Business verbs for approval requests: ask, decide (level by level), withdraw.

Each verb runs in one transaction. It writes the request and its step, appends one
`CaseEvent` through `cases.actions.record_side_event` and queues notifications; the
last approval applies the effect through `cases.actions` (see `effects`). A refused
verb raises a `DomainError` and leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from minqing.accounts.scoping import remit_for
from minqing.approvals import notifications
from minqing.approvals.chains import EXTENSION_MAX_DAYS, Chain, ChainStep, Scope, chain_for
from minqing.approvals.effects import apply_effect
from minqing.approvals.models import ApprovalRequest, ApprovalStep, Decision, Kind, State
from minqing.cases.actions import record_side_event
from minqing.cases.deadlines import extended_due
from minqing.cases.lifecycle import Actor, actor_kinds
from minqing.cases.models import Case
from minqing.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from minqing.orgs.models import OrgUnit
from minqing.orgs.selectors import centre_office, county_of


def _case(case: Case | int, *, lock: bool = False) -> Case:
    queryset = Case.objects.select_for_update(of=("self",)) if lock else Case.objects
    pk = case.pk if isinstance(case, Case) else int(case)
    return queryset.select_related("location_unit", "lead_unit").get(pk=pk)


def _request_pk(request: ApprovalRequest | int) -> int:
    return request.pk if isinstance(request, ApprovalRequest) else int(request)


# --- Who may do what ------------------------------------------------------------


def holds_step(user, request: ApprovalRequest, case: Case, step: ChainStep) -> bool:
    """Whether `user` holds `step`'s role over the request (ignores who asked)."""
    paths = remit_for(user).paths_with_role(step.role)
    if step.scope == Scope.REQUESTING_UNIT:
        target = request.requesting_unit.path if request.requesting_unit_id else None
    else:
        target = case.location_path
    return bool(target) and any(target.startswith(path) for path in paths)


def can_decide(user, request: ApprovalRequest, case: Case | None = None) -> bool:
    """Whether `user` may decide the request's current step now."""
    if not request.is_pending or user is None or user.pk == request.requested_by_id:
        return False
    case = case or request.case
    return holds_step(user, request, case, chain_for(request.kind).step(request.current_step))


def _check_requester(actor, case: Case, chain: Chain) -> set[str]:
    kinds = set(actor_kinds(actor, case)) if actor is not None else set()
    if not kinds & chain.requesters:
        raise NotPermitted("您无权对该案件提出此项申请")
    if case.state not in chain.states:
        raise InvalidTransition(f"案件当前状态为“{case.get_state_display()}”，不能提出此项申请")
    return kinds


# --- Asking ---------------------------------------------------------------------


def _clean_extension(case: Case, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    days = payload.get("days")
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= EXTENSION_MAX_DAYS:
        raise DomainError(f"延期天数应为1至{EXTENSION_MAX_DAYS}日", code="invalid_extension")
    new_due = extended_due(case, days, at).due  # raises ExtensionCapExceeded past the 30-day total
    if case.handle_due and new_due <= case.handle_due:
        raise DomainError("按审批时间重新计算的办理期限不晚于现行期限，无需申请延期", code="extension_not_needed")
    return {"days": days}


def _clean_reassign(case: Case, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    target = payload.get("target_unit")
    if isinstance(target, OrgUnit):
        target = target.code
    if target and not OrgUnit.objects.filter(code=target, active=True).exists():
        raise DomainError("建议改派的单位不存在", code="invalid_target_unit")
    if target and case.lead_unit and target == case.lead_unit.code:
        raise DomainError("建议改派的单位与现承办单位相同", code="invalid_target_unit")
    return {"target_unit": target} if target else {}


def _clean_payload(kind: str, case: Case, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    if kind == Kind.EXTENSION:
        return _clean_extension(case, payload, at)
    if kind == Kind.REASSIGN:
        return _clean_reassign(case, payload, at)
    return {}


def _requesting_unit(case: Case, kinds: set[str]) -> OrgUnit | None:
    if Actor.LEAD_UNIT in kinds and case.lead_unit_id:
        return case.lead_unit
    try:
        return centre_office("centre", county_of(case.location_unit))
    except OrgUnit.DoesNotExist:
        return None


def _create_pending(**fields: Any) -> ApprovalRequest:
    if ApprovalRequest.objects.filter(case=fields["case"], kind=fields["kind"], state=State.PENDING).exists():
        raise DomainError("该案件已有同类申请正在审批中，请勿重复提出", code="duplicate_request")
    try:
        with transaction.atomic():
            return ApprovalRequest.objects.create(**fields)
    except IntegrityError:
        raise DomainError("该案件已有同类申请正在审批中，请勿重复提出", code="duplicate_request") from None


def request_approval(
    case: Case | int, actor, kind: str, reason: str, *, at: datetime | None = None, **payload: Any
) -> ApprovalRequest:
    """提出申请: a pending request at level 1 of the kind's chain; approvers are told.

    payload: `days` (1..30) for an extension; optional `target_unit` (OrgUnit or code) for a reassignment.
    """
    if kind not in Kind.values:
        raise DomainError("未知的申请类型", code="invalid_kind")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写申请理由", code="reason_required")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _case(case, lock=True)
        kinds = _check_requester(actor, locked, chain_for(kind))
        cleaned = _clean_payload(kind, locked, payload, at)
        request = _create_pending(
            case=locked,
            kind=kind,
            requested_by=actor,
            requesting_unit=_requesting_unit(locked, kinds),
            reason=reason[:2000],
            payload=cleaned,
            created_at=at,
        )
        event = {"approval": request.pk, "kind": kind, "reason": request.reason, **cleaned}
        locked = record_side_event(locked, actor, "request_approval", event, at=at)
        notifications.approval_requested(request, locked)
    return request


# --- Deciding -------------------------------------------------------------------


def _lock_pending(request: ApprovalRequest | int) -> ApprovalRequest:
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("requesting_unit")
        .get(pk=_request_pk(request))
    )
    if not locked.is_pending:
        raise Conflict(f"该申请已{locked.get_state_display()}，请刷新页面")
    return locked


def _check_decider(actor, request: ApprovalRequest, case: Case, step: ChainStep) -> None:
    if actor is None or actor.pk == request.requested_by_id:
        raise NotPermitted("不能审批本人提出的申请")
    if not holds_step(actor, request, case, step):
        raise NotPermitted("您不是该申请当前环节的审批人")


def decide(
    request: ApprovalRequest | int,
    actor,
    approve: bool,
    reason: str,
    *,
    at: datetime | None = None,
    target_unit: OrgUnit | None = None,
) -> ApprovalRequest:
    """审批: decide the current level. A rejection ends the request; the last approval applies its effect.

    `target_unit` lets the centre choose the unit when approving a reassignment.
    """
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError("不同意时请填写理由", code="reason_required")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_pending(request)
        case = _case(locked.case_id, lock=True)
        chain = chain_for(locked.kind)
        step = chain.step(locked.current_step)
        _check_decider(actor, locked, case, step)
        decision = Decision.APPROVED if approve else Decision.REJECTED
        ApprovalStep.objects.create(
            request=locked,
            level=step.level,
            approver_role=step.role,
            decided_by=actor,
            decision=decision,
            reason=reason[:2000],
            decided_at=at,
        )
        final = not approve or step.level == chain.last_level
        effect = apply_effect(locked, case, actor, at, target_unit) if approve and final else {}
        _advance(locked, approve, final, at)
        payload = {"approval": locked.pk, "kind": locked.kind, "level": step.level, "decision": decision}
        case = record_side_event(case, actor, "decide_approval", {**payload, "reason": reason, **effect}, at=at)
        _notify_after_decision(locked, case, final, reason)
    return locked


def _advance(request: ApprovalRequest, approve: bool, final: bool, at: datetime) -> None:
    if final:
        request.state = State.APPROVED if approve else State.REJECTED
        request.decided_at = at
    else:
        request.current_step += 1
    request.save()


def _notify_after_decision(request: ApprovalRequest, case: Case, final: bool, reason: str) -> None:
    if final:
        notifications.approval_decided(request, case, reason)
    else:
        notifications.approval_requested(request, case)


# --- Withdrawing ----------------------------------------------------------------


def withdraw(request: ApprovalRequest | int, actor, *, at: datetime | None = None) -> ApprovalRequest:
    """撤回: the requester takes back a pending request."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_pending(request)
        if actor is None or actor.pk != locked.requested_by_id:
            raise NotPermitted("只有申请人可以撤回申请")
        locked.state, locked.decided_at = State.WITHDRAWN, at
        locked.save()
        payload = {"approval": locked.pk, "kind": locked.kind}
        record_side_event(locked.case_id, actor, "withdraw_approval", payload, at=at)
    return locked
