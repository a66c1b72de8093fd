"""Open311 API keys: issued once, stored as SHA-256, checked on every POST."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from minqing.intake.open311.models import Open311Client

KEY_PREFIX = "o311_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(name: str) -> tuple[Open311Client, str]:
    """A new active client (or a new key for an existing one); returns the row and the key, shown once."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client, _ = Open311Client.objects.update_or_create(
        name=name[:100], defaults={"key_hash": hash_key(key), "prefix": key[:8], "active": True}
    )
    return client, key


def client_for_key(key: str) -> Open311Client | None:
    if not key or len(key) > 200:
        return None
    client = Open311Client.objects.filter(key_hash=hash_key(key), active=True).first()
    if client is None:
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=now)
    return client
