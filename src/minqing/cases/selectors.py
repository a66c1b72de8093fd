"""Read side of cases. Every query for cases starts from `cases_visible_to`."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.models import OPEN_STATES, Case, CaseUnit, Party
from minqing.core import crypto


def cases_visible_to(user) -> QuerySet[Case]:
    """The one scoping function for cases.

    Citizens see their own cases. Staff see cases located in, led by, or
    co-handled by a unit in their remit; informants also see what they filed.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if user.is_citizen:
        return Case.objects.filter(citizen=user)
    remit = remit_for(user)
    visible = Q(pk__in=[])
    for path in remit.read_paths:
        visible |= (
            Q(location_path__startswith=path)
            | Q(lead_path__startswith=path)
            | Q(pk__in=CaseUnit.objects.filter(unit_path__startswith=path, active=True).values("case_id"))
        )
    if Role.INFORMANT in remit.roles:
        visible |= Q(submitted_by=user)
    return Case.objects.filter(visible)


def get_visible_case(user, case_id: int) -> Case:
    """A case the user may see, or Case.DoesNotExist (shown as 404: no hint that it exists)."""
    return (
        cases_visible_to(user)
        .select_related("category", "category__parent", "location_unit", "location_unit__parent", "lead_unit")
        .get(pk=case_id)
    )


def open_cases_for_identity(user, *, phone: str = "", id_number: str = "") -> QuerySet[Case]:
    """Open cases of the same petitioner, matched exactly through the keyed hash."""
    hashes = Q(pk__in=[])
    if phone_hash := crypto.lookup_hash(phone):
        hashes |= Q(phone_hash=phone_hash)
    if id_hash := crypto.lookup_hash(id_number):
        hashes |= Q(id_number_hash=id_hash)
    case_ids = Party.objects.filter(hashes).values("case_id")
    return cases_visible_to(user).filter(pk__in=case_ids, state__in=OPEN_STATES)
