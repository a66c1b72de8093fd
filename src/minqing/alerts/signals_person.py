"""Person- and case-level warning signals (they need no statistics, only queries).

- repeat petitioner (重复信访): the same person — petitioners linked by the keyed hash of their phone
  or ID number (`Party.phone_hash`, `id_number_hash`) — with at least N cases in M days (3 in 30);
  or a new case in the same category as an earlier case of theirs that went to 复查/复核;
- group case (集体访): a case with `group_size` ≥ 5;
- risk words (风险词): an active `RiskWord` in the title or content (substring match);
- repeat unsatisfied (多次不满意): a case rated 不满意 more than once (`rate` case events).

Case-level signals look at cases submitted (or rated) in the last `person_lookback_days` days up to
the scan day; each case gives at most one alert of each kind (dedupe key per case).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Q

from minqing.alerts.actions import AlertSignal
from minqing.alerts.models import SEVERITY_RANK, Level, RiskWord, Severity
from minqing.cases.models import UNSATISFIED_SCORE, Case, CaseEvent, CaseState, Party
from minqing.core.deadlines import LOCAL_TZ, local_date
from minqing.orgs.models import UnitKind

REVIEW_ACTIONS = ("request_review", "decide_review")
LARGE_GROUP = 20


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, tzinfo=LOCAL_TZ),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=LOCAL_TZ),
    )


def case_area(case: Case, county) -> tuple[str, object]:
    unit = case.location_unit
    if unit.kind in (UnitKind.VILLAGE, UnitKind.TOWNSHIP):
        return unit.kind, unit
    return Level.COUNTY, county


def _cases(county, first: date, last: date):
    lo, hi = bounds(first, last)
    return (
        Case.objects.filter(location_path__startswith=county.path, submitted_at__gte=lo, submitted_at__lt=hi)
        .exclude(state=CaseState.MERGED)
        .select_related("location_unit", "location_unit__parent", "category")
    )


def person_signals(county, day: date, config) -> list[AlertSignal]:
    first = day - timedelta(days=config.person_lookback_days - 1)
    return [
        *repeat_petitioners(county, day, config.repeat_cases, config.repeat_days),
        *repeat_after_review(county, first, day),
        *group_cases(county, first, day, config.group_size),
        *risk_word_cases(county, first, day),
        *repeat_unsatisfied(county, first, day, config.unsatisfied_times),
    ]


# --- Repeat petitioners ---------------------------------------------------------------------------


def _people(rows: list[tuple[int, str, str]]) -> dict[str, set[int]]:
    """Group case ids by person: hashes on one party row (phone, ID) are the same person."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _case, phone, id_number in rows:
        hashes = [h for h in (phone, id_number) if h]
        for h in hashes[1:]:
            parent[find(h)] = find(hashes[0])
    groups: dict[str, set[int]] = defaultdict(set)
    members: dict[str, set[str]] = defaultdict(set)
    for case_id, phone, id_number in rows:
        for h in (phone, id_number):
            if h:
                groups[find(h)].add(case_id)
                members[find(h)].add(h)
    return {min(members[root]): cases for root, cases in groups.items()}


def repeat_petitioners(county, day: date, n: int, m: int) -> list[AlertSignal]:
    first = day - timedelta(days=m - 1)
    case_qs = _cases(county, first, day)
    rows = list(
        Party.objects.filter(case__in=case_qs.values("pk"))
        .filter(~Q(phone_hash="") | ~Q(id_number_hash=""))
        .values_list("case_id", "phone_hash", "id_number_hash")
    )
    people = {subject: ids for subject, ids in _people(rows).items() if len(ids) >= n}
    if not people:
        return []
    cases = case_qs.in_bulk({pk for ids in people.values() for pk in ids})
    signals = []
    for subject, ids in sorted(people.items()):
        own = sorted((cases[pk] for pk in ids if pk in cases), key=lambda c: (c.submitted_at, c.pk))
        latest = own[-1]
        level, area = case_area(latest, county)
        signals.append(
            AlertSignal(
                kind="repeat_petitioner",
                detector="repeat_n_in_m",
                level=level,
                area=area,
                key=f"repeat_petitioner:{subject[:24]}:{day.isoformat()}",
                subject=f"person:{subject[:40]}",
                title=f"重复信访：同一信访人{m}日内反映{len(own)}件（最近一件 {latest.reference}）",
                window_start=local_date(own[0].submitted_at),
                window_end=day,
                observed=len(own),
                threshold=n,
                severity=Severity.HIGH if len(own) >= 2 * n else Severity.MEDIUM,
                case_ids=[c.pk for c in own],
            )
        )
    return signals


