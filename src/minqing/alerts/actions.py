"""Business verbs of early warning: raise (idempotent, merging), acknowledge, dispatch, close, dismiss.

Lifecycle (anything else is refused, and a refusal changes nothing):

| action      | from                          | to           | reason   |
|-------------|-------------------------------|--------------|----------|
| acknowledge | new                           | acknowledged |          |
| dispatch    | new, acknowledged             | dispatched   | a case or a 督办 |
| close       | acknowledged, dispatched      | closed       | required |
| dismiss     | new, acknowledged             | dismissed    | required |

Only county managers (over the alert's area) and the unit managers of the alert's township act.
Every change locks the alert row and appends one `AlertEvent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.alerts.models import (
    AGGREGATE_KINDS,
    LEVEL_RANK,
    SEVERITY_RANK,
    Alert,
    AlertEvent,
    AlertKey,
    AlertState,
    Severity,
)
from minqing.cases.lifecycle import HANDLING, refusal
from minqing.cases.models import Case, Category
from minqing.cases.notifications import county_staff, unit_staff
from minqing.cases.selectors import cases_visible_to
from minqing.core.errors import DomainError, InvalidTransition, NotPermitted
from minqing.orgs.models import OrgUnit, UnitKind, ancestor_paths

S = AlertState
DEFAULT_REPLY_TIME = timedelta(days=3)  # a 督办 issued from an alert without a reply time
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "acknowledge": ((S.NEW,), S.ACKNOWLEDGED, "确认"),
    "dispatch": ((S.NEW, S.ACKNOWLEDGED), S.DISPATCHED, "处置"),
    "close": ((S.ACKNOWLEDGED, S.DISPATCHED), S.CLOSED, "关闭"),
    "dismiss": ((S.NEW, S.ACKNOWLEDGED), S.DISMISSED, "排除"),
}


@dataclass
class AlertSignal:
    """One firing of a rule, detector or person-level signal, ready to become (or join) an alert."""

    kind: str
    detector: str
    level: str
    area: OrgUnit
    key: str
    title: str
    window_start: date
    window_end: date
    observed: float
    severity: str = Severity.MEDIUM
    category: Category | None = None
    expected: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    case_ids: Sequence[int] = ()
    series: dict = field(default_factory=dict)
    rule_id: int | None = None
    subject: str = ""


# --- Who may act -----------------------------------------------------------------------------------


def township_of(unit: OrgUnit) -> OrgUnit | None:
    if unit.kind == UnitKind.TOWNSHIP:
        return unit
    if unit.kind == UnitKind.VILLAGE:
        return unit.parent
    return None


def may_act(user, alert: Alert) -> bool:
    """County managers over the alert's area, and the unit managers of its township."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    remit = remit_for(user)
    township = township_of(alert.area)
    for path, role in remit.roles_by_unit:
        if role == Role.COUNTY_MANAGER and alert.area.path.startswith(path):
            return True
        if role == Role.UNIT_MANAGER and township is not None and township.path.startswith(path):
            return True
    return False


def allowed_actions(user, alert: Alert) -> list[str]:
    if not may_act(user, alert):
        return []
    return [name for name, (sources, _to, _label) in TRANSITIONS.items() if alert.state in sources]


def _lock(alert: Alert | int) -> Alert:
    pk = alert.pk if isinstance(alert, Alert) else int(alert)
    return Alert.objects.select_for_update(of=("self",)).select_related("area", "area__parent").get(pk=pk)


def _transition(alert: Alert | int, actor, action: str, *, reason: str = "", at: datetime | None = None, **payload):
    """Lock, check actor and state, then let the caller fill in; append the event and save."""
    sources, target, label = TRANSITIONS[action]
    locked = _lock(alert)
    if not may_act(actor, locked):
        raise NotPermitted(f"您无权{label}该预警")
    if locked.state not in sources:
        raise InvalidTransition(f"预警当前状态为“{locked.get_state_display()}”，不能{label}，请刷新页面")
    before = locked.state
    locked.state = target
    if reason:
        locked.reason = reason
    locked.save()
    AlertEvent.objects.create(
        alert=locked,
        actor=actor,
        action=action,
        from_state=before,
        to_state=target,
        reason=reason,
        payload=payload,
        at=at or timezone.now(),
    )
    return locked


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(f"{what}预警须说明理由", code="reason_required")
    return reason[:2000]


# --- Lifecycle verbs ---------------------------------------------------------------------------------


def acknowledge(alert: Alert | int, actor, *, at: datetime | None = None) -> Alert:
    """确认: someone responsible has seen it."""
    with transaction.atomic():
        return _transition(alert, actor, "acknowledge", at=at)


def close(alert: Alert | int, actor, reason: str, *, at: datetime | None = None) -> Alert:
    """关闭: handled; the reason says how."""
    reason = _reason(reason, "关闭")
    with transaction.atomic():
        return _transition(alert, actor, "close", reason=reason, at=at)


