"""Business verbs for cases. Views, the API, tasks and the demo generator call only these.

Every verb runs in one transaction: lock the case row, check the lifecycle table,
change the row, append one hash-chained `CaseEvent`, queue notifications. A
refused verb raises a `DomainError` and leaves nothing behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from minqing.cases import notifications, numbering
from minqing.cases.attachments import (
    CheckedFile,
    UploadedFile,
    check_uploads,
    new_attachment,
    store_attachment,
    write_files,
)
from minqing.cases.deadlines import due_for, extended_due
from minqing.cases.lifecycle import TRANSITIONS, Actor, actor_kinds
from minqing.cases.models import (
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseState,
    CaseUnit,
    Category,
    Channel,
    Nature,
    Outcome,
    Party,
    RequestType,
    SlaPolicy,
    Urgency,
    is_unsatisfied_score,
)
from minqing.core.deadlines import local_date
from minqing.core.errors import DomainError, InvalidTransition, NotPermitted
from minqing.core.hashchain import GENESIS, link_hash
from minqing.core.inserts import atomic_writes, insert_together
from minqing.orgs.models import HANDLING_KINDS, OrgUnit, UnitKind, ancestor_paths
from minqing.workcalendar.selectors import load_calendar

RETURN_WINDOW_WORKING_DAYS = 5


@dataclass
class PartyInput:
    name: str = ""
    phone: str = ""
    id_number: str = ""
    address: str = ""
    # A citizen account whose phone this is, when `phone` is not given: its sealed phone and lookup
    # hash are copied as they are (same key), sparing a decryption and a new encryption per submission.
    account: Any = None


@dataclass
class NewCase:
    channel: str
    title: str
    content: str
    location_unit: OrgUnit
    category: Category | None = None
    nature: str = Nature.CLAIM
    request_type: str = RequestType.HELP
    urgency: str = Urgency.NORMAL
    group_size: int = 1
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    is_anonymous: bool = False
    citizen: Any = None
    parties: Sequence[PartyInput] = field(default_factory=list)
    attachments: Sequence[UploadedFile | CheckedFile] = field(default_factory=list)
    # What intake found (suggested unit, possible duplicates); recorded in the register event.
    triage: dict[str, Any] = field(default_factory=dict)
    # Reference and id drawn beforehand for the `at` given to register_case (on PostgreSQL intake draws
    # them with its duplicate check, in one round trip: `numbering.draw_with`); else register_case draws.
    number: tuple[str, int] | None = None


@dataclass
class Step:
    """What a verb is changing; the payload goes into the event."""

    case: Case
    at: datetime
    from_state: str
    payload: dict[str, Any] = field(default_factory=dict)


def _pk(case: Case | int) -> int:
    return case.pk if isinstance(case, Case) else int(case)


def check_allowed(actor, case: Case, action: str) -> None:
    """Raise the right domain error when `actor` may not take `action` on `case` now."""
    transition = TRANSITIONS[action]
    kinds = actor_kinds(actor, case, with_co_units=Actor.CO_UNIT in transition.actors)
    if not (kinds & transition.actors):
        raise NotPermitted(f"您无权对该案件执行“{transition.label}”")
    if case.state not in transition.sources:
        raise InvalidTransition(
            f"案件当前状态为“{case.get_state_display()}”，不能执行“{transition.label}”，请刷新页面查看最新进展"
        )


@contextmanager
def _acting(
    case: Case | int, actor, action: str, *, at: datetime | None = None, expected_version: int | None = None
) -> Iterator[Step]:
    with transaction.atomic():
        locked = _lock_case(_pk(case))
        if expected_version is not None and locked.version != expected_version:
            raise InvalidTransition("该案件刚刚已被他人处理，请刷新页面查看最新状态后再操作", code="stale")
        check_allowed(actor, locked, action)
        before = _column_values(locked)
        step = Step(case=locked, at=at or timezone.now(), from_state=locked.state)
        yield step
        target = TRANSITIONS[action].target
        if target:
            locked.state = target
        locked.version += 1
        append_event(locked, actor, action, step.from_state, step.payload, step.at)
        changed = [name for name, value in _column_values(locked).items() if before[name] != value]
        locked.save(update_fields=[*changed, "updated_at"])


_LOCK_SQL: dict[str, str] = {}


def _lock_case(pk: int) -> Case:
    """SELECT … FOR UPDATE of one case, compiled once per database: every verb starts here,
    and building the query for the wide case row anew each time was the verbs' largest cost."""
    alias = Case.objects.db
    sql = _LOCK_SQL.get(alias)
    if sql is None:
        query = Case.objects.select_for_update().filter(pk=0).order_by().query
        sql, _params = query.get_compiler(alias).as_sql()
        _LOCK_SQL[alias] = sql
    found = list(Case.objects.raw(sql, [pk]))
    if not found:
        raise Case.DoesNotExist(f"case {pk} does not exist")
    return found[0]


