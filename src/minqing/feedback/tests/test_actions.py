from __future__ import annotations

from datetime import timedelta

import pytest

from minqing.cases.models import CaseState
from minqing.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from minqing.feedback import actions
from minqing.feedback.models import Rating, ReviewRequest, ReviewState, Score
from minqing.notify.models import Notification

from .conftest import REPLIED_AT, snapshot


def events(case) -> list[str]:
    return list(case.events.order_by("seq").values_list("action", flat=True))


# --- Rating -------------------------------------------------------------------------------


def test_rate_case_by_owner_records_rating_and_rate_event(make_closed, citizen):
    case = make_closed(citizen=citizen)
    rating = actions.rate_case(case, citizen, score=Score.SATISFIED, channel="web")
    case.refresh_from_db()
    assert (rating.score, rating.round, rating.channel, rating.rated_by) == ("satisfied", 0, "web", citizen)
    assert case.state == CaseState.CLOSED and events(case)[-1] == "rate"
    event = case.events.order_by("-seq").first()
    assert event.actor == citizen and event.payload["score"] == "satisfied" and event.payload["rating"] == rating.pk


@pytest.mark.parametrize("who", ["other_citizen", "township_handler", "dispatcher", "inspector"])
def test_rate_case_by_non_owner_is_refused(request, make_closed, citizen, who):
    case = make_closed(citizen=citizen)
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        actions.rate_case(case, request.getfixturevalue(who), score=Score.UNSATISFIED, reason="不行", channel="web")
    assert snapshot(case) == before


def test_rate_case_not_closed_is_refused_with_409(make_closed, citizen):
    case = make_closed(citizen=citizen, close=False)
    before = snapshot(case)
    with pytest.raises(InvalidTransition) as refused:
        actions.rate_case(case, citizen, score=Score.SATISFIED, channel="web")
    assert refused.value.status_code == 409 and "办结后" in refused.value.message
    assert snapshot(case) == before


def test_rate_case_twice_in_one_round_is_refused(make_closed, citizen):
    case = make_closed(citizen=citizen)
    actions.rate_case(case, citizen, score=Score.SATISFIED, channel="web")
    before = snapshot(case)
    with pytest.raises(Conflict):
        actions.rate_case(case, citizen, score=Score.BASICALLY_SATISFIED, channel="web")
    assert snapshot(case) == before


def test_rate_case_unsatisfied_needs_a_reason(make_closed, citizen):
    case = make_closed(citizen=citizen)
    before = snapshot(case)
    with pytest.raises(DomainError) as refused:
        actions.rate_case(case, citizen, score=Score.UNSATISFIED, reason="  ", channel="web")
    assert refused.value.code == "reason_required"
    assert snapshot(case) == before


def test_rate_case_by_informant_who_filed_it(make_closed, informant):
    case = make_closed(filed_by=informant)
    rating = actions.rate_case(case, informant, score=Score.BASICALLY_SATISFIED, channel="web")
    assert rating.rated_by == informant and events(case)[-1] == "rate"


def test_rate_case_without_actor_needs_a_link_channel(make_closed):
    case = make_closed()
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        actions.rate_case(case, None, score=Score.SATISFIED, channel="web")
    assert snapshot(case) == before
    rating = actions.rate_case(case, None, score=Score.SATISFIED, channel="sms")
    assert rating.rated_by is None and case.events.order_by("-seq").first().actor_label == "system"


def test_unsatisfied_first_round_reopens_case(make_closed, citizen):
    case = make_closed(citizen=citizen)
    rating = actions.rate_case(case, citizen, score=Score.UNSATISFIED, reason="道路又被占了", channel="web")
    case.refresh_from_db()
    assert case.state == CaseState.REOPENED and case.reopen_count == 1
    assert events(case)[-2:] == ["rate", "reopen"]
    assert "道路又被占了" in case.events.order_by("-seq").first().payload["reason"]
    assert not actions.invites_review(rating)


def test_unsatisfied_second_round_does_not_reopen_but_invites_review(make_closed, rehandle, citizen):
    case = make_closed(citizen=citizen)
    actions.rate_case(case, citizen, score=Score.UNSATISFIED, reason="没解决", channel="web")
    case = rehandle(case)
    second = actions.rate_case(case, citizen, score=Score.UNSATISFIED, reason="还是没解决", channel="web")
    case.refresh_from_db()
    assert second.round == 1 and case.state == CaseState.CLOSED and case.reopen_count == 1
    assert events(case)[-1] == "rate"
    assert actions.invites_review(second)
    assert Rating.objects.filter(case=case).count() == 2


def test_stale_link_round_is_refused(make_closed, rehandle, citizen):
    case = make_closed(citizen=citizen)
    actions.rate_case(case, citizen, score=Score.UNSATISFIED, reason="没解决", channel="web")
    case = rehandle(case)
    before = snapshot(case)
    with pytest.raises(InvalidTransition) as refused:
        actions.rate_case(case, None, score=Score.SATISFIED, channel="sms", expected_round=0)
    assert refused.value.code == "stale_link"
    assert snapshot(case) == before


