"""Plain and safe mode against fixtures made with the documented algorithm (helpers.spec_*), not the production code."""

from __future__ import annotations

import re

import pytest

from minqing.intake.wechat.crypto import BadSignature, Refused, Replayed, SafeMode, check_timestamp, signature
from minqing.intake.wechat.messages import parse_xml
from minqing.intake.wechat.tests.helpers import AES_KEY, APP_ID, TOKEN, sha1_signature, spec_decrypt, spec_encrypt

# Made once with spec_encrypt(FIXTURE_XML, random16=b"0123456789abcdef"): pins the documented algorithm.
FIXTURE_XML = (
    "<xml><ToUserName><![CDATA[gh_minqing]]></ToUserName><FromUserName><![CDATA[oFixture]]></FromUserName>"
    "<CreateTime>1767225600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[路灯坏了]]></Content>"
    "<MsgId>424242</MsgId></xml>"
)
FIXTURE_ENCRYPT = (
    "Q3stYC6hdFzMh9T8HCvyDK6LPAAq9H47mukvNCtkXrJ1COiHIvoEH8H/QuFJ0UW8ZrNP0SrrAULFH0j4hTixIXn10IQNRMiIIC+t3R32i2oTKb"
    "dHPierY2uLJl/IV4IuC8S0YOq8uuUtHR+rzHSBQivZaQU+LfMSf3GPOHV5oq/dWIpNOQvrQSxKx9DHg34im2gD1QO+XZRIaKjiAVv8bzWYaXDw"
    "jfsHB4HHM92mkiF50KMneOvtkjb77pA4hAi+ZPV6Pe2pJ3RzJVsMDPZU0iEOFzGz6+Gd+1tiu3ztbe4vjEatmA5dMIXDeqshMgfjCbY7Rqmn"
    "uC8ZoqgdMnESou6D0cqfhaIoeYU6+CqPiYhrYrJ8I0hzd2xuT4k4L/qG"
)
FIXTURE_TIMESTAMP, FIXTURE_NONCE = "1767225600", "fixnonce"
FIXTURE_MSG_SIGNATURE = "ce3ca1309192455f616127c6e23b7a4e34d8086a"


def test_fixture_matches_documented_algorithm():
    assert spec_encrypt(FIXTURE_XML, random16=b"0123456789abcdef") == FIXTURE_ENCRYPT
    assert sha1_signature(TOKEN, FIXTURE_TIMESTAMP, FIXTURE_NONCE, FIXTURE_ENCRYPT) == FIXTURE_MSG_SIGNATURE


def test_safe_mode_fixture_decrypts_to_the_message():
    xml = SafeMode(TOKEN, AES_KEY, APP_ID).decrypt(
        FIXTURE_ENCRYPT, FIXTURE_MSG_SIGNATURE, FIXTURE_TIMESTAMP, FIXTURE_NONCE
    )
    assert xml == FIXTURE_XML
    assert parse_xml(xml.encode())["Content"] == "路灯坏了"


def test_safe_mode_reply_decrypts_with_documented_algorithm():
    envelope = SafeMode(TOKEN, AES_KEY, APP_ID).encrypt("<xml><Content>好</Content></xml>", "abc", "1767225600")
    fields = parse_xml(envelope.encode())
    assert fields["MsgSignature"] == sha1_signature(TOKEN, "1767225600", "abc", fields["Encrypt"])
    assert spec_decrypt(fields["Encrypt"]) == ("<xml><Content>好</Content></xml>", APP_ID)


def test_safe_mode_wrong_appid_is_refused():
    encrypted = spec_encrypt(FIXTURE_XML, app_id="wxSomeoneElse")
    sig = sha1_signature(TOKEN, "1", "n", encrypted)
    with pytest.raises(Refused, match="AppID"):
        SafeMode(TOKEN, AES_KEY, APP_ID).decrypt(encrypted, sig, "1", "n")


def test_safe_mode_bad_msg_signature_is_refused():
    with pytest.raises(BadSignature):
        SafeMode(TOKEN, AES_KEY, APP_ID).decrypt(FIXTURE_ENCRYPT, "0" * 40, FIXTURE_TIMESTAMP, FIXTURE_NONCE)


@pytest.mark.parametrize("garbage", ["", "not base64!", "QUJD", "A" * 44])
def test_safe_mode_garbage_is_refused_not_crashed(garbage):
    sig = sha1_signature(TOKEN, "1", "n", garbage)
    with pytest.raises(Refused):
        SafeMode(TOKEN, AES_KEY, APP_ID).decrypt(garbage, sig, "1", "n")


def test_plain_signature_is_sha1_of_sorted_parts():
    # sorted(["minqingtesttoken", "1767225600", "nonce"]) = ["1767225600", "minqingtesttoken", "nonce"]
    import hashlib

    expected = hashlib.sha1(b"1767225600minqingtesttokennonce").hexdigest()
    assert signature(TOKEN, "1767225600", "nonce") == expected
    assert re.fullmatch(r"[0-9a-f]{40}", expected)


def test_timestamp_outside_five_minutes_is_a_replay():
    check_timestamp("1000000", now=1000000 + 300)
    for timestamp, now in (("1000000", 1000301), ("1000301", 1000000), ("abc", 0), ("", 0)):
        with pytest.raises(Replayed):
            check_timestamp(timestamp, now=now)
