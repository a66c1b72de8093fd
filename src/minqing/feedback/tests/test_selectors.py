from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from minqing.feedback import selectors
from minqing.feedback.models import CallOutcome, CallState, FollowUpCall, Questionnaire, Rating, Score

S, B, U = Score.SATISFIED, Score.BASICALLY_SATISFIED, Score.UNSATISFIED


@pytest.fixture
def figures_case(make_closed):
    """One closed case with hand-placed ratings and calls (one per round, as the constraints allow)."""
    case = make_closed()
    now = timezone.now()
    for round_, (score, channel) in enumerate([(S, "web"), (S, "sms"), (B, "wechat"), (U, "web")]):
        Rating.objects.create(case=case, score=score, channel=channel, round=round_, reason="x", created_at=now)
    questionnaire = Questionnaire.objects.get()
    calls = [
        (CallOutcome.REACHED, S),
        (CallOutcome.REACHED, U),
        (CallOutcome.REACHED, ""),  # reached, but did not answer the satisfaction question
        (CallOutcome.NOT_REACHED, ""),
        (CallOutcome.REFUSED, ""),
    ]
    for round_, (outcome, satisfaction) in enumerate(calls):
        FollowUpCall.objects.create(
            case=case,
            round=round_,
            reason="share_of_closed",
            questionnaire=questionnaire,
            state=CallState.DONE,
            outcome=outcome,
            satisfaction=satisfaction,
            called_at=now,
            attempts=1,
        )
    FollowUpCall.objects.create(case=case, round=9, reason="group_case", questionnaire=questionnaire)  # not called
    return case


def test_satisfaction_combines_both_sources(figures_case, county_manager):
    figures = selectors.satisfaction(county_manager)
    ratings, calls, combined = figures["citizen_ratings"], figures["follow_up_calls"], figures["combined"]
    # Ratings: 满意 2, 基本满意 1, 不满意 1 → (2 + 1) / 4
    assert (ratings["rated"], ratings["satisfied"], ratings["basically"], ratings["unsatisfied"]) == (4, 2, 1, 1)
    assert ratings["rate"] == 0.75
    assert ratings["by_channel"] == {"web": 2, "wechat": 1, "sms": 1, "app": 0, "phone": 0}
    # Calls: 5 made (3 接通, 1 未接通, 1 拒访); 2 answered the satisfaction question: 满意 1, 不满意 1 → 1 / 2
    assert (calls["calls"], calls["reached"], calls["not_reached"], calls["refused"]) == (5, 3, 1, 1)
    assert (calls["rated"], calls["satisfied"], calls["basically"], calls["unsatisfied"]) == (2, 1, 0, 1)
    assert calls["rate"] == 0.5
    # Combined: (3 + 1) / (4 + 2)
    assert (combined["rated"], combined["satisfied"], combined["basically"], combined["unsatisfied"]) == (6, 3, 1, 2)
    assert combined["rate"] == pytest.approx(4 / 6)
    assert set(figures["sources"]) == {"citizen_ratings", "follow_up_calls", "combined"}
    assert all(figures["sources"].values())


def test_satisfaction_is_scoped(figures_case, other_township_handler, township_handler):
    outside = selectors.satisfaction(other_township_handler)
    assert outside["combined"]["rated"] == 0 and outside["combined"]["rate"] is None
    assert selectors.satisfaction(township_handler)["combined"]["rated"] == 6


def test_satisfaction_period_and_unit(figures_case, county_manager, unit):
    from minqing.testing.personas import HANCHENG, LIUQUAN

    later = timezone.now() + timedelta(days=1)
    assert selectors.satisfaction(county_manager, start=later)["combined"]["rated"] == 0
    assert selectors.satisfaction(county_manager, end=later)["combined"]["rated"] == 6
    assert selectors.satisfaction(county_manager, unit=unit(LIUQUAN))["combined"]["rated"] == 6
    assert selectors.satisfaction(county_manager, unit=unit(HANCHENG))["combined"]["rated"] == 0


def test_follow_up_queue_is_for_inspectors_only(figures_case, inspector, dispatcher):
    assert [c.round for c in selectors.follow_up_queue(inspector)] == [9]
    assert not selectors.follow_up_queue(dispatcher).exists()


def test_inbox_tiles_only_for_their_roles(figures_case, inspector, dispatcher, township_handler):
    tile = selectors.follow_up_tile(inspector)
    assert tile["count"] == 1 and str(tile["label"]) == "待回访" and tile["url"] == "/feedback/calls/"
    assert selectors.follow_up_tile(dispatcher) is None and selectors.follow_up_tile(township_handler) is None
    assert str(selectors.review_tile(dispatcher)["label"]) == "待复查审批"
    assert selectors.review_tile(township_handler) is None and selectors.review_tile(inspector) is None
