from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, Category, Channel
from minqing.core.deadlines import LOCAL_TZ
from minqing.feedback.models import FollowUpCall, Rating, ReviewRequest
from minqing.testing.personas import LIUQUAN, first_village

# A Monday; 30 days later (2025-04-02) is a working day, so the review window is exactly 30 days.
REPLIED_AT = datetime(2025, 3, 3, 10, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def category(yiyang):
    return Category.objects.filter(parent__isnull=False).order_by("id").first()


@pytest.fixture
def other_citizen(yiyang):
    from minqing.accounts.actions import get_or_create_citizen

    return get_or_create_citizen("13900002222", name="李群众")


@pytest.fixture
def make_closed(yiyang, category, dispatcher, township_handler, unit):
    """A case led by 柳泉镇, replied and closed at `at` (default: an hour ago)."""

    def build(
        *,
        citizen=None,
        filed_by=None,
        at: datetime | None = None,
        group_size: int = 1,
        phone: str = "13912345678",
        anonymous: bool = False,
        close: bool = True,
    ) -> Case:
        at = at or timezone.now() - timedelta(hours=1)
        data = case_actions.NewCase(
            channel=Channel.INFORMANT if filed_by else Channel.WALK_IN,
            title="村道被占用无法通行",
            content="村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            location_unit=first_village(LIUQUAN),
            category=category,
            group_size=group_size,
            is_anonymous=anonymous,
            citizen=citizen,
            parties=[case_actions.PartyInput(name="王大力", phone=phone)],
        )
        case = case_actions.register_case(data, filed_by or dispatcher, at=at)
        case = case_actions.accept_case(case, dispatcher, at=at)
        case = case_actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN), at=at)
        case = case_actions.sign_for_case(case, township_handler, at=at)
        case = case_actions.reply_case(
            case, township_handler, outcome="supported", reply_text="已清理道路，恢复通行。", at=at
        )
        if close:
            case = case_actions.close_case(case, dispatcher, at=at)
        return case

    return build


@pytest.fixture
def rehandle(dispatcher, township_handler):
    """Take a reopened case through handling again and close it."""

    def run(case: Case, at: datetime | None = None) -> Case:
        case = case_actions.sign_for_case(case, township_handler, at=at)
        case = case_actions.reply_case(
            case, township_handler, outcome="explained", reply_text="已再次核实并答复。", at=at
        )
        return case_actions.close_case(case, dispatcher, at=at)

    return run


def snapshot(case: Case) -> tuple:
    """What must not move when a feedback verb is refused."""
    fresh = Case.objects.get(pk=case.pk)
    return (
        fresh.state,
        fresh.version,
        fresh.reopen_count,
        CaseEvent.objects.filter(case=case).count(),
        Rating.objects.filter(case=case).count(),
        ReviewRequest.objects.filter(case=case).count(),
        FollowUpCall.objects.filter(case=case).count(),
    )
