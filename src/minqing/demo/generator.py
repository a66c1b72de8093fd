"""The demo year: about one year of Yiyang cases, every one pushed through the real actions.

`generate_demo_year` simulates the county day by day. Each case is registered at a
plausible time (office hours for walk-ins and calls, any hour for WeChat), accepted,
assigned, signed for, handled and closed by members of the right units, with historical
timestamps (the `at=` every action takes). Because only `minqing.cases.actions` write,
events, deadlines, notifications and every statistic built on them agree.

Each simulated day is one transaction (the actions' own atomics become savepoints), and
the steps of all cases run in time order, so event ids follow time. Steps that would fall
after the end of the year are not taken: recent cases are still open, as in real life.

Mix (realistic, not real): about 30 cases a day, fewer on weekends and holidays, more before
春节 and around the harvests; townships weighted by size; channels WeChat 45%, informants
20%, calls 12%, walk-ins 10%, app, web, letters, 12345; categories skewed to 城乡建设,
农村农业, 劳动和社会保障 and 国土资源; about 2% declined, a few merged, returned, sent back
or reopened. Ratings are follow-up-call `rate` side events (actor: system) until the
feedback app exists. Everything about people is synthetic and marked "（演示）".
"""

from __future__ import annotations

import heapq
import math
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from minqing.accounts.models import Membership, Role, User
from minqing.cases import actions
from minqing.cases.models import Case, CaseState, Category, Channel, Nature, RequestType, Urgency
from minqing.core.deadlines import LOCAL_TZ, WorkCalendar
from minqing.core.errors import DomainError
from minqing.demo.accounts import DEMO_ACCOUNTS, ensure_demo_accounts
from minqing.demo.texts import SYNTHETIC_SUFFIX, TextFactory
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.orgs.selectors import default_county
from minqing.workcalendar.selectors import load_calendar

DEFAULT_CASES = 11_500
DAYS = 365
SYNTHETIC_HANDLER_PREFIX = "h_"
SYNTHETIC_INFORMANT_PREFIX = "i_"

