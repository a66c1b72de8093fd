"""Issuing, checking and revoking API tokens. The plaintext exists only in the response that issues it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from minqing.accounts.models import User
from minqing.api.models import ApiToken

TOKEN_PREFIX = "mq_"
# Write last_used_at at most this often per token: one UPDATE per request would serialise traffic.
LAST_USED_RESOLUTION = timedelta(minutes=1)
CITIZEN_TOKEN_LIFETIME = timedelta(days=30)


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
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
