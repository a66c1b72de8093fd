"""The API client against a local fake WeChat server: token caching, refresh on 40001, template bodies."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from minqing.cases.actions import NewCase, PartyInput, register_case
from minqing.cases.models import Channel
from minqing.intake.wechat.actions import get_or_create_wechat_citizen
from minqing.intake.wechat.client import WeChatApiError, WeChatClient
from minqing.intake.wechat.notifications import queue_wechat_template
from minqing.intake.wechat.senders import send_wechat
from minqing.intake.wechat.tests.helpers import OPENID
from minqing.notify.models import Channel as NotifyChannel
from minqing.notify.models import Notification


def test_access_token_is_cached(fake_wechat):
    client = WeChatClient.from_settings()
    client.send_text(OPENID, "一")
    client.send_text(OPENID, "二")
    assert fake_wechat.issued == ["TOKEN-1"]
    assert [m["text"]["content"] for m in fake_wechat.custom] == ["一", "二"]


def test_expired_token_is_refreshed_and_the_call_retried_once(fake_wechat):
    client = WeChatClient.from_settings()
    client.send_text(OPENID, "before")
    fake_wechat.expire_tokens()  # WeChat now answers 40001 for TOKEN-1
    msgid = client.send_template(OPENID, "TPL", {"first": {"value": "x"}})
    assert fake_wechat.rejected == ["TOKEN-1"]
    assert fake_wechat.issued == ["TOKEN-1", "TOKEN-2"]
    assert msgid == "1001" and fake_wechat.templates[0]["template_id"] == "TPL"
    assert cache.get(client._cache_key) == "TOKEN-2"


def test_token_refresh_happens_only_once_per_call(fake_wechat, monkeypatch):
    client = WeChatClient.from_settings()
    monkeypatch.setattr(fake_wechat, "token_ok", lambda query: False)  # every token rejected
    with pytest.raises(WeChatApiError) as excinfo:
        client.send_text(OPENID, "x")
    assert excinfo.value.errcode == 40001
    assert len(fake_wechat.issued) == 2


def test_wrong_secret_raises_api_error(fake_wechat, settings):
    settings.WECHAT_APP_SECRET = "nope"
    with pytest.raises(WeChatApiError) as excinfo:
        WeChatClient.from_settings().send_text(OPENID, "x")
    assert excinfo.value.errcode == 40125


def test_get_media_returns_bytes_and_raises_on_errcode(fake_wechat):
    fake_wechat.media["M1"] = (b"\x89PNG....", "image/png")
    client = WeChatClient.from_settings()
    media = client.get_media("M1")
    assert media.content == b"\x89PNG...." and media.content_type == "image/png"
    with pytest.raises(WeChatApiError) as excinfo:
        client.get_media("unknown")
    assert excinfo.value.errcode == 40007


@pytest.mark.django_db
def test_template_message_is_queued_and_sent_through_the_official_api(fake_wechat, yiyang, unit, settings):
    settings.WECHAT_CASE_URL = "https://minqing.example/m/cases/{reference}"
    citizen = get_or_create_wechat_citizen(OPENID)
    case = register_case(
        NewCase(
            channel=Channel.WECHAT,
            title="路灯",
            content="村口路灯坏了",
            location_unit=unit("410327102"),
            citizen=citizen,
            parties=[PartyInput(name="张三")],
        ),
        citizen,
    )
    row = queue_wechat_template(citizen, "rate", case)
    assert queue_wechat_template(citizen, "rate", case) is not None  # same dedupe key: still one row
    stored = Notification.objects.get(channel=NotifyChannel.WECHAT)
    assert stored.address == OPENID and stored.kind == "rate" and row.dedupe_key == stored.dedupe_key
    send_wechat(stored)
    body = fake_wechat.templates[-1]
    assert body["touser"] == OPENID and body["template_id"] == "TPL-RATE"
    assert body["url"] == f"https://minqing.example/m/cases/{case.reference}"
    assert body["data"]["keyword1"]["value"] == case.reference
    assert "请对办理结果进行评价" in body["data"]["first"]["value"]


@pytest.mark.django_db
def test_template_message_is_skipped_for_users_without_openid(citizen, unit):
    case = register_case(
        NewCase(
            channel=Channel.WEB,
            title="路灯",
            content="村口路灯坏了",
            location_unit=unit("410327102"),
            parties=[PartyInput(name="王群众")],
        ),
        citizen,
    )
    assert queue_wechat_template(citizen, "assigned", case) is None
    assert not Notification.objects.filter(channel=NotifyChannel.WECHAT).exists()


def test_register_senders_plugs_into_the_proposed_hooks(monkeypatch):
    from minqing.cases import notifications
    from minqing.intake.wechat.senders import notify_citizen, register_senders
    from minqing.notify import actions

    monkeypatch.setattr(actions, "SENDERS", {}, raising=False)
    monkeypatch.setattr(notifications, "CITIZEN_NOTIFIERS", [], raising=False)
    register_senders()
    register_senders()
    registered, notifiers = actions.SENDERS, notifications.CITIZEN_NOTIFIERS
    assert registered == {NotifyChannel.WECHAT: send_wechat}
    assert notifiers == [notify_citizen]