# Relative township sizes (population-ish; 兴宜街道 is the county seat).
TOWNSHIP_WEIGHTS = {
    "001": 1.7,
    "102": 1.3,
    "103": 1.2,
    "104": 1.0,
    "105": 1.1,
    "106": 1.3,
    "107": 1.1,
    "108": 0.9,
    "109": 0.8,
    "110": 0.8,
    "111": 0.6,
    "112": 0.8,
    "203": 0.7,
    "208": 0.4,
    "209": 0.5,
    "212": 0.5,
}
CHANNELS_WORKDAY = {
    Channel.WECHAT: 45,
    Channel.INFORMANT: 20,
    Channel.PHONE: 12,
    Channel.WALK_IN: 10,
    Channel.APP: 5,
    Channel.WEB: 3,
    Channel.LETTER: 2,
    Channel.HOTLINE_12345: 3,
}
CHANNELS_RESTDAY = {
    Channel.WECHAT: 60,
    Channel.INFORMANT: 15,
    Channel.PHONE: 10,
    Channel.WALK_IN: 2,
    Channel.APP: 8,
    Channel.WEB: 4,
    Channel.HOTLINE_12345: 2,
}
STAFF_CHANNELS = {Channel.PHONE, Channel.WALK_IN, Channel.LETTER, Channel.HOTLINE_12345}
ONLINE_CHANNELS = {Channel.WECHAT, Channel.APP, Channel.WEB}
LEVEL1_WEIGHTS = {
    "城乡建设": 18,
    "农村农业": 16,
    "劳动和社会保障": 13,
    "国土资源": 12,
    "政法": 10,
    "民政": 9,
    "环境保护": 5,
    "交通运输": 4,
    "教育文体": 3,
    "卫生计生": 3,
    "经济管理": 2.5,
    "纪检监察": 2,
    "商贸旅游": 1.2,
    "科技与信息产业": 0.8,
    "党务政务": 0.5,
}
# Seasonality by month: wage arrears before 春节, disputes around the wheat (June) and autumn harvests.
MONTH_FACTORS = {1: 1.15, 2: 1.1, 3: 1.0, 4: 0.95, 5: 0.95, 6: 1.1, 7: 1.0, 8: 0.95, 9: 1.0, 10: 1.1, 11: 1.0, 12: 1.1}
SPRING_FESTIVAL = {
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
URGENCY_WEIGHTS = {Urgency.NORMAL: 93, Urgency.URGENT: 6, Urgency.CRITICAL: 1}
NATURE_WEIGHTS = {Nature.CLAIM: 75, Nature.ACCUSATION: 12, Nature.SUGGESTION: 8, Nature.LEGAL: 5}
REQUEST_WEIGHTS = {
    RequestType.HELP: 45,
    RequestType.COMPLAINT: 25,
    RequestType.CONSULT: 12,
    RequestType.REPORT: 10,
    RequestType.SUGGEST: 8,
}
OUTCOME_WEIGHTS = {"supported": 42, "explained": 38, "not_supported": 7, "mediated": 13}
DISPUTE_CATEGORIES = {"土地承包经营", "仲裁与调解", "社会治安", "土地资源管理", "区划地名", "劳动关系", "医患纠纷"}

# Lead unit by category: "T" is the township where the case happened (属地管理), D.. a county
# department, X04 the centre's 涉法涉诉办公室. Level-2 entries override the level-1 default.
LEAD_BY_LEVEL1: dict[str, dict[str, float]] = {
    "城乡建设": {"T": 0.6, "D04": 0.3, "D13": 0.1},
    "劳动和社会保障": {"D02": 0.65, "D21": 0.1, "T": 0.25},
    "农村农业": {"T": 0.65, "D05": 0.35},
    "国土资源": {"D03": 0.55, "T": 0.45},
    "政法": {"D01": 0.5, "D14": 0.2, "T": 0.3},
    "民政": {"D08": 0.6, "T": 0.4},
    "环境保护": {"D09": 0.7, "T": 0.3},
    "交通运输": {"D11": 0.7, "T": 0.3},
    "教育文体": {"D06": 0.8, "T": 0.2},
    "卫生计生": {"D07": 0.7, "D21": 0.1, "T": 0.2},
    "经济管理": {"D17": 0.3, "D16": 0.2, "D10": 0.2, "T": 0.3},
    "商贸旅游": {"D10": 0.75, "D19": 0.15, "T": 0.1},
    "科技与信息产业": {"D24": 0.6, "T": 0.4},
    "纪检监察": {"T": 0.7, "D15": 0.3},
    "党务政务": {"T": 0.7, "D15": 0.3},
}
LEAD_BY_LEVEL2: dict[tuple[str, str], dict[str, float]] = {
    ("城乡建设", "安全生产"): {"T": 0.5, "D18": 0.5},
    ("城乡建设", "城市建设和市政管理"): {"T": 0.4, "D13": 0.4, "D04": 0.2},
    ("城乡建设", "住房保障与房地产"): {"D04": 0.7, "T": 0.3},
    ("城乡建设", "建筑市场"): {"D04": 0.4, "D02": 0.3, "T": 0.3},
    ("农村农业", "水利水电"): {"D12": 0.5, "T": 0.5},
    ("农村农业", "林业管理"): {"D22": 0.5, "T": 0.5},
    ("农村农业", "水库移民"): {"D12": 0.6, "T": 0.4},
    ("政法", "仲裁与调解"): {"D14": 0.5, "T": 0.5},
    ("政法", "法律服务"): {"D14": 0.8, "T": 0.2},
    ("政法", "诉讼"): {"X04": 0.6, "D14": 0.4},
    ("政法", "行政复议"): {"X04": 0.5, "D14": 0.5},
    ("民政", "优抚"): {"D20": 0.8, "T": 0.2},
    ("民政", "复退安置"): {"D20": 0.9, "T": 0.1},
    ("教育文体", "文化"): {"D19": 0.7, "T": 0.3},
    ("教育文体", "体育"): {"D19": 0.7, "T": 0.3},
    ("教育文体", "文物管理"): {"D19": 0.8, "T": 0.2},
    ("卫生计生", "食品药品监管"): {"D10": 0.8, "D07": 0.2},
    ("经济管理", "金融财税"): {"D16": 0.4, "D01": 0.3, "T": 0.3},
    ("经济管理", "能源管理"): {"D25": 0.8, "T": 0.2},
    ("经济管理", "安全生产"): {"D18": 0.8, "T": 0.2},
    ("商贸旅游", "旅游管理"): {"D19": 0.8, "T": 0.2},
    ("交通运输", "出租车管理"): {"D11": 1.0},
}
OFFICE_START, OFFICE_END = time(8, 30), time(17, 30)
OFFICE_MINUTES = 540
ONLINE_HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 5, 4, 5, 6, 6, 5, 5, 6, 7, 6, 4, 2]


