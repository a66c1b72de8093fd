"""What the dashboards show: KPI tiles, trend, category mix, heat table and rankings.

Every number carries the link to the query page filtered to the cases behind it; the
filters use the same attribution as the rollups (`selectors.attributed_to`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats import metrics, selectors
from minqing.stats.metrics import Counters
from minqing.stats.selectors import Period


def query_url(**params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('stats:query')}?{urlencode(clean)}"


@dataclass
class Tile:
    key: str
    label: str
    value: str
    url: str
    raw: float | int | None = None


def _period_params(scope: OrgUnit, period: Period, kind: str = "submitted") -> dict:
    return {
        "unit": scope.code,
        "date_kind": kind,
        "date_from": period.start.isoformat(),
        "date_to": period.end.isoformat(),
    }


def kpi_tiles(scope: OrgUnit, period: Period, c: Counters) -> list[Tile]:
    p = lambda kind="submitted", **extra: query_url(**_period_params(scope, period, kind), **extra)  # noqa: E731
    return [
        Tile("received", "登记", str(c.received), p(), c.received),
        Tile("accepted", "受理", str(c.accepted), p("accepted"), c.accepted),
        Tile("closed", "办结", str(c.closed), p("closed"), c.closed),
        Tile("closure_rate", "办结率", metrics.percent(metrics.closure_rate(c)), p("closed"), metrics.closure_rate(c)),
        Tile(
            "on_time_rate",
            "按期办结率",
            metrics.percent(metrics.on_time_rate(c)),
            p("closed", on_time="yes"),
            metrics.on_time_rate(c),
        ),
        Tile(
            "average_handling_days",
            "平均办理天数",
            metrics.days(metrics.average_handling_days(c)),
            p("closed"),
            metrics.average_handling_days(c),
        ),
        Tile(
            "satisfaction_rate",
            "满意率",
            metrics.percent(metrics.satisfaction_rate(c)),
            p("rated"),
            metrics.satisfaction_rate(c),
        ),
        Tile("response_rate", "响应率", metrics.percent(metrics.response_rate(c)), p(), metrics.response_rate(c)),
        Tile(
            "resolution_rate",
            "解决率",
            metrics.percent(metrics.resolution_rate(c)),
            p("closed"),
            metrics.resolution_rate(c),
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


def unit_row(scope_unit: OrgUnit, period: Period, c: Counters) -> dict:
    figures = metrics.all_figures(c)
    return {
        "unit": scope_unit,
        "received": c.received,
        "closed": c.closed,
        "on_time_rate": figures["on_time_rate"],
        "satisfaction_rate": figures["satisfaction_rate"],
        "on_time_text": metrics.percent(figures["on_time_rate"]),
        "satisfaction_text": metrics.percent(figures["satisfaction_rate"]),
        "received_url": query_url(**_period_params(scope_unit, period)),
        "closed_url": query_url(**_period_params(scope_unit, period, "closed")),
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


def township_heat(user, scope: OrgUnit, period: Period, townships: list[OrgUnit]) -> list[dict]:
    """Per township (where matters arose): received, closed, on-time and satisfaction."""
    rows = selectors.rollups_for(user, scope)
    by_township = selectors.counters_by(rows, period, "township_id")
    result = []
    for township in townships:
        c = by_township.get(township.pk, Counters())
        row = unit_row(township, period, c)
        row["received_url"] = query_url(
            township=township.code, date_from=period.start.isoformat(), date_to=period.end.isoformat()
        )
        row["closed_url"] = query_url(
            township=township.code,
            date_kind="closed",
            date_from=period.start.isoformat(),
            date_to=period.end.isoformat(),
        )
        result.append(row)
    peak = max((r["received"] for r in result), default=0) or 1
    for row in result:
        row["heat"] = round(row["received"] / peak, 2)
    return result


def trend(rows, end: date, days: int = 30) -> dict:
    period = Period(end - timedelta(days=days - 1), end)
    series = selectors.daily_series(rows, period)
    return {
        "days": [d.strftime("%m-%d") for d, _ in series],
        "received": [c.received for _, c in series],
        "closed": [c.closed for _, c in series],
    }


def dashboard(user, scope: OrgUnit, month: Period) -> dict:
    rows = selectors.rollups_for(user, scope)
    today = selectors.today()
    today_period = Period(today, today)
    month_counters = selectors.counters(rows, month)
    children = selectors.child_units(scope)
    handling = children["townships"] + children["departments"] + children["villages"]
    per_unit = selectors.counters_by_handling_unit(rows, month, handling)
    categories = selectors.counters_by_level1(rows, month)
    live = selectors.live_counts(user, scope)
    return {
        "scope": scope,
        "is_county": scope.kind == UnitKind.COUNTY,
        "month": month,
        "month_counters": month_counters,
        "today_tiles": kpi_tiles(scope, today_period, selectors.counters(rows, today_period))[:3],
        "month_tiles": kpi_tiles(scope, month, month_counters),
        "live_tiles": live_tiles(scope, live),
        "township_heat": township_heat(user, scope, month, children["townships"]) if children["townships"] else [],
        "township_ranking": ranking([unit_row(u, month, per_unit[u]) for u in children["townships"]]),
        "department_ranking": ranking([unit_row(u, month, per_unit[u]) for u in children["departments"]]),
        "village_rows": [unit_row(u, month, per_unit[u]) for u in children["villages"]],
        "chart": {
            "trend": trend(rows, min(today, month.end)),
            "categories": [
                {"name": name, "value": c.received}
                for name, c in sorted(categories.items(), key=lambda item: -item[1].received)
                if c.received
            ],
        },
    }