def _column_values(case: Case) -> dict[str, Any]:
    return {field.name: getattr(case, field.attname) for field in Case._meta.concrete_fields if not field.primary_key}


def append_event(case: Case, actor, action: str, from_state: str, payload: dict, at: datetime) -> CaseEvent:
    """Append to the case's hash chain. The caller holds the case row lock and saves the case."""
    event = _chained_event(case, actor, action, from_state, payload, at)
    event.save()
    return event


def _chained_event(case: Case, actor, action: str, from_state: str, payload: dict, at: datetime) -> CaseEvent:
    """The case's next event, hashed onto its chain (not saved); the case's counters move on to it."""
    event = CaseEvent(
        case=case,
        seq=case.event_count + 1,
        created_at=at,
        actor=actor,
        actor_label=actor.get_username() if actor else "system",
        action=action,
        from_state=from_state,
        to_state=case.state,
        payload=payload,
        prev_hash=case.last_event_hash or GENESIS,
    )
    event.hash = link_hash(event.prev_hash, event.chain_record())
    case.event_count = event.seq
    case.last_event_hash = event.hash
    return event


def record_side_event(case: Case | int, actor, action: str, payload: dict, *, at: datetime | None = None) -> Case:
    """For apps above cases (approvals, dispatch, feedback): log a side record on the case's chain.
    A 不满意 rating also stamps the case's `unsatisfied_at`."""
    with _acting(case, actor, action, at=at) as step:
        step.payload = payload
        if action == "rate" and is_unsatisfied_score(payload.get("score")):
            step.case.unsatisfied_at = step.at
    return step.case


# --- Registration -----------------------------------------------------------


# Checked on every registration (ChoicesType.values builds a new list on each access).
_CHANNELS, _URGENCIES = frozenset(Channel.values), frozenset(Urgency.values)
_NATURES, _REQUEST_TYPES = frozenset(Nature.values), frozenset(RequestType.values)


def validate_new_case(data: NewCase) -> None:
    """DomainError listing what is wrong with a new case (register_case checks it too)."""
    errors = []
    if data.channel not in _CHANNELS:
        errors.append("来源渠道无效")
    if not (data.title or "").strip():
        errors.append("请填写标题")
    if not (data.content or "").strip():
        errors.append("请填写诉求内容")
    if data.urgency not in _URGENCIES:
        errors.append("紧急程度无效")
    if data.nature not in _NATURES or data.request_type not in _REQUEST_TYPES:
        errors.append("信访性质或诉求类型无效")
    if data.group_size < 1:
        errors.append("涉及人数至少为1")
    if data.category is not None and (data.category.parent_id is None or not data.category.active):
        errors.append("请选择有效的二级分类")
    if not data.is_anonymous and not any(p.name.strip() for p in data.parties):
        errors.append("请填写信访人姓名，或选择匿名")
    if errors:
        raise DomainError("；".join(errors), code="invalid_case")


