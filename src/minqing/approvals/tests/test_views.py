from __future__ import annotations

from django.urls import reverse

from minqing.approvals import actions
from minqing.approvals.models import ApprovalRequest, Kind, State
from minqing.testing.personas import PASSWORD


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_request_form_creates_pending_request(client, case, township_handler):
    _login(client, township_handler)
    url = reverse("approvals:new", args=[case.pk, Kind.EXTENSION])
    assert "延期天数" in client.get(url).content.decode()
    response = client.post(url, {"reason": "需补充鉴定", "days": "10"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "已提交" in response.content.decode()
    request = ApprovalRequest.objects.get()
    assert (request.kind, request.payload, request.state) == (Kind.EXTENSION, {"days": 10}, State.PENDING)


def test_request_form_shows_refusal_and_writes_nothing(client, case, township_handler):
    _login(client, township_handler)
    url = reverse("approvals:new", args=[case.pk, Kind.CLOSURE_REVIEW])
    response = client.post(url, {"reason": "请审核"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "不能提出此项申请" in response.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_request_form_for_invisible_case_is_404(client, case, other_township_handler):
    _login(client, other_township_handler)
    assert client.get(reverse("approvals:new", args=[case.pk, Kind.EXTENSION])).status_code == 404


def test_queue_lists_and_decides_inline(client, case, township_handler, township_manager):
    request = actions.request_approval(case, township_handler, Kind.EXTENSION, "需补充鉴定", days=10)
    _login(client, township_manager)
    page = client.get(reverse("approvals:queue")).content.decode()
    assert case.reference in page and "待我审批" in page
    response = client.post(
        reverse("approvals:decide", args=[request.pk]),
        {"decision": "approve", "reason": "同意"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and f'id="approval-{request.pk}"' in response.content.decode()
    request.refresh_from_db()
    assert request.current_step == 2


def test_decide_by_wrong_approver_is_refused(client, case, township_handler, county_manager):
    request = actions.request_approval(case, township_handler, Kind.EXTENSION, "需补充鉴定", days=10)
    _login(client, county_manager)
    response = client.post(
        reverse("approvals:decide", args=[request.pk]), {"decision": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert (request.current_step, request.steps.count()) == (1, 0)


def _panels(client, case) -> str:
    from minqing.cases.selectors import CASE_PANELS

    return "".join(
        client.get(reverse("cases:panel", args=[case.pk, slot])).content.decode() for slot in range(len(CASE_PANELS))
    )


def test_case_page_offers_extension_request_to_lead_unit(client, case, township_handler):
    client.force_login(township_handler)
    page = _panels(client, case)
    assert reverse("approvals:new", args=[case.pk, "extension"]) in page
    assert "延期申请" in page


def test_case_page_offers_no_requests_to_inspector(client, case, inspector):
    client.force_login(inspector)
    page = _panels(client, case)
    assert "/approvals/new/" not in page
