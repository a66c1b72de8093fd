"""Hash chains for append-only logs: each entry carries the hash of the one before.

Altering, deleting or reordering any entry breaks every later link, which
`minqing audit verify` reports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64


def _default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def link_hash(previous_hash: str, record: Mapping[str, Any]) -> str:
    """SHA-256 over the previous link and the canonical form of this record."""
    digest = hashlib.sha256()
    digest.update(previous_hash.encode())
    digest.update(canonical_json(record).encode())
    return digest.hexdigest()


def first_broken_link(entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> int | None:
    """Index of the first entry whose (prev_hash, hash, record) does not follow; None when whole."""
    expected_previous = GENESIS
    for index, (prev_hash, this_hash, record) in enumerate(entries):
        if prev_hash != expected_previous or link_hash(prev_hash, record) != this_hash:
            return index
        expected_previous = this_hash
    return None
