from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, Category, Channel
from minqing.testing.personas import HANCHENG, LIUQUAN, first_village, make_staff

# The seeded local policy is 15 working days (at least 21 calendar days): accepted this long
# ago, a case is due within the next few weeks, so an extension approved now moves it later.
STARTED_DAYS_AGO = 18


@pytest.fixture
def category(yiyang):
    return Category.objects.filter(parent__isnull=False).order_by("id").first()


@pytest.fixture
def other_township_manager(yiyang):
    return make_staff("hancheng_manager", Role.UNIT_MANAGER, HANCHENG)


@pytest.fixture
def make_case(yiyang, category, dispatcher, township_handler, unit):
    """An in-progress case led by 柳泉镇, accepted `days_ago` days ago."""

    def build(*, days_ago: int = STARTED_DAYS_AGO, signed: bool = True) -> Case:
        start = timezone.now() - timedelta(days=days_ago)
        data = case_actions.NewCase(
            channel=Channel.WALK_IN,
            title="村道被占用无法通行",
            content="村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            location_unit=first_village(LIUQUAN),
            category=category,
            parties=[case_actions.PartyInput(name="王大力", phone="13912345678")],
        )
        case = case_actions.register_case(data, dispatcher, at=start)
        case = case_actions.accept_case(case, dispatcher, at=start)
        case = case_actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN), at=start)
        if signed:
            case = case_actions.sign_for_case(case, township_handler, at=start)
        return case

    return build


@pytest.fixture
def case(make_case):
    return make_case()


def snapshot(case: Case) -> tuple:
    """What must not move when an action is refused."""
    fresh = Case.objects.get(pk=case.pk)
    return (
        fresh.state,
        fresh.version,
        fresh.event_count,
        fresh.handle_due,
        fresh.handle_due_original,
        fresh.extension_days,
        fresh.lead_unit_id,
        CaseEvent.objects.filter(case=case).count(),
    )