def register_case(data: NewCase, actor, *, at: datetime | None = None) -> Case:
    """登记: create a case in `submitted`, with its parties and attachments, and the first event."""
    validate_new_case(data)
    checked = check_uploads(data.attachments)  # every file is checked before anything is written
    at = at or timezone.now()
    # No savepoint of its own: a failure here is not one a caller recovers from inside its transaction.
    # Inside gathered_inserts on PostgreSQL no transaction at all: the case goes in as the block's one statement.
    with atomic_writes():
        reference, case_id = data.number or numbering.next_reference_and_id(at)
        case = Case(
            pk=case_id,
            reference=reference,
            query_code=f"{secrets.randbelow(10**6):06d}",
            channel=data.channel,
            nature=data.nature,
            request_type=data.request_type,
            category=data.category,
            title=data.title.strip()[:120],
            content=data.content.strip(),
            location_unit=data.location_unit,
            location_path=data.location_unit.path,
            address=data.address,
            latitude=data.latitude,
            longitude=data.longitude,
            urgency=data.urgency,
            group_size=data.group_size,
            is_anonymous=data.is_anonymous,
            submitted_by=actor if actor is not None else None,
            citizen=data.citizen or (actor if actor is not None and actor.is_citizen else None),
            submitted_at=at,
        )
        case.accept_due, case.due_provisional = _due(case, SlaPolicy.Stage.ACCEPT, at)
        payload = {"channel": data.channel, "attachments": len(checked), **data.triage}
        if case_id is None:  # SQLite: the INSERT draws the id, which the first event's hash covers
            case.save()
        event = _chained_event(case, actor, "register", "", payload, at)
        parties = [_new_party(case, party) for party in (data.parties if not data.is_anonymous else [])]
        attachments = [new_attachment(case, upload, actor) for upload in checked]
        rows = [*parties, event, *attachments]
        if case_id is None:
            case.save(update_fields=["event_count", "last_event_hash"])
        else:  # the case goes in once, with its event counters, parties, first event and attachments
            rows.insert(0, case)
        insert_together(rows, effect=partial(write_files, attachments, checked) if attachments else None)
        notifications.case_registered(case, parties[0] if parties else None)
    return case


def _new_party(case: Case, data: PartyInput) -> Party:
    party = Party(case=case, name=data.name.strip()[:60], address=data.address.strip()[:200])
    if data.account is not None and not data.phone:
        party.phone_encrypted, party.phone_hash = data.account.phone_encrypted, data.account.phone_hash
    else:
        party.phone = data.phone
    party.id_number = data.id_number
    return party


def _due(case: Case, stage: str, start: datetime) -> tuple[datetime, bool]:
    deadline = due_for(case, stage, start)
    return deadline.due, deadline.provisional


# --- Centre verbs -------------------------------------------------------------


