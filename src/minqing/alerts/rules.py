"""Configured rules ("at least N cases of category C in area T within W days") as array specs.

This module imports no models at load time, so the array scan runs without Django set up.
`validate_rule` refuses impossible parameters with Chinese messages (also used by `AlertRule.clean`
and the admin); `rule_specs` turns the active rules of a county into `RuleSpec`s the array scan
evaluates; `evaluate_rules` does that evaluation on a cube (no database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from minqing.core.errors import DomainError

SERIES_DAYS = 28  # days shown on the alert's chart


@dataclass(frozen=True)
class RuleSpec:
    rule_id: int
    level: str
    category_level: int  # which cube's category axis (1 when the rule is for all categories)
    category_index: int | None  # None: all categories (the whole row, 未分类 included)
    area_indices: np.ndarray | None  # None: every area at the level
    min_cases: int
    window_days: int
    severity: str


@dataclass
class Signal:
    """A detector or rule firing, in cube coordinates (indices, day numbers within the cube)."""

    kind: str
    detector: str
    level: str
    category_level: int
    category_index: int | None
    areas: list[int]
    first: int
    last: int
    observed: float
    severity: str
    expected: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    series: dict | None = None
    rule_id: int | None = None


def validate_rule(*, min_cases: int | None, window_days: int | None, level: str, area=None, category=None) -> None:
    """Raise DomainError (all messages joined) when a rule could never work as asked."""
    from minqing.alerts.models import rule_parameter_errors

    errors = rule_parameter_errors(
        min_cases=min_cases,
        window_days=window_days,
        level=level,
        area_kind=area.kind if area is not None else None,
        category_active=category.active if category is not None else True,
    )
    if errors:
        raise DomainError("；".join(errors.values()), code="invalid_rule")


def rule_specs(rules: Sequence, areas, categories, county_path: str) -> list[RuleSpec]:
    """Active, valid `AlertRule`s of this county as specs (a rule for another county's area is skipped)."""
    from minqing.alerts.models import rule_parameter_errors

    l2 = {pk: i for i, pk in enumerate(categories.level2)}
    l1 = {pk: i for i, pk in enumerate(categories.level1)}
    specs = []
    for rule in rules:
        if rule_parameter_errors(
            min_cases=rule.min_cases,
            window_days=rule.window_days,
            level=rule.level,
            area_kind=rule.area.kind if rule.area_id else None,
        ):
            continue
        if rule.area_id and not rule.area.path.startswith(county_path) and not county_path.startswith(rule.area.path):
            continue
        if rule.category_id is None:
            cat_level, cat_index = 1, None
        elif rule.category_id in l2:
            cat_level, cat_index = 2, l2[rule.category_id]
        elif rule.category_id in l1:
            cat_level, cat_index = 1, l1[rule.category_id]
        else:
            continue
        indices = None
        if rule.area_id:
            paths = areas.paths[rule.level]
            indices = np.array([i for i, p in enumerate(paths) if p.startswith(rule.area.path)], dtype=np.int64)
        specs.append(
            RuleSpec(
                rule.pk, rule.level, cat_level, cat_index, indices, rule.min_cases, rule.window_days, rule.severity
            )
        )
    return specs


def _row(counts: np.ndarray, area: int, category_index: int | None) -> np.ndarray:
    return counts[area].sum(axis=0) if category_index is None else counts[area, category_index]


def rolling_series(daily: np.ndarray, today: int, window: int, days: int = SERIES_DAYS) -> list[int]:
    """W-day moving sums ending on each of the last `days` days up to `today`."""
    lo = max(0, today - window - days + 2)
    cum = np.concatenate([[0], np.cumsum(daily[lo : today + 1])])
    ends = np.arange(max(lo, today - days + 1), today + 1) - lo + 1
    return [int(cum[e] - cum[max(0, e - window)]) for e in ends]


def evaluate_rules(get_cube: Callable[[str, int], np.ndarray], specs: Sequence[RuleSpec], today: int) -> list[Signal]:
    """Every (rule, area) with at least `min_cases` cases in the `window_days` days ending `today`."""
    signals = []
    for spec in specs:
        counts = get_cube(spec.level, spec.category_level)
        lo = max(0, today - spec.window_days + 1)
        if spec.category_index is None:
            totals = counts[:, :, lo : today + 1].sum(axis=(1, 2))
        else:
            totals = counts[:, spec.category_index, lo : today + 1].sum(axis=1)
        areas = np.arange(counts.shape[0]) if spec.area_indices is None else spec.area_indices
        for area in areas[totals[areas] >= spec.min_cases]:
            series = rolling_series(_row(counts, int(area), spec.category_index), today, spec.window_days)
            signals.append(
                Signal(
                    kind="rule",
                    detector=f"rule:{spec.rule_id}",
                    level=spec.level,
                    category_level=spec.category_level,
                    category_index=spec.category_index,
                    areas=[int(area)],
                    first=lo,
                    last=today,
                    observed=float(totals[area]),
                    severity=spec.severity,
                    threshold=float(spec.min_cases),
                    series={
                        "label": f"{spec.window_days}日累计",
                        "step_days": 1,
                        "values": series,
                        "threshold": spec.min_cases,
                    },
                    rule_id=spec.rule_id,
                )
            )
    return signals
