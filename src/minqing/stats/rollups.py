"""Keep `DailyRollup`, its month and unit-day sums, and the search index current from `CaseEvent`s.

`update()` reads the events after the cursor in id order, a batch at a time, and turns
each into counter contributions filed under the case's dimensions. A per-case ledger
(`CaseRollupState`) remembers what each case contributed, so that

- when a case moves (交办 to another unit, re-categorised at 受理) its contributions move
  with it: figures are always filed under the case's current unit and category;
- when a case is reopened its closure (closed, on time, resolved, handling time) is
  withdrawn: a case counts as closed at most once, on the day of its current closure.

`rebuild()` empties everything and replays every event through the same code, so a
rebuild equals the incremental result. Dimension and counter rules: docs/metrics.md.

Event ids that commit out of order (PostgreSQL sequences under concurrency) leave gaps
behind the cursor; gaps are remembered and picked up on later runs, and forgotten after
GAP_TTL (ids of rolled-back transactions never arrive).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from minqing.cases.models import Case, CaseEvent, Party
from minqing.core.deadlines import LOCAL_TZ
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats import search
from minqing.stats.metrics import RESOLVED_OUTCOMES, SIGN_FOR_WINDOW, score_of
from minqing.stats.models import (
    COUNTERS,
    CaseRollupState,
    CaseSearchDoc,
    DailyRollup,
    MonthlyRollup,
    RollupCounters,
    RollupCursor,
    UnitDayRollup,
)

logger = logging.getLogger("minqing.stats")

BATCH_SIZE = 2000
GAP_TTL = timedelta(minutes=30)
MAX_GAPS = 20000
CLOSURE_COUNTERS = frozenset({"closed", "closed_on_time", "resolved", "handling_seconds"})
SCORE_COUNTERS = {"satisfied": "satisfied", "basically_satisfied": "basically", "unsatisfied": "unsatisfied"}
SEARCH_ACTIONS = frozenset({"register", "reply", "add_information"})
CASE_FIELDS = ("pk", "location_unit_id", "category_id", "channel", "lead_unit_id", "accepted_at", "handle_due")

DimKey = tuple[date, int | None, int | None, int | None, str]


# --- Org units ----------------------------------------------------------------------------


class Units:
    """Org units by id and code, loaded once per run (a province has some 60,000)."""

    def __init__(self) -> None:
        rows = OrgUnit.objects.values_list("pk", "code", "kind", "parent_id", "path")
        self.by_id = {pk: (code, kind, parent, path) for pk, code, kind, parent, path in rows}
        self.id_by_code = {code: pk for pk, (code, *_rest) in self.by_id.items()}

    def township_of(self, unit_id: int | None) -> int | None:
        """The township a location lies in (a village's parent, or the township itself)."""
        if unit_id not in self.by_id:
            return None
        _code, kind, parent, _path = self.by_id[unit_id]
        if kind == UnitKind.TOWNSHIP:
            return unit_id
        if kind == UnitKind.VILLAGE:
            return parent
        return None

    def path(self, unit_id: int | None) -> str:
        return self.by_id[unit_id][3] if unit_id in self.by_id else ""


# --- One batch ------------------------------------------------------------------------------


@dataclass
class CaseRow:
    pk: int
    location_unit_id: int
    category_id: int | None
    channel: str
    lead_unit_id: int | None
    accepted_at: datetime | None
    handle_due: datetime | None


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


class Batch:
    """Turns a list of events into rollup deltas and ledger changes, then writes them."""

    def __init__(self, events: Sequence[CaseEvent], units: Units) -> None:
        self.events = events
        self.units = units
        case_ids = sorted({e.case_id for e in events})
        self.cases = {row[0]: CaseRow(*row) for row in Case.objects.filter(pk__in=case_ids).values_list(*CASE_FIELDS)}
        self.states = {s.case_id: s for s in CaseRollupState.objects.filter(case_id__in=case_ids)}
        self.new_states: set[int] = set()
        self.changed_states: set[int] = set()
        self.deltas: dict[DimKey, Counter] = defaultdict(Counter)
        self.repeats = repeat_cases([e.case_id for e in events if e.action == "register"])

    # Ledger ----------------------------------------------------------------------------------

    def _state(self, case_id: int) -> CaseRollupState:
        state = self.states.get(case_id)
        if state is None:
            case = self.cases[case_id]
            township = self.units.township_of(case.location_unit_id)
            state = CaseRollupState(
                case_id=case_id,
                unit_id_value=case.lead_unit_id or township or case.location_unit_id,
                township_id_value=township,
                category_id_value=case.category_id,
                channel=case.channel,
                contributions=[],
            )
            self.states[case_id] = state
            self.new_states.add(case_id)
        self.changed_states.add(case_id)
        return state

    def _key(self, state: CaseRollupState, day: date) -> DimKey:
        return (day, state.unit_id_value, state.township_id_value, state.category_id_value, state.channel)

    def _add(self, state: CaseRollupState, day: date, counter: str, amount: int = 1) -> None:
        if not amount:
            return
        self.deltas[self._key(state, day)][counter] += amount
        state.contributions.append([day.isoformat(), counter, amount])

    def _move(self, state: CaseRollupState, **dims: Any) -> None:
        """Re-file everything the case contributed under new dimensions."""
        if all(getattr(state, name) == value for name, value in dims.items()):
            return
        for day, counter, amount in state.contributions:
            self.deltas[self._key(state, date.fromisoformat(day))][counter] -= amount
        for name, value in dims.items():
            setattr(state, name, value)
        for day, counter, amount in state.contributions:
            self.deltas[self._key(state, date.fromisoformat(day))][counter] += amount

    def _withdraw_closure(self, state: CaseRollupState) -> None:
        kept = []
        for item in state.contributions:
            day, counter, amount = item
            if counter in CLOSURE_COUNTERS:
                self.deltas[self._key(state, date.fromisoformat(day))][counter] -= amount
            else:
                kept.append(item)
        state.contributions = kept

    # Events ------------------------------------------------------------------------------------

    def apply(self, event: CaseEvent) -> None:
        if event.case_id not in self.cases:
            return
        state = self._state(event.case_id)
        handler = getattr(self, f"on_{event.action}", None)
        if handler is not None:
            handler(event, state, local_day(event.created_at))

    def on_register(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        self._add(state, day, "received")
        if event.case_id in self.repeats:
            self._add(state, day, "repeat")

    def on_accept(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        category = (event.payload or {}).get("category")
        if isinstance(category, int):
            self._move(state, category_id_value=category)
        self._add(state, day, "accepted")

    def on_decline(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        self._add(state, day, "declined")

    def on_assign(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        lead = self.units.id_by_code.get((event.payload or {}).get("lead_unit"))
        if lead is not None:
            self._move(state, unit_id_value=lead)
        state.handed_over_at = event.created_at
        self._add(state, day, "assigned")

    on_reassign = on_assign

    def on_sign_for(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        handed = state.handed_over_at
        if event.from_state == "assigned" and handed and event.created_at - handed <= SIGN_FOR_WINDOW:
            self._add(state, day, "signed_on_time")

    def on_return(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        self._add(state, day, "returned")

    def on_reply(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        state.outcome = str((event.payload or {}).get("outcome") or "")[:16]

    def on_close(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        case = self.cases[event.case_id]
        on_time = (event.payload or {}).get("on_time")
        if not isinstance(on_time, bool):
            on_time = bool(case.handle_due and event.created_at <= case.handle_due)
        self._add(state, day, "closed")
        self._add(state, day, "closed_on_time", int(on_time))
        self._add(state, day, "resolved", int(state.outcome in RESOLVED_OUTCOMES))
        if case.accepted_at:
            seconds = int((event.created_at - case.accepted_at).total_seconds())
            self._add(state, day, "handling_seconds", max(seconds, 0))

    def on_reopen(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        self._withdraw_closure(state)
        self._add(state, day, "reopened")

    def on_rate(self, event: CaseEvent, state: CaseRollupState, day: date) -> None:
        score = score_of(event.payload or {})
        if score is not None:
            self._add(state, day, "rated")
            self._add(state, day, SCORE_COUNTERS[score])

    # Writing -------------------------------------------------------------------------------------

    def write(self) -> None:
        self._write_rollups()
        new = [self.states[pk] for pk in self.new_states]
        changed = [self.states[pk] for pk in self.changed_states - self.new_states]
        CaseRollupState.objects.bulk_create(new, batch_size=500)
        CaseRollupState.objects.bulk_update(
            changed,
            ["unit_id_value", "township_id_value", "category_id_value", "handed_over_at", "outcome", "contributions"],
            batch_size=500,
        )
        search_ids = {e.case_id for e in self.events if e.action in SEARCH_ACTIONS and e.case_id in self.cases}
        if search_ids:
            write_search_docs(sorted(search_ids))

    def _write_rollups(self) -> None:
        daily: dict[str, tuple[dict, Counter]] = {}
        monthly: dict[str, tuple[dict, Counter]] = {}
        unit_days: dict[str, tuple[dict, Counter]] = {}
        for (day, unit, township, category, channel), counts in self.deltas.items():
            if not any(counts.values()):
                continue
            path = self.units.path(unit)
            dims = {"unit_id": unit, "unit_path": path, "township_id": township, "category_id": category}
            daily[DailyRollup.make_key(day, unit, township, category, channel)] = (
                {"day": day, "channel": channel, **dims},
                counts,
            )
            month = day.replace(day=1)
            _merge(monthly, MonthlyRollup.make_key(month, unit, township, category), {"month": month, **dims}, counts)
            _merge(
                unit_days, UnitDayRollup.make_key(day, unit), {"day": day, "unit_id": unit, "unit_path": path}, counts
            )
        for model, deltas in ((DailyRollup, daily), (MonthlyRollup, monthly), (UnitDayRollup, unit_days)):
            _upsert(model, deltas)


def _merge(target: dict[str, tuple[dict, Counter]], key: str, dims: dict, counts: Counter) -> None:
    if key in target:
        target[key][1].update(counts)
    else:
        target[key] = (dims, Counter(counts))


def _upsert(model: type[RollupCounters], deltas: dict[str, tuple[dict, Counter]]) -> None:
    """Add `deltas` (key → (dimensions, counter amounts)) to the rows of `model`, creating missing rows."""
    deltas = {key: item for key, item in deltas.items() if any(item[1].values())}
    keys = list(deltas)
    existing: dict[str, RollupCounters] = {}
    for start in range(0, len(keys), 500):
        existing.update((r.key, r) for r in model.objects.filter(key__in=keys[start : start + 500]))
    created = []
    for key, (dims, counts) in deltas.items():
        row = existing.get(key)
        if row is None:
            row = model(key=key, **dims)
            created.append(row)
        for counter, amount in counts.items():
            setattr(row, counter, getattr(row, counter) + amount)
    model.objects.bulk_create(created, batch_size=500)
    model.objects.bulk_update(list(existing.values()), list(COUNTERS), batch_size=500)


def repeat_cases(case_ids: Iterable[int]) -> set[int]:
    """Of `case_ids`, those whose petitioner (phone or ID number hash) had a case with a smaller id."""
    case_ids = list(case_ids)
    if not case_ids:
        return set()
    parties = list(Party.objects.filter(case_id__in=case_ids).values_list("case_id", "phone_hash", "id_number_hash"))
    first_case: dict[tuple[str, str], int] = {}
    for column in ("phone_hash", "id_number_hash"):
        hashes = {row[1] if column == "phone_hash" else row[2] for row in parties} - {""}
        if hashes:
            rows = Party.objects.filter(**{f"{column}__in": hashes}).values(column).annotate(first=Min("case_id"))
            first_case.update(((column, row[column]), row["first"]) for row in rows)
    repeats = set()
    for case_id, phone_hash, id_hash in parties:
        earliest = [first_case.get(("phone_hash", phone_hash)), first_case.get(("id_number_hash", id_hash))]
        if any(e is not None and e < case_id for e in earliest):
            repeats.add(case_id)
    return repeats


def write_search_docs(case_ids: Sequence[int]) -> None:
    texts: dict[int, list[str]] = defaultdict(list)
    counties, county_by_case = search.county_paths(), {}
    cases = Case.objects.filter(pk__in=case_ids).values_list("pk", "title", "content", "location_path")
    for pk, title, content, location_path in cases:
        texts[pk] += [title, content]
        county_by_case[pk] = search.county_of(location_path, counties)
    added = CaseEvent.objects.filter(case_id__in=case_ids, action__in=("reply", "add_information"))
    for case_id, payload in added.order_by("case_id", "seq").values_list("case_id", "payload"):
        texts[case_id].append(str((payload or {}).get("reply") or (payload or {}).get("text") or ""))
    CaseSearchDoc.objects.filter(case_id__in=case_ids).delete()
    CaseSearchDoc.objects.bulk_create(
        [
            CaseSearchDoc(case_id=pk, tokens=search.document_tokens(" ".join(parts), county_by_case[pk]))
            for pk, parts in texts.items()
        ],
        batch_size=500,
    )


# --- Cursor and runs --------------------------------------------------------------------------


def _cursor() -> RollupCursor:
    RollupCursor.objects.get_or_create(pk=1)
    return RollupCursor.objects.select_for_update().get(pk=1)


def _late_events(cursor: RollupCursor) -> list[CaseEvent]:
    """Events that committed after the cursor passed their id."""
    if not cursor.gaps:
        return []
    found = list(CaseEvent.objects.filter(pk__in=[int(i) for i in cursor.gaps]).order_by("pk"))
    now = timezone.now()
    for event in found:
        cursor.gaps.pop(str(event.pk), None)
    for gap, noticed in list(cursor.gaps.items()):
        if now - datetime.fromisoformat(noticed) > GAP_TTL:
            cursor.gaps.pop(gap)
    return found


def _note_gaps(cursor: RollupCursor, events: Sequence[CaseEvent]) -> None:
    seen = {e.pk for e in events}
    noticed = timezone.now().isoformat()
    for missing in range(cursor.last_event_id + 1, events[-1].pk):
        if missing not in seen:
            cursor.gaps[str(missing)] = noticed
    if len(cursor.gaps) > MAX_GAPS:
        newest = sorted(cursor.gaps, key=int)[-MAX_GAPS:]
        cursor.gaps = {gap: cursor.gaps[gap] for gap in newest}


def update_once(units: Units, batch_size: int = BATCH_SIZE) -> int:
    """Process one batch of new events; returns how many were processed."""
    with transaction.atomic():
        cursor = _cursor()
        late = _late_events(cursor)
        events = list(CaseEvent.objects.filter(pk__gt=cursor.last_event_id).order_by("pk")[:batch_size])
        if events:
            _note_gaps(cursor, events)
            cursor.last_event_id = events[-1].pk
        todo = late + events
        if todo:
            batch = Batch(todo, units)
            for event in todo:
                batch.apply(event)
            batch.write()
        cursor.updated_at = timezone.now()
        cursor.save()
    return len(todo)


def update(batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> int:
    """Bring the rollups up to date; idempotent and cheap when nothing happened."""
    units = Units()
    processed, batches = 0, 0
    while max_batches is None or batches < max_batches:
        count = update_once(units, batch_size)
        processed += count
        batches += 1
        if count < batch_size:
            break
    return processed


def rebuild(batch_size: int = 20000, progress=None) -> int:
    """Empty the rollups, ledgers and search index and replay every event."""
    with transaction.atomic():
        DailyRollup.objects.all().delete()
        MonthlyRollup.objects.all().delete()
        UnitDayRollup.objects.all().delete()
        CaseRollupState.objects.all().delete()
        CaseSearchDoc.objects.all().delete()
        RollupCursor.objects.update_or_create(pk=1, defaults={"last_event_id": 0, "gaps": {}})
    units = Units()
    processed = 0
    while True:
        count = update_once(units, batch_size)
        processed += count
        if progress is not None:
            progress(processed)
        if count < batch_size:
            return processed
