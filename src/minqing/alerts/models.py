"""Early-warning records: configured rules, risk words, alerts and their history.

An alert only changes through `minqing.alerts.actions`, which lock the row, check the
state table and append one `AlertEvent`. See docs/alerts.md ("Operations").
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_WINDOW_DAYS = 90
MAX_MIN_CASES = 10_000


class Level(models.TextChoices):
    VILLAGE = "village", _("行政村")
    TOWNSHIP = "township", _("乡镇")
    COUNTY = "county", _("县")


# Higher number = higher level (county above township above village).
LEVEL_RANK = {Level.VILLAGE: 0, Level.TOWNSHIP: 1, Level.COUNTY: 2}


class Severity(models.TextChoices):
    LOW = "low", _("一般")
    MEDIUM = "medium", _("较重")
    HIGH = "high", _("严重")


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


class AlertRule(models.Model):
    """ "At least `min_cases` cases of `category` in `area` within `window_days` days" (the configured function).

    `level` is the kind of area the cases are counted over; `area` (optional) narrows the rule to one
    unit at that level or to every unit of that level below a higher one. No category = all categories.
    """

    name = models.CharField(_("规则名称"), max_length=100)
    category = models.ForeignKey(
        "cases.Category",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("分类"),
        help_text=_("一级或二级分类；留空为全部分类"),
    )
    level = models.CharField(_("统计层级"), max_length=10, choices=Level.choices, default=Level.TOWNSHIP)
    area = models.ForeignKey(
        "orgs.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("范围"),
        help_text=_("留空为全县该层级的每个单位"),
    )
    min_cases = models.PositiveIntegerField(_("案件数下限"), default=3)
    window_days = models.PositiveSmallIntegerField(_("时间窗口(天)"), default=7)
    severity = models.CharField(_("预警级别"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        what = str(self.category) if self.category_id else "全部分类"
        where = self.area.name if self.area_id else f"每个{self.get_level_display()}"
        return f"{where} {self.window_days} 天内 {what} 不少于 {self.min_cases} 件"

    def clean(self) -> None:
        errors = rule_parameter_errors(
            min_cases=self.min_cases,
            window_days=self.window_days,
            level=self.level,
            area_kind=self.area.kind if self.area_id else None,
            category_active=self.category.active if self.category_id else True,
        )
        if errors:
            raise ValidationError(errors)


def rule_parameter_errors(
    *, min_cases: int | None, window_days: int | None, level: str, area_kind: str | None, category_active: bool = True
) -> dict[str, str]:
    """Why a rule's parameters are impossible (field → Chinese message); empty when they are fine."""
    errors: dict[str, str] = {}
    if min_cases is None or min_cases < 1:
        errors["min_cases"] = "案件数下限至少为 1"
    elif min_cases > MAX_MIN_CASES:
        errors["min_cases"] = f"案件数下限不能超过 {MAX_MIN_CASES}"
    if window_days is None or window_days < 1:
        errors["window_days"] = "时间窗口至少为 1 天"
    elif window_days > MAX_WINDOW_DAYS:
        errors["window_days"] = f"时间窗口不能超过 {MAX_WINDOW_DAYS} 天"
    if level not in Level.values:
        errors["level"] = "统计层级只能是行政村、乡镇或县"
    elif area_kind is not None:
        if area_kind not in Level.values:
            errors["area"] = "范围只能是县、乡镇或行政村"
        elif LEVEL_RANK[area_kind] < LEVEL_RANK[level]:
            errors["area"] = "范围不能低于统计层级（例如按乡镇统计时不能选行政村）"
    if not category_active:
        errors["category"] = "该分类已停用"
    return errors


class RiskWord(models.Model):
    """A word or phrase that marks a case as risky (进京, 堵路, 跳楼 …); matched as a substring."""

    word = models.CharField(_("风险词"), max_length=20, unique=True)
    severity = models.CharField(_("预警级别"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("风险词")
        verbose_name_plural = _("风险词")

    def __str__(self) -> str:
        return self.word


class AlertKind(models.TextChoices):
    RULE = "rule", _("规则预警")
    DETECTOR = "detector", _("统计异常")
    SPACETIME = "spacetime", _("时空聚集")
    REPEAT_PETITIONER = "repeat_petitioner", _("重复信访")
    GROUP_CASE = "group_case", _("集体访")
    RISK_WORDS = "risk_words", _("风险词")
    REPEAT_UNSATISFIED = "repeat_unsatisfied", _("多次不满意")


# Kinds about counts in an area; their alerts merge across detectors and levels.
AGGREGATE_KINDS = (AlertKind.RULE, AlertKind.DETECTOR, AlertKind.SPACETIME)


class AlertState(models.TextChoices):
    NEW = "new", _("新预警")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    DISPATCHED = "dispatched", _("已处置")
    CLOSED = "closed", _("已关闭")
    DISMISSED = "dismissed", _("已排除")


OPEN_ALERT_STATES = (AlertState.NEW, AlertState.ACKNOWLEDGED, AlertState.DISPATCHED)


class Alert(models.Model):
    kind = models.CharField(_("类型"), max_length=20, choices=AlertKind.choices)
    detector = models.CharField(_("检测方法"), max_length=40, blank=True)
    detectors = models.JSONField(_("全部检测方法"), default=list, blank=True)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    area = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("地区"))
    category = models.ForeignKey(
        "cases.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("分类")
    )
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    subject = models.CharField(max_length=80, blank=True, editable=False)  # person hash or case id (person kinds)
    title = models.CharField(_("标题"), max_length=200)
    window_start = models.DateField(_("窗口开始"))
    window_end = models.DateField(_("窗口结束"))
    observed = models.FloatField(_("实际数"), default=0)
    expected = models.FloatField(_("期望数"), null=True, blank=True)
    threshold = models.FloatField(_("阈值"), null=True, blank=True)
    p_value = models.FloatField(_("p 值"), null=True, blank=True)
    severity = models.CharField(_("预警级别"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    state = models.CharField(_("状态"), max_length=14, choices=AlertState.choices, default=AlertState.NEW)
    reason = models.TextField(_("处理说明"), blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    cases = models.ManyToManyField("cases.Case", related_name="+", blank=True, verbose_name=_("相关案件"))
    linked_case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("关联案件")
    )
    linked_supervision = models.ForeignKey(
        "dispatch.SupervisionOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("督办单"),
    )
    series = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("预警时间"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        indexes = [
            models.Index(fields=["state", "-created_at"], name="alert_state_recent"),
            models.Index(fields=["kind", "window_end"], name="alert_kind_window"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ALERT_STATES


class AlertKey(models.Model):
    """Every dedupe key that led to an alert (its own, and those of the signals merged into it)."""

    key = models.CharField(max_length=200, unique=True)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="keys")

    def __str__(self) -> str:
        return self.key


class AlertEvent(models.Model):
    """One change to an alert (append-only)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=14, blank=True)
    to_state = models.CharField(max_length=14, blank=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alert_id", "at", "id"]
        verbose_name = _("预警记录")
        verbose_name_plural = _("预警记录")

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action}"
