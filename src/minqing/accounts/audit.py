"""Append to the hash-chained security audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from minqing.accounts.models import AuditChainHead, AuditEntry
from minqing.core.hashchain import GENESIS, first_broken_link, link_hash


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    actor=None,
    target: str = "",
    request=None,
    payload: dict[str, Any] | None = None,
) -> AuditEntry:
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=actor,
            actor_label=actor.get_username() if actor else "",
            action=action,
            target=target[:200],
            ip_address=client_ip(request),
            payload=payload or {},
            prev_hash=head.last_hash,
        )
        entry.hash = link_hash(entry.prev_hash, entry.chain_record())
        entry.save()
        head.last_hash = entry.hash
        head.save(update_fields=["last_hash"])
    return entry


def verify_chain() -> int | None:
    """Id of the first audit entry that breaks the chain, or None."""
    entries = list(AuditEntry.objects.order_by("id"))
    broken = first_broken_link((e.prev_hash, e.hash, e.chain_record()) for e in entries)
    if broken is None:
        head = AuditChainHead.objects.filter(pk=1).first()
        if head and entries and head.last_hash != entries[-1].hash:
            return entries[-1].id  # entries were removed from the end
        return None
    return entries[broken].id
