from django.contrib import admin

from minqing.alerts.forms import AlertRuleForm
from minqing.alerts.models import AlertRule, RiskWord


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "level", "area", "category", "min_cases", "window_days", "severity", "active"]
    list_filter = ["level", "severity", "active"]
    autocomplete_fields: list[str] = []


@admin.register(RiskWord)
class RiskWordAdmin(admin.ModelAdmin):
    list_display = ["word", "severity", "active"]
    list_filter = ["severity", "active"]
    search_fields = ["word"]
