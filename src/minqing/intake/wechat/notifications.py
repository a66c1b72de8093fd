"""WeChat template messages for citizens who follow the account: assigned, replied, please rate.

`queue_wechat_template` writes a `notify` outbox row (channel WECHAT, address = openid) in the
caller's transaction; the outbox delivers it through `senders.send_wechat` with retries.
"""

from __future__ import annotations

import logging

from django.db import transaction

from minqing.cases.models import Case
from minqing.notify.models import Channel, Notification, Status

logger = logging.getLogger("minqing.wechat")

KINDS = ("assigned", "replied", "rate")


def _title(kind: str, case: Case) -> tuple[str, str]:
    if kind == "assigned":
        unit = case.lead_unit.name if case.lead_unit_id else "承办单位"
        body = f"办理期限内将答复您，回复“查询 {case.reference}”查看进度。"
        return f"您的诉求 {case.reference} 已交由{unit}办理", body
    if kind == "replied":
        return f"您的诉求 {case.reference} 已答复", (case.reply_text or "")[:200]
    return f"您的诉求 {case.reference} 已办结，请对办理结果进行评价", "点击详情进行评价，您的意见将用于改进工作。"


def queue_wechat_template(user, kind: str, case: Case) -> Notification | None:
    """Queue one template message (once per case version); nothing for users without an openid."""
    if kind not in KINDS:
        raise ValueError(f"unknown WeChat template kind: {kind}")
    openid = getattr(user, "wechat_openid", None)
    if not openid or not user.is_active:
        return None
    title, body = _title(kind, case)
    row = Notification(
        recipient=user,
        channel=Channel.WECHAT,
        address=openid,
        kind=kind,
        title=title[:200],
        body=body,
        case_id=case.pk,
        dedupe_key=f"wechat:{kind}:{case.pk}:{case.version}:{user.pk}"[:200],
        status=Status.PENDING,
    )
    # Same contract as notify.actions.queue: idempotent on the dedupe key, delivered after commit.
    Notification.objects.bulk_create([row], ignore_conflicts=True)
    transaction.on_commit(_enqueue_delivery)
    return row


def _enqueue_delivery() -> None:
    from minqing.notify.tasks import deliver_pending

    try:
        deliver_pending.enqueue()
    except Exception:
        logger.warning("could not enqueue notification delivery", exc_info=True)
