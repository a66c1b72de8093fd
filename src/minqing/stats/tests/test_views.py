"""Dashboards, supervision board, query page: scoping, numbers that match, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from minqing.cases.models import CaseEvent
from minqing.stats import metrics, rollups, selectors
from minqing.stats.tests.factories import CasePlan, drive
from minqing.testing.personas import HANCHENG, LIUQUAN, PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def some_cases(staff):
    now = timezone.now()
    plans = [
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, rating="satisfied"),
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, stop="in_progress"),
        CasePlan(start=now - timedelta(days=1), township=HANCHENG, stop="closed", rating="unsatisfied"),
        CasePlan(
            start=now - timedelta(hours=30),
            township=HANCHENG,
            stop="submitted",
            title="路灯不亮",
            content="村口路灯坏了很久",
        ),
    ]
    cases = [drive(plan, staff) for plan in plans]
    rollups.update()
    return cases


def test_county_dashboard_shows_the_metrics_module_figures(client, county_manager, some_cases, yiyang):
    response = login(client, county_manager).get("/stats/")
    assert response.status_code == 200
    month = selectors.month_of(selectors.today())
    expected = selectors.counters(selectors.rollups_for(county_manager, yiyang), month)
    tiles = {t.key: t for t in response.context["month_tiles"]}
    assert tiles["received"].value == str(expected.received)
    assert tiles["closed"].value == str(expected.closed)
    assert tiles["on_time_rate"].value == metrics.percent(metrics.on_time_rate(expected))
    assert "chart-data" in response.content.decode()


def test_every_kpi_link_lists_exactly_the_cases_counted(client, county_manager, some_cases):
    login(client, county_manager)
    response = client.get("/stats/")
    for tile in response.context["month_tiles"][:3] + response.context["live_tiles"]:
        listed = client.get(tile.url)
        assert listed.status_code == 200, tile.url
        assert listed.context["total"] == tile.raw, (tile.key, tile.url)


def test_township_manager_cannot_open_another_townships_dashboard(client, some_cases):
    from minqing.accounts.models import Role
    from minqing.testing.personas import make_staff

    manager = make_staff("lq_mgr", Role.UNIT_MANAGER, LIUQUAN)
    login(client, manager)
    assert client.get(f"/stats/unit/{LIUQUAN}/").status_code == 200
    response = client.get(f"/stats/unit/{HANCHENG}/")
    assert response.status_code == 404
    assert "韩城" not in response.content.decode()
    assert client.get("/stats/").status_code == 302  # to their own unit
    assert client.get(f"/stats/supervision/?unit={HANCHENG}").status_code == 404


def test_query_results_stay_within_the_remit(client, some_cases):
    from minqing.accounts.models import Role
    from minqing.testing.personas import make_staff

    manager = make_staff("lq_mgr", Role.UNIT_MANAGER, LIUQUAN)
    login(client, manager)
    response = client.get("/stats/query/")
    assert response.status_code == 200
    assert response.context["cases"]
    assert all(
        c.location_path.startswith("/410327/410327102/") or c.lead_path.startswith("/410327/410327102/")
        for c in response.context["cases"]
    )
    refused = client.get(f"/stats/query/?unit={HANCHENG}")
    assert refused.status_code == 403
    api = client.get(f"/stats/query/api/?township={HANCHENG}")
    assert api.status_code == 403


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("date_from=2025-13-45", "起始日期"),
        ("date_from=2025-03-10&date_to=2025-03-01", "截止日期不能早于起始日期"),
        ("state=flying", "不是有效的选项"),
        ("unit=NOPE", "单位代码“NOPE”不存在"),
        ("category=abc", "二级分类"),
        ("page=-3", "页码"),
        ("phone=abc", "信访人手机号"),
        ("date_kind=someday", "不是有效的选项"),
        ("signed_on_time=maybe", "不是有效的选项"),
        ("resolved=perhaps", "不是有效的选项"),
        ("rating=wonderful", "不是有效的选项"),
        ("supervised=sometimes", "督办中"),
    ],
)
def test_bad_filters_answer_400_with_a_chinese_message(client, dispatcher, query, fragment):
    login(client, dispatcher)
    response = client.get(f"/stats/query/?{query}")
    assert response.status_code == 400
    assert fragment in response.content.decode()
    api = client.get(f"/stats/query/api/?{query}")
    assert api.status_code == 400
    assert fragment in api.json()["error"]


def test_bad_month_is_a_400(client, county_manager):
    login(client, county_manager)
    assert client.get("/stats/?month=2025-99").status_code == 400


def test_supervision_board_lists_unsatisfied_and_links(client, county_manager, some_cases):
    response = login(client, county_manager).get("/stats/supervision/")
    assert response.status_code == 200
    sections = {tile.key: (tile, cases) for tile, cases in response.context["sections"]}
    assert sections["unsatisfied"][0].raw == 1
    rated_unsatisfied = CaseEvent.objects.filter(action="rate", payload__score="unsatisfied").values_list(
        "case_id", flat=True
    )
    assert [case.pk for case in sections["unsatisfied"][1]] == list(rated_unsatisfied)
    assert "/dispatch/supervision/" in response.content.decode()


def test_person_history_counts_repeat_petitions(client, dispatcher, staff):
    now = timezone.now()
    for i in range(3):
        drive(CasePlan(start=now - timedelta(days=3 - i), stop="submitted", phone_index=4), staff)
    response = login(client, dispatcher).get("/stats/person/?phone=139 0000 0005")
    assert response.status_code == 200
    assert response.context["count"] == 3
    assert response.context["repeat"] == 2


def test_saved_query_round_trip(client, dispatcher):
    login(client, dispatcher)
    response = client.post("/stats/query/save/", {"name": "柳泉超期", "unit": LIUQUAN, "overdue": "yes"})
    assert response.status_code == 302
    saved = dispatcher.saved_queries.get()
    assert saved.params == {"unit": LIUQUAN, "overdue": "yes"}
    assert client.get(f"/stats/query/saved/{saved.pk}/")["Location"].endswith(f"unit={LIUQUAN}&overdue=yes")


def test_supervision_board_lists_open_orders_from_events(client, county_manager, staff):
    from minqing.cases.actions import record_side_event

    now = timezone.now()
    first = drive(CasePlan(start=now - timedelta(days=2), stop="in_progress"), staff)
    second = drive(CasePlan(start=now - timedelta(days=2), stop="in_progress", township=HANCHENG), staff)
    due = (now + timedelta(days=2)).isoformat()
    for pk, case in enumerate((first, second), start=1):
        payload = {"supervision": pk, "level": "county", "note": f"请加快办理{pk}", "reply_due": due}
        record_side_event(case, county_manager, "supervise", payload)
    record_side_event(second, county_manager, "close_supervision", {"supervision": 2})
    response = login(client, county_manager).get("/stats/supervision/")
    assert [e.case_id for e in response.context["orders"]] == [first.pk]
    assert "请加快办理1" in response.content.decode()


def test_scoped_cases_shortcut_equals_the_scoping_function(county_manager, some_cases, yiyang):
    from minqing.accounts.models import Role
    from minqing.orgs.models import OrgUnit
    from minqing.testing.personas import make_staff

    manager = make_staff("lq_mgr", Role.UNIT_MANAGER, LIUQUAN)
    for user, scope in ((county_manager, yiyang), (manager, OrgUnit.objects.get(code=LIUQUAN))):
        expected = set(
            selectors.cases_visible_to(user).filter(selectors.attributed_to(scope)).values_list("pk", flat=True)
        )
        assert set(selectors.scoped_cases(user, scope).values_list("pk", flat=True)) == expected
