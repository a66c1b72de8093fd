"""Issuing, checking and revoking API tokens. The plaintext exists only in the response that issues it."""

from __future__ import annotations

import copy
import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from minqing.accounts.models import User
from minqing.api.memo import TtlCache
from minqing.api.models import ApiToken

TOKEN_PREFIX = "mq_"
# Write last_used_at at most this often per token: one UPDATE per request would serialise traffic.
LAST_USED_RESOLUTION = timedelta(minutes=1)
CITIZEN_TOKEN_LIFETIME = timedelta(days=30)
# Token hash → token with its user, per process. A revocation, expiry or deactivation made in this
# process applies at once (expiry is checked on every request; see minqing.api.apps for the rest);
# one made in another process (another gunicorn worker, `minqing api_token --revoke`) within 5 s.
TOKEN_CACHE_SECONDS = 5.0
_tokens: TtlCache[ApiToken] = TtlCache(TOKEN_CACHE_SECONDS)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user: User, name: str, *, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the secret (shown once, never stored)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_hash=hash_key(secret), prefix=secret[:8], expires_at=expires_at
    )
    return token, secret


def issue_citizen_token(user: User) -> tuple[str, datetime]:
    """After SMS verification: a token for the citizen's app, valid for 30 days. (secret, expiry)"""
    token, secret = issue_token(user, "短信登录", expires_at=timezone.now() + CITIZEN_TOKEN_LIFETIME)
    return secret, token.expires_at


def user_for_token(key: str) -> User | None:
    """The active user a presented token belongs to, or None (unknown, revoked, expired, inactive)."""
    if not key or len(key) > 200:
        return None
    digest = hash_key(key)
    token = _tokens.get_or_load(digest, lambda: ApiToken.objects.select_related("user").filter(key_hash=digest).first())
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return copy.copy(token.user)  # each request gets its own instance; the cached one stays clean


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_tokens(token_id=token.pk)


def forget_tokens(*, token_id: int | None = None, user_id: int | None = None) -> None:
    """Drop cached tokens (of one token, of one user, or all)."""
    if token_id is None and user_id is None:
        _tokens.clear()
    else:
        _tokens.discard(lambda _key, token: token.pk == token_id or token.user_id == user_id)