def repeat_after_review(county, first: date, last: date) -> list[AlertSignal]:
    """A new case in the same category as an earlier case of the same person that went to 复查/复核."""
    new_cases = list(_cases(county, first, last).filter(category__isnull=False))
    if not new_cases:
        return []
    hashes: dict[int, set[str]] = defaultdict(set)
    for case_id, phone, id_number in Party.objects.filter(case__in=new_cases).values_list(
        "case_id", "phone_hash", "id_number_hash"
    ):
        hashes[case_id] |= {h for h in (phone, id_number) if h}
    every = set().union(*hashes.values()) if hashes else set()
    if not every:
        return []
    earlier = defaultdict(set)
    for case_id, phone, id_number in Party.objects.filter(
        Q(phone_hash__in=every) | Q(id_number_hash__in=every)
    ).values_list("case_id", "phone_hash", "id_number_hash"):
        earlier[case_id] |= {phone, id_number} & every
    reviewed = (
        Case.objects.filter(pk__in=list(earlier), events__action__in=REVIEW_ACTIONS)
        .distinct()
        .values_list("pk", "category_id", "submitted_at")
    )
    signals = []
    for case in new_cases:
        matches = [
            pk
            for pk, category_id, submitted in reviewed
            if pk != case.pk
            and submitted < case.submitted_at
            and category_id == case.category_id
            and earlier[pk] & hashes.get(case.pk, set())
        ]
        if matches:
            signals.append(_after_review_signal(case, matches, county))
    return signals


def _after_review_signal(case: Case, earlier: list[int], county) -> AlertSignal:
    level, area = case_area(case, county)
    day = local_date(case.submitted_at)
    return AlertSignal(
        kind="repeat_petitioner",
        detector="after_review",
        level=level,
        area=area,
        category=case.category,
        key=f"repeat_petitioner:after_review:{case.pk}",
        subject=f"after_review:{case.pk}",
        title=f"复查复核后同一事项再次信访：{case.reference} {case.title}",
        window_start=day,
        window_end=day,
        observed=len(earlier) + 1,
        severity=Severity.HIGH,
        case_ids=[*earlier, case.pk],
    )


# --- Case-level signals -------------------------------------------------------------------------------


def _case_signal(
    case: Case, county, *, kind: str, detector: str, title: str, severity: str, observed: float
) -> AlertSignal:
    level, area = case_area(case, county)
    day = local_date(case.submitted_at)
    return AlertSignal(
        kind=kind,
        detector=detector,
        level=level,
        area=area,
        category=case.category,
        key=f"{kind}:{case.pk}",
        subject=f"case:{case.pk}",
        title=title[:200],
        window_start=day,
        window_end=day,
        observed=observed,
        severity=severity,
        case_ids=[case.pk],
    )


def group_cases(county, first: date, last: date, size: int) -> list[AlertSignal]:
    return [
        _case_signal(
            case,
            county,
            kind="group_case",
            detector="group_size",
            title=f"集体访：{case.group_size}人，{case.reference} {case.title}",
            severity=Severity.HIGH if case.group_size >= LARGE_GROUP else Severity.MEDIUM,
            observed=case.group_size,
        )
        for case in _cases(county, first, last).filter(group_size__gte=size).order_by("pk")
    ]


def matched_words(text: str, words: list[RiskWord]) -> list[RiskWord]:
    return [w for w in words if w.word and w.word in text]


def risk_word_cases(county, first: date, last: date) -> list[AlertSignal]:
    words = list(RiskWord.objects.filter(active=True))
    if not words:
        return []
    signals = []
    for case in _cases(county, first, last).order_by("pk"):
        found = matched_words(f"{case.title}\n{case.content}", words)
        if found:
            severity = max((w.severity for w in found), key=lambda s: SEVERITY_RANK[s])
            listed = "、".join(w.word for w in found)
            signals.append(
                _case_signal(
                    case,
                    county,
                    kind="risk_words",
                    detector="risk_words",
                    title=f"风险词“{listed}”：{case.reference} {case.title}",
                    severity=severity,
                    observed=len(found),
                )
            )
    return signals


def repeat_unsatisfied(county, first: date, last: date, times: int) -> list[AlertSignal]:
    lo, hi = bounds(first, last)
    recent = CaseEvent.objects.filter(
        UNSATISFIED_SCORE,
        action="rate",
        created_at__gte=lo,
        created_at__lt=hi,
        case__location_path__startswith=county.path,
    ).values("case_id")
    counts: dict[int, int] = defaultdict(int)
    for case_id in CaseEvent.objects.filter(UNSATISFIED_SCORE, action="rate", case_id__in=recent).values_list(
        "case_id", flat=True
    ):
        counts[case_id] += 1
    repeated = sorted(pk for pk, n in counts.items() if n >= times)
    cases = Case.objects.select_related("location_unit", "location_unit__parent", "category").in_bulk(repeated)
    return [
        _case_signal(
            cases[pk],
            county,
            kind="repeat_unsatisfied",
            detector="unsatisfied_ratings",
            title=f"多次评价不满意（{counts[pk]}次）：{cases[pk].reference} {cases[pk].title}",
            severity=Severity.MEDIUM,
            observed=counts[pk],
        )
        for pk in repeated
        if pk in cases
    ]
