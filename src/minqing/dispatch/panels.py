"""The urging/supervision panel on the case page."""

from __future__ import annotations

from django.template.loader import render_to_string

from minqing.cases.lifecycle import TRANSITIONS
from minqing.dispatch.models import SupervisionOrder


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
