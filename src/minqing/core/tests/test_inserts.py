"""insert_together: new rows in one statement on PostgreSQL, one by one elsewhere; either way saved rows."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.sql import InsertQuery
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