class DemoYearError(Exception):
    """The demo year cannot be generated (missing reference data, production, ...)."""


@dataclass
class DemoYearResult:
    skipped: bool = False
    message: str = ""
    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    rated: int = 0
    satisfied: int = 0
    step_errors: int = 0
    actions_taken: Counter = field(default_factory=Counter)

    @property
    def closed_share(self) -> float:
        return self.states.get(CaseState.CLOSED, 0) / self.cases if self.cases else 0.0

    @property
    def done_share(self) -> float:
        """Closed, declined or merged: no longer being handled."""
        done = sum(self.states.get(s, 0) for s in (CaseState.CLOSED, CaseState.DECLINED, CaseState.MERGED))
        return done / self.cases if self.cases else 0.0

    @property
    def satisfied_share(self) -> float:
        return self.satisfied / self.rated if self.rated else 0.0


@dataclass
class _Plan:
    """One simulated case: what will happen to it, decided at registration."""

    index: int
    submitted_at: datetime
    village: OrgUnit
    township: OrgUnit
    category: Category
    level1: str
    level2: str
    channel: str
    group_size: int
    lead: OrgUnit
    wrong_lead: OrgUnit | None = None
    co_units: list[OrgUnit] = field(default_factory=list)
    decline: bool = False
    merge_key: tuple[int, str] | None = None
    outcome: str = "explained"
    handle_minutes: float = 0.0
    note: bool = False
    send_back: bool = False
    rate: bool = True
    satisfied: bool = True
    reopen: bool = False
    short: str = ""
    case_id: int | None = None
    state: str = ""
    handle_due: datetime | None = None
    rounds: int = 0


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class _Progress:
    def __init__(self, total: int, callback: Callable[[int, int, float], None] | None) -> None:
        self.total, self.callback, self.start = total, callback, clock.monotonic()

    def __call__(self, done: int) -> None:
        if self.callback:
            self.callback(done, self.total, clock.monotonic() - self.start)


