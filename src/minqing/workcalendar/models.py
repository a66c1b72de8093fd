"""The statutory working-day calendar as data: special days and which years are complete.

Ordinary days are not stored: a weekday is a working day and a weekend day a rest day unless
a `CalendarDay` says otherwise. A `CalendarYear` marked complete means every holiday and
make-up working day of that year has been entered; other years get provisional deadlines
(see minqing.core.deadlines and docs/calendar.md).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        MAKEUP_WORKDAY = "makeup_workday", _("调休上班")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=60, blank=True, help_text=_("如：春节、国庆节调休"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日/调休日")
        verbose_name_plural = _("节假日/调休日")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "makeup_workday"]), name="workcalendar_day_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}".rstrip()


class CalendarYear(models.Model):
    class Source(models.TextChoices):
        CHINESE_CALENDAR = "chinese-calendar", _("chinese-calendar 软件包")
        IMPORT = "import", _("文件导入")
        ADMIN = "admin", _("管理员编辑")

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    complete = models.BooleanField(
        _("已完整录入"), default=False, help_text=_("该年全部放假和调休日期均已录入；未完整录入的年度期限为暂定")
    )
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default=Source.ADMIN)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("日历年度")
        verbose_name_plural = _("日历年度")

    def __str__(self) -> str:
        return f"{self.year}"
