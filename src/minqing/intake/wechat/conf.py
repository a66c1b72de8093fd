"""WeChat settings, read at call time with safe defaults (documented in docs/wechat.md)."""

from __future__ import annotations

from django.conf import settings

DEFAULT_API_BASE = "https://api.weixin.qq.com"
# Signed requests older or newer than this are refused as replays.
MAX_CLOCK_SKEW_SECONDS = 300
# WeChat messages are a few hundred bytes; anything near this is not from WeChat.
MAX_BODY_BYTES = 64 * 1024


def token() -> str:
    return getattr(settings, "WECHAT_TOKEN", "")


def app_id() -> str:
    return getattr(settings, "WECHAT_APP_ID", "")


def app_secret() -> str:
    return getattr(settings, "WECHAT_APP_SECRET", "")


def aes_key() -> str:
    return getattr(settings, "WECHAT_AES_KEY", "")


def api_base() -> str:
    return getattr(settings, "WECHAT_API_BASE", DEFAULT_API_BASE).rstrip("/")


def template_ids() -> dict[str, str]:
    return dict(getattr(settings, "WECHAT_TEMPLATE_IDS", {}) or {})


def case_url() -> str:
    """Link of a template message: a format string with {reference} and {id}; empty: no link."""
    return getattr(settings, "WECHAT_CASE_URL", "")
