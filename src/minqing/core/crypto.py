"""Encryption at rest and keyed hashes for personal data (ID numbers, phones).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Exact lookups never
decrypt: each sensitive column has a sibling holding an HMAC-SHA256 of the
normalised value under a separate derived key, so a search is an index probe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"minqing", info=purpose).derive(master.encode())


@lru_cache(maxsize=4)
def _fernet(master: str) -> Fernet:
    # Derived from the argument (the cache key), never from settings read again here.
    return Fernet(base64.urlsafe_b64encode(_derive(master, b"field-encryption")))


@lru_cache(maxsize=4)
def _lookup_key(master: str) -> bytes:
    return _derive(master, b"field-lookup")


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("personal data cannot be decrypted with the configured key") from exc


def normalise_identifier(value: str) -> str:
    """Phones and ID numbers compare without spaces, dashes or a +86 prefix; ID 'x' is 'X'."""
    cleaned = "".join(ch for ch in value.strip() if not ch.isspace() and ch != "-").upper()
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            return cleaned[len(prefix) :]
    return cleaned


def lookup_hash(value: str) -> str:
    """Keyed hash for exact match; empty input gives empty output (no lookup possible)."""
    normalised = normalise_identifier(value or "")
    if not normalised:
        return ""
    key = _lookup_key(settings.FIELD_ENCRYPTION_KEY)
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise, not enough to call."""
    phone = normalise_identifier(phone or "")
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    """410327********1234: region kept, birth date hidden."""
    value = normalise_identifier(id_number or "")
    if len(value) < 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
