from __future__ import annotations

import re
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from minqing.api.models import ApiToken
from minqing.api.tokens import hash_key, issue_token, revoke_token


def test_missing_token_is_401(api_as, yiyang):
    response = api_as(None).get("/staff/inbox")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_invalid_token_is_401(api_as, dispatcher):
    client = api_as(None)
    client.token = "mq_not-a-real-token"
    assert client.get("/staff/inbox").status_code == 401


def test_revoked_token_is_401(api_as, dispatcher):
    token, secret = issue_token(dispatcher, "app")
    client = api_as(None)
    client.token = secret
    assert client.get("/staff/inbox").status_code == 200
    revoke_token(token)
    assert client.get("/staff/inbox").status_code == 401


def test_expired_token_is_401(api_as, dispatcher):
    _, secret = issue_token(dispatcher, "app", expires_at=timezone.now() - timedelta(seconds=1))
    client = api_as(None)
    client.token = secret
    assert client.get("/staff/inbox").status_code == 401


def test_inactive_user_token_is_401(api_as, dispatcher):
    client = api_as(dispatcher)
    dispatcher.is_active = False
    dispatcher.save()
    assert client.get("/staff/inbox").status_code == 401


def test_token_stored_as_hash_only(dispatcher):
    token, secret = issue_token(dispatcher, "app")
    assert token.key_hash == hash_key(secret) != secret
    assert token.prefix == secret[:8]
    assert not ApiToken.objects.filter(key_hash=secret).exists()


def test_api_token_command_prints_token_once(dispatcher, capsys, api_as):
    call_command("api_token", "dispatcher", "--name", "调度手机")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mq_")
    client = api_as(None)
    client.token = secret
    assert client.get("/staff/inbox").status_code == 200
    assert ApiToken.objects.get(user=dispatcher).name == "调度手机"


def test_session_post_without_csrf_is_refused(client, citizen, submission):
    from minqing.cases.models import Case

    client.force_login(citizen)
    csrf_client = client
    csrf_client.handler.enforce_csrf_checks = True
    response = csrf_client.post("/api/v1/cases", submission(), content_type="application/json")
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_session_get_works(client, citizen):
    client.force_login(citizen)
    response = client.get("/api/v1/cases")
    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_sms_login_flow_issues_citizen_token(api_as, yiyang, sms_outbox):
    anon = api_as(None)
    response = anon.post("/auth/sms-code", {"phone": "13700001234"})
    assert response.status_code == 202
    code = re.search(r"\d{6}", sms_outbox[-1].text).group()
    response = anon.post("/auth/sms-login", {"phone": "13700001234", "code": code})
    assert response.status_code == 200, response.content
    citizen_client = api_as(None)
    citizen_client.token = response.json()["token"]
    assert citizen_client.get("/cases").status_code == 200
    # A citizen token does not open the staff endpoints.
    refused = citizen_client.get("/staff/inbox")
    assert refused.status_code == 403
    assert "群众" in refused.json()["detail"]


def test_sms_login_wrong_code_is_refused_and_counted(api_as, yiyang, sms_outbox):
    from minqing.accounts.models import SmsCode

    anon = api_as(None)
    anon.post("/auth/sms-code", {"phone": "13700001234"})
    sent = re.search(r"\d{6}", sms_outbox[-1].text).group()
    wrong = f"{(int(sent) + 1) % 10**6:06d}"
    response = anon.post("/auth/sms-login", {"phone": "13700001234", "code": wrong}, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422
    assert response.json()["detail"] == "验证码不正确"
    # The wrong guess stays counted even though an Idempotency-Key wrapped the request.
    assert SmsCode.objects.get().attempts == 1


def test_sms_code_rate_limit_is_429(api_as, yiyang, sms_outbox):
    anon = api_as(None)
    assert anon.post("/auth/sms-code", {"phone": "13700001234"}).status_code == 202
    response = anon.post("/auth/sms-code", {"phone": "13700001234"})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "一分钟" in response.json()["detail"]
    assert len(sms_outbox) == 1


def test_api_throttle_is_429(api_as, dispatcher, settings):
    settings.API_RATE_LIMITS = {"default": "3/m"}
    client = api_as(dispatcher)
    statuses = [client.get("/staff/inbox").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/staff/inbox").json()["detail"] == "请求过于频繁，请稍后再试"