def accept_case(
    case: Case | int,
    actor,
    *,
    category: Category | None = None,
    urgency: str | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """受理: the handling clock starts now (60 days at most)."""
    with _acting(case, actor, "accept", at=at, expected_version=expected_version) as step:
        c = step.case
        if category is not None:
            if category.parent_id is None:
                raise DomainError("请选择二级分类")
            c.category = category
        if urgency:
            if urgency not in Urgency.values:
                raise DomainError("紧急程度无效")
            c.urgency = urgency
        if c.category is None:
            raise DomainError("受理前请先确定诉求分类")
        c.accepted_at = step.at
        c.handle_due, c.due_provisional = _due(c, SlaPolicy.Stage.HANDLE, step.at)
        c.handle_due_original = c.handle_due
        step.payload = {"category": c.category_id, "urgency": c.urgency, "handle_due": c.handle_due.isoformat()}
    return step.case


def decline_case(
    case: Case | int, actor, *, reason: str, at: datetime | None = None, expected_version: int | None = None
) -> Case:
    """不予受理: terminal, with a written reason the petitioner is told."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("不予受理须填写书面理由")
    with _acting(case, actor, "decline", at=at, expected_version=expected_version) as step:
        step.case.decline_reason = reason
        step.case.closed_at = step.at
        step.payload = {"reason": reason}
    notifications.case_declined(step.case)
    return step.case


def merge_case(
    case: Case | int,
    actor,
    *,
    into: Case | int,
    note: str = "",
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """合并: this case is folded into an open case; both references stay resolvable."""
    target = Case.objects.get(pk=_pk(into))
    if target.pk == _pk(case):
        raise DomainError("不能将案件合并到其自身")
    if not target.is_open:
        raise DomainError(f"目标案件 {target.reference} 已结束，不能并入")
    with _acting(case, actor, "merge", at=at, expected_version=expected_version) as step:
        step.case.merged_into = target
        step.case.closed_at = step.at
        Party.objects.filter(case=step.case).update(case=target)
        step.payload = {"into": target.reference, "note": note}
    with _acting(target, actor, "add_note", at=at) as target_step:
        target_step.payload = {"text": f"已并入案件 {step.case.reference}", "merged_from": step.case.reference}
    return step.case


def _validate_units(lead_unit: OrgUnit, co_units: Sequence[OrgUnit], case: Case) -> list[OrgUnit]:
    if lead_unit.kind not in HANDLING_KINDS or not lead_unit.active:
        raise DomainError(f"“{lead_unit.name}”不能作为承办单位")
    county_path = _county_path(case)
    for unit in (lead_unit, *co_units):
        if not unit.path.startswith(county_path):
            raise DomainError(f"“{unit.name}”不在本县范围内")
    co = [u for u in {u.pk: u for u in co_units}.values() if u.pk != lead_unit.pk]
    for unit in co:
        if unit.kind not in HANDLING_KINDS or not unit.active:
            raise DomainError(f"“{unit.name}”不能作为协办单位")
    return co


def _county_path(case: Case) -> str:
    """The path of the county the case is in (one query, by the ancestors of its location)."""
    county = (
        OrgUnit.objects.filter(path__in=ancestor_paths(case.location_path), kind=UnitKind.COUNTY)
        .values_list("path", flat=True)
        .first()
    )
    return county or case.location_path


def _set_units(step: Step, lead_unit: OrgUnit, co_units: list[OrgUnit], deadline: datetime | None) -> None:
    c = step.case
    if deadline is not None:
        if deadline <= step.at:
            raise DomainError("交办期限须晚于当前时间")
        if c.handle_due and deadline > c.handle_due:
            raise DomainError("交办期限不能晚于法定办理期限")
        c.handle_due = deadline
    CaseUnit.objects.filter(case=c, active=True).update(active=False)
    CaseUnit.objects.bulk_create(
        [CaseUnit(case=c, unit=lead_unit, unit_path=lead_unit.path, role=CaseUnit.Role.LEAD, assigned_at=step.at)]
        + [CaseUnit(case=c, unit=u, unit_path=u.path, role=CaseUnit.Role.CO, assigned_at=step.at) for u in co_units]
    )
    c.lead_unit, c.lead_path, c.assigned_at, c.signed_at = lead_unit, lead_unit.path, step.at, None
    c.nearly_due_notified_at = c.overdue_notified_at = None
    step.payload = {
        "lead_unit": lead_unit.code,
        "co_units": [u.code for u in co_units],
        "handle_due": c.handle_due.isoformat() if c.handle_due else None,
    }


def assign_case(
    case: Case | int,
    actor,
    *,
    lead_unit: OrgUnit,
    co_units: Sequence[OrgUnit] = (),
    deadline: datetime | None = None,
    note: str = "",
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """交办: one lead unit, optional co-units, the handling deadline."""
    return _assign("assign", case, actor, lead_unit, co_units, deadline, note, at, expected_version)


def reassign_case(
    case: Case | int,
    actor,
    *,
    lead_unit: OrgUnit,
    co_units: Sequence[OrgUnit] = (),
    deadline: datetime | None = None,
    note: str = "",
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """重新交办: after a return, or to correct a wrong assignment."""
    return _assign("reassign", case, actor, lead_unit, co_units, deadline, note, at, expected_version)


def _assign(action, case, actor, lead_unit, co_units, deadline, note, at, expected_version) -> Case:
    with _acting(case, actor, action, at=at, expected_version=expected_version) as step:
        previous = step.case.lead_unit
        co = _validate_units(lead_unit, co_units, step.case)
        _set_units(step, lead_unit, co, deadline)
        step.payload["note"] = note
        if action == "reassign":
            step.payload["previous_lead"] = previous.code if previous else None
    notifications.case_assigned(step.case, lead_unit, co)
    return step.case


# --- Unit verbs -----------------------------------------------------------------


def sign_for_case(case: Case | int, actor, *, at: datetime | None = None, expected_version: int | None = None) -> Case:
    """签收: the lead unit takes the case on."""
    with _acting(case, actor, "sign_for", at=at, expected_version=expected_version) as step:
        step.case.signed_at = step.at
        CaseUnit.objects.filter(case=step.case, active=True, role=CaseUnit.Role.LEAD).update(signed_at=step.at)
    return step.case


def return_case(
    case: Case | int, actor, *, reason: str, at: datetime | None = None, expected_version: int | None = None
) -> Case:
    """退回: the lead unit objects to a wrong assignment within 5 working days."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("退回须说明理由")
    with _acting(case, actor, "return", at=at, expected_version=expected_version) as step:
        c = step.case
        calendar = load_calendar()
        day, counted = local_date(c.assigned_at), 0
        while counted < RETURN_WINDOW_WORKING_DAYS:
            day += timedelta(days=1)
            counted += calendar.is_working_day(day)
        if local_date(step.at) > day:
            raise DomainError("已超过交办后5个工作日的退回期限，请通过申请审批提出改派")
        step.payload = {"reason": reason, "unit": c.lead_unit.code if c.lead_unit else None}
    notifications.case_returned(step.case, reason)
    return step.case


def reply_case(
    case: Case | int,
    actor,
    *,
    outcome: str,
    reply_text: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """答复: the outcome and the reply text the petitioner will read."""
    reply_text = (reply_text or "").strip()
    if outcome not in Outcome.values:
        raise DomainError("请选择办理结果")
    if len(reply_text) < 5:
        raise DomainError("答复意见不少于5个字")
    with _acting(case, actor, "reply", at=at, expected_version=expected_version) as step:
        step.case.outcome, step.case.reply_text, step.case.replied_at = outcome, reply_text, step.at
        step.payload = {"outcome": outcome, "reply": reply_text}
    notifications.case_replied(step.case)
    return step.case


def add_mediation_record(
    case: Case | int,
    actor,
    *,
    summary: str,
    participants: str = "",
    result: str = "",
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """调解记录: who met, what was agreed."""
    summary = (summary or "").strip()
    if not summary:
        raise DomainError("请填写调解经过")
    with _acting(case, actor, "add_mediation_record", at=at, expected_version=expected_version) as step:
        step.payload = {"summary": summary, "participants": participants.strip(), "result": result.strip()}
    return step.case


# --- Review and closure ---------------------------------------------------------


def close_case(
    case: Case | int, actor, *, note: str = "", at: datetime | None = None, expected_version: int | None = None
) -> Case:
    """办结: the centre accepts the reply."""
    with _acting(case, actor, "close", at=at, expected_version=expected_version) as step:
        step.case.closed_at = step.at
        step.payload = {"note": note, "on_time": bool(step.case.handle_due and step.at <= step.case.handle_due)}
    notifications.case_closed(step.case)
    return step.case


def send_back_case(
    case: Case | int, actor, *, reason: str, at: datetime | None = None, expected_version: int | None = None
) -> Case:
    """退回重办: the reply is not good enough; back to the unit."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请说明退回重办的理由")
    with _acting(case, actor, "send_back", at=at, expected_version=expected_version) as step:
        step.case.replied_at = None
        step.payload = {"reason": reason}
    notifications.case_sent_back(step.case, reason)
    return step.case


def reopen_case(
    case: Case | int, actor, *, reason: str, at: datetime | None = None, expected_version: int | None = None
) -> Case:
    """重新办理: after an unsatisfied rating or a review; the lead unit handles it again."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请说明重新办理的原因")
    with _acting(case, actor, "reopen", at=at, expected_version=expected_version) as step:
        c = step.case
        c.reopen_count += 1
        c.closed_at = c.replied_at = None
        c.handle_due, c.due_provisional = _due(c, SlaPolicy.Stage.HANDLE, step.at)
        c.nearly_due_notified_at = c.overdue_notified_at = None
        step.payload = {"reason": reason, "handle_due": c.handle_due.isoformat()}
    if step.case.lead_unit:
        notifications.case_assigned(step.case, step.case.lead_unit, [])
    return step.case


def add_note(
    case: Case | int, actor, *, text: str, at: datetime | None = None, expected_version: int | None = None
) -> Case:
    text = (text or "").strip()
    if not text:
        raise DomainError("备注内容不能为空")
    with _acting(case, actor, "add_note", at=at, expected_version=expected_version) as step:
        step.payload = {"text": text[:2000]}
    return step.case


def add_information(
    case: Case | int, actor, *, text: str, attachments: Sequence[UploadedFile] = (), at: datetime | None = None
) -> Case:
    """补充材料: the petitioner (or their informant) adds text or files."""
    text = (text or "").strip()
    if not text and not attachments:
        raise DomainError("请填写补充内容或上传材料")
    checked = check_uploads(attachments)
    with _acting(case, actor, "add_information", at=at) as step:
        stored = [store_attachment(step.case, upload, actor) for upload in checked]
        step.payload = {"text": text[:2000], "attachments": [a.pk for a in stored]}
    return step.case


def add_co_unit(
    case: Case | int,
    actor,
    *,
    unit: OrgUnit,
    note: str = "",
    approval_id: int | None = None,
    at: datetime | None = None,
) -> Case:
    """A unit joins as co-unit (e.g. the hard-case room after an escalation); the lead keeps the case."""
    with _acting(case, actor, "add_co_unit", at=at) as step:
        c = step.case
        _validate_units(unit, [], c)
        if CaseUnit.objects.filter(case=c, unit=unit, active=True).exists():
            raise DomainError(f"“{unit.name}”已参与办理该案件")
        CaseUnit.objects.create(case=c, unit=unit, unit_path=unit.path, role=CaseUnit.Role.CO, assigned_at=step.at)
        step.payload = {"unit": unit.code, "note": note, "approval": approval_id}
    notifications.case_assigned(step.case, unit, [])
    return step.case


def extend_deadline(
    case: Case | int, actor, *, days: int, reason: str, approval_id: int | None = None, at: datetime | None = None
) -> Case:
    """Apply an approved extension: the due time moves, the original is kept."""
    with _acting(case, actor, "extend", at=at) as step:
        c = step.case
        deadline = extended_due(c, days, step.at)
        if c.handle_due and deadline.due <= c.handle_due:
            raise DomainError(
                "按审批时间重新计算的办理期限不晚于现行期限，无需延期；请在临近期限时再申请",
                code="extension_not_needed",
            )
        c.handle_due_original = c.handle_due_original or c.handle_due
        c.handle_due, c.due_provisional = deadline.due, deadline.provisional
        c.extension_days += days
        c.nearly_due_notified_at = c.overdue_notified_at = None
        step.payload = {"days": days, "reason": reason, "approval": approval_id, "handle_due": c.handle_due.isoformat()}
    return step.case


def recompute_provisional_deadlines(years: Sequence[int]) -> int:
    """After a year's calendar is entered, recount every open case whose due date was provisional."""
    changed = 0
    for case_id in Case.objects.filter(due_provisional=True, state__in=OPEN_STATES).values_list("pk", flat=True):
        with transaction.atomic():
            c = Case.objects.select_for_update().get(pk=case_id)
            if not c.due_provisional:
                continue
            before = (c.accept_due, c.handle_due)
            if c.state == CaseState.SUBMITTED:
                c.accept_due, c.due_provisional = _due(c, SlaPolicy.Stage.ACCEPT, c.submitted_at)
            elif c.accepted_at and c.handle_due == c.handle_due_original:
                c.handle_due, c.due_provisional = _due(c, SlaPolicy.Stage.HANDLE, c.accepted_at)
                c.handle_due_original = c.handle_due
            else:
                c.due_provisional = False
            if (c.accept_due, c.handle_due) != before:
                append_event(
                    c,
                    None,
                    "deadline_recomputed",
                    c.state,
                    {
                        "years": list(years),
                        "accept_due": c.accept_due and c.accept_due.isoformat(),
                        "handle_due": c.handle_due and c.handle_due.isoformat(),
                    },
                    timezone.now(),
                )
                changed += 1
            c.save()
    return changed
