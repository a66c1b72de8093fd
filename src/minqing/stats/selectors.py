"""Read side of statistics, always scoped.

Rollup rows are restricted by the user's remit (`remit_for(user).read_paths` on the row's
unit path) and then to the requested scope; case lists start from `cases_visible_to`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.models import (
    HANDLING_STATES,
    OPEN_STATES,
    UNSATISFIED_SCORE,
    Case,
    CaseEvent,
    CaseState,
    Category,
    Party,
)
from minqing.cases.selectors import NEARLY_DUE_WINDOW, cases_visible_to, overdue_q
from minqing.core import crypto
from minqing.core.deadlines import LOCAL_TZ
from minqing.dispatch.models import SupervisionOrder
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats.metrics import Counters
from minqing.stats.models import COUNTERS, DailyRollup, MonthlyRollup, RollupCursor, UnitDayRollup

UNSATISFIED_DAYS = 30  # 近30日不满意: rated unsatisfied since local midnight 30 days ago
SCORE_FILTERS = {
    "satisfied": Q(payload__score="satisfied") | Q(payload__score=5),
    "basically_satisfied": Q(payload__score="basically_satisfied") | Q(payload__score=4),
    "unsatisfied": UNSATISFIED_SCORE,  # matches the caseevent_unsatisfied index
}
SCORE_FILTERS["satisfied_or_basically"] = SCORE_FILTERS["satisfied"] | SCORE_FILTERS["basically_satisfied"]


# --- Scope ----------------------------------------------------------------------------------


def visible_unit(user, code: str) -> OrgUnit:
    """A unit whose statistics the user may read, or 404 (no hint that it exists)."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None or not remit_for(user).can_see(unit):
        raise Http404("单位不存在或您无权查看")
    return unit


def home_scope(user) -> OrgUnit | None:
    """The widest unit the user may see statistics for: their county, else their own unit."""
    remit = remit_for(user)
    if not remit.read_paths:
        return None
    paths = remit.paths_with_role(Role.DISPATCHER, Role.COUNTY_MANAGER, Role.INSPECTOR) or remit.paths_with_role(
        Role.UNIT_MANAGER, Role.HANDLER, Role.ASSESSOR
    )
    if not paths:
        return None
    code = paths[0].strip("/").split("/")[-1]
    return OrgUnit.objects.filter(code=code).first()


def can_unmask(user) -> bool:
    """Personal data in exports unmasked: county managers and the centre's dispatchers only."""
    return remit_for(user).has_role(Role.COUNTY_MANAGER, Role.DISPATCHER)


@dataclass(frozen=True)
class Rollups:
    """Rollup rows of the units at or below a scope, within a remit (a filter on `unit_path`).

    Each read picks the smallest table that answers it: whole months from `MonthlyRollup`,
    per-day or per-unit figures from `UnitDayRollup`, anything by channel from `DailyRollup`.
    """

    where: Q

    def daily(self) -> QuerySet[DailyRollup]:
        return DailyRollup.objects.filter(self.where)

    def monthly(self) -> QuerySet[MonthlyRollup]:
        return MonthlyRollup.objects.filter(self.where)

    def unit_days(self) -> QuerySet[UnitDayRollup]:
        return UnitDayRollup.objects.filter(self.where)


def rollups_for(user, scope: OrgUnit) -> Rollups:
    """Rollup rows of units at or below `scope`, within the user's remit."""
    remit = remit_for(user)
    allowed = Q(pk__in=[])
    for path in remit.read_paths:
        if scope.path.startswith(path):
            return Rollups(Q(unit_path__startswith=scope.path))  # the remit covers the whole scope
        allowed |= Q(unit_path__startswith=path)
    return Rollups(allowed & Q(unit_path__startswith=scope.path))


def scope_rollups(scope: OrgUnit) -> Rollups:
    """Rollup rows of a scope for system jobs (reports); users' reads go through `rollups_for`."""
    return Rollups(Q(unit_path__startswith=scope.path))


def attributed_to(unit: OrgUnit) -> Q:
    """Cases the rollups file under `unit` or below: led there, or unassigned and located there.

    An unassigned case is filed under its location's township, so a village holds only the
    cases it leads (as `DailyRollup.unit` says).
    """
    parts = attributed_parts(unit)
    return parts[0] if len(parts) == 1 else parts[0] | parts[1]


def attributed_parts(unit: OrgUnit) -> list[Q]:
    """`attributed_to(unit)` as disjoint parts (led there; unassigned and located there).

    Counted one part at a time, each part can use its own index (on PostgreSQL the open cases'
    partial index). Both parts also seek `case_lead_location`, so SQLite answers their OR (as in
    `attributed_to`) by a union of two index ranges.
    """
    if unit.kind == UnitKind.VILLAGE:
        return [Q(lead_path__startswith=unit.path)]
    return [Q(lead_path__startswith=unit.path), Q(lead_path="", location_path__startswith=unit.path)]


