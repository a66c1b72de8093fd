"""Reference numbers (`YY2026-000123`): one counter per prefix and year.

On SQLite, which lets one writer in at a time anyway, the counter is the `CaseCounter` row,
incremented by the registering transaction.

On PostgreSQL that row lock would be held until the registration commits, and every concurrent
submission would queue behind it (under load the queue was most of a submission's time). There the
numbers come from a sequence per prefix and year: `nextval` never waits and is never rolled back, so a
registration that fails after drawing its number leaves a gap. `CaseCounter` remains the floor: a
year's sequence starts after it, and bulk loaders raise both through `raise_floor`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from minqing.cases.models import Case, CaseCounter
from minqing.core.deadlines import local_date


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}{year}-{number:06d}"


def next_reference_and_id(at: datetime) -> tuple[str, int | None]:
    """The next reference number of `at`'s year and, on PostgreSQL, the new case's id, in one statement.

    Drawing the id here lets the case be inserted once with its first event's hash, which covers the id.
    """
    prefix, year = settings.MINQING_CASE_PREFIX, local_date(at).year
    connection = connections[CaseCounter.objects.db]
    if connection.vendor == "postgresql":
        reference, case_id, _rows = _draw_from_sequence(connection, prefix, year)
        return reference, case_id
    return format_reference(prefix, year, _draw_from_counter(connection, prefix, year)), None


def draw_with(at: datetime, query: tuple[str, Sequence[Any]] | None) -> tuple[tuple[str, int] | None, list[tuple]]:
    """On PostgreSQL, `next_reference_and_id` and the rows of a read-only `query`, in one round trip
    (a submission's number and its duplicate check). Elsewhere no number, which the registration draws
    inside its transaction, and the query's rows. The query's first column must never be NULL.
    """
    connection = connections[CaseCounter.objects.db]
    if connection.vendor == "postgresql":
        prefix, year = settings.MINQING_CASE_PREFIX, local_date(at).year
        reference, case_id, rows = _draw_from_sequence(connection, prefix, year, query)
        return (reference, case_id), rows
    if query is None:
        return None, []
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return None, cursor.fetchall()


def raise_floor(prefix: str, year: int, number: int) -> None:
    """Numbers up to `number` are taken (bulk loads): the next one drawn is above it."""
    counter, _ = CaseCounter.objects.get_or_create(prefix=prefix, year=year)
    if counter.last_number < number:
        counter.last_number = number
        counter.save(update_fields=["last_number"])
    connection = connections[CaseCounter.objects.db]
    if connection.vendor == "postgresql" and number > 0:
        name = sequence_name(prefix, year)
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:  # else it starts above the counter when first drawn from
                quoted = connection.ops.quote_name(name)
                # The highest number taken is last_value once drawn from, last_value - 1 before.
                # setval(…, n) makes the next nextval n + 1; GREATEST never moves it back.
                cursor.execute(
                    f"SELECT setval('{quoted}', GREATEST(%s, CASE WHEN is_called THEN last_value"
                    f" ELSE last_value - 1 END)) FROM {quoted}",
                    [number],
                )


def sequence_name(prefix: str, year: int) -> str:
    return f"cases_reference_{re.sub(r'[^a-z0-9]', '_', prefix.lower())}_{year}"


def _draw_from_counter(connection, prefix: str, year: int) -> int:
    sql = (
        f"UPDATE {connection.ops.quote_name(CaseCounter._meta.db_table)} SET last_number = last_number + 1"
        " WHERE prefix = %s AND year = %s RETURNING last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix, year])
        row = cursor.fetchone()
        if row is None:  # the year's first case
            CaseCounter.objects.get_or_create(prefix=prefix, year=year)
            cursor.execute(sql, [prefix, year])
            row = cursor.fetchone()
    return row[0]


def _draw_from_sequence(
    connection, prefix: str, year: int, alongside: tuple[str, Sequence[Any]] | None = None
) -> tuple[str, int, list[tuple]]:
    name = sequence_name(prefix, year)
    case_table, case_pk = Case._meta.db_table, Case._meta.pk.column
    # nextval(NULL) is NULL: a missing sequence answers NULL instead of aborting the transaction.
    draw = (
        f"SELECT nextval(to_regclass(%s)) AS number, nextval(pg_get_serial_sequence('{case_table}', '{case_pk}'))"
        " AS case_id"
    )
    sql, params = draw, [name]
    if alongside is not None:  # the one-row draw, then the query's rows beside it (or one row of NULLs)
        sql = f"SELECT n.*, q.* FROM ({draw}) n LEFT JOIN LATERAL ({alongside[0]}) q ON true"
        params = [name, *alongside[1]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        number, case_id = rows[0][:2]
        if number is None:  # the year's first case on this database
            _create_sequence(connection, prefix, year, name)
            cursor.execute("SELECT nextval(to_regclass(%s))", [name])
            number = cursor.fetchone()[0]
            if number is None:
                raise DatabaseError(f"could not create the reference sequence {name}")
    found = [row[2:] for row in rows if row[2] is not None] if alongside is not None else []
    return format_reference(prefix, year, number), case_id, found


def _create_sequence(connection, prefix: str, year: int, name: str) -> None:
    floor = CaseCounter.objects.filter(prefix=prefix, year=year).values_list("last_number", flat=True).first() or 0
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {connection.ops.quote_name(name)} START WITH {floor + 1}")
    except DatabaseError:
        pass  # a concurrent registration created it first (its catalog row won the unique index)
