from __future__ import annotations

from minqing.notify.models import Channel, Notification


def inbox(user):
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP)


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()
