from __future__ import annotations

import pytest

from minqing.cases.models import Case, CaseEvent
from minqing.testing.personas import LIUQUAN, first_village


@pytest.fixture
def registration(category, yiyang):
    def build(**overrides) -> dict:
        body = {
            "channel": "walk_in",
            "category_id": category.pk,
            "title": "村道被占用无法通行",
            "content": "村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            "village": first_village(LIUQUAN).code,
            "parties": [{"name": "王大力", "phone": "13912345678", "id_number": "410327198001011234"}],
        }
        body.update(overrides)
        return body

    return build


def _snapshot(case_id: int) -> tuple:
    case = Case.objects.get(pk=case_id)
    return case.state, case.version, case.event_count, CaseEvent.objects.filter(case=case).count()


def test_full_flow_register_to_close(api_as, dispatcher, township_handler, registration):
    centre = api_as(dispatcher)
    response = centre.post("/staff/cases", registration())
    assert response.status_code == 201, response.content
    case = response.json()
    assert case["parties"][0]["phone"] != "13912345678"  # masked
    case_id = case["id"]

    def act(client, action, body):
        response = client.post(f"/staff/cases/{case_id}/actions/{action}", body)
        assert response.status_code == 200, response.content
        return response.json()

    case = act(centre, "accept", {"expected_version": case["version"]})
    assert case["state"] == "accepted" and case["handle_due"]
    case = act(centre, "assign", {"expected_version": case["version"], "lead_unit": LIUQUAN, "note": "请核实"})
    assert case["lead_unit"]["code"] == LIUQUAN

    handler = api_as(township_handler)
    inbox = {q["name"]: q["count"] for q in handler.get("/staff/inbox").json()["queues"]}
    assert inbox["to_sign"] == 1
    case = act(handler, "sign_for", {"expected_version": case["version"]})
    assert case["state"] == "in_progress"
    case = act(handler, "add_mediation_record", {"summary": "双方到场协商", "result": "同意清理"})
    case = act(
        handler, "reply", {"expected_version": case["version"], "outcome": "mediated", "reply_text": "已协调清理建材。"}
    )
    assert case["state"] == "replied"
    case = act(centre, "close", {"expected_version": case["version"], "note": "同意办结"})
    assert case["state"] == "closed"
    assert [e["action"] for e in case["events"]] == [
        "register",
        "accept",
        "assign",
        "sign_for",
        "add_mediation_record",
        "reply",
        "close",
    ]
    case = act(centre, "reopen", {"reason": "群众不满意"})
    assert case["state"] == "reopened"
    case = act(centre, "add_note", {"text": "重点关注"})
    assert case["events"][-1]["action"] == "add_note"


def test_decline_return_send_back_reassign_merge(api_as, dispatcher, township_handler, registration):
    centre = api_as(dispatcher)
    first = centre.post("/staff/cases", registration()).json()
    second = centre.post("/staff/cases", registration(title="同一条路被占")).json()
    third = centre.post("/staff/cases", registration(title="重复")).json()

    response = centre.post(f"/staff/cases/{third['id']}/actions/decline", {"reason": "不属于信访事项"})
    assert response.json()["state"] == "declined"
    response = centre.post(f"/staff/cases/{second['id']}/actions/merge", {"into": first["reference"]})
    assert response.status_code == 200, response.content
    assert response.json()["merged_into"] == first["reference"]

    case_id = first["id"]
    centre.post(f"/staff/cases/{case_id}/actions/accept", {})
    centre.post(f"/staff/cases/{case_id}/actions/assign", {"lead_unit": LIUQUAN})
    handler = api_as(township_handler)
    response = handler.post(f"/staff/cases/{case_id}/actions/return", {"reason": "不属于本乡镇"})
    assert response.json()["state"] == "returned"
    response = centre.post(
        f"/staff/cases/{case_id}/actions/reassign", {"lead_unit": LIUQUAN, "co_units": ["410327D01"]}
    )
    assert response.json()["state"] == "assigned"
    assert response.json()["co_units"] == [{"code": "410327D01", "name": response.json()["co_units"][0]["name"]}]
    handler.post(f"/staff/cases/{case_id}/actions/sign_for", {})
    handler.post(f"/staff/cases/{case_id}/actions/reply", {"outcome": "supported", "reply_text": "已经处理完毕。"})
    response = centre.post(f"/staff/cases/{case_id}/actions/send_back", {"reason": "答复不完整"})
    assert response.json()["state"] == "in_progress"


