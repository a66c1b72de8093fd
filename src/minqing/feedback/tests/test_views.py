from __future__ import annotations

import time

import pytest
from django.urls import reverse

from minqing.cases.models import CaseState
from minqing.feedback import actions
from minqing.feedback.models import CallState, FollowUpCall, Rating, ReviewRequest, ReviewState

from .conftest import snapshot

HTMX = {"HTTP_HX_REQUEST": "true"}


def link_path(case) -> str:
    return reverse("feedback:rate_link", args=[actions.rating_token(case)])


# --- Signed link (no login) ---------------------------------------------------------------------------


def test_link_page_shows_big_choices_without_login(client, make_closed):
    case = make_closed()
    response = client.get(link_path(case))
    body = response.content.decode()
    assert response.status_code == 200
    assert case.reference in body and "已清理道路" in body
    assert body.count('name="score"') == 3 and "基本满意" in body
    assert "<script>" not in body


def test_link_rating_works_without_login(client, make_closed):
    case = make_closed()
    response = client.post(link_path(case), {"score": "satisfied", "reason": ""})
    assert response.status_code == 200 and "感谢您的评价" in response.content.decode()
    rating = Rating.objects.get(case=case)
    assert (rating.channel, rating.rated_by, rating.score) == ("sms", None, "satisfied")


def test_link_unsatisfied_without_reason_is_422_and_changes_nothing(client, make_closed):
    case = make_closed()
    before = snapshot(case)
    response = client.post(link_path(case), {"score": "unsatisfied", "reason": ""})
    assert response.status_code == 422 and "理由" in response.content.decode()
    assert snapshot(case) == before


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "xyz", lambda t: "garbage", lambda t: t.replace(":", "!", 1)])
def test_tampered_link_is_a_clear_400(client, make_closed, mangle):
    case = make_closed()
    response = client.get(reverse("feedback:rate_link", args=[mangle(actions.rating_token(case))]))
    assert response.status_code == 400 and "评价链接无效" in response.content.decode()
    response = client.post(
        reverse("feedback:rate_link", args=[mangle(actions.rating_token(case))]), {"score": "satisfied"}
    )
    assert response.status_code == 400 and not Rating.objects.exists()


def test_expired_link_is_a_clear_400(client, make_closed, monkeypatch):
    case = make_closed()
    path = link_path(case)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    response = client.get(path)
    assert response.status_code == 400 and "已过期" in response.content.decode()


def test_link_to_a_missing_case_is_404(client, make_closed):
    case = make_closed()
    path = link_path(case)
    case.pk = 987654
    assert client.get(reverse("feedback:rate_link", args=[actions.rating_token(case)])).status_code == 404
    assert client.get(path).status_code == 200


def test_link_before_closing_says_so(client, make_closed):
    case = make_closed(close=False)
    body = client.get(link_path(case)).content.decode()
    assert "办结后才能评价" in body
    response = client.post(link_path(case), {"score": "satisfied"})
    assert response.status_code == 409 and not Rating.objects.exists()


def test_link_review_request(client, make_closed):
    case = make_closed()
    path = reverse("feedback:review_link", args=[actions.rating_token(case)])
    response = client.post(path, {"reason": "答复与事实不符"})
    assert response.status_code == 200 and "复查申请已提交" in response.content.decode()
    assert ReviewRequest.objects.get(case=case).requested_by is None


# --- Logged-in owner ---------------------------------------------------------------------------------


def test_owner_rates_on_the_web(client, make_closed, citizen):
    case = make_closed(citizen=citizen)
    client.force_login(citizen)
    assert client.get(reverse("feedback:rate", args=[case.pk])).status_code == 200
    response = client.post(reverse("feedback:rate", args=[case.pk]), {"score": "unsatisfied", "reason": "没解决"})
    assert response.status_code == 200 and "重新办理" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.REOPENED and Rating.objects.get(case=case).channel == "web"


def test_other_citizen_gets_404(client, make_closed, citizen, other_citizen):
    case = make_closed(citizen=citizen)
    client.force_login(other_citizen)
    assert client.get(reverse("feedback:rate", args=[case.pk])).status_code == 404
    assert client.post(reverse("feedback:rate", args=[case.pk]), {"score": "satisfied"}).status_code == 404
    assert client.post(reverse("feedback:review", args=[case.pk]), {"reason": "x"}).status_code == 404
    assert not Rating.objects.exists() and not ReviewRequest.objects.exists()


