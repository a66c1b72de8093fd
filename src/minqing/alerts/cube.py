"""The warning data cube: case counts by area × category × day, built from cases in memory.

Two dates per case, kept apart:

- **event date** (`by_event`): the local (Asia/Shanghai) date of `Case.submitted_at`, when the citizen
  reported the matter. It is the date closest to when the trouble happened, and the one the scan uses.
- **reporting date** (`reported`): the local date of `Case.accepted_at` (受理), when the case entered the
  official count. Cases not (yet) accepted — submitted, declined — have no reporting date and are
  left out of the `reported` cube. Reporting lags the event by the registration delay.

Merged cases are left out of both (they were counted as the case they joined).

Areas: a case counts at its village (if it happened in one), its township, and its county. A case
located at a township itself is in the township and county cubes only; one located at the county or a
department is in the county cube only. Categories: level 2 (the case's own) and level 1 (its parent);
every cube has one more, last column for cases without a category ("未分类"), so that a rule for all
categories sums the whole row.

One `values_list` query loads the cases into `CaseRecords` (numpy columns); cubes are built from it
with one `np.bincount` each. The persistent `CubeCell` table was not needed: a county's three years
(about 35,000 cases) load and bin in well under a second (docs/alerts.md, Operations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from minqing.core.deadlines import LOCAL_TZ

EVENT = "event"
REPORTED = "reported"
LEVELS = ("village", "township", "county")
_EPOCH = date(1970, 1, 1)


def day_number(value: date) -> int:
    return (value - _EPOCH).days


def local_day_numbers(moments: list[datetime | None]) -> np.ndarray:
    """Local calendar day numbers (days since 1970-01-01) of aware datetimes; -1 for None."""
    out = np.full(len(moments), -1, dtype=np.int64)
    for i, moment in enumerate(moments):
        if moment is not None:
            out[i] = day_number(moment.astimezone(LOCAL_TZ).date())
    return out


@dataclass
class AreaIndex:
    """The units of one county at each level, and for every unit its index at each level (-1: none)."""

    units: dict[str, list[int]]  # level → unit ids (the cube's area axis)
    paths: dict[str, list[str]]
    names: dict[str, list[str]]
    coords: np.ndarray  # (villages, 2) lat/lon, NaN where unknown
    unit_to: dict[str, dict[int, int]]  # level → unit id → index at that level
    parent_township: np.ndarray  # village index → township index


@dataclass
class CategoryIndex:
    level2: list[int]
    level1: list[int]
    level2_to_level1: np.ndarray  # level-2 index → level-1 index
    names: dict[int, str] = field(default_factory=dict)

    def ids(self, category_level: int) -> list[int | None]:
        """The category axis of a cube: the categories, then None (未分类)."""
        return [*(self.level2 if category_level == 2 else self.level1), None]


@dataclass
class CaseRecords:
    """One row per case, as numpy columns (index -1 = not at that level / no category / no date)."""

    case_ids: np.ndarray
    area: dict[str, np.ndarray]  # level → area index
    category: dict[int, np.ndarray]  # 1 | 2 → category index
    day: dict[str, np.ndarray]  # EVENT | REPORTED → day number
    areas: AreaIndex
    categories: CategoryIndex

    def __len__(self) -> int:
        return int(self.case_ids.size)

    def cube(self, level: str, category_level: int, start: date, end: date, basis: str = EVENT) -> Cube:
        """Counts [area, category (+ 未分类), day] for start..end inclusive."""
        if category_level not in (1, 2):
            raise ValueError("category_level must be 1 or 2")
        first, days = day_number(start), (end - start).days + 1
        n_area = len(self.areas.units[level])
        n_cat = len(self.categories.ids(category_level))
        area, cat, day = self.area[level], self.category[category_level], self.day[basis] - first
        cat = np.where(cat < 0, n_cat - 1, cat)
        keep = (area >= 0) & (day >= 0) & (day < days)
        flat = (area[keep] * n_cat + cat[keep]) * days + day[keep]
        counts = np.bincount(flat, minlength=n_area * n_cat * days).astype(np.int32)
        return Cube(
            counts=counts.reshape(n_area, n_cat, days),
            start=start,
            level=level,
            category_level=category_level,
            basis=basis,
            area_ids=list(self.areas.units[level]),
            category_ids=self.categories.ids(category_level),
        )

    def matching(
        self, level: str, area_index: int, category_level: int, category_index: int | None, first: date, last: date
    ) -> list[int]:
        """Case ids counted in one cell range of a cube (event date); category None = every category."""
        day = self.day[EVENT]
        mask = (self.area[level] == area_index) & (day >= day_number(first)) & (day <= day_number(last))
        if category_index is not None:
            cat = self.category[category_level]
            n_real = len(self.categories.level2 if category_level == 2 else self.categories.level1)
            mask &= (cat == category_index) | ((cat < 0) & (category_index == n_real))
        return [int(x) for x in self.case_ids[mask]]


@dataclass
class Cube:
    counts: np.ndarray  # int32 [area, category, day]
    start: date
    level: str
    category_level: int
    basis: str
    area_ids: list[int]
    category_ids: list[int | None]

    @property
    def days(self) -> int:
        return int(self.counts.shape[2])

    def date_of(self, index: int) -> date:
        return self.start + timedelta(days=int(index))


# --- Loading from the database ---------------------------------------------------------------


def load_area_index(county) -> AreaIndex:
    from minqing.orgs.models import OrgUnit, UnitKind

    rows = list(
        OrgUnit.objects.filter(path__startswith=county.path, kind__in=[UnitKind.VILLAGE, UnitKind.TOWNSHIP])
        .order_by("path")
        .values_list("pk", "kind", "path", "name", "parent_id", "latitude", "longitude")
    )
    townships = [r for r in rows if r[1] == UnitKind.TOWNSHIP]
    villages = [r for r in rows if r[1] == UnitKind.VILLAGE]
    t_index = {r[0]: i for i, r in enumerate(townships)}
    v_index = {r[0]: i for i, r in enumerate(villages)}
    coords = np.array([[r[5] if r[5] is not None else np.nan, r[6] if r[6] is not None else np.nan] for r in villages])
    return AreaIndex(
        units={"village": [r[0] for r in villages], "township": [r[0] for r in townships], "county": [county.pk]},
        paths={"village": [r[2] for r in villages], "township": [r[2] for r in townships], "county": [county.path]},
        names={"village": [r[3] for r in villages], "township": [r[3] for r in townships], "county": [county.name]},
        coords=coords.reshape(-1, 2),
        unit_to={"village": v_index, "township": t_index, "county": {county.pk: 0}},
        parent_township=np.array([t_index.get(r[4], -1) for r in villages], dtype=np.int64),
    )


def load_category_index() -> CategoryIndex:
    from minqing.cases.models import Category

    rows = list(Category.objects.order_by("sort_order", "id").values_list("pk", "parent_id", "name"))
    level1 = [r[0] for r in rows if r[1] is None]
    level2 = [r[0] for r in rows if r[1] is not None]
    l1 = {pk: i for i, pk in enumerate(level1)}
    parent = {r[0]: r[1] for r in rows}
    return CategoryIndex(
        level2=level2,
        level1=level1,
        level2_to_level1=np.array([l1.get(parent[pk], -1) for pk in level2], dtype=np.int64),
        names={r[0]: r[2] for r in rows},
    )


def load_records(county, since: date, until: date) -> CaseRecords:
    """Every case of `county` (by location) whose event date falls in since..until, in one query."""
    from datetime import time

    from minqing.cases.models import Case, CaseState

    areas, categories = load_area_index(county), load_category_index()
    lo = datetime.combine(since, time.min, tzinfo=LOCAL_TZ)
    hi = datetime.combine(until + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
    rows = list(
        Case.objects.filter(location_path__startswith=county.path, submitted_at__gte=lo, submitted_at__lt=hi)
        .exclude(state=CaseState.MERGED)
        .values_list("pk", "location_unit_id", "location_unit__parent_id", "category_id", "submitted_at", "accepted_at")
        .order_by("pk")
    )
    return records_from_rows(rows, areas, categories)


def records_from_rows(rows: list[tuple], areas: AreaIndex, categories: CategoryIndex) -> CaseRecords:
    """Rows of (case id, location unit id, its parent id, category id, submitted_at, accepted_at)."""
    v_map, t_map = areas.unit_to["village"], areas.unit_to["township"]
    l2 = {pk: i for i, pk in enumerate(categories.level2)}
    l1 = {pk: i for i, pk in enumerate(categories.level1)}
    village = np.array([v_map.get(r[1], -1) for r in rows], dtype=np.int64)
    township = np.array([t_map.get(r[1], t_map.get(r[2], -1)) for r in rows], dtype=np.int64)
    cat2 = np.array([l2.get(r[3], -1) for r in rows], dtype=np.int64)
    cat1 = np.where(cat2 >= 0, categories.level2_to_level1[np.maximum(cat2, 0)], -1) if rows else cat2
    # a case filed under a level-1 category directly (older data) still counts at level 1
    direct1 = np.array([l1.get(r[3], -1) for r in rows], dtype=np.int64)
    cat1 = np.where(direct1 >= 0, direct1, cat1)
    return CaseRecords(
        case_ids=np.array([r[0] for r in rows], dtype=np.int64),
        area={"village": village, "township": township, "county": np.zeros(len(rows), dtype=np.int64)},
        category={1: cat1, 2: cat2},
        day={EVENT: local_day_numbers([r[4] for r in rows]), REPORTED: local_day_numbers([r[5] for r in rows])},
        areas=areas,
        categories=categories,
    )
