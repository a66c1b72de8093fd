"""Staff side: inbox, case list and detail, registration, and one endpoint per case action.

Each action endpoint takes a typed body with `expected_version` and calls the same
verb in `minqing.cases.actions` as the console does.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.api import inputs, presenters
from minqing.api.auth import AUTH, require_staff
from minqing.api.idempotency import idempotency_header, idempotent
from minqing.api.routers import ERRORS
from minqing.api.schemas import (
    MAX_ID,
    AcceptIn,
    ActionIn,
    AssignIn,
    CaseDetailOut,
    CaseListOut,
    Day,
    InboxOut,
    MediationIn,
    MergeIn,
    NoteIn,
    ReasonIn,
    RegisterIn,
    ReplyIn,
    TextIn,
    UnitCode,
    text,
)
from minqing.cases import actions, selectors
from minqing.cases.lifecycle import TRANSITIONS
from minqing.cases.models import Case, CaseState, Channel, Urgency
from minqing.core.errors import DomainError, NotPermitted
from minqing.orgs.models import OrgUnit

router = Router(tags=["staff"], auth=AUTH)

CASE_ID = Path(..., ge=1, le=MAX_ID, description="案件 id")
COUNT_CAP = 1000
QUEUE_LABELS = {
    "to_register": "待登记受理",
    "returned": "被退回",
    "replied": "已答复待办结",
    "to_sign": "待签收",
    "in_progress": "办理中",
    "nearly_due": "即将到期",
    "overdue": "已超期",
}


def _visible(user, case_id: int) -> Case:
    return selectors.get_visible_case(user, case_id)


def _detail(user, case_id: int) -> dict:
    # After the user's own action the case is shown even if it has left their remit.
    case = Case.objects.select_related("category__parent", "location_unit", "lead_unit", "merged_into").get(pk=case_id)
    return presenters.case_detail(case, user)


# --- Inbox, list, detail -------------------------------------------------------------


@router.get("/staff/inbox", response={200: InboxOut, **ERRORS}, summary="待办数量")
def inbox(request: HttpRequest) -> dict:
    user = require_staff(request)
    counts = selectors.queue_counts(user)
    return {"queues": [{"name": n, "label": QUEUE_LABELS.get(n, n), "count": c or 0} for n, c in counts.items()]}


class CaseFilters(Schema):
    queue: Literal[tuple(QUEUE_LABELS)] | None = Field(None, description="待办队列")  # type: ignore[valid-type]
    state: Literal[tuple(CaseState.values)] | None = None  # type: ignore[valid-type]
    channel: Literal[tuple(Channel.values)] | None = None  # type: ignore[valid-type]
    urgency: Literal[tuple(Urgency.values)] | None = None  # type: ignore[valid-type]
    category_id: int | None = Field(None, ge=1, le=MAX_ID, description="分类 id（一级含其下二级）")
    unit: UnitCode | None = Field(None, description="事发地或主办单位在该单位之下")
    q: text(100) | None = Field(None, description="标题或编号包含")  # type: ignore[valid-type]
    overdue: bool | None = None
    submitted_from: Day | None = None
    submitted_to: Day | None = None
    page: int = Field(1, ge=1, le=10000)
    page_size: int = Field(50, ge=1, le=100)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(user, f: CaseFilters):
    queryset = selectors.cases_visible_to(user)
    if f.queue:
        queryset = queryset.filter(selectors.queue_filter(user, f.queue))
    if f.state:
        queryset = queryset.filter(state=f.state)
    if f.channel:
        queryset = queryset.filter(channel=f.channel)
    if f.urgency:
        queryset = queryset.filter(urgency=f.urgency)
    if f.category_id:
        queryset = queryset.filter(Q(category_id=f.category_id) | Q(category__parent_id=f.category_id))
    if f.unit:
        unit = OrgUnit.objects.filter(code=f.unit).first()
        if unit is None:
            raise DomainError("单位不存在", code="unknown_unit")
        queryset = queryset.filter(Q(location_path__startswith=unit.path) | Q(lead_path__startswith=unit.path))
    if f.q and f.q.strip():
        queryset = queryset.filter(Q(title__icontains=f.q.strip()) | Q(reference__icontains=f.q.strip()))
    if f.overdue:
        queryset = queryset.filter(selectors.overdue_q())
    if f.submitted_from:
        queryset = queryset.filter(submitted_at__gte=_day_start(f.submitted_from))
    if f.submitted_to:
        queryset = queryset.filter(submitted_at__lt=_day_start(f.submitted_to) + timedelta(days=1))
    return queryset


@router.get("/staff/cases", response={200: CaseListOut, **ERRORS}, summary="案件列表（筛选、分页）")
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict:
    user = require_staff(request)
    queryset = _filtered(user, filters).order_by("-submitted_at", "-id")
    offset = (filters.page - 1) * filters.page_size
    rows = list(
        queryset.select_related("category__parent", "location_unit", "lead_unit")[
            offset : offset + filters.page_size + 1
        ]
    )
    total = queryset.order_by()[: COUNT_CAP + 1].count() if filters.page == 1 else None
    return {
        "items": [presenters.case_summary(case) for case in rows[: filters.page_size]],
        "page": filters.page,
        "page_size": filters.page_size,
        "has_more": len(rows) > filters.page_size,
        "total": total,
    }


@router.get("/staff/cases/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="案件详情")
def case_detail(request: HttpRequest, case_id: int = CASE_ID) -> dict:
    user = require_staff(request)
    return presenters.case_detail(_visible(user, case_id), user)


# --- Registration ----------------------------------------------------------------------


@router.post(
    "/staff/cases",
    response={201: CaseDetailOut, **ERRORS},
    summary="登记来访、来信、来电（调度员）或信息员上报",
    description="调度员用 channel=walk_in/letter/phone；信息员只能用 channel=informant，且事发地须在其村。",
)
def register(
    request: HttpRequest, payload: RegisterIn, idempotency_key: str | None = idempotency_header()
) -> HttpResponse:
    user = require_staff(request)

    def produce() -> dict:
        remit = remit_for(user)
        where = inputs.location(payload.township, payload.village)
        if payload.channel == Channel.INFORMANT:
            allowed = remit.has_role(Role.INFORMANT)
        else:
            allowed = remit.has_role(Role.DISPATCHER)
        if not allowed or not remit.can_read_path(where.path):
            raise NotPermitted("您无权以该渠道登记此地的案件")
        data = actions.NewCase(
            channel=payload.channel,
            title=payload.title,
            content=payload.content,
            location_unit=where,
            category=inputs.level2_category(payload.category_id) if payload.category_id else None,
            nature=payload.nature,
            request_type=payload.request_type,
            urgency=payload.urgency,
            group_size=payload.group_size,
            address=payload.address,
            latitude=payload.latitude,
            longitude=payload.longitude,
            is_anonymous=payload.anonymous,
            parties=[actions.PartyInput(**p.model_dump()) for p in payload.parties],
        )
        case = actions.register_case(data, user)
        return _detail(user, case.pk)

    return idempotent(request, idempotency_key, 201, CaseDetailOut, produce)


# --- Case actions -----------------------------------------------------------------------

Perform = Callable[[Case, Any, Any, dict], Any]


def _version(payload: ActionIn) -> dict:
    return {"expected_version": payload.expected_version}


def _accept(case: Case, user, p: AcceptIn) -> None:
    category = inputs.level2_category(p.category_id) if p.category_id else None
    actions.accept_case(case, user, category=category, urgency=p.urgency, **_version(p))


def _merge(case: Case, user, p: MergeIn) -> None:
    target = selectors.cases_visible_to(user).filter(reference=p.into).first()
    if target is None:
        raise DomainError("目标案件不存在", code="unknown_case")
    actions.merge_case(case, user, into=target, note=p.note, **_version(p))


def _assign(verb: Callable) -> Callable:
    def perform(case: Case, user, p: AssignIn) -> None:
        lead, *co = inputs.units_by_code([p.lead_unit, *p.co_units])
        deadline = timezone.make_aware(datetime.combine(p.deadline, time(23, 59, 59))) if p.deadline else None
        verb(case, user, lead_unit=lead, co_units=co, deadline=deadline, note=p.note, **_version(p))

    return perform


def _versioned(verb: Callable[..., Any], **fields: str) -> Callable:
    def perform(case: Case, user, p: ActionIn) -> None:
        verb(case, user, **{arg: getattr(p, attr) for arg, attr in fields.items()}, **_version(p))

    return perform


ACTIONS: dict[str, tuple[type[ActionIn], Callable]] = {
    "accept": (AcceptIn, _accept),
    "decline": (ReasonIn, _versioned(actions.decline_case, reason="reason")),
    "merge": (MergeIn, _merge),
    "assign": (AssignIn, _assign(actions.assign_case)),
    "sign_for": (ActionIn, _versioned(actions.sign_for_case)),
    "return": (ReasonIn, _versioned(actions.return_case, reason="reason")),
    "reassign": (AssignIn, _assign(actions.reassign_case)),
    "reply": (ReplyIn, _versioned(actions.reply_case, outcome="outcome", reply_text="reply_text")),
    "close": (NoteIn, _versioned(actions.close_case, note="note")),
    "send_back": (ReasonIn, _versioned(actions.send_back_case, reason="reason")),
    "reopen": (ReasonIn, _versioned(actions.reopen_case, reason="reason")),
    "add_note": (TextIn, _versioned(actions.add_note, text="text")),
    "add_mediation_record": (
        MediationIn,
        _versioned(actions.add_mediation_record, summary="summary", participants="participants", result="result"),
    ),
}


def _register_action(action: str, body: type[ActionIn], perform: Callable) -> None:
    label = str(TRANSITIONS[action].label)

    def endpoint(
        request: HttpRequest,
        payload: body,  # type: ignore[valid-type]
        case_id: int = CASE_ID,
        idempotency_key: str | None = idempotency_header(),
    ) -> HttpResponse:
        user = require_staff(request)

        def produce() -> dict:
            perform(_visible(user, case_id), user, payload)
            return _detail(user, case_id)

        return idempotent(request, idempotency_key, 200, CaseDetailOut, produce)

    endpoint.__name__ = f"action_{action}"
    router.post(
        f"/staff/cases/{{case_id}}/actions/{action}",
        response={200: CaseDetailOut, **ERRORS},
        summary=f"{label}（{action}）",
        operation_id=f"staff_case_{action}",
        description=(
            "与工作台相同的业务动作。状态不允许时返回 409（中文说明），无权限 403，"
            "不在辖区 404；expected_version 与当前版本不一致时返回 409。"
        ),
    )(endpoint)


for _action, (_body, _perform) in ACTIONS.items():
    _register_action(_action, _body, _perform)
