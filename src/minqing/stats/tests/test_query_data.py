"""Search parity with a brute-force matcher, exact identity matching by hash, masked and audited export."""

from __future__ import annotations

import importlib
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from minqing.accounts.models import AuditEntry
from minqing.cases import actions
from minqing.cases.models import Case
from minqing.core import crypto
from minqing.stats import rollups, search
from minqing.stats.models import CaseSearchDoc
from minqing.stats.tests.factories import CasePlan, drive
from minqing.stats.tests.test_views import login

pytestmark = pytest.mark.django_db

TEXTS = [
    ("村道积水严重影响出行", "雨后村东主干道长期积水，老人孩子出行困难，请求修缮排水沟。"),
    ("拖欠农民工工资", "某建筑工地拖欠二十多名农民工工资三个月，多次讨要无果。"),
    ("路灯不亮", "村口路灯坏了很久，晚上出行不安全。"),
    ("噪音扰民", "夜间施工噪音很大，影响居民休息，希望相关部门处理。"),
    ("土地承包纠纷", "邻居侵占我家承包地，村委会调解未果，请求处理。"),
    ("饮水安全", "自来水浑浊有异味，担心饮水安全。"),
]
QUERIES = [
    "积水",
    "农民工工资",
    "路灯",
    "噪音 施工",
    "承包地 调解",
    "饮水安全",
    "出行",
    "工资 路灯",
    "处理",
    "排水沟修缮",
    "不存在的词",
]


@pytest.fixture
def texts_indexed(staff):
    now = timezone.now()
    cases = [
        drive(
            CasePlan(
                start=now - timedelta(days=5, hours=i), stop="replied" if i % 2 else "submitted", title=t, content=c
            ),
            staff,
        )
        for i, (t, c) in enumerate(TEXTS)
    ]
    actions.add_information(cases[2], staff.dispatcher, text="补充：附近还有三盏路灯也不亮")
    rollups.update()
    return cases


def test_search_matches_brute_force_on_this_database(texts_indexed, dispatcher):
    docs = dict(CaseSearchDoc.objects.values_list("case_id", "tokens"))
    assert len(docs) == len(TEXTS)
    for query in QUERIES:
        found = set(search.filter_by_keywords(Case.objects.all(), query).values_list("pk", flat=True))
        assert found == search.brute_force_ids(docs, query), (connection.vendor, query)
    assert set(search.filter_by_keywords(Case.objects.all(), "积水").values_list("pk", flat=True))
    assert not set(search.filter_by_keywords(Case.objects.all(), "不存在的词").values_list("pk", flat=True))


def test_a_county_users_search_narrows_to_the_county_in_the_index(client, texts_indexed, county_manager):
    # Every document names its case's county; a county remit searches with that token added.
    assert all(tokens.split()[0] == "county410327" for tokens in CaseSearchDoc.objects.values_list("tokens", flat=True))
    counties = search.county_paths()
    assert search.remit_county(["/410327/410327102/", "/410327/"], counties) == "410327"
    assert search.remit_county(["/410327/", "/9999/"], counties) == ""  # outside any county: no narrowing
    login(client, county_manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/stats/query/?q=出行")
    assert {c.pk for c in response.context["cases"]} == {texts_indexed[0].pk, texts_indexed[2].pk}
    assert any("county410327" in q["sql"] for q in queries.captured_queries)
    # The token narrows, it never widens: a term that names another county finds nothing here.
    assert not search.filter_by_keywords(Case.objects.all(), "出行", county="410300").exists()


def test_the_migration_gives_older_documents_their_county_token_once(texts_indexed):
    from django.apps import apps

    migration = importlib.import_module("minqing.stats.migrations.0005_search_county_tokens")
    before = dict(CaseSearchDoc.objects.values_list("case_id", "tokens"))
    for doc in CaseSearchDoc.objects.all():  # as written before the token existed
        doc.tokens = doc.tokens.removeprefix("county410327 ")
        doc.save()
    migration.add_county_tokens(apps, None)
    migration.add_county_tokens(apps, None)
    assert dict(CaseSearchDoc.objects.values_list("case_id", "tokens")) == before
    assert {c.pk for c in search.filter_by_keywords(Case.objects.all(), "出行", county="410327")} == {
        texts_indexed[0].pk,
        texts_indexed[2].pk,
    }


def test_search_sees_replies_and_added_information(texts_indexed):
    hits = set(search.filter_by_keywords(Case.objects.all(), "三盏").values_list("pk", flat=True))
    assert hits == {texts_indexed[2].pk}
    replied = set(search.filter_by_keywords(Case.objects.all(), "知悉").values_list("pk", flat=True))
    assert replied == {c.pk for c in texts_indexed if c.state != "submitted"}


def test_search_uses_the_full_text_index(texts_indexed):
    with CaptureQueriesContext(connection) as queries:
        list(search.filter_by_keywords(Case.objects.all(), "积水"))
    sql = queries.captured_queries[-1]["sql"]
    assert ("stats_casesearch_fts MATCH" in sql) if connection.vendor == "sqlite" else ("tsv @@ plainto_tsquery" in sql)


def test_identity_is_matched_by_hash_not_plaintext(client, dispatcher, staff):
    now = timezone.now()
    for i in range(2):
        drive(CasePlan(start=now - timedelta(days=i + 1), stop="submitted", phone_index=1), staff)
    drive(CasePlan(start=now, stop="submitted", phone_index=2), staff)
    login(client, dispatcher)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/stats/query/?phone=13900000002")
    assert response.status_code == 200
    assert len(response.context["cases"]) == 2
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert crypto.lookup_hash("13900000002") in sql
    assert "13900000002" not in sql.replace(crypto.lookup_hash("13900000002"), "")
    # No query filters on the ciphertext columns (they are only selected, for masked display).
    for query in queries.captured_queries:
        assert "_encrypted" not in query["sql"].partition(" WHERE ")[2]


def _sheet(response):
    content = b"".join(response.streaming_content)
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


def test_export_is_masked_by_default_and_not_audited(client, dispatcher, staff):
    drive(CasePlan(start=timezone.now(), stop="submitted", phone_index=3), staff)
    login(client, dispatcher)
    rows = _sheet(client.get("/stats/query/export.xlsx"))
    assert rows[1][12] == "139****0004"
    assert not AuditEntry.objects.filter(action="export_unmasked").exists()


def test_unmasked_export_is_audited(client, dispatcher, staff):
    drive(CasePlan(start=timezone.now(), stop="submitted", phone_index=3), staff)
    login(client, dispatcher)
    rows = _sheet(client.get("/stats/query/export.xlsx?unmasked=1&state=submitted"))
    assert rows[1][12] == "13900000004"
    entry = AuditEntry.objects.get(action="export_unmasked")
    assert entry.actor == dispatcher
    assert entry.payload["rows"] == 1
    assert entry.payload["filters"]["state"] == "submitted"


def test_unmasked_export_refused_without_the_right(client, staff):
    from minqing.accounts.models import Role
    from minqing.testing.personas import LIUQUAN, make_staff

    drive(CasePlan(start=timezone.now(), stop="submitted", phone_index=3), staff)
    manager = make_staff("lq_mgr", Role.UNIT_MANAGER, LIUQUAN)
    login(client, manager)
    assert client.get("/stats/query/export.xlsx?unmasked=1").status_code == 403
    assert not AuditEntry.objects.filter(action="export_unmasked").exists()
    rows = _sheet(client.get("/stats/query/export.xlsx"))
    assert rows[1][12] == "139****0004"
