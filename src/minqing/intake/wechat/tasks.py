"""Slow work after a callback: registering the case, downloading images, sending the receipt."""

from __future__ import annotations

from django_tasks import task

from minqing.intake.wechat import actions


@task()
def submit_report(openid: str) -> str | None:
    case = actions.submit_draft(openid)
    return case.reference if case else None


@task()
def attach_media(openid: str, case_id: int, media_id: str) -> bool:
    return actions.attach_media_to_case(openid, case_id, media_id)
