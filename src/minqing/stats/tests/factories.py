"""Cases driven through the real actions with chosen timestamps, and figures counted straight
from the case rows (the reference the rollups are checked against)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from minqing.accounts.models import Role
from minqing.cases import actions
from minqing.cases.models import Case, CaseEvent, CaseState, Category, Channel, Party
from minqing.core.deadlines import LOCAL_TZ
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats.metrics import RESOLVED_OUTCOMES, SIGN_FOR_WINDOW, Counters, score_of
from minqing.stats.models import COUNTERS, DailyRollup
from minqing.testing.personas import CENTRE, HANCHENG, LIUQUAN, POLICE, first_village, make_staff

STOPS = ("submitted", "declined", "accepted", "assigned", "in_progress", "replied", "closed")
PHONES = ("13900000001", "13900000002", "13900000003", "13900000004", "13900000005", "13900000006")
SCORES = ("satisfied", "basically_satisfied", "unsatisfied")
OUTCOMES = ("supported", "explained", "not_supported", "mediated")


@dataclass
class CasePlan:
    start: datetime
    stop: str = "closed"
    channel: str = Channel.WECHAT
    township: str = LIUQUAN
    lead_department: bool = False
    category_index: int = 0
    recategorise: int | None = None
    outcome: str = "supported"
    gaps_hours: list[float] = field(default_factory=lambda: [2.0] * 6)
    rating: str | None = None
    reopen: bool = False
    phone_index: int = 0
    title: str = "村道被占用无法通行"
    content: str = "村东头道路被人堆放建材，车辆无法通行，请尽快处理。"


@dataclass
class Staff:
    dispatcher: object
    handlers: dict[str, object]

    @classmethod
    def create(cls, prefix: str = "st") -> Staff:
        return cls(
            dispatcher=make_staff(f"{prefix}_dispatcher", Role.DISPATCHER, CENTRE),
            handlers={
                code: make_staff(f"{prefix}_h_{code}", Role.HANDLER, code) for code in (LIUQUAN, HANCHENG, POLICE)
            },
        )


def categories() -> list[Category]:
    """Six level-2 categories under different level-1 categories."""
    chosen: dict[int, Category] = {}
    for category in Category.objects.filter(parent__isnull=False).order_by("id"):
        chosen.setdefault(category.parent_id, category)
        if len(chosen) == 6:
            break
    return list(chosen.values())


def drive(plan: CasePlan, staff: Staff) -> Case:
    """Register a case and take it as far as `plan.stop`, with the plan's timestamps."""
    cats = categories()
    at = plan.start
    gaps = iter(plan.gaps_hours + [2.0] * 8)

    def later() -> datetime:
        nonlocal at
        at = at + timedelta(hours=next(gaps))
        return at

    data = actions.NewCase(
        channel=plan.channel,
        title=plan.title,
        content=plan.content,
        location_unit=first_village(plan.township),
        category=cats[plan.category_index % len(cats)],
        parties=[actions.PartyInput(name="测试人", phone=PHONES[plan.phone_index % len(PHONES)])],
    )
    case = actions.register_case(data, staff.dispatcher, at=at)
    stop = STOPS.index(plan.stop)
    if plan.stop == "submitted":
        return case
    if plan.stop == "declined":
        return actions.decline_case(case, staff.dispatcher, reason="不属于受理范围", at=later())
    new_category = cats[plan.recategorise % len(cats)] if plan.recategorise is not None else None
    case = actions.accept_case(case, staff.dispatcher, category=new_category, at=later())
    if stop < STOPS.index("assigned"):
        return case
    lead_code = POLICE if plan.lead_department else plan.township
    case = actions.assign_case(case, staff.dispatcher, lead_unit=OrgUnit.objects.get(code=lead_code), at=later())
    handler = staff.handlers[lead_code]
    if stop < STOPS.index("in_progress"):
        return case
    case = actions.sign_for_case(case, handler, at=later())
    if stop < STOPS.index("replied"):
        return case
    case = actions.reply_case(case, handler, outcome=plan.outcome, reply_text="已经处理完毕，请知悉。", at=later())
    if stop < STOPS.index("closed"):
        return _rate(case, plan, later)
    case = actions.close_case(case, staff.dispatcher, at=later())
    case = _rate(case, plan, later)
    if plan.reopen:
        case = actions.reopen_case(case, staff.dispatcher, reason="群众不满意，重新办理", at=later())
    return case


