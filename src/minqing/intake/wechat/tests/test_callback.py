from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from minqing.cases.models import Attachment, Case, CaseState, Channel
from minqing.intake.wechat.messages import parse_xml
from minqing.intake.wechat.models import Stage, WeChatDraft, WeChatMessageLog
from minqing.intake.wechat.tests.helpers import (
    OPENID,
    TOKEN,
    event_xml,
    image_xml,
    post_aes,
    post_plain,
    sha1_signature,
    signed_query,
    spec_decrypt,
    text_xml,
)

pytestmark = pytest.mark.django_db


def reply_content(response) -> str:
    assert response.status_code == 200, response.content
    return parse_xml(response.content)["Content"]


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# --- URL verification and refusals -------------------------------------------------------


def test_echostr_with_valid_signature_is_echoed(client):
    response = client.get(f"/wechat/?{signed_query(echostr='8437267345')}")
    assert response.status_code == 200
    assert response.content == b"8437267345"


def test_echostr_with_bad_signature_is_403(client):
    response = client.get(f"/wechat/?{signed_query(token='wrong', echostr='8437267345')}")
    assert response.status_code == 403
    assert "签名校验失败" in response.content.decode()


def test_post_with_bad_signature_is_403_and_changes_nothing(client):
    response = post_plain(client, text_xml("路灯坏了很久没人修，请尽快处理"), token="wrong")
    assert response.status_code == 403
    assert not WeChatMessageLog.objects.exists() and not WeChatDraft.objects.exists()


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_replayed_timestamp_is_403_and_changes_nothing(client, offset):
    response = post_plain(client, text_xml("路灯坏了很久没人修，请尽快处理"), timestamp=int(time.time()) + offset)
    assert response.status_code == 403
    assert "重放" in response.content.decode()
    assert not WeChatMessageLog.objects.exists() and not WeChatDraft.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<xml><Content>unclosed</xml>", b"<other/>", b"<xml><a><b>nested</b></a></xml>", b"\xff\xfe"],
)
def test_malformed_xml_is_400(client, body):
    response = post_plain(client, body)
    assert response.status_code == 400
    assert response.content.decode()  # a message, not an empty page
    assert not WeChatMessageLog.objects.exists()


def test_oversize_body_is_413(client):
    response = post_plain(client, "<xml><Content>" + "长" * 30000 + "</Content></xml>")
    assert response.status_code == 413


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><ToUserName>a</ToUserName><FromUserName>evil</FromUserName><MsgType>text</MsgType>"
    b"<Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
    + b"]><xml><FromUserName>evil</FromUserName><MsgType>text</MsgType><Content>&i;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entity_payloads_are_refused_without_expansion(client, payload):
    started = time.perf_counter()
    response = post_plain(client, payload)
    assert response.status_code == 400
    assert "DTD" in response.content.decode()
    assert b"root:" not in response.content
    assert time.perf_counter() - started < 1
    assert not WeChatMessageLog.objects.exists() and not WeChatDraft.objects.exists()


# --- Plain and safe mode --------------------------------------------------------------------


def test_plain_text_message_gets_a_passive_reply(client):
    reply = parse_xml(post_plain(client, text_xml("你好")).content)
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_minqing"
    assert reply["MsgType"] == "text" and "请描述您的诉求" in reply["Content"]


def test_aes_text_message_gets_an_encrypted_reply(client):
    timestamp, nonce = int(time.time()), "aesn0nce"
    response = post_aes(client, text_xml("你好", msg_id="77"), timestamp=timestamp, nonce=nonce)
    assert response.status_code == 200
    envelope = parse_xml(response.content)
    assert envelope["MsgSignature"] == sha1_signature(TOKEN, str(timestamp), nonce, envelope["Encrypt"])
    inner, app_id = spec_decrypt(envelope["Encrypt"])
    assert app_id == "wx0123456789abcdef"
    assert "请描述您的诉求" in parse_xml(inner.encode())["Content"]
    assert WeChatMessageLog.objects.filter(msg_id="77").exists()


def test_aes_message_for_another_appid_is_400(client):
    response = post_aes(client, text_xml("你好"), app_id="wxAnotherAccount")
    assert response.status_code == 400
    assert not WeChatMessageLog.objects.exists()


def test_aes_message_with_bad_msg_signature_is_403(client):
    query = signed_query(encrypt_type="aes", msg_signature="0" * 40)
    response = client.post(f"/wechat/?{query}", data="<xml><Encrypt>QUJD</Encrypt></xml>", content_type="text/xml")
    assert response.status_code == 403


def test_duplicate_msgid_is_not_reprocessed(client):
    first = post_plain(client, text_xml("路灯坏了很久没人修，请尽快处理", msg_id="555"))
    assert "乡镇" in reply_content(first)
    retry = post_plain(client, text_xml("路灯坏了很久没人修，请尽快处理", msg_id="555"))
    assert retry.content == b"success"
    draft = WeChatDraft.objects.get(openid=OPENID)
    assert draft.data["description"] == "路灯坏了很久没人修，请尽快处理" and draft.stage == Stage.LOCATION


# --- Events ------------------------------------------------------------------------------


def test_subscribe_gets_a_welcome_with_menu_hints(client):
    assert "我要反映" in reply_content(post_plain(client, event_xml("subscribe")))


