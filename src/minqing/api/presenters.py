"""Turning cases into response data: plain language for citizens, the full record for staff."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from minqing.cases.lifecycle import PUBLIC_EVENT_LABELS, TRANSITIONS, allowed_actions
from minqing.cases.models import Case, CaseEvent, CaseState, Outcome

# What each state means, said to the petitioner.
STATUS_TEXT = {
    CaseState.SUBMITTED: "您的诉求已提交，正在等待信访矛盾化解中心登记受理。",
    CaseState.ACCEPTED: "您的诉求已受理，正在安排承办单位。",
    CaseState.DECLINED: "您的诉求不予受理，理由见下方说明。",
    CaseState.MERGED: "您的诉求与其他相同诉求合并办理。",
    CaseState.ASSIGNED: "您的诉求已交给承办单位，等待其签收办理。",
    CaseState.IN_PROGRESS: "承办单位正在办理您的诉求。",
    CaseState.RETURNED: "承办单位认为交办有误，中心正在重新安排承办单位。",
    CaseState.REPLIED: "承办单位已答复，中心正在审核。",
    CaseState.CLOSED: "您的诉求已办结，欢迎对办理情况进行评价。",
    CaseState.REOPENED: "您的诉求正在重新办理。",
}


def public_events_prefetch() -> Prefetch:
    """For lists: the public timeline of every case in one query (read by `citizen_case`)."""
    events = CaseEvent.objects.filter(action__in=PUBLIC_EVENT_LABELS).order_by("seq")
    return Prefetch("events", queryset=events.only("case_id", "created_at", "action"), to_attr="public_events")


def citizen_case(case: Case) -> dict[str, Any]:
    events = getattr(case, "public_events", None)
    if events is None:
        public = case.events.filter(action__in=PUBLIC_EVENT_LABELS).order_by("seq")
        events = public.only("case_id", "created_at", "action")
    attachments = getattr(case, "attachment_count", None)
    return {
        "reference": case.reference,
        "title": case.title,
        "content": case.content,
        "category": str(case.category) if case.category_id else None,
        "location": case.location_unit.name,
        "state": case.state,
        "state_label": case.state_label,
        "status_text": STATUS_TEXT.get(case.state, ""),
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "replied_at": case.replied_at if case.state in (CaseState.REPLIED, CaseState.CLOSED) else None,
        "closed_at": case.closed_at,
        # The reply is shown once the centre has closed the case.
        "outcome": case.outcome if case.state == CaseState.CLOSED else "",
        "outcome_label": Outcome(case.outcome).label if case.outcome and case.state == CaseState.CLOSED else "",
        "reply_text": case.reply_text if case.state == CaseState.CLOSED else "",
        "decline_reason": case.decline_reason if case.state == CaseState.DECLINED else "",
        "attachments": case.attachments.count() if attachments is None else attachments,
        "timeline": [{"at": e.created_at, "label": str(PUBLIC_EVENT_LABELS[e.action])} for e in events],
    }


def citizen_case_registered(case: Case, *, attachments: int) -> dict[str, Any]:
    """`citizen_case` of a case `register_case` just returned, from memory: its one event is the registration."""
    case.attachment_count = attachments
    case.public_events = [CaseEvent(case_id=case.pk, action="register", created_at=case.submitted_at)]
    return citizen_case(case)


def _unit(unit) -> dict[str, str] | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference,
        "title": case.title,
        "state": case.state,
        "state_label": case.state_label,
        "channel": case.channel,
        "urgency": case.urgency,
        "category": str(case.category) if case.category_id else None,
        "location_unit": _unit(case.location_unit),
        "lead_unit": _unit(case.lead_unit) if case.lead_unit_id else None,
        "submitted_at": case.submitted_at,
        "accept_due": case.accept_due,
        "handle_due": case.handle_due,
        "overdue": case.is_overdue(),
        "version": case.version,
    }


def _event_label(action: str) -> str:
    if action in TRANSITIONS:
        return str(TRANSITIONS[action].label)
    return {"register": "登记", "deadline_recomputed": "期限重算"}.get(action, action)


def case_detail(case: Case, user) -> dict[str, Any]:
    links = list(case.unit_links.filter(active=True).select_related("unit"))
    case._co_unit_paths = [link.unit_path for link in links if link.role == "co"]
    events = list(case.events.select_related("actor").order_by("seq"))
    return {
        **case_summary(case),
        "content": case.content,
        "nature": case.nature,
        "request_type": case.request_type,
        "address": case.address,
        "latitude": case.latitude,
        "longitude": case.longitude,
        "is_anonymous": case.is_anonymous,
        "group_size": case.group_size,
        "co_units": [_unit(link.unit) for link in links if link.role == "co"],
        "merged_into": case.merged_into.reference if case.merged_into_id else None,
        "outcome": case.outcome,
        "reply_text": case.reply_text,
        "decline_reason": case.decline_reason,
        "accepted_at": case.accepted_at,
        "assigned_at": case.assigned_at,
        "signed_at": case.signed_at,
        "replied_at": case.replied_at,
        "closed_at": case.closed_at,
        "parties": [
            {"name": p.name, "phone": p.masked_phone, "id_number": p.masked_id_number, "address": p.address}
            for p in case.parties.all()
        ],
        "attachments": [
            {
                "id": a.pk,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "created_at": a.created_at,
            }
            for a in case.attachments.all()
        ],
        "events": [
            {
                "seq": e.seq,
                "at": e.created_at,
                "actor": e.actor_label,
                "action": e.action,
                "label": _event_label(e.action),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "payload": e.payload or {},
            }
            for e in events
        ],
        "allowed_actions": [t.action for t in allowed_actions(user, case)],
    }
