"""Urging (催办) and supervision orders (督办). Views and the API call only these.

Each verb locks the case, checks the lifecycle table (`urge`, `supervise`; answers
and closures are logged as notes on the case), writes its side record, appends one
`CaseEvent` through `cases.actions.record_side_event` and queues notifications, all
in one transaction. Unit managers act for cases their unit leads, county managers
for any case in their county, and the centre may urge.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from minqing.cases.actions import check_allowed, merge_case, record_side_event
from minqing.cases.lifecycle import Actor, actor_kinds
from minqing.cases.models import Case, Party
from minqing.cases.notifications import case_link, unit_staff
from minqing.core.errors import Conflict, DomainError, NotPermitted
from minqing.dispatch.models import CaseLink, SupervisionOrder, Urging
from minqing.notify.actions import Message, queue, queue_sms_to_number

NOTE_MAX = 2000


def _locked_case(case: Case | int) -> Case:
    pk = case.pk if isinstance(case, Case) else int(case)
    return Case.objects.select_for_update(of=("self",)).select_related("lead_unit").get(pk=pk)


def _text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, code="text_required")
    return value[:NOTE_MAX]


def _tell_lead_unit(case: Case, kind: str, title: str, body: str, key: str) -> None:
    if case.lead_unit_id:
        message = Message(kind=kind, title=title, body=body, link=case_link(case), case_id=case.pk)
        queue(message, unit_staff([case.lead_unit]), key=key, sms=True)


def urge(case: Case | int, actor, note: str, *, at: datetime | None = None) -> Urging:
    """催办: remind the lead unit, with a note."""
    note = _text(note, "请填写催办意见")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked_case(case)
        check_allowed(actor, locked, "urge")
        urging = Urging.objects.create(case=locked, issued_by=actor, note=note, created_at=at)
        locked = record_side_event(locked, actor, "urge", {"urging": urging.pk, "note": note}, at=at)
        title = f"催办：案件 {locked.reference} 请抓紧办理"
        _tell_lead_unit(locked, "urged", title, note, key=f"urged:{urging.pk}")
    return urging


def issue_supervision(
    case: Case | int, actor, note: str, reply_due: datetime, *, at: datetime | None = None
) -> SupervisionOrder:
    """督办: an order to the lead unit to reply by `reply_due`; county-level when a county manager issues it."""
    note = _text(note, "请填写督办意见")
    at = at or timezone.now()
    if reply_due is None or reply_due <= at:
        raise DomainError("回复期限须晚于当前时间", code="invalid_reply_due")
    with transaction.atomic():
        locked = _locked_case(case)
        check_allowed(actor, locked, "supervise")
        county = Actor.COUNTY_MANAGER in actor_kinds(actor, locked)
        order = SupervisionOrder.objects.create(
            case=locked,
            issued_by=actor,
            issuing_level=SupervisionOrder.Level.COUNTY if county else SupervisionOrder.Level.UNIT,
            note=note,
            reply_due=reply_due,
            created_at=at,
        )
        payload = {
            "supervision": order.pk,
            "level": order.issuing_level,
            "note": note,
            "reply_due": reply_due.isoformat(),
        }
        locked = record_side_event(locked, actor, "supervise", payload, at=at)
        due = timezone.localtime(reply_due)
        title = f"{order.get_issuing_level_display()}：案件 {locked.reference}，请于{due:%Y-%m-%d %H:%M}前回复"
        _tell_lead_unit(locked, "supervised", title, note, key=f"supervised:{order.pk}")
    return order


def _locked_order(order: SupervisionOrder | int, *states: str) -> SupervisionOrder:
    pk = order.pk if isinstance(order, SupervisionOrder) else int(order)
    locked = SupervisionOrder.objects.select_for_update().get(pk=pk)
    if locked.state not in states:
        raise Conflict(f"该督办单{locked.get_state_display()}，请刷新页面")
    return locked


def answer_supervision(
    order: SupervisionOrder | int, actor, text: str, *, at: datetime | None = None
) -> SupervisionOrder:
    """回复督办: the lead unit reports what it has done."""
    text = _text(text, "请填写回复内容")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked_order(order, SupervisionOrder.State.OPEN)
        case = _locked_case(locked.case_id)
        if Actor.LEAD_UNIT not in actor_kinds(actor, case):
            raise NotPermitted("只有主办单位可以回复督办")
        locked.state, locked.answer, locked.answered_by, locked.answered_at = (
            SupervisionOrder.State.ANSWERED,
            text,
            actor,
            at,
        )
        locked.save()
        payload = {"supervision": locked.pk, "text": text}
        case = record_side_event(case, actor, "answer_supervision", payload, at=at)
        message = Message(
            kind="supervision_answered",
            title=f"督办回复：案件 {case.reference}",
            body=text,
            link=case_link(case),
            case_id=case.pk,
        )
        queue(message, [locked.issued_by], key=f"supervision_answered:{locked.pk}")
    return locked


def _may_close(actor, case: Case, order: SupervisionOrder) -> bool:
    kinds = actor_kinds(actor, case)
    if Actor.COUNTY_MANAGER in kinds:
        return True
    return order.issuing_level == SupervisionOrder.Level.UNIT and Actor.LEAD_MANAGER in kinds


def close_supervision(order: SupervisionOrder | int, actor, *, at: datetime | None = None) -> SupervisionOrder:
    """办结督办: the issuing level takes the order off the board."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked_order(order, SupervisionOrder.State.OPEN, SupervisionOrder.State.ANSWERED)
        case = _locked_case(locked.case_id)
        if not _may_close(actor, case, locked):
            raise NotPermitted("只有督办层级的管理总岗可以办结督办")
        locked.state, locked.closed_at = SupervisionOrder.State.CLOSED, at
        locked.save()
        record_side_event(case, actor, "close_supervision", {"supervision": locked.pk}, at=at)
    return locked


