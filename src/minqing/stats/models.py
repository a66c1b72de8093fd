"""Statistics tables: the daily rollup, its per-case ledger and cursor, the search index,
saved queries and generated reports.

Everything here is derived from `CaseEvent`s by `minqing.stats.rollups` (never written by
the case code), so `minqing stats rebuild` can throw it away and replay the events.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Counters of one rollup row, in the order the xlsx exports and docs/metrics.md list them.
COUNTERS = (
    "received",
    "accepted",
    "declined",
    "assigned",
    "signed_on_time",
    "returned",
    "closed",
    "closed_on_time",
    "resolved",
    "handling_seconds",
    "rated",
    "satisfied",
    "basically",
    "unsatisfied",
    "reopened",
    "repeat",
)


class RollupCounters(models.Model):
    """The counter columns every rollup table shares (COUNTERS, in that order)."""

    received = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    declined = models.IntegerField(default=0)
    assigned = models.IntegerField(default=0)
    signed_on_time = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    handling_seconds = models.BigIntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically = models.IntegerField(default=0)
    unsatisfied = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    repeat = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DailyRollup(RollupCounters):
    """Counters for one (day × unit × township × category × channel).

    `unit` is the case's current lead unit, or its location township while it has none;
    `township` is the township where the matter arose (None for county-level locations).
    `day` is the Asia/Shanghai date of the event that moved the counter.
    """

    key = models.CharField(max_length=80, unique=True, editable=False)
    day = models.DateField(db_index=True)
    unit = models.ForeignKey("orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, blank=True)
    township = models.ForeignKey("orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey("cases.Category", null=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("日汇总")
        verbose_name_plural = _("日汇总")
        indexes = [
            models.Index(fields=["unit_path", "day"], name="rollup_unit_day", opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["township", "day"], name="rollup_township_day"),
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def make_key(day, unit_id, township_id, category_id, channel) -> str:
        return f"{day.isoformat()}|{unit_id or 0}|{township_id or 0}|{category_id or 0}|{channel}"


class MonthlyRollup(RollupCounters):
    """`DailyRollup` summed over a calendar month and over channels: what a month's dashboard reads.

    Its size depends on the units and categories, not on the case count, so a month's figures
    cost the same at 100,000 cases as at 10,000,000. Written with the daily rows, in the same batch.
    """

    key = models.CharField(max_length=60, unique=True, editable=False)
    month = models.DateField()  # the first day of the month
    unit = models.ForeignKey("orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, blank=True)
    township = models.ForeignKey("orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey("cases.Category", null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("月汇总")
        verbose_name_plural = _("月汇总")
        indexes = [
            models.Index(
                fields=["unit_path", "month"], name="rollup_month_unit", opclasses=["varchar_pattern_ops", ""]
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def make_key(month, unit_id, township_id, category_id) -> str:
        return f"{month.isoformat()}|{unit_id or 0}|{township_id or 0}|{category_id or 0}"


class UnitDayRollup(RollupCounters):
    """`DailyRollup` summed per (day × unit): the dashboards' 30-day trend and today's tiles."""

    key = models.CharField(max_length=40, unique=True, editable=False)
    day = models.DateField()
    unit = models.ForeignKey("orgs.OrgUnit", null=True, on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("单位日汇总")
        verbose_name_plural = _("单位日汇总")
        indexes = [
            models.Index(
                fields=["unit_path", "day"], name="rollup_unitday_unit", opclasses=["varchar_pattern_ops", ""]
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def make_key(day, unit_id) -> str:
        return f"{day.isoformat()}|{unit_id or 0}"


class CaseRollupState(models.Model):
    """What one case has contributed to the rollup so far, and under which dimensions.

    When the case moves (assigned to another unit, re-categorised) its contributions move
    with it; when it is reopened its closure is withdrawn. One row per case.
    """

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")
    unit_id_value = models.IntegerField(null=True)
    township_id_value = models.IntegerField(null=True)
    category_id_value = models.IntegerField(null=True)
    channel = models.CharField(max_length=16, blank=True)
    handed_over_at = models.DateTimeField(null=True)
    outcome = models.CharField(max_length=16, blank=True)
    contributions = models.JSONField(default=list)  # [[iso day, counter, amount], ...]

    def __str__(self) -> str:
        return f"rollup state of case {self.case_id}"


class RollupCursor(models.Model):
    """One row: the last CaseEvent id processed, and ids below it not yet seen (gaps)."""

    last_event_id = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=dict)  # {event id: iso time first noticed}
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"cursor {self.last_event_id}"


class CaseSearchDoc(models.Model):
    """jieba-segmented words of a case's title, content, replies and added information.

    SQLite indexes `tokens` with an FTS5 table (kept in step by triggers); PostgreSQL with
    a GIN index on to_tsvector('simple', tokens). Both made in migration 0002.
    """

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")
    tokens = models.TextField()

    def __str__(self) -> str:
        return f"search doc of case {self.case_id}"


class SavedQuery(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queries")
    name = models.CharField(_("名称"), max_length=60)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("保存的查询")
        verbose_name_plural = _("保存的查询")
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_saved_query_name")]

    def __str__(self) -> str:
        return self.name


def report_path(instance: Report, filename: str) -> str:
    return f"reports/{instance.kind}/{instance.period_start:%Y%m%d}/{filename}"


class Report(models.Model):
    """One period report for one scope (the county or a unit), generated and pushed once."""

    class Kind(models.TextChoices):
        WEEK = "week", _("周报")
        MONTH = "month", _("月报")
        QUARTER = "quarter", _("季报")

    scope = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive
    generated_at = models.DateTimeField(default=timezone.now)
    figures = models.JSONField(default=dict)
    narrative = models.TextField(blank=True)
    pdf = models.FileField(upload_to=report_path, blank=True)
    xlsx = models.FileField(upload_to=report_path, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period_start", "scope_id"]
        verbose_name = _("统计报告")
        verbose_name_plural = _("统计报告")
        constraints = [models.UniqueConstraint(fields=["scope", "kind", "period_start"], name="unique_report_period")]

    def __str__(self) -> str:
        return f"{self.scope_id} {self.kind} {self.period_start}"

    @property
    def slug(self) -> str:
        return f"{self.kind}-{self.period_start:%Y%m%d}"
