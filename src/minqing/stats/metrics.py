"""THE definitions of every statistic (docs/metrics.md gives each formula).

Counters (`Counters`) are sums of `DailyRollup` rows or, in tests and checks, counts
taken straight from cases; every rate is a pure function of them. A rate with a zero
denominator is None ("—"), never 0 or 100%.

Counter semantics (all by the Asia/Shanghai date of the event):
- received: cases registered (登记).               accepted: accepted (受理).
- declined: declined (不予受理).                    assigned: hand-overs to a lead unit
  (交办 and 重新交办; each asks the unit to sign for it).
- signed_on_time: sign-fors (签收) of an assigned case within SIGN_FOR_WINDOW of the hand-over.
- returned: returns by the unit (退回).
- closed: cases closed (办结), counted on the closing day; a reopen withdraws that closure,
  so a case counts as closed at most once, on the day of its current closure.
- closed_on_time: of those, closed no later than the handling deadline then in force.
- resolved: of those, with outcome 予以支持 or 调解成功.
- handling_seconds: of those, the sum of (closed − accepted).
- rated / satisfied / basically / unsatisfied: ratings (评价), by score.
- reopened: reopens (重新办理).   repeat: received cases whose petitioner (same phone or ID
  number hash) had an earlier case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import timedelta

from minqing.stats.models import COUNTERS

SIGN_FOR_WINDOW = timedelta(hours=24)  # 响应: signed for within one day of the hand-over
RESOLVED_OUTCOMES = ("supported", "mediated")
SATISFIED_SCORES = ("satisfied", "basically_satisfied")
SECONDS_PER_DAY = 86400


@dataclass
class Counters:
    received: int = 0
    accepted: int = 0
    declined: int = 0
    assigned: int = 0
    signed_on_time: int = 0
    returned: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    handling_seconds: int = 0
    rated: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    reopened: int = 0
    repeat: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, int | None]) -> Counters:
        return cls(**{name: int(values.get(name) or 0) for name in COUNTERS})

    def __add__(self, other: Counters) -> Counters:
        return Counters(**{name: getattr(self, name) + getattr(other, name) for name in COUNTERS})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


assert tuple(f.name for f in fields(Counters)) == COUNTERS


def total(items: Iterable[Counters]) -> Counters:
    result = Counters()
    for item in items:
        result = result + item
    return result


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


# --- Rates (each one line; docs/metrics.md repeats the formulas) ------------------------------


def closure_rate(c: Counters) -> float | None:
    """办结率 = closed / accepted (flow ratio over the same period; can exceed 1 when backlog clears)."""
    return ratio(c.closed, c.accepted)


def on_time_rate(c: Counters) -> float | None:
    """按期办结率 = closed_on_time / closed."""
    return ratio(c.closed_on_time, c.closed)


def overdue_closed(c: Counters) -> int:
    """超期办结件数 = closed − closed_on_time."""
    return c.closed - c.closed_on_time


def average_handling_days(c: Counters) -> float | None:
    """平均办理天数 = handling_seconds / closed / 86400."""
    return ratio(c.handling_seconds / SECONDS_PER_DAY, c.closed)


def rating_rate(c: Counters) -> float | None:
    """参评率 = rated / closed."""
    return ratio(c.rated, c.closed)


def satisfaction_rate(c: Counters) -> float | None:
    """满意率 = (satisfied + basically) / rated."""
    return ratio(c.satisfied + c.basically, c.rated)


def response_rate(c: Counters) -> float | None:
    """响应率 = signed_on_time / assigned."""
    return ratio(c.signed_on_time, c.assigned)


def resolution_rate(c: Counters) -> float | None:
    """解决率 = resolved / closed."""
    return ratio(c.resolved, c.closed)


def repeat_rate(c: Counters) -> float | None:
    """重复信访率 = repeat / received."""
    return ratio(c.repeat, c.received)


def reopen_rate(c: Counters) -> float | None:
    """重办率 = reopened / (closed + reopened): closures that did not hold."""
    return ratio(c.reopened, c.closed + c.reopened)


RATES = {
    "closure_rate": closure_rate,
    "on_time_rate": on_time_rate,
    "average_handling_days": average_handling_days,
    "rating_rate": rating_rate,
    "satisfaction_rate": satisfaction_rate,
    "response_rate": response_rate,
    "resolution_rate": resolution_rate,
    "repeat_rate": repeat_rate,
    "reopen_rate": reopen_rate,
}

LABELS = {
    "received": "登记",
    "accepted": "受理",
    "declined": "不予受理",
    "assigned": "交办",
    "signed_on_time": "按时签收",
    "returned": "退回",
    "closed": "办结",
    "closed_on_time": "按期办结",
    "resolved": "解决",
    "handling_seconds": "办理时长(秒)",
    "rated": "参评",
    "satisfied": "满意",
    "basically": "基本满意",
    "unsatisfied": "不满意",
    "reopened": "重办",
    "repeat": "重复信访",
    "overdue_closed": "超期办结",
    "closure_rate": "办结率",
    "on_time_rate": "按期办结率",
    "average_handling_days": "平均办理天数",
    "rating_rate": "参评率",
    "satisfaction_rate": "满意率",
    "response_rate": "响应率",
    "resolution_rate": "解决率",
    "repeat_rate": "重复信访率",
    "reopen_rate": "重办率",
}


def all_figures(c: Counters) -> dict[str, float | int | None]:
    """Every counter and every rate of `c`, by name."""
    figures: dict[str, float | int | None] = dict(c.as_dict())
    figures["overdue_closed"] = overdue_closed(c)
    figures.update({name: rate(c) for name, rate in RATES.items()})
    return figures


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def score_of(payload: Mapping) -> str | None:
    """A rating event's score: 'satisfied' | 'basically_satisfied' | 'unsatisfied' (None: not a rating).

    The feedback app writes the word; the demo year wrote 1–5 with a `satisfied` flag
    (5 满意, 4 基本满意, 1–3 不满意).
    """
    score = payload.get("score")
    if score in ("satisfied", "basically_satisfied", "unsatisfied"):
        return score
    if isinstance(score, int | float) and not isinstance(score, bool):
        return "satisfied" if score >= 5 else "basically_satisfied" if score >= 4 else "unsatisfied"
    if isinstance(payload.get("satisfied"), bool):
        return "satisfied" if payload["satisfied"] else "unsatisfied"
    return None
