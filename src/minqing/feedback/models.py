"""事后评价: citizens' ratings, review requests (复查), and inspectors' follow-up calls (回访).

None of these rows changes a case by itself. `minqing.feedback.actions` writes them
and, where a rating or a review decision calls for it, reopens the case through
`minqing.cases.actions`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Score(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


# Scores that count towards the satisfaction rate (满意率 = (满意 + 基本满意) / 已评价).
SATISFIED_SCORES = (Score.SATISFIED, Score.BASICALLY_SATISFIED)


class RatingChannel(models.TextChoices):
    WEB = "web", _("网页")
    WECHAT = "wechat", _("微信")
    SMS = "sms", _("短信链接")
    APP = "app", _("手机应用")
    PHONE = "phone", _("电话")


class Rating(models.Model):
    """The citizen's rating of one round of handling (round = the case's reopen count when rated)."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="ratings")
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("评价人账号"),
    )
    channel = models.CharField(_("评价渠道"), max_length=10, choices=RatingChannel.choices)
    score = models.CharField(_("评价"), max_length=20, choices=Score.choices)
    reason = models.TextField(_("理由"), blank=True)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    created_at = models.DateTimeField(_("评价时间"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("群众评价")
        verbose_name_plural = _("群众评价")
        constraints = [models.UniqueConstraint(fields=["case", "round"], name="one_rating_per_case_round")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.round} {self.get_score_display()}"

    @property
    def is_satisfied(self) -> bool:
        return self.score in SATISFIED_SCORES


class ReviewState(models.TextChoices):
    PENDING = "pending", _("待决定")
    ACCEPTED = "accepted", _("同意复查")
    REFUSED = "refused", _("不予复查")


class ReviewRequest(models.Model):
    """复查: asked within 30 days of the reply, decided within 30 days of the request."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="review_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("申请人"),
    )
    reason = models.TextField(_("申请理由"))
    state = models.CharField(_("状态"), max_length=10, choices=ReviewState.choices, default=ReviewState.PENDING)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    due = models.DateTimeField(_("决定期限"), db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("决定人"),
    )
    decision_reason = models.TextField(_("决定理由"), blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("复查申请")
        verbose_name_plural = _("复查申请")
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(state="pending"), name="one_pending_review_per_case")
        ]

    def __str__(self) -> str:
        return f"复查 #{self.pk} ({self.get_state_display()})"

    @property
    def is_pending(self) -> bool:
        return self.state == ReviewState.PENDING

    def is_overdue(self, now=None) -> bool:
        return self.is_pending and (now or timezone.now()) > self.due


class RuleKind(models.TextChoices):
    EVERY_UNSATISFIED = "every_unsatisfied", _("不满意案件全部回访")
    SHARE_OF_CLOSED = "share_of_closed", _("办结案件按比例抽访")
    EVERY_GROUP_CASE = "every_group_case", _("集体访案件全部回访")


class FollowUpRule(models.Model):
    """A sampling rule for follow-up calls. Data, not code: administrators change the share."""

    kind = models.CharField(_("规则"), max_length=20, choices=RuleKind.choices, unique=True)
    share = models.FloatField(_("抽访比例"), default=1.0, help_text=_("0 到 1 之间；仅“按比例抽访”使用"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("回访抽样规则")
        verbose_name_plural = _("回访抽样规则")
        constraints = [
            models.CheckConstraint(condition=Q(share__gte=0) & Q(share__lte=1), name="follow_up_share_between_0_1")
        ]

    def __str__(self) -> str:
        if self.kind == RuleKind.SHARE_OF_CLOSED:
            return f"{self.get_kind_display()} {self.share:.0%}"
        return str(self.get_kind_display())


class QuestionType(models.TextChoices):
    YES_NO = "yes_no", _("是/否")
    CHOICE = "choice", _("单选")
    TEXT = "text", _("文字")


class Questionnaire(models.Model):
    """The questions of a follow-up call: [{key, label, type, choices, required}]."""

    name = models.CharField(_("名称"), max_length=60)
    questions = models.JSONField(_("问题"), default=list)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-active", "-id"]
        verbose_name = _("回访问卷")
        verbose_name_plural = _("回访问卷")

    def __str__(self) -> str:
        return self.name


class SampleReason(models.TextChoices):
    UNSATISFIED = "unsatisfied", _("群众不满意")
    GROUP_CASE = "group_case", _("集体访")
    SHARE_OF_CLOSED = "share_of_closed", _("按比例抽访")


class CallState(models.TextChoices):
    QUEUED = "queued", _("待回访")
    DONE = "done", _("已回访")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("接通")
    NOT_REACHED = "not_reached", _("未接通")
    REFUSED = "refused", _("拒访")


class FollowUpCall(models.Model):
    """One follow-up call (回访) for one round of a case, sampled by a rule."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="follow_up_calls")
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    reason = models.CharField(_("抽样原因"), max_length=20, choices=SampleReason.choices)
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="calls")
    state = models.CharField(_("状态"), max_length=10, choices=CallState.choices, default=CallState.QUEUED)
    outcome = models.CharField(_("回访结果"), max_length=12, choices=CallOutcome.choices, blank=True)
    answers = models.JSONField(_("回答"), default=dict, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Score.choices, blank=True)
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("回访人"),
    )
    called_at = models.DateTimeField(_("回访时间"), null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("拨打次数"), default=0)
    created_at = models.DateTimeField(_("抽样时间"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        constraints = [models.UniqueConstraint(fields=["case", "round"], name="one_follow_up_per_case_round")]
        indexes = [models.Index(fields=["state", "created_at"], name="follow_up_queue")]

    def __str__(self) -> str:
        return f"回访 {self.case_id}#{self.round} ({self.get_state_display()})"
