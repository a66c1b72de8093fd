from __future__ import annotations

from django.test import Client

from minqing.accounts.models import User
from minqing.intake.tests.conftest import last_code

PHONE = "13712345678"


def test_login_with_sms_code_logs_the_citizen_in(db, yiyang, sms_outbox):
    client = Client()
    response = client.post("/m/login/", {"step": "send", "phone": PHONE})
    assert response.status_code == 200
    assert "验证码已发送" in response.content.decode()
    assert len(sms_outbox) == 1 and sms_outbox[0].phone == PHONE
    response = client.post("/m/login/", {"step": "verify", "phone": PHONE, "code": last_code(), "next": "/m/report/"})
    assert response.status_code == 302 and response["Location"] == "/m/report/"
    citizen = User.objects.get_citizen_by_phone(PHONE)
    assert citizen is not None and citizen.is_citizen and citizen.phone_verified_at is not None
    assert client.get("/m/report/").status_code == 200


def test_login_with_wrong_code_is_refused(db, yiyang, sms_outbox):
    client = Client()
    client.post("/m/login/", {"step": "send", "phone": PHONE})
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    response = client.post("/m/login/", {"step": "verify", "phone": PHONE, "code": wrong})
    assert response.status_code == 200
    assert "验证码不正确" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/m/report/").status_code == 302  # still sent to log in


def test_login_offsite_next_is_ignored(db, yiyang, sms_outbox):
    client = Client()
    client.post("/m/login/", {"step": "send", "phone": PHONE})
    response = client.post(
        "/m/login/", {"step": "verify", "phone": PHONE, "code": last_code(), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/m/cases/"


def test_login_invalid_phone_sends_nothing(db, yiyang, sms_outbox):
    response = Client().post("/m/login/", {"step": "send", "phone": "12345"})
    assert response.status_code == 200
    assert "请输入11位手机号码" in response.content.decode()
    assert sms_outbox == []


def test_second_code_within_a_minute_is_429_with_message(db, yiyang, sms_outbox):
    client = Client()
    client.post("/m/login/", {"step": "send", "phone": PHONE})
    response = client.post("/m/login/", {"step": "send", "phone": PHONE})
    assert response.status_code == 429
    assert "验证码已发送，请一分钟后再试" in response.content.decode()
    assert len(sms_outbox) == 1


def test_codes_per_ip_are_rate_limited(db, yiyang, sms_outbox):
    client = Client(REMOTE_ADDR="10.1.2.3")
    for n in range(20):
        assert client.post("/m/login/", {"step": "send", "phone": f"139000{n:05d}"}).status_code == 200
    response = client.post("/m/login/", {"step": "send", "phone": "13899999999"})
    assert response.status_code == 429
    assert "请求过于频繁" in response.content.decode()
    assert len(sms_outbox) == 20


def test_logout_ends_the_session(citizen_client):
    response = citizen_client.post("/m/logout/")
    assert response.status_code == 302
    assert citizen_client.get("/m/cases/").status_code == 302


def test_staff_are_not_sent_to_the_citizen_form(client, dispatcher, informant):
    client.force_login(dispatcher)
    assert client.get("/m/report/").status_code == 403
    client.force_login(informant)
    response = client.get("/m/report/")
    assert response.status_code == 302 and response["Location"] == "/m/informant/"
