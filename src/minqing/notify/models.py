"""The notification outbox: written in the same transaction as the change it reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信模板消息")
    EMAIL = "email", _("电子邮件")
    WEBHOOK = "webhook", _("机器人推送")


class Status(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    address = models.CharField(
        _("地址"), max_length=200, blank=True, help_text=_("手机号、openid 或网址；站内消息留空")
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.IN_APP)
    kind = models.CharField(_("类型"), max_length=30, db_index=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The same dedupe key is never queued twice: scans and retries stay idempotent.
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_due"),
            models.Index(fields=["recipient", "channel", "read_at"], name="notify_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.title}"