def test_anonymous_owner_page_redirects_to_login(client, make_closed, citizen):
    case = make_closed(citizen=citizen)
    response = client.get(reverse("feedback:rate", args=[case.pk]))
    assert response.status_code == 302 and "login" in response.url


# --- Reviews ----------------------------------------------------------------------------------------


def test_review_queue_and_htmx_decision(client, make_closed, citizen, dispatcher):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    client.force_login(dispatcher)
    assert case.reference in client.get(reverse("feedback:reviews")).content.decode()
    url = reverse("feedback:review_decide", args=[review.pk])
    response = client.post(url, {"decision": "refuse", "reason": ""}, **HTMX)
    assert response.status_code == 422 and "理由" in response.content.decode()
    response = client.post(url, {"decision": "accept", "reason": "理由成立"}, **HTMX)
    assert response.status_code == 200 and "同意复查" in response.content.decode()
    review.refresh_from_db()
    case.refresh_from_db()
    assert review.state == ReviewState.ACCEPTED and case.state == CaseState.REOPENED


def test_review_decision_by_handler_is_403(client, make_closed, citizen, township_handler):
    case = make_closed(citizen=citizen)
    review = actions.request_review(case, citizen, "有异议")
    client.force_login(township_handler)
    response = client.post(reverse("feedback:review_decide", args=[review.pk]), {"decision": "accept"}, **HTMX)
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.state == ReviewState.PENDING


# --- Follow-up calls ------------------------------------------------------------------------------------


@pytest.fixture
def queued_call(make_closed):
    make_closed(group_size=7)
    actions.sample_follow_ups()
    return FollowUpCall.objects.get()


def test_call_queue_page_and_record(client, queued_call, inspector):
    client.force_login(inspector)
    body = client.get(reverse("feedback:calls")).content.decode()
    assert queued_call.case.reference in body and "是否联系" in body and "拒访" in body and "满意率" in body
    url = reverse("feedback:call_record", args=[queued_call.pk])
    response = client.post(url, {"outcome": "reached", "q_contacted": "yes"}, **HTMX)
    assert response.status_code == 422 and "是否解决" in response.content.decode()
    answers = {"q_contacted": "yes", "q_resolved": "no", "q_satisfaction": "满意", "q_comment": ""}
    response = client.post(url, {"outcome": "reached", **answers}, **HTMX)
    assert response.status_code == 200 and "接通" in response.content.decode()
    queued_call.refresh_from_db()
    assert queued_call.state == CallState.DONE and queued_call.satisfaction == "satisfied"


def test_call_pages_are_for_inspectors_only(client, queued_call, dispatcher, citizen):
    for user in (dispatcher, citizen):
        client.force_login(user)
        assert client.get(reverse("feedback:calls")).status_code == 403
        url = reverse("feedback:call_record", args=[queued_call.pk])
        assert client.post(url, {"outcome": "refused"}).status_code == 403
    queued_call.refresh_from_db()
    assert queued_call.state == CallState.QUEUED


# --- Summary, inbox and case panel --------------------------------------------------------------------------


def test_summary_page_and_fragment(client, make_closed, county_manager):
    case = make_closed()
    actions.rate_case(case, None, score="basically_satisfied", channel="sms")
    client.force_login(county_manager)
    body = client.get(reverse("feedback:summary")).content.decode()
    assert "100.0%" in body and "来源" in body and "电话回访" in body
    fragment = client.get(reverse("feedback:summary"), {"start": "2000-01-01", "end": "2000-01-02"}, **HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()


def test_summary_refuses_a_malformed_date(client, county_manager):
    client.force_login(county_manager)
    response = client.get(reverse("feedback:summary"), {"start": "2025-13-40"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()


def test_inbox_shows_the_follow_up_tile_to_inspectors(client, queued_call, inspector):
    client.force_login(inspector)
    body = client.get(reverse("cases:inbox")).content.decode()
    assert "待回访" in body and "/feedback/calls/" in body


def _panels(client, case) -> str:
    from minqing.cases.selectors import CASE_PANELS

    return "".join(
        client.get(reverse("cases:panel", args=[case.pk, slot])).content.decode() for slot in range(len(CASE_PANELS))
    )


def test_case_page_shows_the_feedback_panel(client, make_closed, citizen, dispatcher):
    case = make_closed(citizen=citizen)
    client.force_login(dispatcher)
    assert "事后评价" not in _panels(client, case)
    actions.rate_case(case, citizen, score="satisfied", channel="web")
    actions.request_review(case, citizen, "仍有异议")
    body = _panels(client, case)
    assert "事后评价" in body and "满意" in body and "复查申请" in body and "/feedback/reviews/" in body
