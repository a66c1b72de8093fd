"""Every number on the county overview, a unit dashboard and the supervision board links to a
case list showing exactly that many cases; a township manager's links never reach other townships."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.cases import actions
from minqing.cases.models import Case
from minqing.dispatch.actions import close_supervision, issue_supervision
from minqing.dispatch.models import SupervisionOrder
from minqing.orgs.models import OrgUnit
from minqing.stats import rollups, selectors
from minqing.stats.tests.factories import CasePlan, drive
from minqing.testing.personas import HANCHENG, LIUQUAN, PASSWORD, first_village, make_staff

pytestmark = pytest.mark.django_db

LINK = re.compile(r"<a\b([^>]*)>([^<]*)</a>")
HREF = re.compile(r'href="([^"]*)"')
COUNT = re.compile(r'data-count="(\d+)"')


@pytest.fixture
def known_data(staff, county_manager):
    """Cases in two townships and a department, this month and last, in every state the board shows."""
    now = timezone.now()
    month_start = selectors.local_start(selectors.month_of(selectors.today()).start)
    last_month = month_start - timedelta(days=3)
    plans = [
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, rating="satisfied", phone_index=1),
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, rating="unsatisfied", outcome="explained"),
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, stop="in_progress", category_index=2),
        CasePlan(start=now - timedelta(days=1), township=HANCHENG, rating="basically_satisfied"),
        CasePlan(start=now - timedelta(days=1), township=HANCHENG, stop="replied", lead_department=True),
        CasePlan(start=now - timedelta(days=1), township=LIUQUAN, lead_department=True, category_index=3),
        CasePlan(start=now - timedelta(days=60), township=LIUQUAN, stop="in_progress"),  # overdue by now
        CasePlan(start=now - timedelta(days=60), township=HANCHENG, stop="in_progress"),  # overdue by now
        CasePlan(start=now - timedelta(days=2), township=HANCHENG, reopen=True, rating="unsatisfied"),
        CasePlan(start=now - timedelta(days=2), township=LIUQUAN, gaps_hours=[2, 2, 30, 2, 2, 2]),  # signed late
        CasePlan(start=last_month, township=LIUQUAN, rating="satisfied", gaps_hours=[1, 1, 1, 1, 1, 1]),
        CasePlan(start=last_month, township=HANCHENG, stop="declined"),
        CasePlan(start=now - timedelta(minutes=30), township=LIUQUAN, stop="submitted"),
        CasePlan(start=now - timedelta(minutes=20), township=HANCHENG, stop="submitted"),
    ]
    cases = [drive(plan, staff) for plan in plans]
    # Returned by the township; led by a village; nearly due.
    returned = drive(CasePlan(start=now - timedelta(days=1), township=LIUQUAN, stop="assigned"), staff)
    actions.return_case(returned, staff.handlers[LIUQUAN], reason="不属于本单位职责", at=now - timedelta(hours=2))
    village = drive(CasePlan(start=now - timedelta(days=1), township=LIUQUAN, stop="accepted"), staff)
    actions.assign_case(village, staff.dispatcher, lead_unit=first_village(LIUQUAN), at=now - timedelta(hours=3))
    Case.objects.filter(pk=cases[2].pk).update(handle_due=now + timedelta(days=1))
    # 督办中: two orders on one case count it once; a closed order no longer counts.
    for case, note in ((cases[2], "请尽快办理"), (cases[2], "再次督办"), (cases[6], "已超期"), (cases[7], "已超期")):
        issue_supervision(case, county_manager, note, now + timedelta(days=3))
    close_supervision(SupervisionOrder.objects.get(case=cases[7]), county_manager)
    rollups.update()
    return cases


def number_links(html: str) -> list[tuple[str, int]]:
    """(href, count) of every link whose text is a number; each must carry its data-count."""
    found = []
    for attributes, text in LINK.findall(html):
        count = COUNT.search(attributes)
        if not text.strip().isdigit():
            assert count is None, f"a count on a link that shows no number: {attributes} {text}"
            continue
        assert count is not None, f"a number without its count link: {attributes} {text}"
        assert int(count[1]) == int(text.strip())
        found.append((unescape(HREF.search(attributes)[1]), int(count[1])))
    return found


def follow_every_number(client, page: str, *, within: str | None = None) -> int:
    response = client.get(page, follow=True)
    assert response.status_code == 200, page
    links = number_links(response.content.decode())
    assert links, page
    for url, count in links:
        listed = client.get(url)
        assert listed.status_code == 200, url
        assert listed.context["total"] == count, (page, url)
        if within is not None:
            for case in listed.context["cases"]:
                assert case.location_path.startswith(within) or case.lead_path.startswith(within), url
    return sum(count for _url, count in links)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_every_number_on_the_county_dashboards_lists_exactly_that_many_cases(client, county_manager, known_data):
    login(client, county_manager)
    last_month = selectors.month_of(selectors.month_of(selectors.today()).start - timedelta(days=1))
    total = 0
    for page in (
        "/stats/",
        f"/stats/?month={last_month.start:%Y-%m}",
        f"/stats/unit/{LIUQUAN}/",
        f"/stats/unit/{HANCHENG}/",
        "/stats/unit/410327D01/",
        "/stats/supervision/",
        f"/stats/supervision/?unit={LIUQUAN}",
    ):
        total += follow_every_number(client, page)
    assert total > 40  # the data reaches most of the numbers: a wrong filter shows


def test_a_township_managers_numbers_are_exact_and_stay_in_the_township(client, known_data):
    manager = make_staff("lq_links_mgr", Role.UNIT_MANAGER, LIUQUAN)
    login(client, manager)
    path = OrgUnit.objects.get(code=LIUQUAN).path
    assert follow_every_number(client, "/stats/", within=path) > 10  # redirected to their township
    follow_every_number(client, f"/stats/unit/{LIUQUAN}/", within=path)
    follow_every_number(client, "/stats/supervision/", within=path)
    village = first_village(LIUQUAN)
    village_page = client.get(f"/stats/unit/{LIUQUAN}/").content.decode()
    assert f"unit={village.code}" in village_page  # the village row links to the village's own cases


def test_the_county_overview_counts_match_the_rows(client, county_manager, known_data):
    login(client, county_manager)
    response = client.get("/stats/")
    tiles = {t.key: t for t in response.context["month_tiles"]}
    month = selectors.month_of(selectors.today())
    in_month = Case.objects.filter(submitted_at__gte=selectors.local_start(month.start))
    assert tiles["received"].raw == in_month.count()
    live = {t.key: t.raw for t in response.context["live_tiles"]}
    assert live["overdue"] >= 2 and live["returned"] == 1 and live["nearly_due"] == 1 and live["unsatisfied"] == 2
    board = client.get("/stats/supervision/")
    assert board.context["supervised"].value == 2  # cases[2] (two orders) and cases[6]; cases[7]'s order is closed
    assert client.get(f"/stats/supervision/?unit={LIUQUAN}").context["supervised"].value == 2
    assert client.get(f"/stats/supervision/?unit={HANCHENG}").context["supervised"].value == 0  # cases[7]: closed
