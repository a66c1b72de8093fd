"""Default sampling rules and the default follow-up questionnaire (seeded by migration 0002)."""

from __future__ import annotations

from typing import Any

DEFAULT_SHARE_OF_CLOSED = 0.2

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"kind": "every_unsatisfied", "share": 1.0, "active": True},
    {"kind": "share_of_closed", "share": DEFAULT_SHARE_OF_CLOSED, "active": True},
    {"kind": "every_group_case", "share": 1.0, "active": True},
)

SATISFACTION_KEY = "satisfaction"

DEFAULT_QUESTIONNAIRE_NAME = "标准回访问卷"
DEFAULT_QUESTIONS: tuple[dict[str, Any], ...] = (
    {"key": "contacted", "label": "是否联系：承办单位是否与您联系过？", "type": "yes_no", "required": True},
    {"key": "resolved", "label": "是否解决：您反映的问题是否得到解决？", "type": "yes_no", "required": True},
    {
        "key": SATISFACTION_KEY,
        "label": "满意度：您对办理结果是否满意？",
        "type": "choice",
        "choices": ["满意", "基本满意", "不满意"],
        "required": True,
    },
    {"key": "comment", "label": "意见：您还有什么意见或建议？", "type": "text", "required": False},
)


def seed_defaults(rule_model, questionnaire_model) -> None:
    """Create the default rules and questionnaire where missing (safe to run again)."""
    for rule in DEFAULT_RULES:
        rule_model.objects.get_or_create(kind=rule["kind"], defaults={"share": rule["share"], "active": rule["active"]})
    if not questionnaire_model.objects.exists():
        questionnaire_model.objects.create(
            name=DEFAULT_QUESTIONNAIRE_NAME, questions=[dict(q) for q in DEFAULT_QUESTIONS], active=True
        )
