"""`startswith` is a byte range on SQLite (index-served, case-sensitive), LIKE on PostgreSQL: the same rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from minqing.cases.models import Case, Category

pytestmark = pytest.mark.django_db

# LIKE wildcards and escapes, case, Chinese, and the code points next to the surrogates and at the top.
NAMES = [
    "\ud7ffx",
    "\ue000",
    "a%b",
    "A%bc",
    "a_b",
    "axb",
    "ab",
    "a",
    "b",
    "路面破损",
    "路灯",
    "路",
    "a\\b",
    "a\U0010ffff",
]
PREFIXES = ["\ud7ff", "a%", "a_", "a", "A", "路", "路灯", "a\\", "ab", "zz", "a\U0010ffff"]


def test_prefixes_match_exactly_what_python_startswith_matches():
    parent = Category.objects.create(name="前缀测试")
    Category.objects.bulk_create(Category(name=name, parent=parent) for name in NAMES)
    children = Category.objects.filter(parent=parent)
    for prefix in PREFIXES:
        found = sorted(children.filter(name__startswith=prefix).values_list("name", flat=True))
        assert found == sorted(n for n in NAMES if n.startswith(prefix)), prefix
    assert children.filter(name__startswith="").count() == len(NAMES)


def test_sqlite_reads_unit_paths_through_an_index():
    cases = Case.objects.filter(lead_path__startswith="/41/410327/410327102/")
    with CaptureQueriesContext(connection) as queries:
        cases.count()
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "sqlite":
        plan = cases.explain()
        assert "LIKE" not in sql
        assert "USING" in plan and "SCAN cases_case" not in plan
    else:
        assert "LIKE '/41/410327/410327102/%'" in sql
