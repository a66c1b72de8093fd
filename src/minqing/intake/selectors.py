"""Read side of the citizen and informant pages: scoped case lists, plain-language progress, counts.

Every list starts from `cases.selectors.cases_visible_to`. The one exception is
`case_for_query_code`: there the reference *and* its query code are the credential
(the petitioner may not have an account at all), and it shows only the public status.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.models import Membership, Role
from minqing.accounts.scoping import remit_for
from minqing.cases.lifecycle import PUBLIC_EVENT_LABELS
from minqing.cases.models import Case, CaseEvent, CaseState, Category, Outcome
from minqing.cases.selectors import cases_visible_to, resolve_reference
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.orgs.selectors import default_county, townships

SATISFIED_SCORES = ("satisfied", "basically_satisfied")


def short_day(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return _("%(month)s月%(day)s日") % {"month": local.month, "day": local.day}


def progress_text(case: Case) -> str:
    """Where the case stands, in a sentence a villager understands."""
    lead = case.lead_unit.name if case.lead_unit_id else _("承办单位")
    due = short_day(case.handle_due)
    state = case.state
    if state == CaseState.SUBMITTED:
        text = _("已提交，等待县信访矛盾化解中心登记受理")
        if case.accept_due:
            text += _("，%(day)s 前告知是否受理") % {"day": short_day(case.accept_due)}
        return text
    if state == CaseState.ACCEPTED:
        return _("已受理，正在安排承办单位") + (_("，预计 %(day)s 前答复") % {"day": due} if due else "")
    if state == CaseState.ASSIGNED:
        text = _("已受理，正在交由%(unit)s办理") % {"unit": lead}
        return text + (_("，预计 %(day)s 前答复") % {"day": due} if due else "")
    if state == CaseState.IN_PROGRESS:
        text = _("%(unit)s已签收，正在办理") % {"unit": lead}
        return text + (_("，预计 %(day)s 前答复") % {"day": due} if due else "")
    if state == CaseState.RETURNED:
        return _("已受理，正在重新安排承办单位")
    if state == CaseState.REPLIED:
        return _("%(unit)s已答复，县信访矛盾化解中心正在审核答复") % {"unit": lead}
    if state == CaseState.CLOSED:
        return _("已办结，请查看答复并评价")
    if state == CaseState.DECLINED:
        return _("不予受理，理由见下方说明")
    if state == CaseState.MERGED:
        target = case.merged_into.reference if case.merged_into_id else ""
        return _("已与 %(reference)s 合并办理") % {"reference": target}
    if state == CaseState.REOPENED:
        return _("正在重新办理") + (_("，预计 %(day)s 前答复") % {"day": due} if due else "")
    return case.get_state_display()


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str


def public_timeline(case: Case) -> list[TimelineEntry]:
    """The petitioner's view of the log: what happened and when, never who (no staff names, no notes)."""
    public = case.events.filter(action__in=PUBLIC_EVENT_LABELS).order_by("seq")
    events = list(public.only("created_at", "action", "payload"))
    codes = {e.payload.get("lead_unit") for e in events if e.action in ("assign", "reassign")} - {None}
    names = dict(OrgUnit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    entries = []
    for event in events:
        label = str(PUBLIC_EVENT_LABELS[event.action])
        if event.action == "add_information" and event.payload.get("attachments") and not event.payload.get("text"):
            label = _("上传照片或材料")
        if event.action in ("assign", "reassign") and names.get(event.payload.get("lead_unit")):
            label = _("交由%(unit)s办理") % {"unit": names[event.payload["lead_unit"]]}
        entries.append(TimelineEntry(at=event.created_at, label=label))
    return entries


def public_reply(case: Case) -> dict[str, str]:
    """The reply is released once the centre has reviewed and closed the case (as in the API)."""
    if case.state != CaseState.CLOSED or not case.outcome:
        return {}
    return {"outcome": Outcome(case.outcome).label, "text": case.reply_text}


# --- Lists -------------------------------------------------------------------------


def my_cases(user) -> QuerySet[Case]:
    """What the user filed: a citizen's own cases, or an informant's submissions."""
    return (
        cases_visible_to(user)
        .filter(Q(citizen=user) | Q(submitted_by=user))
        .select_related("lead_unit", "location_unit", "merged_into", "category")
        .order_by("-submitted_at", "-id")
    )


def visible_case(user, reference: str) -> Case | None:
    """The case a reference points to for this user (merged cases resolve to the one they joined, if visible)."""
    case = resolve_reference(cases_visible_to(user), reference)
    if case is None:
        return None
    return (
        Case.objects.select_related("lead_unit", "location_unit", "location_unit__parent", "merged_into", "category")
        .filter(pk=case.pk)
        .first()
    )


def own_case(user, reference: str) -> Case | None:
    """Only the case itself, and only for the citizen or informant who filed it (receipts)."""
    return my_cases(user).filter(reference=(reference or "").strip().upper()).first()


def case_for_query_code(reference: str, code: str) -> Case | None:
    """Public lookup: the reference and its query code together are the credential.

    Deliberately not scoped to a user. The code is compared in constant time, and a
    missing reference costs the same comparison, so timing tells nothing.
    """
    case = (
        Case.objects.select_related("lead_unit", "location_unit", "merged_into")
        .filter(reference=(reference or "").strip().upper())
        .first()
    )
    expected = case.query_code if case is not None else "-" * 6
    matches = hmac.compare_digest(expected.encode(), (code or "").strip().encode())
    return case if case is not None and matches else None


# --- Reference data for the pickers ------------------------------------------------------


def category_tree() -> list[dict]:
    rows = list(Category.objects.filter(active=True).order_by("sort_order", "id"))
    children: dict[int, list[dict]] = {}
    for row in rows:
        if row.parent_id:
            children.setdefault(row.parent_id, []).append({"id": row.pk, "name": row.name})
    return [
        {"id": row.pk, "name": row.name, "children": children.get(row.pk, [])}
        for row in rows
        if not row.parent_id and children.get(row.pk)
    ]


def location_tree() -> list[dict]:
    """Townships of the installation's county, each with its villages."""
    county = default_county()
    towns = list(townships(county))
    villages = OrgUnit.objects.filter(parent__in=towns, kind=UnitKind.VILLAGE).active().order_by("sort_order", "code")
    by_town: dict[int, list[dict]] = {}
    for village in villages.only("code", "name", "parent_id"):
        by_town.setdefault(village.parent_id, []).append({"code": village.code, "name": village.name})
    return [{"code": t.code, "name": t.name, "villages": by_town.get(t.pk, [])} for t in towns]


def as_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- Informants -------------------------------------------------------------------------


def is_informant(user) -> bool:
    return bool(user and user.is_authenticated and not user.is_citizen and remit_for(user).has_role(Role.INFORMANT))


def informant_village(user) -> OrgUnit | None:
    """The village the informant serves (the first, if an account serves several)."""
    if not is_informant(user):
        return None
    membership = (
        Membership.objects.filter(user=user, role=Role.INFORMANT, unit__active=True)
        .select_related("unit", "unit__parent")
        .order_by("unit__code")
        .first()
    )
    return membership.unit if membership else None


def informant_places(user) -> list[OrgUnit]:
    """Where an informant may report: their village, or its township."""
    village = informant_village(user)
    if village is None:
        return []
    places = [village]
    if village.kind == UnitKind.VILLAGE and village.parent is not None:
        places.append(village.parent)
    return places


def village_cases(user, village: OrgUnit) -> QuerySet[Case]:
    return (
        cases_visible_to(user)
        .filter(location_path__startswith=village.path)
        .select_related("lead_unit", "location_unit", "merged_into")
        .order_by("-submitted_at", "-id")
    )


@dataclass(frozen=True)
class InformantCounts:
    reports: int
    closed: int
    rated: int
    satisfied: int

    @property
    def satisfaction(self) -> str:
        """Satisfied share of rated reports as a percentage, or '—' when nothing is rated yet."""
        if not self.rated:
            return "—"
        return f"{round(100 * self.satisfied / self.rated)}%"


def informant_counts(user) -> InformantCounts:
    """Reports the informant filed, how many are closed, and how their petitioners rated them.

    Ratings are read from `rate` case events (the latest per case), so this app needs nothing from feedback.
    """
    filed = cases_visible_to(user).filter(submitted_by=user)
    reports = filed.count()
    closed = filed.filter(state=CaseState.CLOSED).count()
    latest: dict[int, str] = {}
    events = CaseEvent.objects.filter(case__in=filed.values("pk"), action="rate").order_by("case_id", "seq")
    for case_id, payload in events.values_list("case_id", "payload"):
        latest[case_id] = str((payload or {}).get("score", ""))
    satisfied = sum(1 for score in latest.values() if score in SATISFIED_SCORES)
    return InformantCounts(reports=reports, closed=closed, rated=len(latest), satisfied=satisfied)
