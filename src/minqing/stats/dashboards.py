"""What the dashboards show: KPI tiles, trend, category mix, heat table and rankings.

Every count carries the link to the query page filtered to exactly the cases behind it
(`selectors.attributed_to` for the unit, the matching date kind and flags for the rest);
a rate shows its numerator and denominator as such counts. The figures come from the
month and unit-day rollups and two aggregates over open cases, so a dashboard costs about
ten small queries whatever the number of cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from urllib.parse import urlencode

from django.urls import reverse

from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats import metrics, selectors
from minqing.stats.metrics import Counters
from minqing.stats.selectors import Period


@cache
def _query_path() -> str:
    return reverse("stats:query")


def query_url(**params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{_query_path()}?{urlencode(clean)}"


@dataclass
class Count:
    """A number of cases and the query-page link that lists exactly those cases."""

    label: str
    value: int
    url: str


@dataclass
class Tile:
    key: str
    label: str
    value: str
    url: str
    raw: float | int | None = None
    is_count: bool = True
    parts: list[Count] = field(default_factory=list)  # a rate's numerator and denominator


def _period_params(scope: OrgUnit, period: Period, kind: str = "submitted") -> dict:
    return {
        "unit": scope.code,
        "date_kind": kind,
        "date_from": period.start.isoformat(),
        "date_to": period.end.isoformat(),
    }


def count_tiles(scope: OrgUnit, period: Period, c: Counters) -> list[Tile]:
    """登记, 受理, 办结 in the period."""
    return [
        Tile(key, label, str(value), query_url(**_period_params(scope, period, kind)), value)
        for key, label, value, kind in (
            ("received", "登记", c.received, "submitted"),
            ("accepted", "受理", c.accepted, "accepted"),
            ("closed", "办结", c.closed, "closed"),
        )
    ]


def _rate(key: str, label: str, value: float | None, text: str, parts: list[Count]) -> Tile:
    return Tile(key, label, text, parts[0].url, value, is_count=False, parts=parts)


def kpi_tiles(scope: OrgUnit, period: Period, c: Counters) -> list[Tile]:
    def p(kind: str = "submitted", **extra) -> str:
        return query_url(**_period_params(scope, period, kind), **extra)

    closed = Count("办结", c.closed, p("closed"))
    return [
        *count_tiles(scope, period, c),
        _rate(
            "closure_rate",
            "办结率",
            metrics.closure_rate(c),
            metrics.percent(metrics.closure_rate(c)),
            [closed, Count("受理", c.accepted, p("accepted"))],
        ),
        _rate(
            "on_time_rate",
            "按期办结率",
            metrics.on_time_rate(c),
            metrics.percent(metrics.on_time_rate(c)),
            [Count("按期办结", c.closed_on_time, p("closed", on_time="yes")), closed],
        ),
        _rate(
            "average_handling_days",
            "平均办理天数",
            metrics.average_handling_days(c),
            metrics.days(metrics.average_handling_days(c)),
            [closed],
        ),
        _rate(
            "satisfaction_rate",
            "满意率",
            metrics.satisfaction_rate(c),
            metrics.percent(metrics.satisfaction_rate(c)),
            [
                Count("满意及基本满意", c.satisfied + c.basically, p("rated", rating="satisfied_or_basically")),
                Count("参评", c.rated, p("rated")),
            ],
        ),
        _rate(
            "response_rate",
            "响应率",
            metrics.response_rate(c),
            metrics.percent(metrics.response_rate(c)),
            [
                Count("按时签收", c.signed_on_time, p("signed", signed_on_time="yes")),
                Count("交办", c.assigned, p("assigned")),
            ],
        ),
        _rate(
            "resolution_rate",
            "解决率",
            metrics.resolution_rate(c),
            metrics.percent(metrics.resolution_rate(c)),
            [Count("解决", c.resolved, p("closed", resolved="yes")), closed],
        ),
    ]


LIVE_LABELS = {
    "open": "在办",
    "overdue": "已超期",
    "nearly_due": "即将到期",
    "returned": "被退回",
    "reopened": "重新办理",
    "unsatisfied": "近30日不满意",
}


def live_tiles(scope: OrgUnit, live: dict[str, int]) -> list[Tile]:
    urls = {
        "open": query_url(unit=scope.code, open="yes", sort="due"),
        "overdue": query_url(unit=scope.code, overdue="yes", sort="due"),
        "nearly_due": query_url(unit=scope.code, nearly_due="yes", sort="due"),
        "returned": query_url(unit=scope.code, state="returned"),
        "reopened": query_url(unit=scope.code, state="reopened"),
        "unsatisfied": query_url(
            unit=scope.code,
            rating="unsatisfied",
            date_kind="rated",
            date_from=selectors.unsatisfied_since().isoformat(),
        ),
    }
    return [
        Tile(name, label, str(live.get(name, 0)), urls[name], live.get(name, 0)) for name, label in LIVE_LABELS.items()
    ]


def unit_row(scope_unit: OrgUnit, period: Period, c: Counters, by: str = "unit") -> dict:
    """One unit's line in a ranking (by="unit": cases it handles) or the heat table (by="township")."""
    window = {"date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    on_time, satisfaction = metrics.on_time_rate(c), metrics.satisfaction_rate(c)
    return {
        "unit": scope_unit,
        "received": c.received,
        "closed": c.closed,
        "on_time_rate": on_time,
        "satisfaction_rate": satisfaction,
        "on_time_text": metrics.percent(on_time),
        "satisfaction_text": metrics.percent(satisfaction),
        "received_url": query_url(**{by: scope_unit.code}, date_kind="submitted", **window),
        "closed_url": query_url(**{by: scope_unit.code}, date_kind="closed", **window),
        "dashboard_url": reverse("stats:unit", args=[scope_unit.code]),
    }


def ranking(rows: list[dict]) -> list[dict]:
    """Best first: on-time rate, then satisfaction, then volume; units without closures last."""

    def key(row: dict) -> tuple:
        return (
            row["on_time_rate"] is None,
            -(row["on_time_rate"] or 0),
            -(row["satisfaction_rate"] or 0),
            -row["closed"],
        )

    ranked = sorted(rows, key=key)
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    return ranked


def township_heat(rows: selectors.Rollups, period: Period, townships: list[OrgUnit]) -> list[dict]:
    """Per township (where matters arose): received, closed, on-time and satisfaction."""
    by_township = selectors.counters_by(rows, period, "township_id")
    result = [unit_row(t, period, by_township.get(t.pk, Counters()), by="township") for t in townships]
    peak = max((r["received"] for r in result), default=0) or 1
    for row in result:
        row["heat"] = round(row["received"] / peak, 2)
    return result


def trend(rows: selectors.Rollups, end: date, days: int = 30) -> tuple[dict, dict[date, Counters]]:
    """The chart's series, and the counters by day they came from."""
    period = Period(end - timedelta(days=days - 1), end)
    by_day = selectors.counters_by(rows, period, "day")
    series = selectors.daily_series(rows, period, by_day)
    chart = {
        "days": [d.strftime("%m-%d") for d, _ in series],
        "received": [c.received for _, c in series],
        "closed": [c.closed for _, c in series],
    }
    return chart, by_day


def dashboard(user, scope: OrgUnit, month: Period) -> dict:
    rows = selectors.rollups_for(user, scope)
    today = selectors.today()
    today_period = Period(today, today)
    children = selectors.child_units(scope)
    per_unit_id = selectors.counters_by(rows, month, "unit_id")
    month_counters = metrics.total(per_unit_id.values())
    handling = children["townships"] + children["departments"] + children["villages"]
    per_unit = selectors.counters_by_handling_unit(rows, month, handling, per_unit=per_unit_id)
    categories = selectors.counters_by_level1(rows, month)
    trend_end = min(today, month.end)
    chart_trend, by_day = trend(rows, trend_end)
    today_counters = by_day.get(today, Counters()) if trend_end == today else selectors.counters(rows, today_period)
    live = selectors.live_counts(user, scope)
    return {
        "scope": scope,
        "is_county": scope.kind == UnitKind.COUNTY,
        "month": month,
        "month_counters": month_counters,
        "today_tiles": count_tiles(scope, today_period, today_counters),
        "month_tiles": kpi_tiles(scope, month, month_counters),
        "live_tiles": live_tiles(scope, live),
        "township_heat": township_heat(rows, month, children["townships"]) if children["townships"] else [],
        "township_ranking": ranking([unit_row(u, month, per_unit[u]) for u in children["townships"]]),
        "department_ranking": ranking([unit_row(u, month, per_unit[u]) for u in children["departments"]]),
        "village_rows": [unit_row(u, month, per_unit[u]) for u in children["villages"]],
        "updated_at": selectors.rollups_updated_at(),
        "chart": {
            "trend": chart_trend,
            "categories": [
                {"name": name, "value": c.received}
                for name, c in sorted(categories.items(), key=lambda item: -item[1].received)
                if c.received
            ],
        },
    }
