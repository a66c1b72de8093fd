"""The official-account callback: GET answers WeChat's URL check, POST receives messages.

Every request is signed (sha1 of the sorted token, timestamp and nonce) and must be
fresh (±300 s). Safe mode (encrypt_type=aes) also checks msg_signature and decrypts.
Refusals are plain text with a clear message: 403 signature/replay, 400 malformed,
413 too large; nothing is written for a refused request. The passive reply is
computed from a few rows; slow work is enqueued on commit (see actions.py).
"""

from __future__ import annotations

import re

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from minqing.intake.wechat import conf
from minqing.intake.wechat.actions import handle_message, record_message
from minqing.intake.wechat.crypto import Refused, SafeMode, check_signature, check_timestamp
from minqing.intake.wechat.messages import parse_xml, text_reply

NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ECHOSTR = 512


def _plain(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _authenticate(request: HttpRequest) -> tuple[str, str]:
    """(timestamp, nonce) of a correctly signed, fresh request; Refused otherwise."""
    timestamp = request.GET.get("timestamp", "")
    nonce = request.GET.get("nonce", "")
    if not NONCE.match(nonce) or not timestamp:
        raise Refused("缺少或无效的 timestamp / nonce 参数")
    check_signature(conf.token(), timestamp, nonce, request.GET.get("signature", ""))
    check_timestamp(timestamp)
    return timestamp, nonce


def _body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise Refused("Content-Length 无效") from exc
    if declared > conf.MAX_BODY_BYTES:
        raise Refused("请求体过大", status=413)
    body = request.read(conf.MAX_BODY_BYTES + 1)
    if len(body) > conf.MAX_BODY_BYTES:
        raise Refused("请求体过大", status=413)
    return body


def _verify_url(request: HttpRequest) -> HttpResponse:
    _authenticate(request)
    echostr = request.GET.get("echostr", "")
    if not echostr or len(echostr) > MAX_ECHOSTR:
        raise Refused("缺少 echostr 参数")
    return _plain(echostr)


def _receive(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    timestamp, nonce = _authenticate(request)
    message = parse_xml(body)
    safe = request.GET.get("encrypt_type", "raw").lower() == "aes"
    box = SafeMode.from_settings() if safe else None
    if box is not None:
        inner = box.decrypt(message.get("Encrypt", ""), request.GET.get("msg_signature", ""), timestamp, nonce)
        message = parse_xml(inner.encode())
    with transaction.atomic():
        reply = handle_message(message) if record_message(message) else None
    if reply is None:
        return _plain("success")  # WeChat's documented "nothing to say" answer
    xml = text_reply(message, reply)
    if box is not None:
        xml = box.encrypt(xml, nonce, timestamp)
    return HttpResponse(xml, content_type="application/xml; charset=utf-8")


# CSRF exemption: WeChat's servers cannot send a CSRF token. Each request is authenticated
# instead by its signature over our shared token (and, in safe mode, by msg_signature and AES).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    try:
        return _verify_url(request) if request.method == "GET" else _receive(request)
    except Refused as exc:
        return _plain(exc.message, status=exc.status)
