"""A small client for the official-account JSON API (base URL configurable: WECHAT_API_BASE).

The access token is cached in Django's cache (shared by every process when the cache is
Redis) until shortly before it expires. A call answered with errcode 40001 / 42001 / 40014
(token invalid or expired, e.g. another process fetched a new one) drops the cached token,
fetches a fresh one and retries once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.core.cache import cache

from minqing.intake.wechat import conf

logger = logging.getLogger("minqing.wechat")
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
TOKEN_MARGIN_SECONDS = 300
TIMEOUT_SECONDS = 5
MAX_MEDIA_BYTES = 10 * 1024 * 1024


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


@dataclass(frozen=True)
class Media:
    content: bytes
    content_type: str
    filename: str


class WeChatClient:
    def __init__(self, base_url: str, app_id: str, secret: str, *, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id, self.secret = app_id, secret
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls) -> WeChatClient:
        return cls(conf.api_base(), conf.app_id(), conf.app_secret())

    # --- access token -------------------------------------------------------------

    @property
    def _cache_key(self) -> str:
        return f"wechat:access_token:{self.base_url}:{self.app_id}"

    def access_token(self, *, refresh: bool = False) -> str:
        token = None if refresh else cache.get(self._cache_key)
        if token:
            return token
        data = self._json(
            self.session.get(
                f"{self.base_url}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret},
                timeout=TIMEOUT_SECONDS,
            )
        )
        token, expires_in = data["access_token"], int(data.get("expires_in", 7200))
        cache.set(self._cache_key, token, max(60, expires_in - TOKEN_MARGIN_SECONDS))
        return token

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise WeChatApiError(-1, "unexpected response")
        if data.get("errcode"):
            raise WeChatApiError(int(data["errcode"]), str(data.get("errmsg", "")))
        return data

    def _with_token(self, call):
        """Run `call(token)`; on an invalid/expired token, refresh and retry once."""
        try:
            return call(self.access_token())
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            logger.info("WeChat access token rejected (%s); refreshing", exc.errcode)
            cache.delete(self._cache_key)
            return call(self.access_token(refresh=True))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        def call(token: str) -> dict[str, Any]:
            response = self.session.post(
                f"{self.base_url}{path}", params={"access_token": token}, json=body, timeout=TIMEOUT_SECONDS
            )
            return self._json(response)

        return self._with_token(call)

    # --- API ----------------------------------------------------------------------

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str = "") -> str:
        """Template message; returns WeChat's msgid."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        return str(self._post("/cgi-bin/message/template/send", body).get("msgid", ""))

    def send_text(self, openid: str, text: str) -> str:
        """Customer-service text message (allowed within 48 hours of the follower's last message)."""
        self._post("/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}})
        return "custom"

    def get_media(self, media_id: str) -> Media:
        """Download a temporary media file (an image the follower sent)."""

        def call(token: str) -> Media:
            response = self.session.get(
                f"{self.base_url}/cgi-bin/media/get",
                params={"access_token": token, "media_id": media_id},
                timeout=TIMEOUT_SECONDS,
                stream=True,
            )
            response.raise_for_status()
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            content = _read_limited(response)
            if content_type in ("application/json", "text/plain"):
                self._json_body(content)
            # No extension: the attachment check names the type from the bytes.
            return Media(content, content_type, f"wechat-{media_id[:40]}")

        return self._with_token(call)

    @staticmethod
    def _json_body(content: bytes) -> None:
        try:
            data = json.loads(content)
        except ValueError:
            return
        if isinstance(data, dict) and data.get("errcode"):
            raise WeChatApiError(int(data["errcode"]), str(data.get("errmsg", "")))


def _read_limited(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise WeChatApiError(-2, "media too large")
        chunks.append(chunk)
    return b"".join(chunks)
