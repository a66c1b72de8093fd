"""Reference numbers: a counter row on SQLite, a sequence per prefix and year on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection, transaction

from minqing.cases import actions, numbering
from minqing.cases.models import Case, CaseCounter
from minqing.core.deadlines import LOCAL_TZ

AT = datetime(2031, 3, 2, 10, 0, tzinfo=LOCAL_TZ)  # a year no other test numbers cases in
PREFIX = settings.MINQING_CASE_PREFIX


def _numbers(count: int) -> list[int]:
    return [int(numbering.next_reference_and_id(AT)[0].rsplit("-", 1)[1]) for _ in range(count)]


@pytest.fixture
def fresh_year(db):
    """2031 starts unnumbered: no counter row, and on PostgreSQL no sequence left by an earlier test."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {numbering.sequence_name(PREFIX, 2031)}")
    yield


def test_numbers_run_up_from_one_in_the_reference_format(fresh_year):
    reference, case_id = numbering.next_reference_and_id(AT)
    assert reference == f"{PREFIX}2031-000001"
    assert _numbers(2) == [2, 3]
    # PostgreSQL also draws the case id in the same statement; SQLite leaves it to the INSERT.
    assert (case_id is not None) == (connection.vendor == "postgresql")


def test_a_year_starts_above_its_counter_floor(fresh_year):
    CaseCounter.objects.create(prefix=PREFIX, year=2031, last_number=41)
    assert _numbers(2) == [42, 43]


def test_raise_floor_moves_the_next_number_up_but_never_down(fresh_year):
    assert _numbers(1) == [1]
    numbering.raise_floor(PREFIX, 2031, 500)
    assert _numbers(1) == [501]
    numbering.raise_floor(PREFIX, 2031, 10)  # below what was drawn: no effect
    assert _numbers(1) == [502]
    assert CaseCounter.objects.get(prefix=PREFIX, year=2031).last_number >= 500


def test_raise_floor_before_the_first_draw(fresh_year):
    numbering.raise_floor(PREFIX, 2031, 7)
    assert _numbers(1) == [8]


def test_a_failed_registration_gives_back_its_number_only_on_sqlite(fresh_year):
    assert _numbers(1) == [1]
    with pytest.raises(RuntimeError), transaction.atomic():
        assert _numbers(1) == [2]
        raise RuntimeError("the registration failed after drawing its number")
    # SQLite rolls the counter row back; a PostgreSQL sequence never goes back, so 2 is a gap.
    assert _numbers(1) == ([3] if connection.vendor == "postgresql" else [2])


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_numbers(new_case, dispatcher):
    references: list[str] = []
    barrier = threading.Barrier(6)

    def register() -> None:
        try:
            barrier.wait()
            references.append(actions.register_case(new_case(), dispatcher, at=AT).reference)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(references) == 6 == len(set(references)) == Case.objects.filter(reference__in=references).count()
    assert all(reference.startswith(f"{PREFIX}2031-") for reference in references)


def test_draw_with_brings_a_query_s_rows_beside_the_number(fresh_year):
    """PostgreSQL: the number, the id and the query's rows in one statement (none found: no rows),
    the year's sequence created on the way; elsewhere only the rows, the number is drawn later."""
    from django.test.utils import CaptureQueriesContext

    query = ("SELECT column1, column1 * 10, 'r' || column1 FROM (VALUES (2), (1)) AS t WHERE column1 >= %s", [1])
    none_found = ("SELECT column1, column1, 'x' FROM (VALUES (1)) AS t WHERE column1 > %s", [5])
    with CaptureQueriesContext(connection) as queries:
        number, rows = numbering.draw_with(AT, query)
    assert sorted(rows) == [(1, 10, "r1"), (2, 20, "r2")]
    if connection.vendor == "postgresql":
        reference, case_id = number
        assert reference == f"{PREFIX}2031-000001" and case_id
        assert sum("nextval" in q["sql"] and "LATERAL" in q["sql"] for q in queries) == 1
        again, found = numbering.draw_with(AT, none_found)
        assert found == [] and again[0] == f"{PREFIX}2031-000002" and again[1] > case_id
    else:
        assert number is None
        assert numbering.draw_with(AT, none_found) == (None, [])
        assert _numbers(1) == [1]  # nothing was drawn
