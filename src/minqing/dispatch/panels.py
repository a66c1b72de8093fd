"""Case page panels: urging/supervision, and suggestions with related/duplicate cases."""

from __future__ import annotations

from django.db.models import Q
from django.template.loader import render_to_string

from minqing.cases.lifecycle import TRANSITIONS, Actor
from minqing.cases.models import CaseState
from minqing.dispatch.acceptance import record_suggestion
from minqing.dispatch.models import CaseLink, SupervisionOrder
from minqing.dispatch.related import find_related
from minqing.dispatch.suggest import suggest
from minqing.orgs.models import UnitKind

RELATED_ON_PAGE = 5


def _may(action: str, case, kinds: frozenset[str]) -> bool:
    transition = TRANSITIONS[action]
    return bool(transition.actors & kinds) and case.state in transition.sources


def case_panel(user, case, kinds: frozenset[str]) -> str:
    orders = list(
        SupervisionOrder.objects.filter(case=case)
        .exclude(state=SupervisionOrder.State.CLOSED)
        .select_related("issued_by")
    )
    may_urge, may_supervise = _may("urge", case, kinds), _may("supervise", case, kinds)
    if not (orders or may_urge or may_supervise):
        return ""
    return render_to_string(
        "dispatch/_case_panel.html",
        {"case": case, "orders": orders, "may_urge": may_urge, "may_supervise": may_supervise},
    )


SUGGESTION_STATES = (CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.RETURNED, CaseState.REOPENED)


def _suggestions_for(case) -> dict | None:
    """What the dispatcher is offered on the case page: recorded for a new case, live later on."""
    if case.state == CaseState.SUBMITTED:
        record = record_suggestion(case)
        return record.suggested if record else None
    if case.state in SUGGESTION_STATES:
        village = case.location_unit if case.location_unit.kind == UnitKind.VILLAGE else None
        township = village.parent if village else case.location_unit
        return suggest(case.title, case.content, township=township, village=village).as_dict()
    return None


def related_panel(user, case, kinds: frozenset[str]) -> str:
    """Suggestions and related/duplicate open cases, with 关联 and 合并 for the centre."""
    if not case.is_open or not (kinds & {Actor.CENTRE, Actor.COUNTY_MANAGER}):
        return ""
    centre = Actor.CENTRE in kinds
    related = find_related(user, case, limit=RELATED_ON_PAGE)
    linked = _linked_ids(case)
    suggestions = _suggestions_for(case) if centre else None
    if not (related or suggestions):
        return ""
    return render_to_string(
        "dispatch/_related_panel.html",
        {
            "case": case,
            "related": [{"item": r, "linked": r.case.pk in linked} for r in related],
            "suggestions": suggestions,
            "may_link": centre,
            "may_merge": centre and case.state in TRANSITIONS["merge"].sources,
        },
    )


def _linked_ids(case) -> set[int]:
    pairs = CaseLink.objects.filter(Q(case_a=case) | Q(case_b=case)).values_list("case_a_id", "case_b_id")
    return {a if b == case.pk else b for a, b in pairs}