def dismiss(alert: Alert | int, actor, reason: str, *, at: datetime | None = None) -> Alert:
    """排除: a false alarm or nothing to do; the reason says why."""
    reason = _reason(reason, "排除")
    with transaction.atomic():
        return _transition(alert, actor, "dismiss", reason=reason, at=at)


def dispatch(
    alert: Alert | int,
    actor,
    *,
    case: Case | int | None = None,
    supervision_note: str | None = None,
    reply_due: datetime | None = None,
    at: datetime | None = None,
) -> Alert:
    """处置: link the alert to a case, or issue a 督办 on a case (given, or the newest contributing
    case still being handled) and link both."""
    note = (supervision_note or "").strip()
    if case is None and not note:
        raise DomainError("请选择关联案件，或填写督办意见", code="dispatch_target_required")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock(alert)
        if not may_act(actor, locked):
            raise NotPermitted("您无权处置该预警")
        target = _dispatch_case(locked, actor, case, bool(note))
        order = None
        if note:
            from minqing.dispatch.actions import issue_supervision

            order = issue_supervision(target, actor, note, reply_due or at + DEFAULT_REPLY_TIME, at=at)
        elif refusal(actor, target, "add_note") is None:
            from minqing.cases.actions import record_side_event

            record_side_event(
                target, actor, "add_note", {"text": f"已关联预警：{locked.title}", "alert": locked.pk}, at=at
            )
        locked = _transition(locked, actor, "dispatch", at=at, case=target.pk, supervision=order.pk if order else None)
        locked.linked_case, locked.linked_supervision = target, order
        locked.save(update_fields=["linked_case", "linked_supervision", "updated_at"])
    return locked


def _dispatch_case(alert: Alert, actor, case: Case | int | None, supervise: bool) -> Case:
    visible = cases_visible_to(actor)
    if case is not None:
        pk = case.pk if isinstance(case, Case) else int(case)
        found = visible.filter(pk=pk).first()
        if found is None:
            raise NotPermitted("该案件不在您的权限范围内")
        return found
    candidates = visible.filter(pk__in=alert.cases.values("pk"), state__in=HANDLING).order_by("-submitted_at")
    found = candidates.first() if supervise else None
    if found is None:
        raise DomainError("没有可督办的在办相关案件，请指定案件", code="no_case_to_supervise")
    return found


# --- Raising: idempotent, merging across detectors and levels ---------------------------------


def raise_alert(signal: AlertSignal, *, at: datetime | None = None) -> tuple[Alert, str]:
    """Create the alert for `signal`, or fold it into the alert it belongs to.

    Outcomes: "created"; "merged" (joined an open alert and changed it); "unchanged" (seen before);
    "absorbed" (a closed or dismissed alert already covered these cases). A signal joins an alert when
    its dedupe key is already known, or when it is about the same thing: for counts in an area, the
    same category (or its parent or child) in the same area or one above or below it, with
    overlapping windows; for person-level kinds, the same kind and subject with overlapping windows.
    """
    at = at or timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _raise(signal, at)
        except IntegrityError:  # another scan created the same key first: look again
            continue
    raise DomainError("预警写入冲突，请重试", code="alert_conflict")


def _raise(signal: AlertSignal, at: datetime) -> tuple[Alert, str]:
    known = AlertKey.objects.filter(key=signal.key).values_list("alert_id", flat=True).first()
    if known is not None:
        alert = _lock(known)
        return alert, "merged" if alert.is_open and _merge(alert, signal, at) else "unchanged"
    related = _related(signal)
    if related is not None:
        new_cases = set(signal.case_ids) - set(related.cases.values_list("pk", flat=True))
        if related.is_open or not new_cases:
            AlertKey.objects.create(key=signal.key, alert=related)
            if not related.is_open:
                return related, "absorbed"
            _merge(related, signal, at)
            return related, "merged"
    return _create(signal, at), "created"


def _related(signal: AlertSignal) -> Alert | None:
    overlap = Q(window_start__lte=signal.window_end, window_end__gte=signal.window_start)
    if signal.kind in AGGREGATE_KINDS:
        query = Q(kind__in=AGGREGATE_KINDS) & _category_family(signal.category) & _area_family(signal.area)
    else:
        query = Q(kind=signal.kind, subject=signal.subject or signal.key)
    found = Alert.objects.filter(query & overlap).order_by("-window_end", "-id").values_list("pk", "state")
    rows = list(found[:20])
    open_rows = [pk for pk, state in rows if state in (S.NEW, S.ACKNOWLEDGED, S.DISPATCHED)]
    pick = open_rows[0] if open_rows else (rows[0][0] if rows else None)
    return _lock(pick) if pick is not None else None