def test_wrong_state_is_409_in_chinese_and_changes_nothing(api_as, dispatcher, registration):
    centre = api_as(dispatcher)
    case_id = centre.post("/staff/cases", registration()).json()["id"]
    before = _snapshot(case_id)
    response = centre.post(f"/staff/cases/{case_id}/actions/close", {"note": "x"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "待登记" in response.json()["detail"] and "办结" in response.json()["detail"]
    assert _snapshot(case_id) == before


def test_stale_version_is_409_and_changes_nothing(api_as, dispatcher, registration):
    centre = api_as(dispatcher)
    case_id = centre.post("/staff/cases", registration()).json()["id"]
    before = _snapshot(case_id)
    for action, body in (("accept", {}), ("add_note", {"text": "备注"})):
        response = centre.post(f"/staff/cases/{case_id}/actions/{action}", {"expected_version": 7, **body})
        assert response.status_code == 409
        assert response.json()["code"] == "stale"
    assert _snapshot(case_id) == before


def test_not_permitted_is_403_and_changes_nothing(api_as, dispatcher, township_handler, registration):
    case_id = api_as(dispatcher).post("/staff/cases", registration()).json()["id"]
    before = _snapshot(case_id)
    response = api_as(township_handler).post(f"/staff/cases/{case_id}/actions/accept", {})
    assert response.status_code == 403
    assert "无权" in response.json()["detail"]
    assert _snapshot(case_id) == before


def test_other_units_handler_gets_404_and_nothing_changes(api_as, dispatcher, other_township_handler, registration):
    case_id = api_as(dispatcher).post("/staff/cases", registration()).json()["id"]
    before = _snapshot(case_id)
    outsider = api_as(other_township_handler)
    assert outsider.get(f"/staff/cases/{case_id}").status_code == 404
    response = outsider.post(f"/staff/cases/{case_id}/actions/add_note", {"text": "看看"})
    assert response.status_code == 404
    assert response.json()["detail"] == "案件不存在或您无权查看"
    assert outsider.get("/staff/cases").json()["items"] == []
    assert _snapshot(case_id) == before


def test_citizen_cannot_use_staff_actions(api_as, dispatcher, citizen, registration):
    case_id = api_as(dispatcher).post("/staff/cases", registration()).json()["id"]
    before = _snapshot(case_id)
    response = api_as(citizen).post(f"/staff/cases/{case_id}/actions/accept", {})
    assert response.status_code == 403
    assert _snapshot(case_id) == before


def test_unknown_unit_on_assign_is_422(api_as, dispatcher, registration):
    centre = api_as(dispatcher)
    case_id = centre.post("/staff/cases", registration()).json()["id"]
    centre.post(f"/staff/cases/{case_id}/actions/accept", {})
    before = _snapshot(case_id)
    response = centre.post(f"/staff/cases/{case_id}/actions/assign", {"lead_unit": "999999"})
    assert response.status_code == 422
    assert "单位不存在" in response.json()["detail"]
    assert _snapshot(case_id) == before


def test_handler_cannot_register(api_as, township_handler, registration):
    response = api_as(township_handler).post("/staff/cases", registration())
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_informant_registers_with_informant_channel(api_as, informant, registration):
    client = api_as(informant)
    assert client.post("/staff/cases", registration()).status_code == 403
    response = client.post("/staff/cases", registration(channel="informant"))
    assert response.status_code == 201, response.content
    assert Case.objects.get().submitted_by == informant


def test_list_filters_and_pagination(api_as, dispatcher, registration):
    centre = api_as(dispatcher)
    for i in range(3):
        centre.post("/staff/cases", registration(title=f"第{i}件", urgency="urgent" if i == 0 else "normal"))
    page = centre.get("/staff/cases", {"page_size": 2}).json()
    assert len(page["items"]) == 2 and page["has_more"] and page["total"] == 3
    page2 = centre.get("/staff/cases", {"page_size": 2, "page": 2}).json()
    assert len(page2["items"]) == 1 and not page2["has_more"] and page2["total"] is None
    assert [c["title"] for c in centre.get("/staff/cases", {"urgency": "urgent"}).json()["items"]] == ["第0件"]
    assert len(centre.get("/staff/cases", {"queue": "to_register", "unit": LIUQUAN}).json()["items"]) == 3
    assert centre.get("/staff/cases", {"q": "第1"}).json()["items"][0]["title"] == "第1件"
    assert centre.get("/staff/cases", {"state": "nonsense"}).status_code == 422
