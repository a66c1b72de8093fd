from __future__ import annotations

from django_tasks import task

from minqing.notify.actions import deliver_due


@task(queue_name="notify")
def deliver_pending() -> int:
    return deliver_due()
