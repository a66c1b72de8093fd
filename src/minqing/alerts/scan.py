"""The daily warning scan (事前预警): rules, statistical detectors, space-time clusters, person-level signals.

Two layers:

- `scan_arrays` is the whole statistical part on arrays only (no database): configured rules,
  EARS C2 on the daily series and Noufaily on the weekly series of every township × category, the
  false-alarm budget (Benjamini–Hochberg by default) across those p-values, and the space-time
  permutation scan over the villages for every category (`scan_spacetime_block`, which the validation
  harness in `simulation.py` calls too). `bench/alerts_county_scan.py` times it.
- `run_scan` loads the county's cases into a cube (`cube.load_records`, one query), calls
  `scan_arrays`, adds the person-level signals (`signals_person`) and raises every signal through
  `actions.raise_alert`, which is idempotent by dedupe key and merges across detectors and levels.

Insufficient data (a series too short or all zero) is counted per detector and never alarms.
See docs/alerts.md, "Operations".
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy.stats import poisson

from minqing.alerts.detectors import (
    INSUFFICIENT_DATA,
    Cluster,
    ScanResult,
    apply_budget,
    ears,
    neighbour_order,
    noufaily,
)
from minqing.alerts.detectors import space_time_permutation_scan as st_scan
from minqing.alerts.rules import SERIES_DAYS, RuleSpec, Signal, evaluate_rules

logger = logging.getLogger("minqing.alerts")

CLUSTER = "cluster"
EARS_MIN_MEAN = 0.25
SERIES_WEEKS = 26


@dataclass(frozen=True)
class ScanConfig:
    history_days: int = 3 * 365  # cases loaded for the cube (and the detectors' baselines)
    detector_level: str = "township"
    detector_category_levels: tuple[int, ...] = (1,)
    ears_method: str = "C2"
    ears_days: int = 90  # days of each daily series handed to EARS (it needs 9 before today)
    noufaily_b: int | None = None  # years of history; None: as many as the cube holds, at most 5
    noufaily_w: int = 3
    budget_method: str = "bh"
    budget_q: float = 0.05
    spacetime: bool = True
    spacetime_category_level: int = 1
    # Study period of the permutation scan. Its expectations C_z·C_d/C rest on each village's share of
    # the period's cases; with ~0.01 cases per village a day a short period makes those shares noisy
    # and the cluster's own cases inflate them (see docs/alerts.md, "Validation harness").
    spacetime_days: int = 365
    spacetime_max_window: int = 7  # windows of the last 1..7 days
    spacetime_max_areas: int = 25  # circles of at most 25 villages (about one township) …
    spacetime_max_fraction: float = 0.1  # … and at most 10 % of the villages
    # recurrence interval = 1 / (p × scans a day); 1 counts per category, the number of categories county-wide
    spacetime_scans_per_day: float = 1.0
    replicates: int = 999
    early_stop: int | None = 10  # sequential Monte Carlo (Besag & Clifford); None draws all replicates
    min_recurrence_days: float = 100.0
    person_lookback_days: int = 2  # group cases, risk words and ratings of the last 2 days
    repeat_cases: int = 3  # repeat petitioner: N cases …
    repeat_days: int = 30  # … in M days
    group_size: int = 5
    unsatisfied_times: int = 2


@dataclass
class ArrayScanResult:
    signals: list[Signal] = field(default_factory=list)
    judged: Counter = field(default_factory=Counter)
    insufficient: Counter = field(default_factory=Counter)
    alarms_before_budget: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class CubeSource:
    """Cubes by (level, category level), made on first use by `make` and kept.

    `village_coords` are (villages, 2) positions for the space-time scan; `n_categories(level)` is the
    number of real categories (the cube's last column, 未分类, is not judged by the detectors).
    """

    def __init__(
        self,
        make: Callable[[str, int], np.ndarray],
        village_coords: np.ndarray,
        n_categories: Callable[[int], int],
    ) -> None:
        self._make, self._cache = make, {}
        self.village_coords = village_coords
        self.n_categories = n_categories

    def get(self, level: str, category_level: int) -> np.ndarray:
        key = (level, category_level)
        if key not in self._cache:
            self._cache[key] = self._make(level, category_level)
        return self._cache[key]


def severity_for_p(p: float) -> str:
    return "high" if p < 1e-4 else "medium" if p < 1e-3 else "low"


def _fin(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _list(values: np.ndarray) -> list[float | None]:
    return [round(float(v), 3) if np.isfinite(v) else None for v in values]


# --- Detectors on township × category series --------------------------------------------------


@dataclass
class Judged:
    """One detector's verdicts on the last time point of a batch of series (flattened area × category)."""

    detector: str
    category_level: int
    n_categories: int
    alarm: np.ndarray
    insufficient: np.ndarray
    pvalue: np.ndarray
    observed: np.ndarray
    upper: np.ndarray
    expected: np.ndarray
    first_offset: int  # the judged period starts this many days before today
    series: Callable[[int], dict]


def _ears_batch(counts: np.ndarray, today: int, config: ScanConfig, category_level: int) -> Judged:
    n_area, n_cat = counts.shape[0], counts.shape[1]
    lo = max(0, today + 1 - config.ears_days)
    y = counts[:, :, lo : today + 1].reshape(n_area * n_cat, -1).astype(float)
    res = ears(y, config.ears_method)
    guard = 2 if config.ears_method.upper() != "C1" else 0
    base = y[:, -(8 + guard) : -(1 + guard)] if y.shape[1] >= 8 + guard else np.full((y.shape[0], 1), np.nan)
    expected = base.mean(axis=1) if base.size else np.full(y.shape[0], np.nan)
    # EARS's own p-value (normal tail of the z-score) is far too small for sparse counts: with a
    # baseline of 0.25 a day, two cases score z = 3.5 (p = 0.0002) though P(Y >= 2) = 0.026. The budget
    # uses the Poisson upper tail at the baseline mean instead, the mean floored at min_sigma² = 0.25.
    pvalue = poisson.sf(y[:, -1] - 1, np.maximum(np.nan_to_num(expected), EARS_MIN_MEAN))
    pvalue[res.insufficient[:, -1]] = np.nan

    def series(i: int) -> dict:
        return {
            "label": "日案件数",
            "step_days": 1,
            "values": [int(v) for v in y[i, -SERIES_DAYS:]],
            "threshold": _list(res.upper[i, -SERIES_DAYS:]),
        }

    return Judged(
        detector=f"ears_{config.ears_method.lower()}",
        category_level=category_level,
        n_categories=n_cat,
        alarm=res.alarm[:, -1],
        insufficient=res.insufficient[:, -1],
        pvalue=pvalue,
        observed=y[:, -1],
        upper=res.upper[:, -1],
        expected=expected,
        first_offset=0,
        series=series,
    )


def _noufaily_b(n_weeks: int, config: ScanConfig) -> int:
    if config.noufaily_b is not None:
        return config.noufaily_b
    return int(min(5, (n_weeks - 1 - config.noufaily_w) // 52))


def _noufaily_batch(counts: np.ndarray, today: int, config: ScanConfig, category_level: int) -> Judged:
    n_area, n_cat = counts.shape[0], counts.shape[1]
    n_weeks = (today + 1) // 7
    start = today + 1 - 7 * n_weeks
    weekly = counts[:, :, start : today + 1].reshape(n_area * n_cat, n_weeks, 7).sum(axis=2).astype(float)
    b = _noufaily_b(n_weeks, config)
    n = weekly.shape[0]
    if b < 1 or n_weeks < 2:
        nan = np.full(n, np.nan)
        return Judged(
            "noufaily", category_level, n_cat, np.zeros(n, bool), np.ones(n, bool), nan, nan, nan, nan, 6, lambda i: {}
        )
    res = noufaily(weekly, b=b, w=config.noufaily_w)

    def series(i: int) -> dict:
        return {
            "label": "周案件数",
            "step_days": 7,
            "values": [int(v) for v in weekly[i, -SERIES_WEEKS:]],
            "threshold": _fin(res.upper[i, -1]),
            "expected": _fin(res.extra["expected"][i, -1]),
        }

    return Judged(
        detector="noufaily",
        category_level=category_level,
        n_categories=n_cat,
        alarm=res.alarm[:, -1],
        insufficient=res.insufficient[:, -1],
        pvalue=res.pvalue[:, -1],
        observed=weekly[:, -1] if n_weeks else np.zeros(n),
        upper=res.upper[:, -1],
        expected=res.extra["expected"][:, -1],
        first_offset=6,
        series=series,
    )


def _detector_signals(batches: Sequence[Judged], today: int, config: ScanConfig, result: ArrayScanResult) -> None:
    """Budget across every p-value of today's batches; a signal needs the detector's alarm and the budget."""
    if not batches:
        return
    pvalues = np.concatenate([b.pvalue for b in batches])
    rejected = apply_budget(pvalues, method=config.budget_method, q=config.budget_q)
    offset = 0
    for batch in batches:
        result.judged[batch.detector] += int(batch.alarm.size)
        result.insufficient[batch.detector] += int(batch.insufficient.sum())
        result.alarms_before_budget += int(batch.alarm.sum())
        keep = batch.alarm & rejected[offset : offset + batch.alarm.size]
        offset += batch.alarm.size
        for i in np.flatnonzero(keep):
            area, cat = divmod(int(i), batch.n_categories)
            result.signals.append(
                Signal(
                    kind="detector",
                    detector=batch.detector,
                    level=config.detector_level,
                    category_level=batch.category_level,
                    category_index=cat,
                    areas=[area],
                    first=today - batch.first_offset,
                    last=today,
                    observed=float(batch.observed[i]),
                    severity=severity_for_p(float(batch.pvalue[i])),
                    expected=_fin(batch.expected[i]),
                    threshold=_fin(batch.upper[i]),
                    p_value=_fin(batch.pvalue[i]),
                    series=batch.series(int(i)),
                )
            )


# --- Space-time permutation scan over villages -------------------------------------------------


def projected(coords: np.ndarray) -> np.ndarray:
    """Lat/lon → roughly equal-distance x/y (km); unknown positions take the mean position."""
    xy = np.array(coords, dtype=float).reshape(-1, 2)
    if not xy.size:
        return xy
    fill = np.nanmean(xy, axis=0) if np.isfinite(xy).any() else np.zeros(2)
    xy = np.where(np.isfinite(xy), xy, np.nan_to_num(fill))
    lat0 = np.deg2rad(xy[:, 0].mean())
    return np.column_stack([xy[:, 0] * 111.0, xy[:, 1] * 111.0 * np.cos(lat0)])


def spacetime_neighbours(coords: np.ndarray, config: ScanConfig = ScanConfig()) -> tuple[np.ndarray, np.ndarray]:
    """The scan's circles: every village's nearest villages within the configured maximum size."""
    return neighbour_order(coords, max_areas=config.spacetime_max_areas, max_fraction=config.spacetime_max_fraction)


def scan_spacetime_block(
    counts: np.ndarray,
    coords: np.ndarray,
    neighbours: tuple[np.ndarray, np.ndarray],
    config: ScanConfig = ScanConfig(),
    seed: int | np.random.Generator | None = 0,
) -> ScanResult:
    """One category's permutation scan of ``counts`` (villages × the study period's days, last = today)
    with the production settings; the validation harness calls this too."""
    return st_scan(
        counts,
        coords,
        neighbours=neighbours,
        max_window=config.spacetime_max_window,
        replicates=config.replicates,
        early_stop=config.early_stop,
        seed=seed,
        min_recurrence_days=config.min_recurrence_days,
        scans_per_day=config.spacetime_scans_per_day,
    )


def signalled_clusters(res: ScanResult, config: ScanConfig = ScanConfig()) -> list[Cluster]:
    """The clusters of a scan that become alerts: those at least as rare as ``min_recurrence_days``."""
    if res.status != CLUSTER:
        return []
    return [c for c in res.clusters if c.recurrence_days >= config.min_recurrence_days]


def _spacetime_signals(source: CubeSource, today: int, config: ScanConfig, seed: int, result: ArrayScanResult) -> None:
    counts = source.get("village", config.spacetime_category_level)
    n_cat = source.n_categories(config.spacetime_category_level)
    if counts.shape[0] < 2 or n_cat == 0:
        return
    days = min(config.spacetime_days, today + 1)
    block = counts[:, :n_cat, today + 1 - days : today + 1]
    coords = projected(source.village_coords)
    neighbours = spacetime_neighbours(coords, config)
    for cat in range(n_cat):
        result.judged["spacetime"] += 1
        res = scan_spacetime_block(block[:, cat, :], coords, neighbours, config, seed=seed * 1009 + cat)
        if res.status == INSUFFICIENT_DATA:
            result.insufficient["spacetime"] += 1
            continue
        for cluster in signalled_clusters(res, config):
            daily = block[cluster.areas, cat, :].sum(axis=0)
            result.signals.append(
                Signal(
                    kind="spacetime",
                    detector="spacetime_permutation",
                    level="village",
                    category_level=config.spacetime_category_level,
                    category_index=cat,
                    areas=list(cluster.areas),
                    first=today - cluster.window_days + 1,
                    last=today,
                    observed=float(cluster.observed),
                    severity="high" if cluster.recurrence_days >= 1000 else "medium",
                    expected=cluster.expected,
                    p_value=cluster.p_value,
                    series={
                        "label": "聚集区日案件数",
                        "step_days": 1,
                        "values": [int(v) for v in daily[-SERIES_DAYS:]],
                        "threshold": None,
                        "recurrence_days": round(cluster.recurrence_days, 1),
                        "window_days": cluster.window_days,
                    },
                )
            )


def scan_arrays(
    source: CubeSource, rules: Sequence[RuleSpec], today: int, config: ScanConfig = ScanConfig(), seed: int = 0
) -> ArrayScanResult:
    """Everything statistical of one day's scan, on arrays. `today` is the day index in the cubes."""
    result = ArrayScanResult()
    t = time.perf_counter()
    result.signals.extend(evaluate_rules(source.get, rules, today))
    result.timings["rules"] = time.perf_counter() - t

    t = time.perf_counter()
    batches = []
    for category_level in config.detector_category_levels:
        n_cat = source.n_categories(category_level)
        counts = source.get(config.detector_level, category_level)[:, :n_cat, :]
        batches.append(_ears_batch(counts, today, config, category_level))
        batches.append(_noufaily_batch(counts, today, config, category_level))
    _detector_signals(batches, today, config, result)
    result.timings["detectors"] = time.perf_counter() - t

    t = time.perf_counter()
    if config.spacetime:
        _spacetime_signals(source, today, config, seed, result)
    result.timings["spacetime"] = time.perf_counter() - t
    return result


# --- The database layer ---------------------------------------------------------------------------


@dataclass
class ScanSummary:
    day: date
    county: str
    cases: int = 0
    signals: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    insufficient: Counter = field(default_factory=Counter)
    judged: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        signals = ", ".join(f"{k} {v}" for k, v in sorted(self.signals.items())) or "none"
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "none"
        insufficient = ", ".join(f"{k} {v}/{self.judged[k]}" for k, v in sorted(self.insufficient.items())) or "none"
        return (
            f"alerts_scan {self.day} {self.county}: {self.cases} cases; signals: {signals}; alerts: {outcomes}; "
            f"insufficient data: {insufficient}; {self.seconds:.2f} s"
        )


def run_scan(day: date | None = None, *, county=None, config: ScanConfig = ScanConfig()) -> ScanSummary:
    """Scan one county for `day` (default: today, local). Idempotent: a second run changes nothing."""
    from django.utils import timezone

    from minqing.alerts import signals_person
    from minqing.alerts.actions import raise_alert
    from minqing.alerts.cube import day_number, load_records
    from minqing.alerts.models import AlertRule
    from minqing.alerts.rules import rule_specs
    from minqing.orgs.selectors import default_county

    started = time.perf_counter()
    day = day or timezone.localdate()
    county = county or default_county()
    if county is None:
        raise ValueError("no county loaded")
    summary = ScanSummary(day=day, county=county.name)
    start = day - timedelta(days=config.history_days - 1)
    records = load_records(county, start, day)
    summary.cases = len(records)
    source = CubeSource(
        lambda level, cat_level: records.cube(level, cat_level, start, day).counts,
        records.areas.coords,
        lambda cat_level: len(records.categories.level2 if cat_level == 2 else records.categories.level1),
    )
    rules = rule_specs(
        list(AlertRule.objects.filter(active=True).select_related("area", "category")),
        records.areas,
        records.categories,
        county.path,
    )
    array_result = scan_arrays(source, rules, (day - start).days, config, seed=day_number(day))
    summary.judged.update(array_result.judged)
    summary.insufficient.update(array_result.insufficient)
    alert_signals = to_alert_signals(array_result.signals, records, start, county)
    alert_signals += signals_person.person_signals(county, day, config)
    for signal in alert_signals:
        summary.signals[signal.kind] += 1
        _alert, outcome = raise_alert(signal)
        summary.outcomes[outcome] += 1
    summary.seconds = time.perf_counter() - started
    logger.info(summary.line())
    return summary


def to_alert_signals(signals: Sequence[Signal], records, start: date, county) -> list:
    """Array signals → `actions.AlertSignal`s with units, categories, dates and contributing cases."""
    from minqing.alerts.actions import AlertSignal
    from minqing.cases.models import Category
    from minqing.orgs.models import OrgUnit

    areas, categories = records.areas, records.categories
    unit_ids = {county.pk} | {areas.units[s.level][a] for s in signals for a in s.areas}
    unit_ids |= {areas.units["township"][t] for t in areas.parent_township if t >= 0}
    units = OrgUnit.objects.in_bulk(unit_ids)
    cats = Category.objects.in_bulk(categories.level1 + categories.level2)
    out = []
    for s in signals:
        level, area = _alert_area(s, areas, units, county)
        ids = categories.ids(s.category_level)
        category = cats.get(ids[s.category_index]) if s.category_index is not None and ids[s.category_index] else None
        first, last = start + timedelta(days=s.first), start + timedelta(days=s.last)
        case_ids = sorted(
            {c for a in s.areas for c in records.matching(s.level, a, s.category_level, s.category_index, first, last)}
        )
        series = dict(s.series or {}, end=last.isoformat())
        out.append(
            AlertSignal(
                kind=s.kind,
                detector=s.detector,
                level=level,
                area=area,
                category=category,
                window_start=first,
                window_end=last,
                observed=s.observed,
                severity=s.severity,
                expected=s.expected,
                threshold=s.threshold,
                p_value=s.p_value,
                key=_signal_key(s, areas, last, category),
                title=_title(s, area, category, first, last),
                case_ids=case_ids,
                series=series,
                rule_id=s.rule_id,
            )
        )
    return out


def _alert_area(s: Signal, areas, units: dict, county) -> tuple[str, object]:
    """The unit an alert is about: the signal's area, or for a cluster of villages their common
    township (the county when they span several)."""
    if s.kind != "spacetime" or len(s.areas) == 1:
        return s.level, units[areas.units[s.level][s.areas[0]]]
    townships = {int(areas.parent_township[a]) for a in s.areas}
    if len(townships) == 1 and min(townships) >= 0:
        return "township", units[areas.units["township"][townships.pop()]]
    return "county", county


def _signal_key(s: Signal, areas, last: date, category) -> str:
    first_area = areas.units[s.level][s.areas[0]]
    return f"{s.detector}:{s.level}:{first_area}:{category.pk if category else 'all'}:{last.isoformat()}"


def _title(s: Signal, area, category, first: date, last: date) -> str:
    what = category.name if category else "全部分类"
    if s.kind == "rule":
        days, limit = (last - first).days + 1, int(s.threshold or 0)
        return f"{area.name}{days}日内{what}案件{int(s.observed)}件，达到规则阈值{limit}件"
    if s.kind == "spacetime":
        return (
            f"{area.name}{what}时空聚集：{len(s.areas)}个村{(last - first).days + 1}日内{int(s.observed)}件"
            f"（期望{(s.expected or 0):.1f}件）"
        )
    period = "近7日" if s.detector == "noufaily" else "当日"
    return f"{area.name}{what}{period}案件{int(s.observed)}件，高于预警阈值{(s.threshold or 0):.1f}件"
