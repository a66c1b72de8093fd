"""Test side of the WeChat protocol, written from the documentation, independent of the production code.

Safe mode as documented: key = base64decode(EncodingAESKey + "="), IV = key[:16], AES-256-CBC,
plaintext = 16 random bytes + 4-byte big-endian length + xml + appid, PKCS#7 padded to 32.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "minqingtesttoken"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "s3cr3t"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
OPENID = "oUserOpenId000000000000000001"
ACCOUNT = "gh_minqing"


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def spec_encrypt(xml: str, *, aes_key: str = AES_KEY, app_id: str = APP_ID, random16: bytes | None = None) -> str:
    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def spec_decrypt(encrypted: str, *, aes_key: str = AES_KEY) -> tuple[str, str]:
    """(xml, appid) from a safe-mode Encrypt value."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad
    content = plain[16:-pad]
    (length,) = struct.unpack(">I", content[:4])
    return content[4 : 4 + length].decode(), content[4 + length :].decode()


def text_xml(content: str, *, msg_id: str = "1000001", openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(media_id: str, *, msg_id: str, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.example/x]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, key: str = "", *, openid: str = OPENID, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def signed_query(*, timestamp: int | None = None, nonce: str = "n0nce42", token: str = TOKEN, **extra: str) -> str:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    params = {"signature": sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}
    return urlencode(params)


def post_plain(client, xml: str | bytes, **query):
    return client.post(f"/wechat/?{signed_query(**query)}", data=xml, content_type="text/xml")


def post_aes(client, xml: str, *, app_id: str = APP_ID, timestamp: int | None = None, nonce: str = "aesn0nce"):
    ts = str(int(time.time()) if timestamp is None else timestamp)
    encrypted = spec_encrypt(xml, app_id=app_id)
    envelope = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = signed_query(
        timestamp=int(ts),
        nonce=nonce,
        encrypt_type="aes",
        msg_signature=sha1_signature(TOKEN, ts, nonce, encrypted),
    )
    return client.post(f"/wechat/?{query}", data=envelope, content_type="text/xml")


# --- A fake WeChat API server ---------------------------------------------------------------


@dataclass
class FakeWeChat:
    """Issues tokens, can invalidate them (40001), records what was sent, serves media."""

    app_id: str = APP_ID
    secret: str = APP_SECRET
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    templates: list[dict] = field(default_factory=list)
    custom: list[dict] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid.clear()

    def issue(self, query: dict[str, str]) -> dict:
        if query.get("appid") != self.app_id or query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        with self.lock:
            token = f"TOKEN-{len(self.issued) + 1}"
            self.issued.append(token)
            self.valid.add(token)
        return {"access_token": token, "expires_in": 7200}

    def token_ok(self, query: dict[str, str]) -> bool:
        token = query.get("access_token", "")
        with self.lock:
            if token in self.valid:
                return True
            self.rejected.append(token)
            return False


INVALID_TOKEN = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}


def _handler(fake: FakeWeChat):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _query(self) -> dict[str, str]:
            return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: dict) -> None:
            self._send(200, json.dumps(data).encode())

        def do_GET(self) -> None:
            path, query = urlparse(self.path).path, self._query()
            if path == "/cgi-bin/token":
                return self._json(fake.issue(query))
            if path == "/cgi-bin/media/get":
                if not fake.token_ok(query):
                    return self._json(INVALID_TOKEN)
                if query.get("media_id") not in fake.media:
                    return self._json({"errcode": 40007, "errmsg": "invalid media_id"})
                content, content_type = fake.media[query["media_id"]]
                return self._send(200, content, content_type)
            return self._send(404, b"{}")

        def do_POST(self) -> None:
            path, query = urlparse(self.path).path, self._query()
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if not fake.token_ok(query):
                return self._json(INVALID_TOKEN)
            if path == "/cgi-bin/message/template/send":
                fake.templates.append(body)
                return self._json({"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(fake.templates)})
            if path == "/cgi-bin/message/custom/send":
                fake.custom.append(body)
                return self._json({"errcode": 0, "errmsg": "ok"})
            return self._send(404, b"{}")

    return Handler


def start_fake_wechat() -> tuple[FakeWeChat, ThreadingHTTPServer]:
    fake = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
