"""Read side of Open311: the categories as services, and cases as public service requests.

Only public fields leave the system: no petitioner, phone, ID number or the full text.
`description` is the case title with long digit runs (phones, ID numbers) masked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from minqing.cases.models import OPEN_STATES, Case, CaseState, Category
from minqing.intake.open311 import geo

MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
CLOSED_STATES = (CaseState.CLOSED, CaseState.DECLINED, CaseState.MERGED)
DIGIT_RUN = re.compile(r"\d{6,}[\dXx]?")


def services() -> QuerySet[Category]:
    return Category.objects.filter(active=True, parent__isnull=False, parent__active=True).select_related("parent")


def service_for_code(code: str) -> Category | None:
    if not code.isdigit() or len(code) > 18:
        return None
    return services().filter(pk=int(code)).first()


def service_dict(category: Category) -> dict[str, Any]:
    return {
        "service_code": str(category.pk),
        "service_name": category.name,
        "description": f"{category.parent.name} / {category.name}",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join([category.parent.name, category.name]),
        "group": category.parent.name,
    }


def public_cases() -> QuerySet[Case]:
    """Cases of the configured county (public fields are chosen by `request_dict`)."""
    county = geo.county_unit()
    return Case.objects.filter(location_path__startswith=county.path).select_related(
        "category", "lead_unit", "location_unit"
    )


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def mask(text: str) -> str:
    return DIGIT_RUN.sub(lambda m: "*" * len(m.group()), text)


def status_of(case: Case) -> str:
    return "closed" if case.state in CLOSED_STATES else "open"


def _status_notes(case: Case) -> str:
    notes = case.get_state_display()
    if case.outcome:
        notes += f"：{case.get_outcome_display()}"
    return str(notes)


def request_dict(case: Case) -> dict[str, Any]:
    expected = case.handle_due if case.accepted_at else case.accept_due
    return {
        "service_request_id": case.reference,
        "status": status_of(case),
        "status_notes": _status_notes(case),
        "service_name": case.category.name if case.category_id else "",
        "service_code": str(case.category_id) if case.category_id else "",
        "description": mask(case.title),
        "agency_responsible": case.lead_unit.name if case.lead_unit_id else "",
        "service_notice": "",
        "requested_datetime": _iso(case.submitted_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(expected) if case.state in OPEN_STATES else None,
        "address": mask(case.address) or case.location_unit.name,
        "address_id": "",
        "zipcode": "",
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": "",
    }


def filter_requests(
    queryset: QuerySet[Case],
    *,
    ids: list[str] | None = None,
    service_code: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: set[str] | None = None,
) -> list[Case]:
    """GeoReport filters. With ids, the other filters are ignored (as the spec says)."""
    if ids:
        return list(queryset.filter(reference__in=[i.upper() for i in ids])[:MAX_RESULTS])
    if service_code is not None:
        queryset = queryset.filter(category_id=service_code)
    if start is None and end is None:
        start = timezone.now() - DEFAULT_WINDOW
    if start is not None:
        queryset = queryset.filter(submitted_at__gte=start)
    if end is not None:
        queryset = queryset.filter(submitted_at__lte=end)
    if statuses == {"open"}:
        queryset = queryset.exclude(state__in=CLOSED_STATES)
    elif statuses == {"closed"}:
        queryset = queryset.filter(state__in=CLOSED_STATES)
    return list(queryset.order_by("-submitted_at", "-id")[:MAX_RESULTS])
