"""Queue and deliver notifications.

`queue` is called inside the business transaction, so a notification exists iff
the change it reports committed. Delivery happens afterwards (task or the
`notify send` command): each row is claimed by compare-and-set, so it is sent once
even with several workers, and failures retry with exponential backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from minqing.core.sms import SmsError, send_sms
from minqing.notify.models import Channel, Notification, Status

logger = logging.getLogger("minqing.notify")
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
CLAIM_SECONDS = 300


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str = ""
    link: str = ""
    case_id: int | None = None


def queue(message: Message, recipients: Iterable, *, key: str, sms: bool = False) -> list[Notification]:
    """Queue an in-app message (and optionally SMS) for each recipient; `key` makes it idempotent."""
    rows = []
    for user in {u.pk: u for u in recipients}.values():
        rows.append(_row(message, user, Channel.IN_APP, "", f"{key}:{user.pk}:in_app"))
        if sms and user.phone_encrypted:
            rows.append(_row(message, user, Channel.SMS, user.phone, f"{key}:{user.pk}:sms"))
    return _insert(rows)


def queue_sms_to_number(message: Message, phone: str, *, key: str) -> list[Notification]:
    """SMS to a phone with no account behind it (e.g. a villager an informant reported for)."""
    return _insert([_row(message, None, Channel.SMS, phone, f"{key}:sms")])


def _row(message: Message, user, channel: str, address: str, dedupe_key: str) -> Notification:
    return Notification(
        recipient=user,
        channel=channel,
        address=address,
        kind=message.kind,
        title=message.title,
        body=message.body,
        link=message.link,
        case_id=message.case_id,
        dedupe_key=dedupe_key[:200],
        status=Status.SENT if channel == Channel.IN_APP else Status.PENDING,
        sent_at=timezone.now() if channel == Channel.IN_APP else None,
    )


def _insert(rows: list[Notification]) -> list[Notification]:
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.channel != Channel.IN_APP for row in rows) and not _delivery_pending():
        transaction.on_commit(_enqueue_delivery)
    return rows


def _delivery_pending() -> bool:
    """One delivery task per transaction is enough, however many messages it queued."""
    return any(func is _enqueue_delivery for _sids, func, *_rest in connection.run_on_commit)


def _enqueue_delivery() -> None:
    from minqing.notify.tasks import deliver_pending

    try:
        deliver_pending.enqueue()
    except Exception:  # the scheduler's `notify send` picks the rows up anyway
        logger.warning("could not enqueue notification delivery", exc_info=True)


# Channel → sender(notification) returning the provider's id. SMS is built in; apps above
# notify (WeChat, webhooks) register theirs in AppConfig.ready().
SENDERS: dict[str, Callable[[Notification], str]] = {}


def _send(notification: Notification) -> str:
    if notification.channel == Channel.SMS:
        return send_sms(notification.address, f"【民情】{notification.title}{notification.body}")
    sender = SENDERS.get(notification.channel)
    if sender is None:
        raise SmsError(f"no sender for channel {notification.channel}")
    return sender(notification)


def _claim(notification: Notification) -> bool:
    """Compare-and-set: push next_attempt_at forward; only one worker succeeds."""
    now = timezone.now()
    return bool(
        Notification.objects.filter(
            pk=notification.pk, status=Status.PENDING, next_attempt_at=notification.next_attempt_at
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    )


def deliver_due(limit: int = 200) -> int:
    """Send pending notifications whose time has come; returns how many were sent."""
    sent = 0
    due = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
    for notification in list(due.order_by("next_attempt_at")[:limit]):
        if not _claim(notification):
            continue
        notification.refresh_from_db(fields=["attempts"])
        try:
            provider_id = _send(notification)
        except Exception as exc:
            _record_failure(notification, exc)
            continue
        Notification.objects.filter(pk=notification.pk).update(
            status=Status.SENT, sent_at=timezone.now(), provider_id=str(provider_id)[:100], last_error=""
        )
        sent += 1
    return sent


def _record_failure(notification: Notification, exc: Exception) -> None:
    give_up = notification.attempts >= MAX_ATTEMPTS
    delay = BACKOFF_BASE_SECONDS * 2 ** (notification.attempts - 1)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.FAILED if give_up else Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=str(exc)[:2000],
    )
    logger.warning("notification %s failed (attempt %s): %s", notification.pk, notification.attempts, exc)


def mark_read(user, notification_ids: Iterable[int]) -> int:
    return Notification.objects.filter(recipient=user, pk__in=list(notification_ids), read_at__isnull=True).update(
        read_at=timezone.now()
    )
