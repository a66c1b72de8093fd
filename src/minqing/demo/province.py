"""Bulk-load synthetic cases over a whole province (benchmarks): the rows the actions would write.

For every case: Case, Party (phone and ID number encrypted, hashed for lookups), CaseUnit for
the lead unit, a feedback Rating per rated round, and CaseEvent rows with a valid hash chain,
in the kinds, order, states and payloads the verbs write:

    register → decline
    register → accept → assign → sign_for → reply → close [→ rate]
    … → rate (不满意, first round) → reopen (system) → sign_for → reply → close [→ rate]

cut off at "now", so recent cases are still open. Cases are spread over every village of the
tree with skewed township weights. Rows go in through COPY (PostgreSQL) or executemany
(SQLite), a chunk per transaction, newest chunk first. Case i gets ids from blocks fixed by i,
so several worker processes can load interleaved chunks at once, and a run stopped early holds
the most recent cases of the span.

Statistics: with `stats=True` (the database had no events before), the rollups, per-case
ledgers and search documents are computed while loading by `minqing.stats.rollups.Batch`
itself, fed with the in-memory cases and events, and the cursor is put after the last event;
`stats rebuild` gives the same rows (tests/test_province_load.py checks both databases).
Otherwise run `minqing stats rebuild` afterwards. Everything is synthetic.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

MAX_EVENTS = (
    12  # per case: register, accept, assign, sign_for, reply, close, rate, reopen, sign_for, reply, close, rate
)
STAGING_TABLE = "bench_rollup_staging"
HANDLE_DAYS = 21
CHANNELS = (("wechat", 40), ("phone", 15), ("hotline_12345", 15), ("app", 10), ("walk_in", 8), ("web", 5))
CHANNELS += (("letter", 3), ("informant", 4))
OUTCOMES = (("supported", 35), ("explained", 40), ("not_supported", 10), ("mediated", 15))
SCORES = (("satisfied", 78), ("basically_satisfied", 16), ("unsatisfied", 6))
RATING_CHANNELS = ("sms", "wechat")
NATURES = (("claim", 70), ("suggestion", 12), ("accusation", 10), ("legal", 8))
REQUEST_TYPES = (("help", 45), ("complaint", 25), ("consult", 15), ("report", 8), ("suggest", 7))
URGENCIES = (("normal", 90), ("urgent", 8), ("critical", 2))
TEXTS_PER_TOWNSHIP = 3
REPEAT_SHARE = 12  # percent of cases from a petitioner who had an earlier case


def _cum(pairs) -> tuple[list, list[float]]:
    values = [v for v, _w in pairs]
    total, cum = 0.0, []
    for _v, weight in pairs:
        total += weight
        cum.append(total)
    return values, cum


def _mix(i: int) -> int:
    """A cheap deterministic hash of a case index (0 .. 2**32)."""
    return (i * 2654435761 + 0x9E3779B9) % 4294967296


@dataclass
class Plan:
    """Shared by the workers: what to load and where the id blocks start."""

    total: int
    seed: int
    start: datetime  # the first case is submitted then, the last one just before `end`
    end: datetime
    case_base: int
    party_base: int
    unit_base: int
    event_base: int
    rating_base: int
    stats: bool
    reopens: bool = True  # False: no 不满意 ratings, so no case is reopened
    chunk: int = 5000  # cases per transaction; repeat petitioners are drawn from the same chunk

    @property
    def step(self) -> float:
        return (self.end - self.start).total_seconds() / self.total

    def submitted(self, i: int) -> datetime:
        jitter = (_mix(i) % 1000) / 1000
        return self.start + timedelta(seconds=(i + jitter) * self.step)

    def as_json(self) -> str:
        data = self.__dict__ | {"start": self.start.isoformat(), "end": self.end.isoformat()}
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        data["start"], data["end"] = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        return cls(**data)


def make_plan(
    total: int, seed: int = 1, span_days: float = 365.0, stats: bool = True, reopens: bool = True, chunk: int = 5000
) -> Plan:
    """Id blocks after what the database holds; stats directly only when there are no events yet."""
    from minqing.cases.models import Case, CaseEvent, CaseUnit, Party
    from minqing.feedback.models import Rating

    def next_id(model) -> int:
        return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    end = datetime.now(UTC).replace(microsecond=0)
    return Plan(
        total=total,
        seed=seed,
        start=end - timedelta(days=span_days),
        end=end,
        case_base=next_id(Case),
        party_base=next_id(Party),
        unit_base=next_id(CaseUnit),
        event_base=next_id(CaseEvent),
        rating_base=next_id(Rating),
        stats=stats and not CaseEvent.objects.exists(),
        reopens=reopens,
        chunk=chunk,
    )


class _Event:
    """What rollups.Batch reads of an event."""

    __slots__ = ("action", "case_id", "created_at", "from_state", "payload")

    def __init__(self, case_id, action, payload, created_at, from_state) -> None:
        self.case_id, self.action, self.payload, self.created_at, self.from_state = (
            case_id,
            action,
            payload,
            created_at,
            from_state,
        )


def _text_pools(seed: int, townships: list[tuple], villages_of: dict[int, list]) -> dict:
    """Texts per township (naming one of its villages) with their jieba words, replies, names.

    jieba is the slow part, so the pools are cut once and kept in DATA_DIR for the other workers.
    """
    import hashlib
    import pickle

    import jieba
    from django.conf import settings

    from minqing.cases.models import Category
    from minqing.demo.texts import TextFactory
    from minqing.stats import search

    categories = list(Category.objects.filter(parent__isnull=False, active=True).select_related("parent"))
    # The cache belongs to this tree and these categories (ids and names), nothing else.
    key = [(t[0], t[1], t[2], [v[0] for v in villages_of.get(t[0], [])]) for t in townships]
    key.append([(c.pk, c.name, c.parent.name) for c in categories])
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:16]
    cache = Path(settings.DATA_DIR) / f"province-texts-{seed}-{TEXTS_PER_TOWNSHIP}-{digest}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    rng = random.Random(seed + 11)
    texts = TextFactory(seed=seed + 6)
    today = datetime.now(UTC).date()

    def words(text: str) -> list[str]:
        return search._words(jieba.cut_for_search(text))

    pools: dict[str, Any] = {"texts": {}}
    for township in townships:
        villages = villages_of.get(township[0]) or [township]
        pool = []
        for _ in range(TEXTS_PER_TOWNSHIP):
            category = rng.choice(categories)
            text = texts.case_text(
                level1=category.parent.name,
                level2=category.name,
                village=rng.choice(villages)[2],
                township=township[2],
                on=today,
            )
            pool.append((text.title, text.content, category.pk, words(text.title), words(text.content)))
        pools["texts"][township[0]] = pool
    replies = {}
    for outcome, _weight in OUTCOMES:
        made = [texts.reply(outcome, short="相关问题", unit="承办单位", village="本村") for _ in range(12)]
        replies[outcome] = [(reply, words(reply)) for reply in made]
    pools["replies"] = replies
    pools["decline"] = [texts.decline_reason() for _ in range(10)]
    pools["unsatisfied"] = [texts.rating_comment(False) for _ in range(10)]
    pools["names"] = [texts.person("某村", "某镇").name for _ in range(500)]
    temporary = cache.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(pickle.dumps(pools))
    temporary.replace(cache)
    return pools


class Loader:
    """Loads every `workers`-th chunk of a plan from the newest (run one per process).

    Newest first, so a run stopped at `deadline` (a time.time() value) holds the most recent
    cases of the plan's span, complete: each chunk is one transaction.
    """

    def __init__(self, plan: Plan, worker: int = 0, workers: int = 1, deadline: float | None = None) -> None:
        self.plan, self.deadline = plan, deadline
        chunks = -(-plan.total // plan.chunk)
        self.chunks = list(range(chunks - 1 - worker, -1, -workers))
        self.vendor = connection.vendor

    # --- reference data -----------------------------------------------------------------------

    def prepare(self) -> None:
        from minqing.accounts.models import User
        from minqing.cases.models import Case, CaseEvent, CaseUnit, Party
        from minqing.feedback.models import Rating
        from minqing.orgs.models import OrgUnit, UnitKind
        from minqing.stats import rollups, search
        from minqing.stats.models import CaseRollupState, CaseSearchDoc

        self.models = {
            "case": Case,
            "party": Party,
            "unit": CaseUnit,
            "event": CaseEvent,
            "rating": Rating,
            "state": CaseRollupState,
            "doc": CaseSearchDoc,
        }
        self.columns = {key: list(model._meta.concrete_fields) for key, model in self.models.items()}
        self.defaults = {key: {f.attname: f.get_default() for f in fields} for key, fields in self.columns.items()}
        _init_staging_columns()
        self.county_paths = search.county_paths()
        units = list(OrgUnit.objects.filter(active=True).values_list("pk", "code", "name", "kind", "parent_id", "path"))
        county_of: dict[int, tuple] = {}
        for unit in units:
            segments = unit[5].strip("/").split("/")
            county_of[unit[0]] = next((code for code in segments if len(code) == 6), segments[0])
        townships = [u for u in units if u[3] == UnitKind.TOWNSHIP]
        villages_of: dict[int, list] = defaultdict(list)
        for unit in units:
            if unit[3] == UnitKind.VILLAGE:
                villages_of[unit[4]].append(unit)
        self.departments: dict[str, list] = defaultdict(list)
        for unit in units:
            if unit[3] == UnitKind.DEPARTMENT:
                self.departments[county_of[unit[0]]].append(unit)
        rng = random.Random(self.plan.seed)
        # Townships weigh differently (lognormal): a few busy towns, many quiet ones.
        self.places: list[tuple] = []  # (village, township, county code)
        cum: list[float] = []
        total = 0.0
        for township in sorted(townships, key=lambda u: u[1]):
            villages = villages_of.get(township[0])
            if not villages:
                continue
            weight = rng.lognormvariate(0, 0.6) / len(villages)
            for village in villages:
                self.places.append((village, township, county_of[township[0]]))
                total += weight
                cum.append(total)
        if not self.places:
            raise SystemExit("no villages: run `minqing orgs load henan` (or yiyang) first")
        self.place_cum = cum
        pools = _text_pools(self.plan.seed, townships, villages_of)
        self.texts, self.replies, self.names = pools["texts"], pools["replies"], pools["names"]
        self.decline_reasons, self.unsatisfied_reasons = pools["decline"], pools["unsatisfied"]
        users = {u.username: u.pk for u in User.objects.filter(username__in=["dispatcher", "liuquan_handler"])}
        self.centre = {"410327": (users["dispatcher"], "dispatcher")} if "dispatcher" in users else {}
        self.handlers = (
            {"410327102": (users["liuquan_handler"], "liuquan_handler")} if "liuquan_handler" in users else {}
        )
        self.mixes = {
            name: _cum(pairs)
            for name, pairs in (
                ("channel", CHANNELS),
                ("outcome", OUTCOMES),
                ("score", SCORES),
                ("nature", NATURES),
                ("request_type", REQUEST_TYPES),
                ("urgency", URGENCIES),
            )
        }
        from django.conf import settings

        self.prefix = settings.MINQING_CASE_PREFIX
        self.year_first: dict[int, int] = {}
        if self.plan.stats:
            self.units = rollups.Units()
        self.written = Counter()
        self.years: dict[int, int] = {}  # year -> highest reference number written

    def _pick(self, rng: random.Random, name: str) -> str:
        values, cum = self.mixes[name]
        return values[bisect.bisect(cum, rng.random() * cum[-1])]

    # --- references ---------------------------------------------------------------------------

    def _reference_number(self, i: int, year: int) -> int:
        """1-based number of case i within its (local) year: submission times grow with i."""
        from minqing.core.deadlines import LOCAL_TZ

        first = self.year_first.get(year)
        if first is None:
            lo, hi = 0, i
            while lo < hi:  # the first index whose local year is `year`
                mid = (lo + hi) // 2
                if self.plan.submitted(mid).astimezone(LOCAL_TZ).year < year:
                    lo = mid + 1
                else:
                    hi = mid
            first = self.year_first[year] = lo
        return i - first + 1

    # --- one case --------------------------------------------------------------------------------

    def _identity(self, i: int) -> tuple[int, bool]:
        """(index whose petitioner files case i, whether that is an earlier case's petitioner).

        The earlier case is in the same chunk, so it is loaded whenever case i is."""
        first = i - i % self.plan.chunk
        if i == first or _mix(i) % 100 >= REPEAT_SHARE:
            return i, False
        k = i - 1 - (_mix(i + 7) % (i - first))
        while k > first and _mix(k) % 100 < REPEAT_SHARE:
            k -= 1
        return k, True

    def _person(self, k: int) -> tuple[str, str, str]:
        """(name, phone, ID number) of petitioner k: synthetic, unique per k."""
        from minqing.demo.texts import id_check_digit

        phone = f"1{5 + k % 4}{k:09d}"[-11:]
        # Injective in k: sequence k % 1000, birth day (k // 1000) % 20000, region k // 20,000,000.
        born = datetime(1940, 1, 1) + timedelta(days=(k // 1000) % 20000)
        first17 = f"41{k // 20_000_000 % 10000:04d}{born:%Y%m%d}{k % 1000:03d}"
        return self.names[k % len(self.names)], phone, first17 + id_check_digit(first17)

    def build(self, i: int, rng: random.Random, out: dict[str, list]) -> None:
        from minqing.cases.models import event_chain_record, is_unsatisfied_score
        from minqing.cases.numbering import format_reference
        from minqing.core import crypto
        from minqing.core.deadlines import LOCAL_TZ
        from minqing.core.hashchain import GENESIS, link_hash

        plan = self.plan
        case_id = plan.case_base + i
        submitted = plan.submitted(i)
        now = plan.end
        village, township, county = self.places[bisect.bisect(self.place_cum, rng.random() * self.place_cum[-1])]
        title, content, category_id, title_words, content_words = rng.choice(self.texts[township[0]])
        channel = self._pick(rng, "channel")
        departments = self.departments.get(county)
        lead = township if not departments or rng.random() < 0.62 else rng.choice(departments)
        centre = self.centre.get(county, (None, f"centre_{county}"))
        handler = self.handlers.get(lead[1], (None, f"h_{lead[1]}"))

        # The intended history, as (action, hours after the previous step); cut at `now` below.
        steps: list[tuple[str, float]] = [("register", 0.0)]
        if rng.random() < 0.03:
            steps.append(("decline", rng.uniform(2, 60)))
        else:
            reply_hours = rng.uniform(24, 24 * 12) if rng.random() < 0.9 else rng.uniform(24 * 15, 24 * 45)
            steps += [
                ("accept", rng.uniform(1, 72)),
                ("assign", rng.uniform(0.2, 8)),
                ("sign_for", rng.uniform(0.5, 20) if rng.random() < 0.93 else rng.uniform(24, 96)),
                ("reply", reply_hours),
                ("close", rng.uniform(2, 72)),
            ]
            if rng.random() < 0.015:  # stuck in handling
                steps = steps[: rng.randint(3, 4)]
        at = submitted
        timeline: list[tuple[str, datetime]] = []
        for action, hours in steps:
            at = at + timedelta(hours=hours)
            if at > now:
                break
            timeline.append((action, at))

        case: dict[str, Any] = {
            "id": case_id,
            "query_code": f"{_mix(i + 3) % 10**6:06d}",
            "channel": channel,
            "nature": self._pick(rng, "nature"),
            "request_type": self._pick(rng, "request_type"),
            "category_id": category_id,
            "title": title,
            "content": content,
            "location_unit_id": village[0],
            "location_path": village[5],
            "address": f"{township[2]}{village[2]}",
            "urgency": self._pick(rng, "urgency"),
            "group_size": 1,
            "is_anonymous": False,
            "submitted_by_id": centre[0],
            "submitted_at": submitted,
            "accept_due": submitted + timedelta(days=5),
            "lead_path": "",
            "created_at": submitted,
        }
        year = submitted.astimezone(LOCAL_TZ).year
        number = self._reference_number(i, year)
        self.years[year] = max(self.years.get(year, 0), number)
        case["reference"] = format_reference(self.prefix, year, number)

        events: list[tuple] = []  # (action, from, to, at, actor, payload)
        state = ""
        reopen_count = 0
        ratings: list[dict] = []
        replies: list[str] = []
        link = None
        outcome = ""
        for action, at in timeline:
            before = state
            if action == "register":
                state, actor, payload = "submitted", centre, {"channel": channel, "attachments": 0}
            elif action == "decline":
                reason = rng.choice(self.decline_reasons)
                state, actor, payload = "declined", centre, {"reason": reason}
                case.update(closed_at=at, decline_reason=reason)
            elif action == "accept":
                due = at + timedelta(days=HANDLE_DAYS)
                state, actor = "accepted", centre
                payload = {"category": category_id, "urgency": case["urgency"], "handle_due": due.isoformat()}
                case.update(accepted_at=at, handle_due=due, handle_due_original=due)
            elif action == "assign":
                state, actor = "assigned", centre
                payload = {
                    "lead_unit": lead[1],
                    "co_units": [],
                    "handle_due": case["handle_due"].isoformat(),
                    "note": "",
                }
                case.update(lead_unit_id=lead[0], lead_path=lead[5], assigned_at=at, signed_at=None)
                link = {"unit_id": lead[0], "unit_path": lead[5], "role": "lead", "active": True, "assigned_at": at}
            elif action == "sign_for":
                state, actor, payload = "in_progress", handler, {}
                case["signed_at"] = link["signed_at"] = at
            elif action == "reply":
                outcome = self._pick(rng, "outcome")
                reply, reply_words = rng.choice(self.replies[outcome])
                replies.append(reply_words)
                state, actor, payload = "replied", handler, {"outcome": outcome, "reply": reply}
                case.update(outcome=outcome, reply_text=reply, replied_at=at)
            else:  # close
                on_time = bool(case["handle_due"] and at <= case["handle_due"])
                state, actor, payload = "closed", centre, {"note": "", "on_time": on_time}
                case["closed_at"] = at
            events.append((action, before, state, at, actor, payload))
            if action != "close":
                continue
            # 评价 (by link, no account), and a first-round 不满意 reopens the case (as the system).
            rated_at = at + timedelta(hours=rng.uniform(1, 96))
            if rng.random() > 0.7 or rated_at > now:
                continue
            score = self._pick(rng, "score")
            if score == "unsatisfied" and not plan.reopens:
                score = "basically_satisfied"
            reason = rng.choice(self.unsatisfied_reasons) if score == "unsatisfied" else ""
            rating_channel = RATING_CHANNELS[_mix(i) % 2]
            rating_id = plan.rating_base + i * 2 + reopen_count
            ratings.append(
                {
                    "id": rating_id,
                    "case_id": case_id,
                    "rated_by_id": None,
                    "channel": rating_channel,
                    "score": score,
                    "reason": reason,
                    "round": reopen_count,
                    "created_at": rated_at,
                }
            )
            payload = {
                "rating": rating_id,
                "score": score,
                "channel": rating_channel,
                "round": reopen_count,
                "reason": reason,
            }
            events.append(("rate", "closed", "closed", rated_at, (None, "system"), payload))
            if is_unsatisfied_score(score):
                case["unsatisfied_at"] = rated_at  # as record_side_event stamps it
            if score != "unsatisfied" or reopen_count:
                continue
            reopen_count = 1
            due = rated_at + timedelta(days=HANDLE_DAYS)
            payload = {"reason": f"群众评价不满意：{reason}", "handle_due": due.isoformat()}
            events.append(("reopen", "closed", "reopened", rated_at, (None, "system"), payload))
            state = "reopened"
            case.update(closed_at=None, replied_at=None, handle_due=due)
            # The lead unit handles it again; the next steps join the timeline.
            at = rated_at
            for action2, hours in (("sign_for", rng.uniform(1, 48)), ("reply", rng.uniform(24, 24 * 10))):
                at = at + timedelta(hours=hours)
                if at > now:
                    break
                timeline.append((action2, at))
            else:
                at = at + timedelta(hours=rng.uniform(2, 48))
                if at <= now:
                    timeline.append(("close", at))

        # Events with their hash chain.
        event_base = plan.event_base + i * MAX_EVENTS
        previous = GENESIS
        light: list[_Event] = []
        for seq, (action, before, after, at, (actor_id, label), payload) in enumerate(events, start=1):
            created = at.astimezone(UTC)
            record = event_chain_record(case_id, seq, created, label, action, before, after, payload)
            digest = link_hash(previous, record)
            out["event"].append(
                {
                    "id": event_base + seq - 1,
                    "case_id": case_id,
                    "seq": seq,
                    "created_at": created,
                    "actor_id": actor_id,
                    "actor_label": label,
                    "action": action,
                    "from_state": before,
                    "to_state": after,
                    "payload": payload,
                    "prev_hash": previous,
                    "hash": digest,
                }
            )
            light.append(_Event(case_id, action, payload, created, before))
            previous = digest
        case.update(
            state=state,
            version=len(events) - 1,
            reopen_count=reopen_count,
            event_count=len(events),
            last_event_hash=previous,
            updated_at=events[-1][3],
        )
        out["case"].append(case)
        k, repeat = self._identity(i)
        name, phone, id_number = self._person(k)
        out["party"].append(
            {
                "id": plan.party_base + i,
                "case_id": case_id,
                "name": name,
                "id_number_encrypted": crypto.encrypt(id_number),
                "id_number_hash": crypto.lookup_hash(id_number),
                "phone_encrypted": crypto.encrypt(phone),
                "phone_hash": crypto.lookup_hash(phone),
                "address": f"{township[2]}{village[2]}（演示地址）",
                "is_primary": True,
            }
        )
        if link:
            out["unit"].append({"id": plan.unit_base + i, "case_id": case_id, **link})
        out["rating"] += ratings
        if plan.stats:
            out["light"].append(
                (case, light, repeat, [*title_words, *content_words, *(w for reply in replies for w in reply)])
            )

    # --- statistics, as rollups.update would compute them ---------------------------------------

    def _stats(self, out: dict[str, list]) -> None:
        from minqing.stats import search
        from minqing.stats.models import DailyRollup
        from minqing.stats.rollups import Batch, CaseRow

        batch = Batch.__new__(Batch)
        batch.units = self.units
        batch.cases = {}
        batch.states, batch.new_states, batch.changed_states = {}, set(), set()
        batch.deltas = defaultdict(Counter)
        batch.repeats = set()
        for case, events, repeat, words in out["light"]:
            batch.cases[case["id"]] = CaseRow(
                case["id"],
                case["location_unit_id"],
                case["category_id"],
                case["channel"],
                case.get("lead_unit_id"),
                case.get("accepted_at"),
                case.get("handle_due"),
            )
            if repeat:
                batch.repeats.add(case["id"])
            for event in events:
                batch.apply(event)
            county = search.county_of(case["location_path"], self.county_paths)
            out["doc"].append({"case_id": case["id"], "tokens": search.joined_tokens(words, county)})
        for state in batch.states.values():
            out["state"].append(
                {
                    "case_id": state.case_id,
                    "unit_id_value": state.unit_id_value,
                    "township_id_value": state.township_id_value,
                    "category_id_value": state.category_id_value,
                    "channel": state.channel,
                    "handed_over_at": state.handed_over_at,
                    "outcome": state.outcome,
                    "contributions": state.contributions,
                }
            )
        derived = _derived_tables()
        merged: dict[tuple[str, str], tuple[tuple, Counter]] = {}
        for (day, unit, township, category, channel), counts in batch.deltas.items():
            if not any(counts.values()):
                continue
            key = DailyRollup.make_key(day, unit, township, category, channel)
            out["staging"].append(("daily", key, day, unit, township, category, channel, *counts_row(counts)))
            # The month and unit-day sums the dashboards read, merged as rollups.Batch merges them.
            if "month" in derived:
                month = day.replace(day=1)
                dims = ("month", derived["month"].make_key(month, unit, township, category), month, unit, township)
                _merge(merged, (*dims, category, ""), counts)
            if "unitday" in derived:
                _merge(merged, ("unitday", derived["unitday"].make_key(day, unit), day, unit, None, None, ""), counts)
        for dims, counts in merged.values():
            if any(counts.values()):
                out["staging"].append((*dims, *counts_row(counts)))

    # --- writing ---------------------------------------------------------------------------------

    def _adapt(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        if self.vendor == "sqlite":
            if isinstance(value, datetime):
                return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, bool):
                return int(value)
        return value

    def _write(self, key: str, rows: list[dict]) -> None:
        if not rows:
            return
        fields = self.columns[key]
        defaults = self.defaults[key]
        names = [f.attname for f in fields]
        adapt = self._adapt
        tuples = [tuple(adapt(r[n] if n in r else defaults.get(n)) for n in names) for r in rows]
        table = self.models[key]._meta.db_table
        self._copy(table, [f.column for f in fields], tuples)
        self.written[key] += len(rows)

    def _copy(self, table: str, columns: list[str], tuples: list[tuple]) -> None:
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in tuples:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", tuples)

    def run(self, progress: bool = True) -> dict:
        started = time.perf_counter()
        self.prepare()
        prepared = time.perf_counter() - started
        done, printed = 0, time.perf_counter()
        todo = len(self.chunks) * self.plan.chunk
        for number in self.chunks:
            if self.deadline is not None and time.time() > self.deadline:
                break
            begin = number * self.plan.chunk
            end = min(begin + self.plan.chunk, self.plan.total)
            rng = random.Random(self.plan.seed * 10**11 + begin)
            out: dict[str, list] = defaultdict(list)
            for i in range(begin, end):
                self.build(i, rng, out)
            if self.plan.stats:
                self._stats(out)
            with transaction.atomic():
                for key in ("case", "party", "unit", "event", "rating", "state", "doc"):
                    self._write(key, out[key])
                if out["staging"]:
                    staging = [tuple(self._adapt(v) for v in row) for row in out["staging"]]
                    self._copy(STAGING_TABLE, STAGING_COLUMNS, staging)
            done += end - begin
            if progress and time.perf_counter() - printed > 10:
                printed = time.perf_counter()
                elapsed = time.perf_counter() - started
                print(
                    f"  [worker] {done:,}/{todo:,} cases, {done / max(elapsed - prepared, 1e-9):,.0f} cases/s",
                    file=sys.stderr,
                    flush=True,
                )
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "prepare_s": prepared, "done": done, "years": self.years, **self.written}


STAGING_COLUMNS: list[str] = []


def _derived_tables() -> dict[str, Any]:
    """The month and unit-day rollups, where this version of the stats app has them."""
    from minqing.stats import models

    found = {"month": getattr(models, "MonthlyRollup", None), "unitday": getattr(models, "UnitDayRollup", None)}
    return {name: model for name, model in found.items() if model is not None}


def _merge(target: dict, dims: tuple, counts: Counter) -> None:
    key = dims[:2]
    if key in target:
        target[key][1].update(counts)
    else:
        target[key] = (dims, Counter(counts))


def counts_row(counts: Counter) -> list[int]:
    from minqing.stats.models import COUNTERS

    return [counts.get(name, 0) for name in COUNTERS]


def _init_staging_columns() -> None:
    from minqing.stats.models import COUNTERS

    STAGING_COLUMNS[:] = ["kind", "key", "day", "unit_id", "township_id", "category_id", "channel", *COUNTERS]


def create_staging() -> None:
    """An unlogged table for rollup deltas; `finish` sums them per key into the rollup tables."""
    from minqing.stats.models import COUNTERS

    _init_staging_columns()
    counters = ", ".join(f"{name} bigint NOT NULL" for name in COUNTERS)
    unlogged = "UNLOGGED " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
        cursor.execute(
            f"CREATE {unlogged}TABLE {STAGING_TABLE} (kind varchar(8) NOT NULL, key varchar(80) NOT NULL, "
            f"day date NOT NULL, unit_id integer, township_id integer, category_id integer, "
            f"channel varchar(16) NOT NULL, {counters})"
        )


def _fill_rollups(cursor) -> list[str]:
    """INSERT … SELECT the summed staging rows into each rollup table; returns the tables."""
    from minqing.stats.models import COUNTERS, DailyRollup

    sums = ", ".join(f"SUM(s.{name})" for name in COUNTERS)
    targets = {"daily": (DailyRollup, "day", ("township_id", "category_id", "channel"))}
    derived = _derived_tables()
    if "month" in derived:
        targets["month"] = (derived["month"], "month", ("township_id", "category_id"))
    if "unitday" in derived:
        targets["unitday"] = (derived["unitday"], "day", ())
    tables = []
    for kind, (model, day_column, extra) in targets.items():
        columns = ["key", day_column, "unit_id", "unit_path", *extra, *COUNTERS]
        chosen = ["MIN(s.day)", "MIN(s.unit_id)", "COALESCE(MIN(o.path), '')", *(f"MIN(s.{c})" for c in extra)]
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
            f"SELECT s.key, {', '.join(chosen)}, {sums} FROM {STAGING_TABLE} s "
            f"LEFT JOIN orgs_orgunit o ON o.id = s.unit_id WHERE s.kind = %s GROUP BY s.key",
            [kind],
        )
        tables.append(model._meta.db_table)
    return tables


def finish(plan: Plan, years: dict[int, int]) -> dict:
    """After every worker: reference counters, sequences, rollups from the staging rows, the cursor."""
    from django.conf import settings

    from minqing.cases.numbering import raise_floor
    from minqing.stats.models import CaseRollupState, CaseSearchDoc, RollupCursor

    timings = {}
    began = time.perf_counter()
    for year, number in years.items():
        raise_floor(settings.MINQING_CASE_PREFIX, int(year), number)
    tables = ("cases_case", "cases_party", "cases_caseunit", "cases_caseevent", "feedback_rating")
    with connection.cursor() as cursor:
        if plan.stats:
            rollup_tables = _fill_rollups(cursor)
            cursor.execute(f"DROP TABLE {STAGING_TABLE}")
            cursor.execute("SELECT MAX(id) FROM cases_caseevent")
            last = cursor.fetchone()[0] or 0
            RollupCursor.objects.update_or_create(pk=1, defaults={"last_event_id": last, "gaps": {}})
            tables += (*rollup_tables, CaseRollupState._meta.db_table, CaseSearchDoc._meta.db_table)
        timings["rollups_s"] = time.perf_counter() - began
        if connection.vendor == "postgresql":
            for table in tables[:5]:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
            # And the tables nobody analyzed yet (the org tree, the categories): with autovacuum off, as on
            # the benchmark machine, the planner would guess their size from their pages, badly.
            cursor.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables"
                " WHERE last_analyze IS NULL AND last_autoanalyze IS NULL"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
    timings["finish_s"] = time.perf_counter() - began
    return timings


def load(
    total: int, *, seed: int = 1, span_days: float = 365.0, stats: bool = True, chunk: int = 5000, reopens: bool = True
) -> dict:
    """Load `total` cases in this process (tests, SQLite); bench/province.py runs several workers."""
    plan = make_plan(total, seed, span_days, stats, reopens, chunk)
    if plan.stats:
        create_staging()
    result = Loader(plan).run(progress=False)
    result.update(finish(plan, result["years"]))
    result["plan"] = plan
    return result