# --- Review (复查) ---------------------------------------------------------------------------------


def test_review_requested_on_day_29_is_accepted(make_closed, citizen, dispatcher):
    case = make_closed(citizen=citizen, at=REPLIED_AT)
    review = actions.request_review(case, citizen, "对答复有异议", at=REPLIED_AT + timedelta(days=29))
    assert review.state == ReviewState.PENDING and review.round == 0
    assert review.due.date().isoformat() == "2025-05-06"  # 30 days → 5/1 (劳动节) runs to the next working day
    assert Notification.objects.filter(kind="review_requested", recipient=dispatcher).exists()


def test_review_requested_on_day_31_is_refused_naming_the_date(make_closed, citizen):
    case = make_closed(citizen=citizen, at=REPLIED_AT)
    before = snapshot(case)
    with pytest.raises(DomainError) as refused:
        actions.request_review(case, citizen, "对答复有异议", at=REPLIED_AT + timedelta(days=31))
    assert refused.value.code == "review_window_passed"
    assert "2025年04月02日" in refused.value.message
    assert snapshot(case) == before


def test_only_one_pending_review_at_a_time(make_closed, citizen):
    case = make_closed(citizen=citizen)
    actions.request_review(case, citizen, "有异议")
    before = snapshot(case)
    with pytest.raises(DomainError) as refused:
        actions.request_review(case, citizen, "再次申请")
    assert refused.value.code == "duplicate_review"
    assert snapshot(case) == before


def test_review_by_stranger_is_refused(make_closed, citizen, other_citizen):
    case = make_closed(citizen=citizen)
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        actions.request_review(case, other_citizen, "有异议")
    assert snapshot(case) == before


def test_accepted_review_reopens_case(make_closed, citizen, county_manager):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    review = actions.decide_review(review, county_manager, True, "理由成立")
    case.refresh_from_db()
    assert review.state == ReviewState.ACCEPTED and review.decided_by == county_manager
    assert case.state == CaseState.REOPENED and case.reopen_count == 1 and events(case)[-1] == "reopen"
    assert Notification.objects.filter(kind="review_decided", recipient=citizen).exists()


def test_refused_review_needs_reason_and_leaves_case_closed(make_closed, citizen, dispatcher):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    with pytest.raises(DomainError):
        actions.decide_review(review, dispatcher, False, "")
    review = actions.decide_review(review, dispatcher, False, "答复已充分说明")
    case.refresh_from_db()
    assert review.state == ReviewState.REFUSED and case.state == CaseState.CLOSED


@pytest.mark.parametrize("who", ["township_handler", "inspector", "citizen"])
def test_review_decision_by_others_is_refused(request, make_closed, citizen, who):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        actions.decide_review(review, request.getfixturevalue(who), True, "同意")
    assert snapshot(case) == before
    assert ReviewRequest.objects.get(pk=review.pk).state == ReviewState.PENDING


def test_review_decided_twice_is_a_conflict(make_closed, citizen, dispatcher, county_manager):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    actions.decide_review(review, dispatcher, False, "不予复查")
    with pytest.raises(Conflict):
        actions.decide_review(review, county_manager, True, "同意")


# --- Signed links -------------------------------------------------------------------------------


def test_rating_link_round_trip(make_closed):
    case = make_closed()
    token = actions.rating_link(case).rstrip("/").rsplit("/", 1)[-1]
    target = actions.read_rating_token(token)
    assert (target.case_id, target.round, target.channel) == (case.pk, 0, "sms")


def test_tampered_or_expired_link_is_refused(make_closed, monkeypatch):
    case = make_closed()
    token = actions.rating_token(case)
    with pytest.raises(actions.InvalidLink):
        actions.read_rating_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(actions.InvalidLink):
        actions.read_rating_token("not-a-token")
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    with pytest.raises(actions.InvalidLink) as expired:
        actions.read_rating_token(token)
    assert expired.value.code == "link_expired"


# --- Invitations ----------------------------------------------------------------------------------


def test_invite_queues_one_sms_per_case_and_is_idempotent(make_closed, citizen):
    from django.core.management import call_command

    walk_in = make_closed(phone="13911112222")
    make_closed(citizen=citizen)  # has an account: cases already asked them
    make_closed(anonymous=True)
    make_closed(close=False)
    call_command("feedback_invite")
    call_command("feedback_invite")
    invites = Notification.objects.filter(kind="rating_invite")
    assert [(n.case_id, n.address, n.channel) for n in invites] == [(walk_in.pk, "13911112222", "sms")]
    assert "/feedback/rate/" in invites[0].body


def test_invite_skips_rated_cases(make_closed):
    case = make_closed()
    actions.rate_case(case, None, score=Score.SATISFIED, channel="sms")
    assert actions.invite_ratings() == 0
