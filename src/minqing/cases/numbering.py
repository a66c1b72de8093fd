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
from datetime import datetime

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
        return _draw_from_sequence(connection, prefix, year)
    return format_reference(prefix, year, _draw_from_counter(connection, prefix, year)), None


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


def _draw_from_sequence(connection, prefix: str, year: int) -> tuple[str, int]:
    name = sequence_name(prefix, year)
    case_table, case_pk = Case._meta.db_table, Case._meta.pk.column
    with connection.cursor() as cursor:
        # nextval(NULL) is NULL: a missing sequence answers NULL instead of aborting the transaction.
        cursor.execute(
            f"SELECT nextval(to_regclass(%s)), nextval(pg_get_serial_sequence('{case_table}', '{case_pk}'))", [name]
        )
        number, case_id = cursor.fetchone()
        if number is None:  # the year's first case on this database
            _create_sequence(connection, prefix, year, name)
            cursor.execute("SELECT nextval(to_regclass(%s))", [name])
            number = cursor.fetchone()[0]
            if number is None:
                raise DatabaseError(f"could not create the reference sequence {name}")
    return format_reference(prefix, year, number), case_id


def _create_sequence(connection, prefix: str, year: int, name: str) -> None:
    floor = CaseCounter.objects.filter(prefix=prefix, year=year).values_list("last_number", flat=True).first() or 0
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {connection.ops.quote_name(name)} START WITH {floor + 1}")
    except DatabaseError:
        pass  # a concurrent registration created it first (its catalog row won the unique index)
