"""The county dashboard in Chromium: real figures from cases driven through the actions, charts drawn."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.orgs.models import OrgUnit
from minqing.stats import metrics, rollups, selectors
from minqing.stats.tests.factories import OUTCOMES, SCORES, STOPS, CasePlan, Staff, drive
from minqing.testing.browser import screenshot
from minqing.testing.personas import COUNTY, HANCHENG, LIUQUAN, PASSWORD, ensure_reference_data, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CASES = 200


@pytest.fixture
def county_with_cases():
    ensure_reference_data()
    staff = Staff.create("dash")
    manager = make_staff("dash_manager", Role.COUNTY_MANAGER, COUNTY)
    rng = random.Random(7)
    now = timezone.now()
    start_of_month = selectors.local_start(selectors.month_of(selectors.today()).start)
    span = max((now - start_of_month).total_seconds() - 6 * 3600, 3600)
    for _ in range(CASES):
        start = now - timedelta(seconds=rng.uniform(3600, span + 20 * 86400))
        drive(
            CasePlan(
                start=start,
                stop=rng.choice(STOPS[1:] + ("closed",) * 4),
                township=rng.choice((LIUQUAN, HANCHENG)),
                lead_department=rng.random() < 0.3,
                category_index=rng.randrange(6),
                outcome=rng.choice(OUTCOMES),
                gaps_hours=[rng.uniform(0.1, 3) for _ in range(7)],
                rating=rng.choice((None, *SCORES, "satisfied")),
                phone_index=rng.randrange(6),
            ),
            staff,
        )
    rollups.update()
    return manager


def test_county_dashboard_shows_real_figures(live_server, page, county_with_cases):
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", county_with_cases.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/stats/")
    page.wait_for_selector("html[data-charts-ready='2']")
    page.wait_for_selector("#chart-trend canvas")

    county = OrgUnit.objects.get(code=COUNTY)
    month = selectors.month_of(selectors.today())
    expected = selectors.counters(selectors.rollups_for(county_with_cases, county), month)
    assert expected.received > 0 and expected.closed > 0

    def tile(section: int, key: str) -> str:
        return page.locator(f".kpis >> nth={section}").locator(f"[data-kpi={key}] .value").inner_text()

    assert tile(1, "received") == str(expected.received)
    assert tile(1, "closed") == str(expected.closed)
    assert tile(1, "on_time_rate") == metrics.percent(metrics.on_time_rate(expected))
    assert tile(1, "satisfaction_rate") == metrics.percent(metrics.satisfaction_rate(expected))
    assert page.locator(".heat-table").inner_text().count("柳泉镇") == 1
    screenshot(page, "stats_county_dashboard")

    # A number leads to the cases behind it.
    page.locator(".kpis >> nth=1").locator("[data-kpi=closed] a.value").click()
    page.wait_for_url("**/stats/query/**")
    assert page.locator("#result-total").inner_text() == str(expected.closed)
