"""Approval requests (申请审批): a child record of a case with its own approver chain and decisions.

A request never changes the case by itself. Only the decision at the last level of
its chain applies the effect, through `minqing.cases.actions`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    EXTENSION = "extension", _("延期申请")
    REASSIGN = "reassign", _("退回改派申请")
    CLOSURE_REVIEW = "closure_review", _("办结审核")
    ESCALATION = "escalation", _("提交疑难案件研判室")
    LEGAL_HANDOVER = "legal_handover", _("移交涉法涉诉办公室")


class State(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")
    WITHDRAWN = "withdrawn", _("已撤回")


class Decision(models.TextChoices):
    APPROVED = "approved", _("同意")
    REJECTED = "rejected", _("不同意")


class ApprovalRequest(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="approval_requests")
    kind = models.CharField(_("申请类型"), max_length=16, choices=Kind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_requests", verbose_name=_("申请人")
    )
    requesting_unit = models.ForeignKey(
        "orgs.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_requests",
        verbose_name=_("申请单位"),
    )
    reason = models.TextField(_("申请理由"))
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    current_step = models.PositiveSmallIntegerField(_("当前审批级"), default=1)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_at = models.DateTimeField(_("审结时间"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("审批申请")
        verbose_name_plural = _("审批申请")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], condition=Q(state="pending"), name="one_pending_approval_per_kind"
            )
        ]
        indexes = [models.Index(fields=["state", "kind", "current_step"], name="approval_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"

    @property
    def is_pending(self) -> bool:
        return self.state == State.PENDING


class ApprovalStep(models.Model):
    """One level's decision on a request."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveSmallIntegerField(_("审批级"))
    approver_role = models.CharField(_("审批角色"), max_length=20)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_steps", verbose_name=_("审批人")
    )
    decision = models.CharField(_("审批意见"), max_length=10, choices=Decision.choices)
    reason = models.TextField(_("理由"), blank=True)
    decided_at = models.DateTimeField(_("审批时间"), default=timezone.now)

    class Meta:
        ordering = ["request_id", "level"]
        verbose_name = _("审批记录")
        verbose_name_plural = _("审批记录")
        constraints = [models.UniqueConstraint(fields=["request", "level"], name="one_decision_per_level")]

    def __str__(self) -> str:
        return f"{self.request_id} L{self.level} {self.decision}"
