"""Read side of cases. Every query for cases starts from `cases_visible_to`."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.models import HANDLING_STATES, OPEN_STATES, Case, CaseState, CaseUnit, Party
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
        if path in remit.territorial_paths:
            # A whole county: everything handled there is also located there (assignment stays
            # within the case's county), so the location alone decides.
            visible |= Q(location_path__startswith=path)
            continue
        visible |= (
            Q(location_path__startswith=path)
            | Q(lead_path__startswith=path)
            # Co-units only: the lead is the lead_path above, and leaving its rows out keeps this
            # subquery small (one row per joint case instead of one per case).
            | Q(
                pk__in=CaseUnit.objects.filter(unit_path__startswith=path, active=True, role=CaseUnit.Role.CO).values(
                    "case_id"
                )
            )
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


# --- Work queues (待办) --------------------------------------------------------

# "Nearly due" means the handling deadline falls within this window. The share-of-time
# rule (75% used) needs date arithmetic SQLite lacks; the scan task applies that one.
NEARLY_DUE_WINDOW = timedelta(days=3)
DISPATCH_QUEUES = ("to_register", "returned", "replied")
UNIT_QUEUES = ("to_sign", "in_progress", "nearly_due", "overdue")


def _paths_q(lookup: str, paths: tuple[str, ...]) -> Q:
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{lookup}__startswith": path})
    return query


def _handled_by_me(user) -> Q:
    """Cases the user's units lead (county-wide staff: everything they can see)."""
    remit = remit_for(user)
    if remit.has_role(Role.DISPATCHER, Role.COUNTY_MANAGER, Role.INSPECTOR):
        return Q()
    return _paths_q("lead_path", remit.paths_with_role(Role.HANDLER, Role.UNIT_MANAGER))


def queue_filter(user, name: str, now: datetime | None = None) -> Q:
    """The filter behind one inbox count; an unknown or foreign queue matches nothing."""
    now = now or timezone.now()
    remit = remit_for(user)
    unit_paths = remit.paths_with_role(Role.HANDLER, Role.UNIT_MANAGER)
    if name == "to_sign":
        return Q(state__in=[CaseState.ASSIGNED, CaseState.REOPENED]) & _paths_q("lead_path", unit_paths)
    if name == "in_progress":
        return Q(state=CaseState.IN_PROGRESS) & _handled_by_me(user)
    if name == "nearly_due":
        return Q(
            state__in=HANDLING_STATES, handle_due__gte=now, handle_due__lt=now + NEARLY_DUE_WINDOW
        ) & _handled_by_me(user)
    if name == "overdue":
        return overdue_q(now) & _handled_by_me(user)
    if name in DISPATCH_QUEUES and remit.has_role(Role.DISPATCHER):
        state = {"to_register": CaseState.SUBMITTED, "returned": CaseState.RETURNED, "replied": CaseState.REPLIED}
        return Q(state=state[name])
    return Q(pk__in=[])


def overdue_q(now: datetime | None = None) -> Q:
    """Past the acceptance deadline while submitted, or past the handling deadline while handled."""
    now = now or timezone.now()
    return Q(state=CaseState.SUBMITTED, accept_due__lt=now) | Q(state__in=HANDLING_STATES, handle_due__lt=now)


def queue_names(user) -> tuple[str, ...]:
    remit = remit_for(user)
    names = UNIT_QUEUES if remit.read_paths else ()
    if remit.has_role(Role.DISPATCHER):
        names = DISPATCH_QUEUES + names
    return names


def queue_counts(user, now: datetime | None = None) -> dict[str, int]:
    """All of the user's inbox counts in one aggregate over open cases only."""
    names = queue_names(user)
    if not names:
        return {}
    now = now or timezone.now()
    remit = remit_for(user)
    if remit.has_role(Role.DISPATCHER, Role.COUNTY_MANAGER, Role.INSPECTOR):
        base = cases_visible_to(user)
    else:
        # Every unit queue is about cases the user's units lead, a subset of what they may see;
        # starting from the lead unit lets the (lead_path, state) index do the work.
        base = Case.objects.filter(_paths_q("lead_path", remit.paths_with_role(Role.HANDLER, Role.UNIT_MANAGER)))
    return {name: base.filter(queue_filter(user, name, now)).count() for name in names}


# Apps above cases (approvals, feedback, …) add their own to-do queues here at start-up:
# each entry maps a user to {"name", "label", "count", "url"}.
EXTRA_INBOX_QUEUES: list = []

# Apps above cases add panels to the case page (approval requests, supervision orders):
# each maps (user, case, the user's actor kinds for the case) to HTML, or "" for nothing.
CASE_PANELS: list = []


def resolve_reference(queryset: QuerySet[Case], reference: str) -> Case | None:
    """The case a reference number now points to: a merged case resolves to the case it joined,
    as long as that case is in `queryset` too (otherwise the merged case itself, which says where it went)."""
    case = queryset.filter(reference=(reference or "").strip().upper()).first()
    seen = set()
    while case is not None and case.merged_into_id and case.pk not in seen:
        seen.add(case.pk)
        target = queryset.filter(pk=case.merged_into_id).first()
        if target is None:
            break
        case = target
    return case
