"""Delivering outbox rows of channel WECHAT: a template message, or a customer-service text.

`register_senders()` (called from the app's ready()) plugs `send_wechat` into
`minqing.notify.actions.SENDERS`, and `queue_wechat_template` into
`minqing.cases.notifications.CITIZEN_NOTIFIERS`, when those hooks exist (see docs/wechat.md).
"""

from __future__ import annotations

from django.utils import timezone

from minqing.cases.models import Case
from minqing.intake.wechat import conf
from minqing.intake.wechat.client import WeChatClient
from minqing.notify.models import Channel, Notification


def case_url(case: Case | None) -> str:
    pattern = conf.case_url()
    return pattern.format(reference=case.reference, id=case.pk) if pattern and case else ""


def template_data(notification: Notification, case: Case | None) -> dict[str, dict[str, str]]:
    """The classic template layout: first, keyword1 (reference), keyword2 (state), keyword3 (time), remark."""
    return {
        "first": {"value": notification.title},
        "keyword1": {"value": case.reference if case else ""},
        "keyword2": {"value": case.get_state_display() if case else ""},
        "keyword3": {"value": f"{timezone.localtime(notification.created_at):%Y-%m-%d %H:%M}"},
        "remark": {"value": notification.body[:200]},
    }


def send_wechat(notification: Notification, client: WeChatClient | None = None) -> str:
    """Send one outbox row; raises on failure so the outbox retries with backoff."""
    client = client or WeChatClient.from_settings()
    case = Case.objects.filter(pk=notification.case_id).first() if notification.case_id else None
    template_id = conf.template_ids().get(notification.kind)
    if template_id:
        data = template_data(notification, case)
        return client.send_template(notification.address, template_id, data, case_url(case))
    return client.send_text(notification.address, f"{notification.title}\n{notification.body}".strip())


def notify_citizen(kind: str, case: Case) -> None:
    """A citizen notifier for cases.notifications: template message to the case's citizen, if a follower."""
    from minqing.intake.wechat.notifications import queue_wechat_template

    if case.citizen_id:
        queue_wechat_template(case.citizen, kind, case)


def register_senders() -> None:
    from minqing.cases import notifications
    from minqing.notify import actions

    senders = getattr(actions, "SENDERS", None)
    if isinstance(senders, dict):
        senders.setdefault(Channel.WECHAT, send_wechat)
    notifiers = getattr(notifications, "CITIZEN_NOTIFIERS", None)
    if isinstance(notifiers, list) and notify_citizen not in notifiers:
        notifiers.append(notify_citizen)
