"""The hot reads find their indexes: a partial index only serves a query whose WHERE implies its
condition, and a composite one only a query that filters on its leading columns, so a reworded
filter would silently fall back to scanning."""

from __future__ import annotations

import copy
import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from minqing.cases import numbering
from minqing.cases.actions import record_side_event, register_case
from minqing.cases.models import OPEN_STATES, UNSATISFIED_SCORE, Case, CaseEvent, CaseState
from minqing.core.hashchain import GENESIS
from minqing.dispatch.related import DUPLICATE_DAYS, duplicate_references, duplicates_query, duplicates_sql
from minqing.stats.selectors import SCORE_FILTERS, attributed_to

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    """The plan with scans of whole tables priced out, so a usable index is always chosen."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def _plan_sql(sql: str, params: list) -> str:
    """`_plan` of a hand-written statement."""
    explain = "EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(explain + sql, params)
        return "\n".join(" ".join(str(column) for column in row) for row in cursor.fetchall())


def _rate_events(case, ratings: list[tuple[object, int]]) -> None:
    """(score, days ago) pairs as rate events; their hashes do not matter here."""
    now = timezone.now()
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case=case,
            seq=case.event_count + 1 + i,
            created_at=now - timedelta(days=days_ago),
            action="rate",
            payload={"score": score},
            prev_hash=GENESIS,
            hash=f"{i:064d}",
        )
        for i, (score, days_ago) in enumerate(ratings)
    )


def test_the_dashboards_unsatisfied_filter_is_the_index_condition(registered):
    recent = [("satisfied", 1)] * 40 + [("unsatisfied", 2), (2, 3), (5, 4), ("basically_satisfied", 5)] * 5
    _rate_events(registered, [*recent, ("unsatisfied", 45), (1, 60)])
    since = timezone.now() - timedelta(days=30)
    unsatisfied = CaseEvent.objects.filter(SCORE_FILTERS["unsatisfied"], action="rate", created_at__gte=since)
    # The same rows as the index's own condition picks…
    expected = CaseEvent.objects.filter(UNSATISFIED_SCORE, action="rate", created_at__gte=since)
    assert sorted(unsatisfied.values_list("pk", flat=True)) == sorted(expected.values_list("pk", flat=True))
    assert sorted(str(e.payload["score"]) for e in unsatisfied) == ["2"] * 5 + ["unsatisfied"] * 5
    # …and on PostgreSQL the planner proves the query implies it. (SQLite matches partial-index
    # conditions only against literal terms, and Django binds the scores as parameters.)
    if connection.vendor == "postgresql":
        assert "caseevent_unsatisfied" in _plan(unsatisfied.values("case_id"))


def _duplicates(**petitioner) -> list[str]:
    """The duplicate check as intake runs it: beside the number it draws (on PostgreSQL, one statement)."""
    _number, rows = numbering.draw_with(timezone.now(), duplicates_query(**petitioner))
    return duplicate_references(rows)


def test_the_duplicate_check_reads_the_citizens_composite_index(registered, citizen):
    registered.citizen = citizen
    registered.save(update_fields=["citizen"])
    _the_rest_of_the_county(registered)
    found = _duplicates(
        category_id=registered.category_id, location_unit_id=registered.location_unit_id, citizen_id=citizen.pk
    )
    assert found == [registered.reference]
    other_place = _duplicates(
        category_id=registered.category_id, location_unit_id=registered.location_unit.parent_id, citizen_id=citizen.pk
    )
    assert other_place == []
    since = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=DUPLICATE_DAYS))
    params = [citizen.pk, registered.category_id, registered.location_unit_id, *OPEN_STATES, since]
    assert "case_citizen_duplicates" in _plan_sql(duplicates_sql("citizen_id = %s"), params)


def test_the_duplicate_check_by_phone_finds_the_partys_cases(registered):
    """Without a citizen account (an informant's report) the petitioner is the party's phone hash."""
    phone_hash = registered.parties.get().phone_hash
    assert phone_hash
    found = _duplicates(
        category_id=registered.category_id, location_unit_id=registered.location_unit_id, phone_hash=phone_hash
    )
    assert found == [registered.reference]
    too_old = _duplicates(
        category_id=registered.category_id,
        location_unit_id=registered.location_unit_id,
        phone_hash=phone_hash,
        now=registered.submitted_at + timedelta(days=31),
    )
    assert too_old == []


def test_a_units_cases_read_both_halves_from_the_lead_and_location_index(registered):
    """Led under the unit's path, or unassigned and located under it: on SQLite each half of the OR
    seeks `case_lead_location`, where it used to read every unassigned case of the province.
    (PostgreSQL combines its partial and path indexes in a bitmap.)"""
    county = registered.location_unit.parent.parent
    attributed = Case.objects.filter(attributed_to(county)).order_by()
    assert list(attributed.values_list("pk", flat=True)) == [registered.pk]
    if connection.vendor == "sqlite":
        plan = _plan(attributed.values("pk"))
        assert "MULTI-INDEX OR" in plan
        assert "case_lead_location (lead_path>? AND lead_path<?)" in plan
        assert "case_lead_location (lead_path=? AND location_path>? AND location_path<?)" in plan


def test_a_rating_of_unsatisfied_stamps_the_case(registered):
    """`unsatisfied_at` is the latest 不满意 rating's time, whichever scale the channel sends."""
    Case.objects.filter(pk=registered.pk).update(state=CaseState.CLOSED)
    now = timezone.now()
    for score, days_ago in (("satisfied", 9), ("unsatisfied", 8), (2, 6), (5, 4), ("basically_satisfied", 3)):
        record_side_event(registered, None, "rate", {"score": score}, at=now - timedelta(days=days_ago))
        registered.refresh_from_db()
        stamped = {"unsatisfied": 8, 2: 6}.get(score)
        if stamped is not None:
            assert registered.unsatisfied_at == now - timedelta(days=stamped)
    assert registered.unsatisfied_at == now - timedelta(days=6)  # later good ratings leave it


@pytest.fixture
def other_case(new_case, dispatcher):
    return register_case(new_case(title="另一件"), dispatcher)


def test_the_migration_stamps_existing_cases_from_their_ratings(registered, other_case):
    _rate_events(registered, [("unsatisfied", 40), (1, 20), ("satisfied", 2)])
    _rate_events(other_case, [("basically_satisfied", 1)])
    Case.objects.update(unsatisfied_at=None)
    migration = importlib.import_module("minqing.cases.migrations.0011_case_unsatisfied_at")
    migration.stamp_unsatisfied(django_apps, SimpleNamespace(connection=connection))
    latest = CaseEvent.objects.get(case=registered, payload__score=1).created_at
    assert dict(Case.objects.values_list("pk", "unsatisfied_at")) == {registered.pk: latest, other_case.pk: None}


def test_unsatisfied_in_the_window_reads_the_scopes_index_range(registered, other_case):
    """近30日不满意 of a unit: an index range of its own cases ever rated 不满意 (`case_unsatisfied`),
    where it used to probe every rating the province received in the window."""
    county = registered.location_unit.parent.parent
    now = timezone.now()
    Case.objects.filter(pk=registered.pk).update(unsatisfied_at=now - timedelta(days=1))
    Case.objects.filter(pk=other_case.pk).update(unsatisfied_at=now - timedelta(days=40))
    _the_rest_of_the_county(registered)
    recent = Case.objects.filter(attributed_to(county), unsatisfied_at__gte=now - timedelta(days=30)).order_by()
    assert list(recent.values_list("pk", flat=True)) == [registered.pk]
    assert "case_unsatisfied" in _plan(recent.values("pk"))


def _the_rest_of_the_county(template: Case, count: int = 400) -> None:
    """More cases like `template`, of no citizen and never rated 不满意, and fresh statistics.

    A plan is only worth asserting on a table that looks like one in service: with two or three rows,
    the planner's choice among the indexes that could serve is a coin toss, and it flipped between CI
    runs."""
    stored = Case.objects.get(pk=template.pk)
    clones = []
    for number in range(count):
        clone = copy.copy(stored)
        clone.pk, clone.reference, clone.citizen, clone.unsatisfied_at = None, f"YY2026-9{number:05d}", None, None
        clones.append(clone)
    Case.objects.bulk_create(clones)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Case._meta.db_table}")


def test_the_path_columns_keep_fine_statistics():
    """PostgreSQL keeps 1,000 histogram buckets for the path columns (a county is under 1 % of a
    province, and the default 100 misjudged it tenfold); the migration does nothing on SQLite."""
    migration = importlib.import_module("minqing.cases.migrations.0012_path_statistics")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s)",
                [Case._meta.db_table, list(migration.COLUMNS)],
            )
            assert dict(cursor.fetchall()) == dict.fromkeys(migration.COLUMNS, migration.TARGET)
    else:
        with CaptureQueriesContext(connection) as statements:
            migration.set_statistics(django_apps, SimpleNamespace(connection=connection))
        assert statements.captured_queries == []
