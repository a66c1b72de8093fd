"""Configured rules: "at least N cases of category C in area T within W days"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from minqing.alerts.forms import AlertRuleForm
from minqing.alerts.models import Alert, AlertRule
from minqing.alerts.rules import validate_rule
from minqing.alerts.scan import ScanConfig, run_scan
from minqing.alerts.tests.test_cube import DAY0, level2_category, make_case
from minqing.core.errors import DomainError
from minqing.testing.personas import HANCHENG, LIUQUAN, first_village

FAST = ScanConfig(history_days=60, spacetime=False)


def rule(unit, **kwargs) -> AlertRule:
    data = dict(name="柳泉同类事件", category=level2_category(), level="township", area=unit(LIUQUAN), min_cases=3)
    data.update(window_days=7, severity="high")
    data.update(kwargs)
    return AlertRule.objects.create(**data)


def rule_alerts():
    return Alert.objects.filter(kind="rule")


def test_rule_fires_at_n_and_lists_the_contributing_cases(yiyang, dispatcher, unit):
    r = rule(unit)
    cases = [make_case(dispatcher, day=DAY0 + timedelta(days=i * 2)) for i in range(3)]
    make_case(dispatcher, day=DAY0, category=level2_category(1))  # another category
    make_case(dispatcher, day=DAY0, unit=first_village(HANCHENG))  # another township
    run_scan(DAY0 + timedelta(days=4), county=yiyang, config=FAST)
    alert = rule_alerts().get()
    assert alert.rule == r and alert.area == unit(LIUQUAN) and alert.severity == "high"
    assert alert.observed == 3 and alert.threshold == 3
    assert set(alert.cases.values_list("pk", flat=True)) == {c.pk for c in cases}
    assert alert.series["values"][-1] == 3 and alert.series["threshold"] == 3


def test_rule_does_not_fire_at_n_minus_one(yiyang, dispatcher, unit):
    rule(unit)
    for i in range(2):
        make_case(dispatcher, day=DAY0 + timedelta(days=i))
    make_case(dispatcher, day=DAY0 - timedelta(days=7))  # outside the 7-day window ending DAY0+1
    run_scan(DAY0 + timedelta(days=1), county=yiyang, config=FAST)
    assert not rule_alerts().exists()


def test_level1_rule_counts_every_level2_child(yiyang, dispatcher, unit):
    parent = level2_category().parent
    rule(unit, category=parent, min_cases=2)
    make_case(dispatcher, day=DAY0, category=level2_category(0))
    make_case(dispatcher, day=DAY0, category=level2_category(1))
    run_scan(DAY0, county=yiyang, config=FAST)
    assert rule_alerts().get().category == parent


def test_village_rule_under_a_township_judges_each_village(yiyang, dispatcher, unit):
    rule(unit, level="village", category=None, min_cases=2)
    make_case(dispatcher, day=DAY0)
    make_case(dispatcher, day=DAY0)
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = rule_alerts().get()
    assert alert.level == "village" and alert.area == first_village(LIUQUAN)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"min_cases": 0}, "min_cases"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 91}, "window_days"),
        ({"level": "township", "area": "village"}, "area"),
        ({"level": "province"}, "level"),
    ],
)
def test_impossible_rule_is_refused_with_a_message(yiyang, unit, changes, field):
    data = dict(name="x", level="township", min_cases=3, window_days=7, severity="low")
    data.update(changes)
    if data.get("area") == "village":
        data["area"] = first_village(LIUQUAN)
    candidate = AlertRule(**data)
    with pytest.raises(ValidationError) as excinfo:
        candidate.clean()
    assert field in excinfo.value.message_dict
    with pytest.raises(DomainError):
        validate_rule(
            min_cases=candidate.min_cases,
            window_days=candidate.window_days,
            level=candidate.level,
            area=candidate.area,
        )


def test_rule_admin_form_refuses_and_saves_nothing(yiyang, unit):
    form = AlertRuleForm(
        data={
            "name": "x",
            "level": "township",
            "area": first_village(LIUQUAN).pk,
            "min_cases": 0,
            "window_days": 7,
            "severity": "low",
            "active": True,
        }
    )
    assert not form.is_valid()
    assert "不能低于统计层级" in str(form.errors) or "至少为 1" in str(form.errors)
    assert not AlertRule.objects.exists()


def test_invalid_stored_rule_is_skipped_by_the_scan(yiyang, dispatcher, unit):
    AlertRule.objects.create(name="bad", level="township", min_cases=0, window_days=7)  # bypassed clean()
    make_case(dispatcher, day=DAY0)
    run_scan(DAY0, county=yiyang, config=FAST)
    assert not rule_alerts().exists()