# --- Duplicates and related cases (重复件、关联件) ------------------------------------------

LINK_LABELS = {CaseLink.Kind.DUPLICATE: "重复", CaseLink.Kind.RELATED: "相关"}


def _pair(a: Case | int, b: Case | int) -> tuple[int, int]:
    first, second = (x.pk if isinstance(x, Case) else int(x) for x in (a, b))
    if first == second:
        raise DomainError("不能将案件与其自身关联", code="same_case")
    return min(first, second), max(first, second)


def link_cases(a: Case | int, b: Case | int, actor, kind: str = CaseLink.Kind.RELATED) -> CaseLink:
    """关联: mark two cases as duplicates or related; a note on each case says so.

    The lifecycle has no `link` row yet, so the event is an `add_note` whose payload
    carries the link (whoever may add notes to both cases may link them).
    """
    if kind not in CaseLink.Kind.values:
        raise DomainError("关联类型无效", code="invalid_link_kind")
    first, second = _pair(a, b)
    at = timezone.now()
    with transaction.atomic():
        cases = {c.pk: c for c in Case.objects.select_for_update(of=("self",)).filter(pk__in=[first, second])}
        if len(cases) != 2:
            raise DomainError("案件不存在", code="unknown_case")
        if CaseLink.objects.filter(case_a_id=first, case_b_id=second).exists():
            raise Conflict("这两件案件已经关联")
        link = CaseLink.objects.create(case_a_id=first, case_b_id=second, kind=kind, created_by=actor, created_at=at)
        for this, other in ((cases[first], cases[second]), (cases[second], cases[first])):
            payload = {
                "text": f"与案件 {other.reference} 关联（{LINK_LABELS[kind]}）",
                "link": other.reference,
                "link_kind": kind,
            }
            record_side_event(this, actor, "link", payload, at=at)
    return link


def merge_cases(case: Case | int, into: Case | int, actor, *, note: str = "") -> Case:
    """合并: fold `case` into the open case `into` (cases.actions.merge_case moves the
    petitioners and keeps both references resolvable), record the duplicate link, and
    tell the petitioner which case theirs joined."""
    first, second = _pair(case, into)
    with transaction.atomic():
        source = Case.objects.get(pk=case.pk if isinstance(case, Case) else int(case))
        recipients = _petitioners(source)
        merged = merge_case(source, actor, into=into, note=note)
        target = merged.merged_into
        CaseLink.objects.update_or_create(
            case_a_id=first,
            case_b_id=second,
            defaults={"kind": CaseLink.Kind.DUPLICATE, "created_by": actor, "created_at": timezone.now()},
        )
        _tell_petitioner(merged, target, recipients)
    return merged


def _petitioners(case: Case) -> tuple[list, list[str]]:
    """The case's citizen account, and the phones of its parties (read before the merge moves them)."""
    accounts = [case.citizen] if case.citizen_id and case.citizen.is_active else []
    phones = [] if case.is_anonymous else [p.phone for p in Party.objects.filter(case=case) if p.phone_hash]
    return accounts, phones


def _tell_petitioner(merged: Case, target: Case, recipients: tuple[list, list[str]]) -> None:
    accounts, phones = recipients
    message = Message(
        kind="case_merged",
        title=f"您反映的事项（编号{merged.reference}）已并入案件{target.reference}一并办理",
        body="原编号和查询码仍可查询办理进展。",
        case_id=target.pk,
    )
    key = f"merged:{merged.pk}"
    queue(message, accounts, key=key, sms=True)
    account_phones = {a.phone for a in accounts if a.phone_encrypted}
    for index, phone in enumerate(dict.fromkeys(phones)):
        if phone and phone not in account_phones:
            queue_sms_to_number(message, phone, key=f"{key}:{index}")
