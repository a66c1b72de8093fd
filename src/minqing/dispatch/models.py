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


class RoutingRule(models.Model):
    """Routing as data: category × township → unit, or a keyword override (checked first).

    A rule matches when each of its set fields matches: the category (a level-2
    category, or a level-1 one covering its children), the township where the case
    happened, and the keyword appearing in the title or content. Among matches,
    keyword rules come first, then higher priority, then the more specific rule.
    """

    category = models.ForeignKey(
        "cases.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("分类（一级或二级）"),
    )
    township = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("乡镇")
    )
    keyword = models.CharField(_("关键词"), max_length=40, blank=True)
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name=_("承办单位"))
    priority = models.SmallIntegerField(_("优先级"), default=0, help_text=_("数值大者优先"))
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "id"]
        verbose_name = _("分派规则")
        verbose_name_plural = _("分派规则")

    def __str__(self) -> str:
        return self.describe()

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _forget_cached_rules()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _forget_cached_rules()
        return result

    def describe(self) -> str:
        parts = []
        if self.keyword:
            parts.append(f"关键词“{self.keyword}”")
        if self.category_id:
            parts.append(str(self.category))
        if self.township_id:
            parts.append(self.township.name)
        return f"{' × '.join(parts) or '全部'} → {self.unit.name}"


def _forget_cached_rules() -> None:
    from minqing.dispatch.suggest import clear_model_cache

    clear_model_cache()


class ClassifierVersion(models.Model):
    """One trained model file (under DATA_DIR/models/); one active version per target."""

    class Target(models.TextChoices):
        CATEGORY = "category", _("诉求分类")
        UNIT = "unit", _("承办单位")

    version = models.PositiveIntegerField(_("版本"), unique=True)
    target = models.CharField(_("预测对象"), max_length=10, choices=Target.choices)
    path = models.CharField(_("模型文件"), max_length=255)
    trained_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    n_training = models.PositiveIntegerField(_("训练案件数"), default=0)
    metrics = models.JSONField(_("评估指标"), default=dict, blank=True)
    active = models.BooleanField(_("启用"), default=False)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("分类模型版本")
        verbose_name_plural = _("分类模型版本")
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=models.Q(active=True), name="one_active_classifier_per_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} v{self.version}"


class SuggestionRecord(models.Model):
    """What was suggested for a case, and (once known) what the dispatcher chose."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="suggestion_records")
    made_at = models.DateTimeField(_("建议时间"), default=timezone.now, db_index=True)
    suggested = models.JSONField(_("建议内容"), default=dict)
    chosen_category = models.ForeignKey(
        "cases.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chosen_unit = models.ForeignKey("orgs.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted_category = models.BooleanField(_("采纳分类（首选）"), null=True, blank=True)
    accepted_unit = models.BooleanField(_("采纳单位（首选）"), null=True, blank=True)
    # 1–3: the chosen one was the n-th suggestion; 0: not among them; null: no choice yet.
    category_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    unit_rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-made_at", "-id"]
        verbose_name = _("分派建议记录")
        verbose_name_plural = _("分派建议记录")

    def __str__(self) -> str:
        return f"建议 {self.case_id} {self.made_at:%Y-%m-%d}"


class CaseLink(models.Model):
    """Two open cases marked as duplicates or related (case_a has the smaller id)."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", _("重复")
        RELATED = "related", _("相关")

    case_a = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    case_b = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("关系"), max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("案件关联")
        verbose_name_plural = _("案件关联")
        constraints = [models.UniqueConstraint(fields=["case_a", "case_b"], name="unique_case_link")]

    def __str__(self) -> str:
        return f"{self.case_a_id}–{self.case_b_id} {self.kind}"
