"""The rollups equal figures counted straight from the cases, on random data; rebuild equals incremental."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.stats import metrics, rollups
from minqing.stats.models import COUNTERS, CaseRollupState, DailyRollup, MonthlyRollup, RollupCursor, UnitDayRollup
from minqing.stats.tests.factories import OUTCOMES, SCORES, STOPS, CasePlan, drive, raw_counters, rollup_counters
from minqing.testing.personas import HANCHENG, LIUQUAN

BASE = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CHANNELS = ("wechat", "phone", "walk_in", "informant")

plans = st.builds(
    CasePlan,
    start=st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda m: BASE + timedelta(minutes=m)),
    stop=st.sampled_from(STOPS),
    channel=st.sampled_from(CHANNELS),
    township=st.sampled_from((LIUQUAN, HANCHENG)),
    lead_department=st.booleans(),
    category_index=st.integers(0, 5),
    recategorise=st.none() | st.integers(0, 5),
    outcome=st.sampled_from(OUTCOMES),
    # Up to 40 days between steps: some closures run past the 15-working-day deadline,
    # some sign-fors miss the one-day window, and some steps cross midnight.
    gaps_hours=st.lists(st.floats(min_value=0.1, max_value=24 * 40), min_size=7, max_size=7),
    rating=st.none() | st.sampled_from(SCORES),
    reopen=st.booleans(),
    phone_index=st.integers(0, 5),
)


def assert_rollups_equal_raw() -> None:
    raw, raw_reopens = raw_counters()
    rolled, rolled_reopens = rollup_counters()
    assert rolled == raw
    assert rolled_reopens == raw_reopens
    raw_total = metrics.total(raw.values())
    raw_total.reopened = sum(raw_reopens.values())
    rolled_total = metrics.total(rolled.values())
    rolled_total.reopened = sum(rolled_reopens.values())
    assert metrics.all_figures(rolled_total) == metrics.all_figures(raw_total)
    assert_derived_tables_equal_daily()


def _summed(rows, dims) -> dict[tuple, tuple]:
    table: dict[tuple, list[int]] = {}
    for row in rows:
        totals = table.setdefault(dims(row), [0] * len(COUNTERS))
        for i, name in enumerate(COUNTERS):
            totals[i] += getattr(row, name)
    return {key: tuple(v) for key, v in table.items() if any(v)}


def assert_derived_tables_equal_daily() -> None:
    """The month and unit-day tables the dashboards read are exact sums of the daily rows."""
    daily = list(DailyRollup.objects.all())
    by_month = _summed(daily, lambda r: (r.day.replace(day=1), r.unit_id, r.unit_path, r.township_id, r.category_id))
    assert (
        _summed(MonthlyRollup.objects.all(), lambda r: (r.month, r.unit_id, r.unit_path, r.township_id, r.category_id))
        == by_month
    )
    by_unit_day = _summed(daily, lambda r: (r.day, r.unit_id, r.unit_path))
    assert _summed(UnitDayRollup.objects.all(), lambda r: (r.day, r.unit_id, r.unit_path)) == by_unit_day


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(plans, min_size=1, max_size=6))
def test_rollup_figures_equal_figures_from_cases(staff, batch):
    # Examples accumulate in one database: the invariant holds for everything so far.
    for plan in batch:
        drive(plan, staff)
    rollups.update(batch_size=7)  # small batches: cases straddle batches, as in production
    assert_rollups_equal_raw()


def test_rebuild_equals_incremental(staff):
    for i, stop in enumerate(STOPS * 2):
        plan = CasePlan(
            start=BASE + timedelta(hours=13 * i),
            stop=stop,
            lead_department=i % 2 == 0,
            recategorise=i % 3,
            rating=SCORES[i % 3] if stop in ("replied", "closed") else None,
            reopen=i % 4 == 0,
            phone_index=i % 3,
        )
        drive(plan, staff)
        if i % 3 == 0:
            rollups.update(batch_size=5)  # incremental, interleaved with the actions
    rollups.update()
    incremental = {r.key: r for r in DailyRollup.objects.all()}
    call_command("stats_rebuild", verbosity=0)
    rebuilt = {r.key: r for r in DailyRollup.objects.all()}
    fields = ("unit_id", "unit_path", "township_id", "category_id", "channel", *metrics.Counters().as_dict())

    def nonzero(rows):
        return {
            k: tuple(getattr(r, f) for f in fields)
            for k, r in rows.items()
            if any(getattr(r, c) for c in metrics.Counters().as_dict())
        }

    assert nonzero(rebuilt) == nonzero(incremental)
    assert_rollups_equal_raw()


def test_update_twice_changes_nothing(staff):
    drive(CasePlan(start=BASE, rating="satisfied"), staff)
    first = rollups.update()
    snapshot = list(DailyRollup.objects.order_by("key").values())
    assert first > 0
    assert rollups.update() == 0
    assert list(DailyRollup.objects.order_by("key").values()) == snapshot
    assert CaseRollupState.objects.count() == 1


def test_late_event_behind_the_cursor_is_picked_up(staff):
    drive(CasePlan(start=BASE, stop="accepted"), staff)
    rollups.update()
    cursor = RollupCursor.objects.get()
    # Pretend the last event committed late: move the cursor past it and record a gap.
    last = cursor.last_event_id
    cursor.gaps = {str(last): datetime.now(ZoneInfo("UTC")).isoformat()}
    cursor.save()
    DailyRollup.objects.all().delete()
    CaseRollupState.objects.all().delete()
    RollupCursor.objects.filter(pk=1).update(last_event_id=last)
    # Only the late event is replayed (the earlier ones were "already counted" and are gone).
    assert rollups.update() == 1
    assert RollupCursor.objects.get().gaps == {}
    assert sum(r.accepted for r in DailyRollup.objects.all()) == 1


def test_migration_fills_the_month_and_unit_day_tables_from_the_daily_rows(staff):
    from importlib import import_module

    from django.apps import apps

    for i, stop in enumerate(STOPS):
        drive(CasePlan(start=BASE + timedelta(days=17 * i), stop=stop, rating="satisfied" if i % 2 else None), staff)
    rollups.update()
    MonthlyRollup.objects.all().delete()
    UnitDayRollup.objects.all().delete()
    import_module("minqing.stats.migrations.0004_month_and_unit_day_rollups").derive_from_daily(apps, None)
    assert MonthlyRollup.objects.count() > 1  # the cases span several months
    assert_derived_tables_equal_daily()
