"""Append to the hash-chained security audit log."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from minqing.accounts.models import AuditChainHead, AuditEntry, User
from minqing.core.hashchain import GENESIS, first_broken_link, link_hash


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address in the form the database gives back, so the hash survives a round trip."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(
    action: str,
    *,
    actor: User | None = None,
    target: str = "",
    request: HttpRequest | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEntry:
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=actor,
            actor_label=actor.get_username()[:150] if actor else "",
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


EMPTIED_LOG = 0  # verify_chain's answer when every entry was deleted but the head remembers some


def verify_chain() -> int | None:
    """Id of the first audit entry that breaks the chain, or None when it is whole.

    Entries removed from the end leave a whole chain whose last hash differs from the
    head's: the answer is then the id of the last surviving entry (EMPTIED_LOG if none).
    """
    entries = list(AuditEntry.objects.order_by("id"))
    broken = first_broken_link((e.prev_hash, e.hash, e.chain_record()) for e in entries)
    if broken is not None:
        return entries[broken].id
    head = AuditChainHead.objects.filter(pk=1).first()
    last_hash = entries[-1].hash if entries else GENESIS
    if head is not None and head.last_hash != last_hash:
        return entries[-1].id if entries else EMPTIED_LOG
    return None
