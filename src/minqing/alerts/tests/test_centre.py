"""The alert centre pages: scoped list and detail, chart, contributing cases, actions, inbox tile."""

from __future__ import annotations

import pytest
from django.urls import reverse

from minqing.accounts.models import Role
from minqing.alerts.actions import raise_alert
from minqing.alerts.models import Alert
from minqing.alerts.selectors import alert_tile
from minqing.alerts.tests.test_alerts import signal
from minqing.alerts.tests.test_cube import DAY0, make_case
from minqing.testing.personas import HANCHENG, LIUQUAN, PASSWORD, first_village, make_staff


@pytest.fixture
def other_township_manager(yiyang):
    return make_staff("hancheng_manager", Role.UNIT_MANAGER, HANCHENG)


@pytest.fixture
def alerts(yiyang, unit, dispatcher):
    case = make_case(dispatcher, day=DAY0)
    series = {
        "label": "日案件数",
        "step_days": 1,
        "values": [0, 1, 0, 6],
        "threshold": [None, 2.5, 2.5, 2.9],
        "end": DAY0.isoformat(),
    }
    liuquan, _ = raise_alert(signal(unit(LIUQUAN), key="lq", case_ids=[case.pk], series=series))
    hancheng, _ = raise_alert(signal(unit(HANCHENG), key="hc", severity="high"))
    return liuquan, hancheng


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_county_manager_sees_every_alert_of_the_county(client, county_manager, alerts):
    page = login(client, county_manager).get(reverse("alerts:list"))
    assert page.status_code == 200
    assert all(a.title in page.content.decode() for a in alerts)


def test_township_manager_sees_only_own_township(client, township_manager, alerts):
    liuquan, hancheng = alerts
    html = login(client, township_manager).get(reverse("alerts:list")).content.decode()
    assert liuquan.title in html and hancheng.title not in html
    assert client.get(reverse("alerts:detail", args=[hancheng.pk])).status_code == 404


def test_other_township_manager_gets_404_and_cannot_act(client, other_township_manager, alerts):
    liuquan, _ = alerts
    login(client, other_township_manager)
    assert client.get(reverse("alerts:detail", args=[liuquan.pk])).status_code == 404
    response = client.post(reverse("alerts:action", args=[liuquan.pk, "acknowledge"]))
    assert response.status_code == 404
    liuquan.refresh_from_db()
    assert liuquan.state == "new" and liuquan.events.count() == 1


def test_handler_and_citizen_see_no_alerts(client, township_handler, citizen, alerts):
    login(client, township_handler)
    assert client.get(reverse("alerts:detail", args=[alerts[0].pk])).status_code == 404
    client.logout()
    client.force_login(citizen)
    assert client.get(reverse("alerts:list")).status_code == 403


def test_detail_shows_chart_threshold_cases_and_history(client, county_manager, alerts):
    liuquan, _ = alerts
    html = login(client, county_manager).get(reverse("alerts:detail", args=[liuquan.pk])).content.decode()
    assert "<svg" in html and "<polyline" in html and 'stroke="#d9363e"' in html
    case = liuquan.cases.get()
    assert reverse("cases:detail", args=[case.pk]) in html and case.reference in html
    assert "raise" in html and "确认预警" in html


def test_filters_by_state_kind_and_severity(client, county_manager, alerts):
    login(client, county_manager)
    html = client.get(reverse("alerts:list"), {"severity": "high"}).content.decode()
    assert alerts[1].title in html and alerts[0].title not in html
    html = client.get(reverse("alerts:list"), {"state": "closed"}).content.decode()
    assert alerts[0].title not in html


def test_htmx_actions_update_the_panel(client, township_manager, alerts):
    liuquan, _ = alerts
    login(client, township_manager)
    url = reverse("alerts:action", args=[liuquan.pk, "acknowledge"])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="alert-panel"' in response.content.decode()
    refused = client.post(
        reverse("alerts:action", args=[liuquan.pk, "dismiss"]), {"reason": ""}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 422 and "理由" in refused.content.decode()
    done = client.post(reverse("alerts:action", args=[liuquan.pk, "dismiss"]), {"reason": "重复登记"})
    assert done.status_code == 302
    liuquan.refresh_from_db()
    assert liuquan.state == "dismissed" and liuquan.reason == "重复登记"


def test_dispatch_form_links_a_case(client, county_manager, alerts, dispatcher):
    liuquan, _ = alerts
    case = make_case(dispatcher, day=DAY0, unit=first_village(LIUQUAN))
    login(client, county_manager).post(reverse("alerts:action", args=[liuquan.pk, "dispatch"]), {"case": case.pk})
    assert Alert.objects.get(pk=liuquan.pk).linked_case == case


def test_inbox_tile_counts_new_alerts_in_remit(county_manager, township_manager, township_handler, alerts):
    assert alert_tile(county_manager)["count"] == 2
    assert alert_tile(township_manager)["count"] == 1
    assert alert_tile(township_handler) is None


def test_inbox_page_shows_the_tile(client, county_manager, alerts):
    html = login(client, county_manager).get(reverse("cases:inbox")).content.decode()
    assert "/alerts/?state=new" in html
