"""Forms of the alert centre and the rule admin."""

from __future__ import annotations

from django import forms

from minqing.alerts.models import AlertKind, AlertRule, AlertState, Severity
from minqing.alerts.rules import validate_rule
from minqing.core.errors import DomainError


class AlertFilterForm(forms.Form):
    state = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), *AlertState.choices])
    kind = forms.ChoiceField(label="类型", required=False, choices=[("", "全部"), *AlertKind.choices])
    severity = forms.ChoiceField(label="级别", required=False, choices=[("", "全部"), *Severity.choices])


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由", max_length=2000, required=False)


class DispatchForm(forms.Form):
    case = forms.IntegerField(label="关联案件", required=False, min_value=1)
    supervision_note = forms.CharField(label="督办意见", max_length=2000, required=False)
    reply_due = forms.DateTimeField(label="回复期限", required=False)


class AlertRuleForm(forms.ModelForm):
    """Admin form: impossible parameters are refused with the rule's Chinese messages."""

    class Meta:
        model = AlertRule
        fields = ["name", "category", "level", "area", "min_cases", "window_days", "severity", "active"]

    def clean(self):
        data = super().clean()
        try:
            validate_rule(
                min_cases=data.get("min_cases"),
                window_days=data.get("window_days"),
                level=data.get("level") or "",
                area=data.get("area"),
                category=data.get("category"),
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data