def _rate(case: Case, plan: CasePlan, later) -> Case:
    if plan.rating:
        case = actions.record_side_event(case, None, "rate", {"score": plan.rating, "channel": "sms"}, at=later())
    return case


# --- Reference figures, straight from the rows ------------------------------------------------------


def _day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _township(unit: OrgUnit) -> int | None:
    if unit.kind == UnitKind.TOWNSHIP:
        return unit.pk
    return unit.parent_id if unit.kind == UnitKind.VILLAGE else None


def _repeat_ids() -> set[int]:
    first: dict[tuple[str, str], int] = {}
    parties = list(Party.objects.values_list("case_id", "phone_hash", "id_number_hash"))
    for case_id, phone, id_number in parties:
        for key in (("p", phone), ("i", id_number)):
            if key[1] and (key not in first or case_id < first[key]):
                first[key] = case_id
    return {
        case_id
        for case_id, phone, id_number in parties
        if any(h and first[(k, h)] < case_id for k, h in (("p", phone), ("i", id_number)))
    }


def raw_counters() -> tuple[dict[tuple, Counters], dict[tuple, int]]:
    """(counters by (day, unit, township, category, channel) without `reopened`, reopens by dims without day)."""
    table: dict[tuple, Counter] = defaultdict(Counter)
    reopens: Counter = Counter()
    repeats = _repeat_ids()
    cases = {c.pk: c for c in Case.objects.select_related("location_unit")}
    dims = {}
    for c in cases.values():
        township = _township(c.location_unit)
        dims[c.pk] = (c.lead_unit_id or township or c.location_unit_id, township, c.category_id, c.channel)

        def add(moment: datetime, counter: str, amount: int = 1, case=c) -> None:
            table[(_day(moment), *dims[case.pk])][counter] += amount

        add(c.submitted_at, "received")
        add(c.submitted_at, "repeat", int(c.pk in repeats))
        if c.accepted_at:
            add(c.accepted_at, "accepted")
        if c.state == CaseState.DECLINED:
            add(c.closed_at, "declined")
        if c.assigned_at:
            add(c.assigned_at, "assigned")
        if c.signed_at and c.assigned_at and c.signed_at - c.assigned_at <= SIGN_FOR_WINDOW:
            add(c.signed_at, "signed_on_time")
        if c.state == CaseState.CLOSED:
            add(c.closed_at, "closed")
            add(c.closed_at, "closed_on_time", int(c.closed_at <= c.handle_due))
            add(c.closed_at, "resolved", int(c.outcome in RESOLVED_OUTCOMES))
            add(c.closed_at, "handling_seconds", int((c.closed_at - c.accepted_at).total_seconds()))
        reopens[dims[c.pk]] += c.reopen_count
    for event in CaseEvent.objects.filter(action="rate"):
        score = score_of(event.payload)
        key = (_day(event.created_at), *dims[event.case_id])
        table[key]["rated"] += 1
        table[key][{"satisfied": "satisfied", "basically_satisfied": "basically"}.get(score, "unsatisfied")] += 1
    return _clean(table), {k: v for k, v in reopens.items() if v}


def rollup_counters() -> tuple[dict[tuple, Counters], dict[tuple, int]]:
    table: dict[tuple, Counter] = defaultdict(Counter)
    reopens: Counter = Counter()
    for row in DailyRollup.objects.all():
        dims = (row.unit_id, row.township_id, row.category_id, row.channel)
        for name in COUNTERS:
            if name == "reopened":
                reopens[dims] += row.reopened
            else:
                table[(row.day, *dims)][name] += getattr(row, name)
    return _clean(table), {k: v for k, v in reopens.items() if v}


def _clean(table: dict[tuple, Counter]) -> dict[tuple, Counters]:
    return {key: Counters.from_mapping(counts) for key, counts in table.items() if any(counts.values())}
