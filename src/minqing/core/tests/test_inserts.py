"""insert_together: new rows in one statement on PostgreSQL, one by one elsewhere; either way saved rows."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from minqing.cases.models import Category
from minqing.core import inserts
from minqing.core.inserts import insert_together

pytestmark = pytest.mark.django_db


def test_rows_are_inserted_with_the_ids_the_database_drew():
    parent = Category.objects.create(name="测试一级")
    children = [Category(name="子类甲", parent=parent, sort_order=3), Category(name="子类乙", parent=parent)]
    with CaptureQueriesContext(connection) as queries:
        insert_together(children)
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert all(child.pk and not child._state.adding for child in children)
    stored = {c.pk: (c.name, c.parent_id, c.sort_order, c.active) for c in Category.objects.filter(parent=parent)}
    assert stored == {children[0].pk: ("子类甲", parent.pk, 3, True), children[1].pk: ("子类乙", parent.pk, 0, True)}
    children[1].name = "子类丙"
    children[1].save()  # a saved row: an UPDATE, not a second INSERT
    assert Category.objects.filter(parent=parent).count() == 2


def test_a_failing_row_leaves_none_of_them():
    parent = Category.objects.create(name="测试一级")
    Category.objects.create(name="已有", parent=parent)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_together([Category(name="新的", parent=parent), Category(name="已有", parent=parent)])
    assert list(Category.objects.filter(parent=parent).values_list("name", flat=True)) == ["已有"]


def test_rows_of_one_shape_share_a_statement_and_keep_their_own_values():
    """The compiled INSERT is reused for the next row of the same model; an expression value still works."""
    parent = Category.objects.create(name="测试一级")
    first, second = Category(name="甲", parent=parent, sort_order=1), Category(name="乙", parent=parent, sort_order=2)
    computed = Category(name="丙", parent=parent, sort_order=Value(4) + Value(3))
    inserts._statements.clear()
    compile_insert = mock.patch.object(InsertQuery, "get_compiler", autospec=True, side_effect=InsertQuery.get_compiler)
    with compile_insert as compiles, transaction.atomic():
        insert_together([first])
        insert_together([second])
        insert_together([computed])
    if connection.vendor == "postgresql":
        assert compiles.call_count == 2  # the first row's, then the expression's own
    stored = dict(Category.objects.filter(parent=parent).values_list("name", "sort_order"))
    assert stored == {"甲": 1, "乙": 2, "丙": 7}


def test_gathered_calls_go_in_together_when_the_block_ends_then_run_their_effects():
    parent = Category.objects.create(name="测试一级")
    seen: list[list[str]] = []

    def names():
        seen.append(sorted(Category.objects.filter(parent=parent).values_list("name", flat=True)))
        return seen.pop  # its undo

    first, second = Category(name="甲", parent=parent), Category(name="乙", parent=parent)

    def inserts_in(queries) -> int:
        return sum("INSERT" in query["sql"] for query in queries)

    with CaptureQueriesContext(connection) as queries:
        with inserts.gathered_inserts():
            insert_together([first], effect=names)
            insert_together([second], effect=names)
            assert inserts_in(queries) == 0 and first.pk is None  # nothing written inside the block
        assert inserts_in(queries) == (1 if connection.vendor == "postgresql" else 2)  # one statement on PostgreSQL
    assert first.pk and second.pk
    assert seen == [["乙", "甲"], ["乙", "甲"]]  # in a transaction each effect runs after every row is in


def test_a_gathered_block_that_raises_writes_nothing_and_runs_no_effect():
    parent = Category.objects.create(name="测试一级")
    called = []
    with pytest.raises(RuntimeError), inserts.gathered_inserts():
        insert_together([Category(name="甲", parent=parent)], effect=lambda: called.append(1))
        raise RuntimeError("refused")
    assert called == [] and not Category.objects.filter(parent=parent).exists()
    insert_together([Category(name="乙", parent=parent)])  # the block is over: rows go in at once
    assert Category.objects.filter(parent=parent).count() == 1


def test_in_a_transaction_no_effect_runs_when_the_gathered_statement_fails():
    parent = Category.objects.create(name="测试一级")
    Category.objects.create(name="已有", parent=parent)
    called = []
    with pytest.raises(IntegrityError), transaction.atomic(), inserts.gathered_inserts():
        insert_together([Category(name="新的", parent=parent)], effect=lambda: called.append(1))
        insert_together([Category(name="已有", parent=parent)], effect=lambda: called.append(2))
    assert called == []
    assert list(Category.objects.filter(parent=parent).values_list("name", flat=True)) == ["已有"]


def test_long_statements_keep_their_placeholder_rewrite():
    """psycopg caches the %s → $n rewrite only for short statements unless told otherwise (apps.ready)."""
    from psycopg import _queries

    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= inserts.LONG_STATEMENT_BYTES
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= inserts.LONG_STATEMENT_PARAMS
    if connection.vendor != "postgresql":
        return  # SQLite does not go through psycopg
    parent = Category.objects.create(name="测试一级")

    def rows(tag: str) -> list[Category]:  # over 50 parameters: psycopg alone would rewrite them every time
        return [Category(name=f"{tag}{i}", parent=parent) for i in range(40)]

    def cache_hits() -> int:  # server-side or client-side binding (DATABASE_SERVER_BINDING)
        return _queries._query2pg.cache_info().hits + _queries._query2pg_client.cache_info().hits

    insert_together(rows("甲"))
    hits = cache_hits()
    insert_together(rows("乙"))
    assert cache_hits() > hits
    assert Category.objects.filter(parent=parent).count() == 80


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_block_is_one_transaction_of_its_own():
    """PostgreSQL: no BEGIN for the block (its closing statement is atomic) and no other write inside
    it; SQLite, which writes row by row, wraps the block in a transaction."""
    parent = Category.objects.create(name="测试一级")
    with inserts.gathered_inserts():
        insert_together([Category(name="甲", parent=parent)])
        if connection.vendor == "postgresql":
            assert connection.get_autocommit() and not connection.in_atomic_block
            with pytest.raises(TransactionManagementError):
                Category.objects.create(name="乙", parent=parent)  # would commit alone, before the block's rows
        else:
            assert connection.in_atomic_block
    assert list(Category.objects.filter(parent=parent).values_list("name", flat=True)) == ["甲"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_failing_block_leaves_nothing():
    """PostgreSQL writes the file first, then removes it when the statement fails; SQLite never writes it."""
    parent = Category.objects.create(name="测试一级")
    Category.objects.create(name="已有", parent=parent)
    files: set[str] = set()

    def write_file():
        files.add("photo.jpg")
        return lambda: files.discard("photo.jpg")

    with pytest.raises(IntegrityError), inserts.gathered_inserts():
        insert_together([Category(name="新的", parent=parent)], effect=write_file)
        insert_together([Category(name="已有", parent=parent)])
    assert files == set()
    assert list(Category.objects.filter(parent=parent).values_list("name", flat=True)) == ["已有"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_failing_effect_leaves_no_rows():
    parent = Category.objects.create(name="测试一级")

    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError), inserts.gathered_inserts():
        insert_together([Category(name="新的", parent=parent)], effect=disk_full)
    assert not Category.objects.filter(parent=parent).exists()
