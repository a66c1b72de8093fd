from __future__ import annotations

import pytest

from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, CaseState, Channel
from minqing.feedback.models import Rating, ReviewRequest
from minqing.testing.personas import LIUQUAN, first_village


@pytest.fixture
def closed_case(category, citizen, dispatcher, township_handler, unit):
    def build(*, close: bool = True) -> Case:
        data = case_actions.NewCase(
            channel=Channel.APP,
            title="村道被占用无法通行",
            content="村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            location_unit=first_village(LIUQUAN),
            category=category,
            citizen=citizen,
            parties=[case_actions.PartyInput(name="王群众", phone="13900001111")],
        )
        case = case_actions.register_case(data, citizen)
        case = case_actions.accept_case(case, dispatcher)
        case = case_actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))
        case = case_actions.sign_for_case(case, township_handler)
        case = case_actions.reply_case(case, township_handler, outcome="supported", reply_text="已清理道路，恢复通行。")
        return case_actions.close_case(case, dispatcher) if close else case

    return build


def test_rating_by_owner_is_201_with_rate_event(api_as, citizen, closed_case):
    case = closed_case()
    response = api_as(citizen).post(f"/cases/{case.reference}/rating", {"score": "satisfied"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["score_label"] == "满意" and body["round"] == 0 and body["reopened"] is False
    rating = Rating.objects.get(case=case)
    assert rating.channel == "app" and rating.rated_by == citizen
    assert CaseEvent.objects.filter(case=case).order_by("-seq").first().action == "rate"


def test_unsatisfied_rating_reopens_and_says_so(api_as, citizen, closed_case):
    case = closed_case()
    response = api_as(citizen).post(f"/cases/{case.reference}/rating", {"score": "unsatisfied", "reason": "没解决"})
    assert response.status_code == 201
    assert response.json()["reopened"] is True and response.json()["case_state"] == CaseState.REOPENED


def test_rating_replay_with_idempotency_key(api_as, citizen, closed_case):
    case = closed_case()
    client = api_as(citizen)
    headers = {"Idempotency-Key": "rate-1"}
    first = client.post(f"/cases/{case.reference}/rating", {"score": "basically_satisfied"}, headers=headers)
    second = client.post(f"/cases/{case.reference}/rating", {"score": "basically_satisfied"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content and second.headers["Idempotent-Replayed"] == "true"
    assert Rating.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, action="rate").count() == 1
    again = client.post(f"/cases/{case.reference}/rating", {"score": "basically_satisfied"})
    assert again.status_code == 409 and again.json()["code"] == "already_rated"


def test_rating_a_case_not_closed_is_409(api_as, citizen, closed_case):
    case = closed_case(close=False)
    response = api_as(citizen).post(f"/cases/{case.reference}/rating", {"score": "satisfied"})
    assert response.status_code == 409
    assert not Rating.objects.exists()


def test_rating_unsatisfied_without_reason_is_422(api_as, citizen, closed_case):
    case = closed_case()
    response = api_as(citizen).post(f"/cases/{case.reference}/rating", {"score": "unsatisfied"})
    assert response.status_code == 422 and response.json()["code"] == "reason_required"
    assert not Rating.objects.exists()


def test_rating_bad_score_is_422(api_as, citizen, closed_case):
    case = closed_case()
    response = api_as(citizen).post(f"/cases/{case.reference}/rating", {"score": "great"})
    assert response.status_code == 422 and not Rating.objects.exists()


def test_rating_by_another_citizen_is_404(api_as, citizen, closed_case):
    from minqing.accounts.actions import get_or_create_citizen

    case = closed_case()
    other = api_as(get_or_create_citizen("13900002222"))
    assert other.post(f"/cases/{case.reference}/rating", {"score": "satisfied"}).status_code == 404
    assert not Rating.objects.exists()


def test_rating_by_staff_who_can_see_the_case_is_403(api_as, dispatcher, closed_case):
    case = closed_case()
    response = api_as(dispatcher).post(f"/cases/{case.reference}/rating", {"score": "satisfied"})
    assert response.status_code == 403 and not Rating.objects.exists()


def test_rating_without_token_is_401(api_as, closed_case):
    case = closed_case()
    assert api_as(None).post(f"/cases/{case.reference}/rating", {"score": "satisfied"}).status_code == 401


def test_review_request_is_201_once(api_as, citizen, closed_case):
    case = closed_case()
    client = api_as(citizen)
    response = client.post(f"/cases/{case.reference}/review", {"reason": "答复与事实不符"})
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "pending" and response.json()["state_label"] == "待决定"
    duplicate = client.post(f"/cases/{case.reference}/review", {"reason": "再次申请"})
    assert duplicate.status_code == 422 and duplicate.json()["code"] == "duplicate_review"
    assert ReviewRequest.objects.filter(case=case).count() == 1


def test_review_request_needs_reason(api_as, citizen, closed_case):
    case = closed_case()
    assert api_as(citizen).post(f"/cases/{case.reference}/review", {"reason": " "}).status_code == 422
    assert not ReviewRequest.objects.exists()