class DemoYear:
    """Builds the world (units, actors, weights) once, then simulates the year."""

    def __init__(self, *, cases: int, seed: int, end_date: date, days: int = DAYS) -> None:
        self.total, self.seed, self.end_date, self.days = cases, seed, end_date, days
        self.rng = random.Random(seed)
        self.texts = TextFactory(seed)
        self.result = DemoYearResult()
        self._tiebreak = 0
        self._heap: list[tuple[datetime, int, str, _Plan]] = []
        self._open_by_key: dict[tuple[int, str], list[_Plan]] = defaultdict(list)
        self._people: dict[int, list] = defaultdict(list)

    # --- world -------------------------------------------------------------------------
    def prepare(self) -> None:
        county = default_county()
        if county is None:
            raise DemoYearError(
                "组织机构数据缺失，请先运行 `minqing orgs load yiyang`。 "
                "Org units missing: run `minqing orgs load yiyang`."
            )
        self.county = county
        self.calendar: WorkCalendar = load_calendar()
        if not self.calendar.complete_years:
            raise DemoYearError("工作日历为空，请先运行 `minqing calendar seed`。 Run `minqing calendar seed` first.")
        units = list(OrgUnit.objects.filter(path__startswith=county.path, active=True))
        self.units_by_code = {u.code: u for u in units}
        self.townships = [u for u in units if u.kind == UnitKind.TOWNSHIP]
        self.villages: dict[int, list[OrgUnit]] = defaultdict(list)
        for unit in units:
            if unit.kind == UnitKind.VILLAGE:
                self.villages[unit.parent_id].append(unit)
        self.townships = [t for t in self.townships if self.villages[t.pk]]
        self.township_weights = {
            t: TOWNSHIP_WEIGHTS.get(t.code[len(county.code) :], 0.8) * (0.9 + 0.1 * len(self.villages[t.pk]) / 22)
            for t in self.townships
        }
        # Some villages simply have more trouble than others.
        self.village_weights = {
            t.pk: {v: self.rng.lognormvariate(0, 0.6) for v in self.villages[t.pk]} for t in self.townships
        }
        self._load_categories()
        self._load_actors()

    def _load_categories(self) -> None:
        categories = list(Category.objects.filter(parent__isnull=False, active=True).select_related("parent"))
        if not categories:
            raise DemoYearError("诉求分类缺失（应由迁移写入）。 Categories missing: run `minqing migrate`.")
        self.categories: dict[str, dict[Category, float]] = defaultdict(dict)
        for category in categories:
            topics = len(self.texts.topics.get((category.parent.name, category.name), ()))
            weight = (0.3 if category.name == "其他" else 0.4 + topics) * self.rng.uniform(0.6, 1.4)
            self.categories[category.parent.name][category] = weight
        self.level1_weights = {name: LEVEL1_WEIGHTS.get(name, 1.0) for name in self.categories}

    def _load_actors(self) -> None:
        wanted = {a.username for a in DEMO_ACCOUNTS}
        if User.objects.filter(username__in=wanted).count() < len(wanted):
            ensure_demo_accounts()
        users = {u.username: u for u in User.objects.filter(username__in=wanted)}
        self.dispatcher = users["dispatcher"]
        self.county_manager = users["county_manager"]
        handling = [u for u in self.units_by_code.values() if u.kind in (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT)]
        handling += [u for u in self.units_by_code.values() if u.kind == UnitKind.OFFICE]
        villages = [v for vs in self.villages.values() for v in vs]
        self.handlers = self._members(handling, Role.HANDLER, SYNTHETIC_HANDLER_PREFIX, "承办人")
        self.informants = self._members(villages, Role.INFORMANT, SYNTHETIC_INFORMANT_PREFIX, "信息员")

    def _members(self, units: list[OrgUnit], role: str, prefix: str, title: str) -> dict[int, User]:
        """One member with `role` per unit: an existing one (e.g. a demo account), else a synthetic one."""
        found: dict[int, User] = {}
        for membership in (
            Membership.objects.filter(unit__in=units, role=role, user__is_active=True)
            .select_related("user")
            .order_by("user__username")
        ):
            found.setdefault(membership.unit_id, membership.user)
        missing = [u for u in units if u.pk not in found]
        if missing:
            unusable = make_password(None)
            new_users = [
                User(
                    username=f"{prefix}{unit.code}",
                    display_name=f"{self.texts.handler_name().removesuffix(SYNTHETIC_SUFFIX)}（演示{title}）",
                    password=unusable,
                )
                for unit in missing
            ]
            existing = {u.username: u for u in User.objects.filter(username__in=[u.username for u in new_users])}
            User.objects.bulk_create([u for u in new_users if u.username not in existing])
            created = {u.username: u for u in User.objects.filter(username__in=[u.username for u in new_users])}
            Membership.objects.bulk_create(
                [Membership(user=created[f"{prefix}{unit.code}"], unit=unit, role=role) for unit in missing],
                ignore_conflicts=True,
            )
            for unit in missing:
                found[unit.pk] = created[f"{prefix}{unit.code}"]
        return found

    # --- calendar and clock ------------------------------------------------------------
    def _day_weight(self, day: date) -> float:
        weight = MONTH_FACTORS[day.month]
        if not self.calendar.is_working_day(day):
            weight *= 0.3 if day in self.calendar.holidays else 0.45
        for year in (day.year, day.year + 1):
            festival = SPRING_FESTIVAL.get(year)
            if festival and 0 < (festival - day).days <= 25:
                weight *= 1.35  # wage arrears and family disputes before the festival
        return weight

    def office_after(self, moment: datetime, minutes: float) -> datetime:
        """`minutes` of office time (working days, 8:30–17:30) after `moment`."""
        moment = moment.astimezone(LOCAL_TZ)
        remaining = max(minutes, 1.0)
        while True:
            day = moment.date()
            if self.calendar.is_working_day(day):
                start = datetime.combine(day, OFFICE_START, LOCAL_TZ)
                end = datetime.combine(day, OFFICE_END, LOCAL_TZ)
                moment = max(moment, start)
                if moment < end:
                    available = (end - moment).total_seconds() / 60
                    if remaining <= available:
                        return moment + timedelta(minutes=remaining, seconds=self.rng.randrange(60))
                    remaining -= available
            moment = datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ)

    def _submission_time(self, day: date, channel: str) -> datetime:
        rng = self.rng
        if channel in STAFF_CHANNELS or (not self.calendar.is_working_day(day) and channel == Channel.INFORMANT):
            minute = rng.randrange(OFFICE_MINUTES)
            return datetime.combine(day, OFFICE_START, LOCAL_TZ) + timedelta(minutes=minute, seconds=rng.randrange(60))
        hour = rng.choices(range(24), weights=ONLINE_HOUR_WEIGHTS)[0]
        return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), LOCAL_TZ)

    # --- planning ------------------------------------------------------------------------
    def _schedule(self, at: datetime, step: str, plan: _Plan) -> None:
        self._tiebreak += 1
        heapq.heappush(self._heap, (at, self._tiebreak, step, plan))

    def _lead_for(self, level1: str, level2: str, township: OrgUnit) -> OrgUnit:
        options = LEAD_BY_LEVEL2.get((level1, level2)) or LEAD_BY_LEVEL1.get(level1) or {"T": 1.0}
        choice = _weighted(self.rng, options)
        if choice == "T":
            return township
        return self.units_by_code.get(f"{self.county.code}{choice}", township)

    def _plan(self, index: int, day: date) -> _Plan:
        rng = self.rng
        working = self.calendar.is_working_day(day)
        channel = _weighted(rng, CHANNELS_WORKDAY if working else CHANNELS_RESTDAY)
        township = _weighted(rng, self.township_weights)
        village = _weighted(rng, self.village_weights[township.pk])
        level1 = _weighted(rng, self.level1_weights)
        category = _weighted(rng, self.categories[level1])
        roll = rng.random()
        group_size = rng.randint(5, 40) if roll < 0.03 else rng.randint(2, 4) if roll < 0.08 else 1
        plan = _Plan(
            index=index,
            submitted_at=self._submission_time(day, channel),
            village=village,
            township=township,
            category=category,
            level1=level1,
            level2=category.name,
            channel=channel,
            group_size=group_size,
            lead=self._lead_for(level1, category.name, township),
        )
        plan.decline = rng.random() < 0.02
        key = (village.pk, level1)
        if not plan.decline and rng.random() < 0.06 and self._open_by_key.get(key):
            plan.merge_key = key  # a duplicate of an open case from the same village (checked when due)
        if rng.random() < 0.025:
            plan.wrong_lead = self._wrong_lead(plan.lead, township)
        if rng.random() < 0.05:
            plan.co_units = [self._co_unit(plan.lead, township)]
        weights = dict(OUTCOME_WEIGHTS)
        if category.name in DISPUTE_CATEGORIES:
            weights["mediated"] = 40
        plan.outcome = _weighted(rng, weights)
        days = min(max(rng.lognormvariate(math.log(4.5), 0.65), 0.2), 45)
        if rng.random() < 0.012:
            days = rng.uniform(16, 45)  # the hard ones that run over
        plan.handle_minutes = days * OFFICE_MINUTES
        plan.note = rng.random() < 0.12
        plan.send_back = rng.random() < 0.02
        plan.rate = rng.random() < 0.85
        plan.satisfied = rng.random() < 0.955
        plan.reopen = not plan.satisfied and rng.random() < 0.3
        return plan

    def _wrong_lead(self, right: OrgUnit, township: OrgUnit) -> OrgUnit:
        departments = [u for u in self.units_by_code.values() if u.kind == UnitKind.DEPARTMENT and u.pk != right.pk]
        if right.kind == UnitKind.DEPARTMENT and self.rng.random() < 0.5:
            return township
        return self.rng.choice(departments)

    def _co_unit(self, lead: OrgUnit, township: OrgUnit) -> OrgUnit:
        if lead.kind == UnitKind.DEPARTMENT:
            return township
        departments = [u for u in self.units_by_code.values() if u.kind == UnitKind.DEPARTMENT]
        return self.rng.choice(departments)

    # --- steps -----------------------------------------------------------------------------
    def _person(self, plan: _Plan):
        known = self._people[plan.village.pk]
        if known and self.rng.random() < 0.06:
            return self.rng.choice(known)  # a repeat petitioner
        person = self.texts.person(plan.village.name, plan.township.name)
        known.append(person)
        return person

    def step_register(self, plan: _Plan, at: datetime) -> None:
        rng = self.rng
        text = self.texts.case_text(
            level1=plan.level1,
            level2=plan.level2,
            village=plan.village.name,
            township=plan.township.name,
            on=at.astimezone(LOCAL_TZ).date(),
            channel=plan.channel,
            group_size=plan.group_size,
        )
        plan.short = text.short
        anonymous = plan.channel in ONLINE_CHANNELS and rng.random() < 0.03
        parties = []
        if not anonymous:
            person = self._person(plan)
            with_id = plan.channel in (Channel.WALK_IN, Channel.LETTER) or rng.random() < 0.6
            parties = [
                actions.PartyInput(
                    name=person.name,
                    phone=person.phone,
                    id_number=person.id_number if with_id else "",
                    address=person.address,
                )
            ]
        if plan.channel in STAFF_CHANNELS:
            actor = self.dispatcher
        elif plan.channel == Channel.INFORMANT:
            actor = self.informants[plan.village.pk]
        else:
            actor = None  # self-service intake (WeChat, app, web)
        case = actions.register_case(
            actions.NewCase(
                channel=plan.channel,
                title=text.title,
                content=text.content,
                location_unit=plan.village,
                category=plan.category,
                nature=_weighted(rng, NATURE_WEIGHTS),
                request_type=_weighted(rng, REQUEST_WEIGHTS),
                urgency=_weighted(rng, URGENCY_WEIGHTS),
                group_size=plan.group_size,
                address=f"{plan.township.name}{plan.village.name}",
                latitude=(plan.village.latitude or 34.5) + rng.uniform(-0.004, 0.004),
                longitude=(plan.village.longitude or 112.1) + rng.uniform(-0.004, 0.004),
                is_anonymous=anonymous,
                parties=parties,
            ),
            actor,
            at=at,
        )
        plan.case_id, plan.state = case.pk, case.state
        plan.handle_minutes *= {Urgency.URGENT: 0.3, Urgency.CRITICAL: 0.05}.get(case.urgency, 1.0)
        delay = rng.uniform(10, 600) if rng.random() < 0.9 else rng.uniform(600, 1600)
        if case.urgency != Urgency.NORMAL:
            delay = rng.uniform(5, 60)
        self._schedule(self.office_after(at, delay), "triage", plan)

    def step_triage(self, plan: _Plan, at: datetime) -> None:
        if plan.decline:
            actions.decline_case(plan.case_id, self.dispatcher, reason=self.texts.decline_reason(), at=at)
            plan.state = CaseState.DECLINED
            return
        if plan.merge_key:
            targets = [p for p in self._open_by_key.get(plan.merge_key, ()) if p.state in _MERGEABLE_TARGET]
            if targets:
                actions.merge_case(
                    plan.case_id, self.dispatcher, into=targets[-1].case_id, note=self.texts.merge_note(), at=at
                )
                plan.state = CaseState.MERGED
                return
        case = actions.accept_case(plan.case_id, self.dispatcher, at=at)
        plan.state, plan.handle_due = case.state, case.handle_due
        self._open_by_key[(plan.village.pk, plan.level1)].append(plan)
        self._schedule(self.office_after(at, self.rng.uniform(3, 60)), "assign", plan)

    def step_assign(self, plan: _Plan, at: datetime) -> None:
        first = plan.wrong_lead or plan.lead
        actions.assign_case(plan.case_id, self.dispatcher, lead_unit=first, co_units=plan.co_units, at=at)
        plan.state = CaseState.ASSIGNED
        if plan.wrong_lead:
            self._schedule(self.office_after(at, self.rng.uniform(60, 3 * OFFICE_MINUTES)), "return", plan)
        else:
            self._schedule(self.office_after(at, self._sign_delay()), "sign_for", plan)

    def _sign_delay(self) -> float:
        return self.rng.uniform(15, 240) if self.rng.random() < 0.8 else self.rng.uniform(240, 1000)

    def step_return(self, plan: _Plan, at: datetime) -> None:
        unit = plan.wrong_lead
        actions.return_case(
            plan.case_id, self.handlers[unit.pk], reason=self.texts.return_reason(plan.lead.name), at=at
        )
        plan.state = CaseState.RETURNED
        self._schedule(self.office_after(at, self.rng.uniform(20, 400)), "reassign", plan)

    def step_reassign(self, plan: _Plan, at: datetime) -> None:
        co = [u for u in plan.co_units if u.pk != plan.lead.pk]
        actions.reassign_case(
            plan.case_id, self.dispatcher, lead_unit=plan.lead, co_units=co, note="退回后重新交办", at=at
        )
        plan.wrong_lead, plan.state = None, CaseState.ASSIGNED
        self._schedule(self.office_after(at, self._sign_delay()), "sign_for", plan)

    def step_sign_for(self, plan: _Plan, at: datetime) -> None:
        actions.sign_for_case(plan.case_id, self.handlers[plan.lead.pk], at=at)
        plan.state = CaseState.IN_PROGRESS
        minutes = plan.handle_minutes if plan.rounds == 0 else self.rng.uniform(0.5, 6) * OFFICE_MINUTES
        reply_at = self.office_after(at, minutes)
        if plan.note:
            self._schedule(self.office_after(at, minutes * self.rng.uniform(0.2, 0.7)), "note", plan)
        if plan.outcome == "mediated":
            self._schedule(self.office_after(at, minutes * self.rng.uniform(0.5, 0.9)), "mediate", plan)
        if plan.handle_due and reply_at > plan.handle_due - timedelta(days=1) and plan.rounds == 0:
            urge_at = max(at + timedelta(minutes=5), plan.handle_due - timedelta(days=1, hours=self.rng.randint(0, 8)))
            self._schedule(urge_at, "urge", plan)
        self._schedule(reply_at, "reply", plan)

    def step_note(self, plan: _Plan, at: datetime) -> None:
        if plan.state == CaseState.IN_PROGRESS:
            other = plan.co_units[0].name if plan.co_units else "相关部门"
            actions.add_note(
                plan.case_id,
                self.handlers[plan.lead.pk],
                text=self.texts.note(village=plan.village.name, other=other),
                at=at,
            )

    def step_mediate(self, plan: _Plan, at: datetime) -> None:
        if plan.state == CaseState.IN_PROGRESS:
            summary, participants, result = self.texts.mediation(
                short=plan.short, unit=plan.lead.name, village=plan.village.name
            )
            actions.add_mediation_record(
                plan.case_id,
                self.handlers[plan.lead.pk],
                summary=summary,
                participants=participants,
                result=result,
                at=at,
            )

    def step_urge(self, plan: _Plan, at: datetime) -> None:
        if plan.state == CaseState.IN_PROGRESS:
            actions.record_side_event(
                plan.case_id, self.county_manager, "urge", {"text": self.texts.urge_text()}, at=at
            )

    def step_reply(self, plan: _Plan, at: datetime) -> None:
        text = self.texts.reply(plan.outcome, short=plan.short, unit=plan.lead.name, village=plan.village.name)
        actions.reply_case(plan.case_id, self.handlers[plan.lead.pk], outcome=plan.outcome, reply_text=text, at=at)
        plan.state = CaseState.REPLIED
        self._schedule(self.office_after(at, self.rng.uniform(20, 700)), "review", plan)

    def step_review(self, plan: _Plan, at: datetime) -> None:
        if plan.send_back:
            plan.send_back = False
            actions.send_back_case(plan.case_id, self.dispatcher, reason=self.texts.send_back_reason(), at=at)
            plan.state = CaseState.IN_PROGRESS
            plan.rounds += 1
            minutes = self.rng.uniform(0.5, 4) * OFFICE_MINUTES
            self._schedule(self.office_after(at, minutes), "reply", plan)
            return
        actions.close_case(plan.case_id, self.dispatcher, at=at)
        plan.state = CaseState.CLOSED
        self._close_open(plan)
        if plan.rate:
            plan.rate = False
            rate_at = at + timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 8))
            self._schedule(rate_at, "rate", plan)

    def _close_open(self, plan: _Plan) -> None:
        open_plans = self._open_by_key.get((plan.village.pk, plan.level1))
        if open_plans and plan in open_plans:
            open_plans.remove(plan)

    def step_rate(self, plan: _Plan, at: datetime) -> None:
        rng = self.rng
        satisfied = plan.satisfied
        payload = {
            "satisfied": satisfied,
            "score": rng.choice((4, 5, 5, 5)) if satisfied else rng.choice((1, 2, 2)),
            "method": _weighted(rng, {"follow_up_call": 60, "wechat": 30, "sms": 10}),
            "comment": self.texts.rating_comment(satisfied),
            "synthetic": True,
        }
        actions.record_side_event(plan.case_id, None, "rate", payload, at=at)
        self.result.rated += 1
        self.result.satisfied += satisfied
        if plan.reopen:
            plan.reopen = False
            plan.satisfied = rng.random() < 0.8
            plan.rate = True
            self._schedule(self.office_after(at, rng.uniform(60, 1200)), "reopen", plan)

    def step_reopen(self, plan: _Plan, at: datetime) -> None:
        case = actions.reopen_case(plan.case_id, self.dispatcher, reason="回访不满意，重新办理", at=at)
        plan.state, plan.handle_due, plan.rounds = CaseState.REOPENED, case.handle_due, plan.rounds + 1
        self._schedule(self.office_after(at, self._sign_delay()), "sign_for", plan)

    # --- the year --------------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int, float], None] | None = None) -> DemoYearResult:
        started = clock.monotonic()
        tick = _Progress(self.total, progress)
        first_day = self.end_date - timedelta(days=self.days - 1)
        days = [first_day + timedelta(days=i) for i in range(self.days)]
        weights = [self._day_weight(d) for d in days]
        per_day = Counter(self.rng.choices(range(self.days), weights=weights, k=self.total))
        end_at = min(timezone.now(), datetime.combine(self.end_date, time(23, 59, 59), LOCAL_TZ))
        registered = 0
        steps = {name: getattr(self, f"step_{name}") for name in _STEPS}
        tick(0)
        # The actions queue an SMS delivery task on every commit; none is wanted for history.
        # DEBUG would also record every SQL statement (about a tenth of the time).
        with override_settings(TASKS=_NO_TASKS, DEBUG=False):
            for index, day in enumerate(days):
                for _ in range(per_day.get(index, 0)):
                    plan = self._plan(registered, day)
                    registered += 1
                    self._schedule(plan.submitted_at, "register", plan)
                day_end = datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ)
                with transaction.atomic():
                    while self._heap and self._heap[0][0] < day_end:
                        at, _, step, plan = heapq.heappop(self._heap)
                        if at > end_at:
                            continue
                        if step != "register" and plan.case_id is None:
                            continue
                        try:
                            # UTC: an event's hash covers created_at.isoformat(), which reads back in UTC.
                            steps[step](plan, at.astimezone(UTC))
                        except DomainError:
                            self.result.step_errors += 1
                            continue
                        self.result.actions_taken[step] += 1
                tick(sum(per_day.get(i, 0) for i in range(index + 1)))
        self._quiet_history()
        self.result.seconds = clock.monotonic() - started
        self._summarise()
        return self.result

    def _quiet_history(self) -> None:
        """Historical notifications were never sent: mark them so no worker sends them now."""
        from minqing.notify.models import Channel as NotifyChannel
        from minqing.notify.models import Notification, Status

        case_ids = Case.objects.values("pk")
        now = timezone.now()
        Notification.objects.filter(case_id__in=case_ids, status=Status.PENDING).exclude(
            channel=NotifyChannel.IN_APP
        ).update(status=Status.SENT, sent_at=now, provider_id="demo-not-sent")
        done = Case.objects.exclude(state__in=_STILL_OPEN).values("pk")
        Notification.objects.filter(case_id__in=done, read_at__isnull=True).update(read_at=now)

    def _summarise(self) -> None:
        from django.db.models import Count

        from minqing.cases.models import CaseEvent

        self.result.cases = Case.objects.count()
        self.result.events = CaseEvent.objects.count()
        self.result.states = dict(Case.objects.values_list("state").annotate(n=Count("id")).order_by())


