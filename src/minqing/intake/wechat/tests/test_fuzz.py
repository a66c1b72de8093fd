"""Fuzz the callback: random bytes and XML-ish text with valid signatures never produce a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.intake.wechat.tests.helpers import post_plain

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ALLOWED = {200, 400, 413}

TAGS = st.sampled_from(["xml", "ToUserName", "FromUserName", "MsgType", "Content", "MsgId", "Event", "EventKey", "x"])
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["text", "image", "location", "event", "subscribe", "CLICK", "REPORT", "查询 YY2026-000001", "1", "<", "&amp;"]
    ),
)


@st.composite
def xmlish(draw) -> str:
    fields = draw(st.lists(st.tuples(TAGS, VALUES), max_size=8))
    inner = "".join(f"<{tag}>{value}</{tag}>" for tag, value in fields)
    prefix = draw(st.sampled_from(["", '<?xml version="1.0"?>', "<!DOCTYPE xml>", "<!-- c -->"]))
    return f"{prefix}<xml>{inner}</xml>" if draw(st.booleans()) else inner


@FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bytes_never_500(client, yiyang, body):
    assert post_plain(client, body).status_code in ALLOWED


@FUZZ
@given(body=xmlish())
def test_random_xmlish_text_never_500(client, yiyang, body):
    assert post_plain(client, body.encode("utf-8", "surrogatepass")).status_code in ALLOWED