def test_unsubscribe_gets_nothing(client):
    response = post_plain(client, event_xml("unsubscribe"))
    assert response.content == b"success"


def test_menu_clicks_get_sensible_replies(client, yiyang):
    assert "请描述您的诉求" in reply_content(post_plain(client, event_xml("CLICK", "REPORT", created=1)))
    assert WeChatDraft.objects.get(openid=OPENID).stage == Stage.DESCRIPTION
    assert "还没有" in reply_content(post_plain(client, event_xml("CLICK", "MY_CASES", created=2)))
    assert "查询 案件编号" in reply_content(post_plain(client, event_xml("CLICK", "QUERY", created=3)))
    assert "回复文字" in reply_content(post_plain(client, event_xml("CLICK", "UNKNOWN", created=4)))


# --- The conversation --------------------------------------------------------------------


def converse(client, capture, *texts: str) -> list[str]:
    replies = []
    for i, text in enumerate(texts):
        with capture(execute=True):
            replies.append(reply_content(post_plain(client, text_xml(text, msg_id=f"{time.time_ns()}{i}"))))
    return replies


def test_conversation_creates_exactly_one_case(client, yiyang, fake_wechat, django_capture_on_commit_callbacks):
    replies = converse(
        client,
        django_capture_on_commit_callbacks,
        "村口的路灯坏了一个多月，晚上出行很不安全",
        "柳泉",
        "张三",
        "1",
    )
    assert "柳泉镇" in replies[1] and "确认提交请回复1" in replies[2] and "正在提交" in replies[3]
    case = Case.objects.get()
    assert case.channel == Channel.WECHAT and case.location_unit.name == "柳泉镇"
    assert case.citizen.wechat_openid == OPENID and case.citizen.is_citizen and not case.citizen.phone_hash
    assert case.parties.get().name == "张三"
    assert not WeChatDraft.objects.exists()
    assert fake_wechat.custom[-1]["touser"] == OPENID
    assert case.reference in fake_wechat.custom[-1]["text"]["content"]
    # A second "1" (or WeChat retrying the task) does not create another case.
    converse(client, django_capture_on_commit_callbacks, "1")
    assert Case.objects.count() == 1


def test_unknown_township_is_asked_again(client, yiyang, django_capture_on_commit_callbacks):
    replies = converse(client, django_capture_on_commit_callbacks, "村口的路灯坏了一个多月，晚上出行很不安全", "火星")
    assert "没有找到" in replies[1] and "柳泉镇" in replies[1]
    assert WeChatDraft.objects.get().stage == Stage.LOCATION


def test_cancel_drops_the_draft(client, yiyang, django_capture_on_commit_callbacks):
    converse(client, django_capture_on_commit_callbacks, "村口的路灯坏了一个多月，晚上出行很不安全", "取消")
    assert not WeChatDraft.objects.exists() and not Case.objects.exists()


def test_images_attach_to_the_draft_then_the_case(client, yiyang, fake_wechat, django_capture_on_commit_callbacks):
    fake_wechat.media["MEDIA1"] = (png_bytes(), "image/png")
    fake_wechat.media["MEDIA2"] = (png_bytes(), "image/png")
    converse(client, django_capture_on_commit_callbacks, "村口的路灯坏了一个多月，晚上出行很不安全")
    with django_capture_on_commit_callbacks(execute=True):
        assert "第 1 张" in reply_content(post_plain(client, image_xml("MEDIA1", msg_id="i1")))
    converse(client, django_capture_on_commit_callbacks, "韩城镇", "匿名", "1")
    case = Case.objects.get()
    assert case.is_anonymous and case.attachments.count() == 1
    # An image sent just after submitting goes to that case through add_information.
    with django_capture_on_commit_callbacks(execute=True):
        assert case.reference in reply_content(post_plain(client, image_xml("MEDIA2", msg_id="i2")))
    assert Attachment.objects.filter(case=case).count() == 2
    assert case.events.filter(action="add_information").exists()


def test_image_without_draft_or_case_asks_for_text_first(client, yiyang):
    assert "请先用文字" in reply_content(post_plain(client, image_xml("MEDIA9", msg_id="i9")))


# --- Status query --------------------------------------------------------------------------


def test_query_shows_state_publicly_and_more_to_the_owner(
    client, yiyang, fake_wechat, django_capture_on_commit_callbacks
):
    converse(
        client, django_capture_on_commit_callbacks, "村口的路灯坏了一个多月，晚上出行很不安全", "柳泉镇", "张三", "1"
    )
    case = Case.objects.get()
    own = converse(client, django_capture_on_commit_callbacks, f"查询 {case.reference}")[0]
    assert case.reference in own and "等待登记受理" in own and "提交时间" in own
    stranger = reply_content(
        post_plain(client, text_xml(f"查询{case.reference.lower()}", msg_id="s1", openid="oStranger"))
    )
    assert case.reference in stranger and "等待登记受理" in stranger
    assert "提交时间" not in stranger and "张三" not in stranger and "路灯" not in stranger
    missing = reply_content(post_plain(client, text_xml("查询 YY2026-999999", msg_id="s2")))
    assert "未找到" in missing
    assert case.state == CaseState.SUBMITTED