_STEPS = (
    "register",
    "triage",
    "assign",
    "return",
    "reassign",
    "sign_for",
    "note",
    "mediate",
    "urge",
    "reply",
    "review",
    "rate",
    "reopen",
)
_MERGEABLE_TARGET = {CaseState.ACCEPTED, CaseState.ASSIGNED, CaseState.IN_PROGRESS}
_STILL_OPEN = (CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.ASSIGNED, CaseState.IN_PROGRESS, CaseState.RETURNED)
_NO_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "notify"]}}


def generate_demo_year(
    *,
    cases: int = DEFAULT_CASES,
    seed: int = 1,
    end_date: date | None = None,
    days: int = DAYS,
    force: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
) -> DemoYearResult:
    """Generate the demo year; does nothing (result.skipped) when cases exist and not `force`."""
    if getattr(settings, "PRODUCTION", False):
        raise DemoYearError("生产环境不能生成演示数据。 Refusing to generate demo data when MINQING_ENV=production.")
    existing = Case.objects.count()
    if existing and not force:
        return DemoYearResult(
            skipped=True,
            cases=existing,
            message=(
                f"已有 {existing} 件案件，未生成演示数据（如需追加，请加 --force）。\n"
                f"{existing} cases already exist; nothing generated (add --force to add a demo year on top)."
            ),
        )
    end_date = end_date or timezone.localdate()
    year = DemoYear(cases=cases, seed=seed, end_date=end_date, days=days)
    year.prepare()
    return year.run(progress)
