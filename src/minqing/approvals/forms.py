"""Forms for asking and deciding; they only parse, the actions decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.approvals.chains import EXTENSION_MAX_DAYS
from minqing.approvals.models import Kind
from minqing.orgs.models import OrgUnit


class RequestForm(forms.Form):
    reason = forms.CharField(label=_("申请理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    days = forms.IntegerField(label=_("延期天数"), min_value=1, max_value=EXTENSION_MAX_DAYS, required=False)
    target_unit = forms.ModelChoiceField(
        label=_("建议改派单位"), queryset=OrgUnit.objects.none(), required=False, to_field_name="code"
    )

    def __init__(self, *args, kind: str, units=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == Kind.EXTENSION:
            self.fields["days"].required = True
        else:
            del self.fields["days"]
        if kind == Kind.REASSIGN and units is not None:
            self.fields["target_unit"].queryset = units
        else:
            del self.fields["target_unit"]

    def payload(self) -> dict:
        data = self.cleaned_data
        if self.kind == Kind.EXTENSION:
            return {"days": data["days"]}
        if self.kind == Kind.REASSIGN and data.get("target_unit"):
            return {"target_unit": data["target_unit"].code}
        return {}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("同意")), ("reject", _("不同意"))])
    reason = forms.CharField(label=_("审批意见"), required=False, max_length=2000)

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"