# --- Periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same kind just before (a month before a month, etc.)."""
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            start_month = self.start.month - months
            year = self.start.year + (start_month - 1) // 12
            start = date(year, (start_month - 1) % 12 + 1, 1)
            return Period(start, self.start - timedelta(days=1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def whole_months(self) -> bool:
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1

    def label(self) -> str:
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1 and self.start.month == self.end.month:
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def today() -> date:
    return timezone.now().astimezone(LOCAL_TZ).date()


def month_of(day: date) -> Period:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return Period(day.replace(day=1), following - timedelta(days=1))


def local_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


# --- Aggregates over rollups ---------------------------------------------------------------------


def _sums() -> dict:
    return {name: Sum(name) for name in COUNTERS}


MONTHLY_FIELDS = frozenset({"unit_id", "township_id", "category_id"})


def _rows_for(rows: Rollups, period: Period, field: str | None = None) -> QuerySet:
    """The smallest rollup table that answers `period` (grouped by `field`), filtered to it."""
    if period.whole_months and (field is None or field in MONTHLY_FIELDS):
        return rows.monthly().filter(month__range=(period.start, period.end))
    if field in (None, "day", "unit_id"):
        return rows.unit_days().filter(day__range=(period.start, period.end))
    return rows.daily().filter(day__range=(period.start, period.end))


def counters(rows: Rollups, period: Period) -> Counters:
    return Counters.from_mapping(_rows_for(rows, period).aggregate(**_sums()))


def counters_by(rows: Rollups, period: Period, field: str) -> dict:
    """Counters per value of `field` ("unit_id", "township_id", "category_id", "channel", "day")."""
    grouped = _rows_for(rows, period, field).values(field).annotate(**_sums()).order_by()
    return {row[field]: Counters.from_mapping(row) for row in grouped}


def level1_names() -> dict[int, str]:
    """Category id → the name of its level-1 category (itself for a level-1 one)."""
    return {pk: parent or name for pk, name, parent in Category.objects.values_list("pk", "name", "parent__name")}


def counters_by_level1(
    rows: Rollups, period: Period, by_category: dict | None = None, names: dict[int, str] | None = None
) -> dict[str, Counters]:
    names = level1_names() if names is None else names
    by_category = counters_by(rows, period, "category_id") if by_category is None else by_category
    result: dict[str, Counters] = {}
    for category_id, figures in by_category.items():
        name = names.get(category_id) or "未分类"
        result[name] = result.get(name, Counters()) + figures
    return result


def counters_by_handling_unit(
    rows: Rollups,
    period: Period,
    units: Iterable[OrgUnit],
    per_unit: dict | None = None,
    paths: dict[int, str] | None = None,
) -> dict:
    """Counters per unit in `units`, each including the units below it (a township's villages)."""
    per_unit = counters_by(rows, period, "unit_id") if per_unit is None else per_unit
    if paths is None:
        paths = dict(OrgUnit.objects.filter(pk__in=[pk for pk in per_unit if pk]).values_list("pk", "path"))
    units = list(units)
    by_path = {unit.path: unit for unit in units}
    result = {unit: Counters() for unit in units}
    for pk, figures in per_unit.items():
        path = paths.get(pk, "")
        # Every ancestor path of `path` that is one of `units` gets the figures.
        cut = 0
        while (cut := path.find("/", cut + 1)) != -1:
            if (unit := by_path.get(path[: cut + 1])) is not None:
                result[unit] = result[unit] + figures
    return result


def daily_series(rows: Rollups, period: Period, by_day: dict | None = None) -> list[tuple[date, Counters]]:
    by_day = counters_by(rows, period, "day") if by_day is None else by_day
    return [
        (period.start + timedelta(days=i), by_day.get(period.start + timedelta(days=i), Counters()))
        for i in range(period.days)
    ]


def child_units(scope: OrgUnit) -> dict[str, list[OrgUnit]]:
    """Townships and departments under a county (or a township's villages) for rankings."""
    children = list(OrgUnit.objects.filter(parent=scope, active=True).order_by("sort_order", "code"))
    return {
        "townships": [u for u in children if u.kind == UnitKind.TOWNSHIP],
        "departments": [u for u in children if u.kind == UnitKind.DEPARTMENT],
        "villages": [u for u in children if u.kind == UnitKind.VILLAGE],
    }


# --- Live figures (from case rows, not rollups) ------------------------------------------------------


def live_queries(now: datetime | None = None) -> dict[str, Q]:
    now = now or timezone.now()
    return {
        "open": Q(state__in=OPEN_STATES),
        "overdue": overdue_q(now),
        "nearly_due": Q(state__in=HANDLING_STATES, handle_due__gte=now, handle_due__lt=now + NEARLY_DUE_WINDOW),
        "returned": Q(state=CaseState.RETURNED),
        "reopened": Q(state=CaseState.REOPENED),
    }


def scoped_cases(user, scope: OrgUnit) -> QuerySet[Case]:
    """Visible cases attributed to `scope`.

    When the remit covers the whole scope, every case attributed to it is led or located
    inside a read path, so `cases_visible_to` would keep all of them: the simpler filter is
    the same set and lets the database use the path indexes alone.
    """
    return _visible_base(user, scope).filter(attributed_to(scope))


def _visible_base(user, scope: OrgUnit) -> QuerySet[Case]:
    if remit_for(user).can_see(scope) and not user.is_citizen:
        return Case.objects.all()
    return cases_visible_to(user)


def live_counts(
    user, scope: OrgUnit, now: datetime | None = None, *, unsatisfied_ids: Sequence[int] | None = None
) -> dict[str, int]:
    """Open, overdue, nearly due, returned and reopened cases now: one aggregate over the open cases
    of each part of the attribution (the parts are disjoint, so the sums are exact). 近30日不满意 is
    counted, or taken from `unsatisfied_ids` when the caller has them."""
    queries = live_queries(now)
    aggregates = {name: Count("pk", filter=q) for name, q in queries.items()}
    figures = dict.fromkeys(queries, 0)
    for part in attributed_parts(scope):
        row = _visible_base(user, scope).filter(part, state__in=OPEN_STATES).order_by().aggregate(**aggregates)
        for name in queries:
            figures[name] += row[name] or 0
    if unsatisfied_ids is None:
        figures["unsatisfied"] = unsatisfied_cases(user, scope, now).count()
    else:
        figures["unsatisfied"] = len(unsatisfied_ids)
    return figures


def unsatisfied_since(now: datetime | None = None) -> date:
    """First day of the 近30日不满意 window (whole local days, so the query page's date filter matches)."""
    day = (now or timezone.now()).astimezone(LOCAL_TZ).date()
    return day - timedelta(days=UNSATISFIED_DAYS)


def unsatisfied_cases(user, scope: OrgUnit, now: datetime | None = None) -> QuerySet[Case]:
    """Cases rated 不满意 in the window: by their `unsatisfied_at` (the latest such rating), so the
    scope's index range (`case_unsatisfied`) answers, however many ratings the province has."""
    return scoped_cases(user, scope).filter(unsatisfied_at__gte=local_start(unsatisfied_since(now)))


def unsatisfied_case_ids(user, scope: OrgUnit, now: datetime | None = None) -> list[int]:
    """近30日不满意, newest first: one query that both counts and lists them (a county has a few hundred)."""
    return list(unsatisfied_cases(user, scope, now).values_list("pk", flat=True))


def under_supervision_q() -> Q:
    """督办中: open cases with a supervision order not yet closed (answered ones still count)."""
    unclosed = SupervisionOrder.objects.exclude(state=SupervisionOrder.State.CLOSED).values("case_id")
    return Q(state__in=OPEN_STATES, pk__in=unclosed)


def open_supervision_events(user, scope: OrgUnit, limit: int = 50) -> list[CaseEvent]:
    """督办 orders issued on cases in scope and not yet closed, newest first (read from case events)."""
    cases = scoped_cases(user, scope).filter(state__in=OPEN_STATES)
    issued = list(
        CaseEvent.objects.filter(action="supervise", case__in=cases)
        .select_related("case")
        .order_by("-created_at")[:500]
    )
    ids = [e.payload.get("supervision") for e in issued]
    closed = set(
        CaseEvent.objects.filter(action="close_supervision", case_id__in=[e.case_id for e in issued]).values_list(
            "payload__supervision", flat=True
        )
    )
    return [e for e, pk in zip(issued, ids, strict=True) if pk not in closed][:limit]


# --- Person history -------------------------------------------------------------------------------


def person_cases(user, *, phone: str = "", id_number: str = "") -> QuerySet[Case]:
    """Every visible case of one petitioner, matched exactly on the keyed hash (never on plaintext)."""
    hashes = Q(pk__in=[])
    if phone_hash := crypto.lookup_hash(phone):
        hashes |= Q(phone_hash=phone_hash)
    if id_hash := crypto.lookup_hash(id_number):
        hashes |= Q(id_number_hash=id_hash)
    case_ids = Party.objects.filter(hashes).values("case_id")
    return cases_visible_to(user).filter(pk__in=case_ids).order_by("-submitted_at", "-id")


def rollups_updated_at() -> datetime | None:
    """When `stats update` last ran: the rollup figures are as of then (the live ones are as of now)."""
    return RollupCursor.objects.filter(pk=1).values_list("updated_at", flat=True).first()
