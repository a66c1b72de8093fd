from __future__ import annotations

from minqing.notify.models import Channel, Notification


def inbox(user):
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