def _category_family(category: Category | None) -> Q:
    if category is None:
        return Q(category__isnull=True)
    ids = {category.pk, *Category.objects.filter(parent_id=category.pk).values_list("pk", flat=True)}
    if category.parent_id:
        ids.add(category.parent_id)
    return Q(category_id__in=ids)


def _area_family(area: OrgUnit) -> Q:
    return Q(area__path__startswith=area.path) | Q(area__path__in=ancestor_paths(area.path))


def _merge(alert: Alert, signal: AlertSignal, at: datetime) -> bool:
    """Fold `signal` into `alert`; True when anything changed (then one "merge" event is written)."""
    changed: dict = {}
    detectors = list(alert.detectors or [])
    if signal.detector not in detectors:
        detectors.append(signal.detector)
        changed["detector"] = signal.detector
    known_cases = set(alert.cases.values_list("pk", flat=True))
    new_cases = [pk for pk in signal.case_ids if pk not in known_cases]
    if new_cases:
        alert.cases.add(*new_cases)
        changed["cases"] = len(new_cases)
    higher = LEVEL_RANK[signal.level] > LEVEL_RANK[alert.level]
    same_level_stronger = signal.level == alert.level and SEVERITY_RANK[signal.severity] > SEVERITY_RANK[alert.severity]
    if higher or same_level_stronger:
        _take_figures(alert, signal)
        changed["figures_from"] = signal.detector
    if SEVERITY_RANK[signal.severity] > SEVERITY_RANK[alert.severity]:
        changed["severity"] = [alert.severity, signal.severity]
        alert.severity = signal.severity
    if signal.p_value is not None and (alert.p_value is None or signal.p_value < alert.p_value):
        alert.p_value = signal.p_value
        changed.setdefault("p_value", signal.p_value)
    if signal.window_start < alert.window_start or signal.window_end > alert.window_end:
        alert.window_start = min(alert.window_start, signal.window_start)
        alert.window_end = max(alert.window_end, signal.window_end)
        changed["window"] = [alert.window_start.isoformat(), alert.window_end.isoformat()]
    if not changed:
        return False
    alert.detectors = detectors
    alert.save()
    AlertEvent.objects.create(
        alert=alert, action="merge", from_state=alert.state, to_state=alert.state, payload=changed, at=at
    )
    if changed.get("severity", [None, None])[1] == Severity.HIGH:
        _push(alert, escalated=True)
    return True


def _take_figures(alert: Alert, signal: AlertSignal) -> None:
    alert.level, alert.area, alert.title = signal.level, signal.area, signal.title[:200]
    alert.observed, alert.expected, alert.threshold = signal.observed, signal.expected, signal.threshold
    alert.series = signal.series
    if signal.category is not None and alert.category_id and signal.category.parent_id is None:
        alert.category = signal.category  # the broader category of the two


def _create(signal: AlertSignal, at: datetime) -> Alert:
    alert = Alert.objects.create(
        kind=signal.kind,
        detector=signal.detector,
        detectors=[signal.detector],
        level=signal.level,
        area=signal.area,
        category=signal.category,
        rule_id=signal.rule_id,
        subject=(signal.subject or signal.key)[:80],
        title=signal.title[:200],
        window_start=signal.window_start,
        window_end=signal.window_end,
        observed=signal.observed,
        expected=signal.expected,
        threshold=signal.threshold,
        p_value=signal.p_value,
        severity=signal.severity,
        dedupe_key=signal.key,
        series=signal.series,
        created_at=at,
    )
    AlertKey.objects.create(key=signal.key, alert=alert)
    if signal.case_ids:
        alert.cases.add(*signal.case_ids)
    AlertEvent.objects.create(
        alert=alert, action="raise", to_state=alert.state, payload={"detector": signal.detector}, at=at
    )
    _push(alert)
    return alert


# --- Push ---------------------------------------------------------------------------------------------


def recipients(alert: Alert) -> list:
    """County managers over the alert's area and the unit managers of its township."""
    users = county_staff(SimpleNamespace(location_path=alert.area.path), [Role.COUNTY_MANAGER])
    township = township_of(alert.area)
    if township is not None:
        users += unit_staff([township], [Role.UNIT_MANAGER])
    return users


def _push(alert: Alert, *, escalated: bool = False) -> None:
    from minqing.notify.actions import Message, queue

    prefix = "预警升级" if escalated else f"{alert.get_severity_display()}预警"
    message = Message(
        kind="alert",
        title=f"【{prefix}】{alert.title}"[:200],
        body=f"{alert.get_kind_display()}，{alert.window_start:%m月%d日}至{alert.window_end:%m月%d日}",
        link=reverse("alerts:detail", args=[alert.pk]),
    )
    key = f"alert:{alert.pk}:high" if escalated else f"alert:{alert.pk}"
    queue(message, recipients(alert), key=key, sms=alert.severity == Severity.HIGH)
