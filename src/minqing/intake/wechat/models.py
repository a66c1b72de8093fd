"""Conversation state of the official account: one draft per follower, and the messages already seen."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    DESCRIPTION = "description", _("填写诉求")
    LOCATION = "location", _("填写事发地")
    NAME = "name", _("填写姓名")
    CONFIRM = "confirm", _("待确认")
    SUBMITTING = "submitting", _("提交中")


class WeChatDraft(models.Model):
    """A report being written in the chat. `data`: description, location_code, name, anonymous, media_ids."""

    openid = models.CharField(max_length=64, unique=True)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.DESCRIPTION)
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("微信诉求草稿")
        verbose_name_plural = _("微信诉求草稿")

    def __str__(self) -> str:
        return f"{self.openid} {self.stage}"


class WeChatMessageLog(models.Model):
    """Every message or event processed once. WeChat retries a message up to three times;
    the unique `msg_id` (MsgId, or FromUserName+CreateTime for events) turns retries into no-ops."""

    msg_id = models.CharField(max_length=128, unique=True)
    openid = models.CharField(max_length=64, db_index=True)
    msg_type = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("微信消息记录")
        verbose_name_plural = _("微信消息记录")

    def __str__(self) -> str:
        return f"{self.msg_type} {self.msg_id}"
