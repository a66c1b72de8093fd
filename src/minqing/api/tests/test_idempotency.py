from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from minqing.api.models import IdempotencyRecord
from minqing.cases.models import Attachment, Case, CaseEvent

from .conftest import BASE
from .test_cases_api import _png


def test_same_key_twice_creates_one_case_and_replays(api_as, citizen, submission):
    client = api_as(citizen)
    headers = {"Idempotency-Key": "submit-1"}
    first = client.post("/cases", submission(), headers=headers)
    second = client.post("/cases", submission(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_same_key_with_reordered_json_is_the_same_request(api_as, citizen, submission):
    client = api_as(citizen)
    body = submission()
    client.post("/cases", body, headers={"Idempotency-Key": "k"})
    reordered = dict(reversed(list(body.items())))
    assert client.post("/cases", reordered, headers={"Idempotency-Key": "k"}).status_code == 201
    assert Case.objects.count() == 1


def test_same_key_different_body_is_422(api_as, citizen, submission):
    client = api_as(citizen)
    client.post("/cases", submission(), headers={"Idempotency-Key": "k"})
    response = client.post("/cases", submission(title="另一件事"), headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json()["detail"] == "Idempotency-Key 已用于不同的请求"
    assert Case.objects.count() == 1


def test_keys_are_per_user(api_as, citizen, submission):
    from minqing.accounts.actions import get_or_create_citizen

    api_as(citizen).post("/cases", submission(), headers={"Idempotency-Key": "k"})
    other = api_as(get_or_create_citizen("13900002222"))
    assert other.post("/cases", submission(), headers={"Idempotency-Key": "k"}).status_code == 201
    assert Case.objects.count() == 2


def test_invalid_key_is_422(api_as, citizen, submission):
    client = api_as(citizen)
    response = client.post("/cases", submission(), headers={"Idempotency-Key": "x" * 101})
    assert response.status_code == 422
    response = client.post("/cases", submission(), headers={"Idempotency-Key": "with space"})
    assert response.status_code == 422
    assert Case.objects.count() == 0


def test_failed_request_stores_nothing_and_may_be_retried(api_as, citizen, submission):
    client = api_as(citizen)
    headers = {"Idempotency-Key": "retry"}
    assert client.post("/cases", submission(category_id=999999), headers=headers).status_code == 422
    assert not IdempotencyRecord.objects.exists()
    assert client.post("/cases", submission(category_id=999999), headers=headers).status_code == 422
    assert client.post("/cases", submission(), headers=headers).status_code == 201


def test_action_replay_does_not_repeat(api_as, dispatcher, category):
    from minqing.testing.personas import LIUQUAN

    centre = api_as(dispatcher)
    body = {
        "channel": "letter",
        "category_id": category.pk,
        "title": "来信",
        "content": "内容内容",
        "township": LIUQUAN,
        "anonymous": True,
    }
    case_id = centre.post("/staff/cases", body).json()["id"]
    headers = {"Idempotency-Key": "note-1"}
    first = centre.post(f"/staff/cases/{case_id}/actions/add_note", {"text": "备注"}, headers=headers)
    second = centre.post(f"/staff/cases/{case_id}/actions/add_note", {"text": "备注"}, headers=headers)
    assert first.content == second.content
    assert CaseEvent.objects.filter(case_id=case_id, action="add_note").count() == 1
    # The key is bound to the path too: reusing it on another action is a different request.
    other = centre.post(f"/staff/cases/{case_id}/actions/accept", {}, headers=headers)
    assert other.status_code == 422


def test_upload_replay_stores_one_attachment(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    headers = {"Idempotency-Key": "upload-1"}
    for _ in range(2):
        response = client.upload(
            f"/cases/{reference}/attachments", [SimpleUploadedFile("p.png", _png(), "image/png")], headers=headers
        )
        assert response.status_code == 200
    assert Attachment.objects.count() == 1
    assert response.headers["Idempotent-Replayed"] == "true"


def test_stored_response_is_encrypted(api_as, citizen, submission):
    api_as(citizen).post("/cases", submission(), headers={"Idempotency-Key": "k"})
    record = IdempotencyRecord.objects.get()
    assert record.user == citizen and record.status_code == 201
    assert "村道" not in record.response_body


def test_anonymous_replay_is_scoped_to_the_client_address(api_as, yiyang, sms_outbox):
    """SMS login has no user yet: its key belongs to the client address, and a repeat gets the same token."""
    import re

    anon = api_as(None)
    anon.post("/auth/sms-code", {"phone": "13700004321"})
    code = re.search(r"\d{6}", sms_outbox[-1].text).group()
    body, headers = {"phone": "13700004321", "code": code}, {"Idempotency-Key": "login-1"}
    first = anon.post("/auth/sms-login", body, headers=headers)
    second = anon.post("/auth/sms-login", body, headers=headers)
    assert first.status_code == second.status_code == 200, first.content
    assert first.content == second.content and second.headers["Idempotent-Replayed"] == "true"
    record = IdempotencyRecord.objects.get()
    assert record.user_id is None and record.client
    elsewhere = anon.client.post(
        f"{BASE}/auth/sms-login", body, content_type="application/json", headers=headers, REMOTE_ADDR="10.9.8.7"
    )
    assert "Idempotent-Replayed" not in elsewhere.headers  # another address: not this record
