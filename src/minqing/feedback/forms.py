"""Forms for rating, review and follow-up pages; they only parse, the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.feedback.models import Score

REASON_MAX = 2000


class RatingForm(forms.Form):
    score = forms.ChoiceField(label=_("您对办理结果的评价"), choices=Score.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("理由（选择“不满意”时必填）"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("请写明您的意见")}),
    )


class ReviewForm(forms.Form):
    reason = forms.CharField(label=_("申请复查的理由"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 4}))


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("同意复查")), ("refuse", _("不予复查"))])
    reason = forms.CharField(label=_("决定理由"), required=False, max_length=REASON_MAX)

    @property
    def accept(self) -> bool:
        return self.cleaned_data["decision"] == "accept"


def answers_from_post(questions: list[dict[str, Any]], data) -> dict[str, Any]:
    """The questionnaire answers posted as `q_<key>` fields (blank ones left out)."""
    answers: dict[str, Any] = {}
    for question in questions:
        value = (data.get(f"q_{question['key']}") or "").strip()
        if value:
            answers[question["key"]] = value
    return answers
