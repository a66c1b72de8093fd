"""Urging (催办) and supervision orders (督办): side records on a case, never a state change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Urging(models.Model):
    """催办: a reminder with a note to the lead unit."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="urgings")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="urgings", verbose_name=_("催办人")
    )
    note = models.TextField(_("催办意见"))
    created_at = models.DateTimeField(_("催办时间"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("催办")
        verbose_name_plural = _("催办")

    def __str__(self) -> str:
        return f"催办 {self.case_id} {self.created_at:%Y-%m-%d}"


class SupervisionOrder(models.Model):
    """督办: an order with a reply deadline, listed on the supervision board until closed."""

    class Level(models.TextChoices):
        UNIT = "unit", _("单位督办")
        COUNTY = "county", _("县级督办")

    class State(models.TextChoices):
        OPEN = "open", _("督办中")
        ANSWERED = "answered", _("已回复")
        CLOSED = "closed", _("已办结")

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="supervision_orders")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervision_orders", verbose_name=_("督办人")
    )
    issuing_level = models.CharField(_("督办层级"), max_length=6, choices=Level.choices)
    note = models.TextField(_("督办意见"))
    reply_due = models.DateTimeField(_("回复期限"))
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.OPEN)
    answer = models.TextField(_("回复内容"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("回复人"),
    )
    answered_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("督办时间"), default=timezone.now)

    class Meta:
        ordering = ["reply_due", "id"]
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        indexes = [models.Index(fields=["state", "reply_due"], name="supervision_board")]

    def __str__(self) -> str:
        return f"督办 {self.case_id} {self.get_state_display()}"

    def is_overdue(self, now=None) -> bool:
        return self.state == self.State.OPEN and (now or timezone.now()) > self.reply_due
