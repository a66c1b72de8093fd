"""Alerts: idempotent raising, merging across detectors and levels, lifecycle, push."""

from __future__ import annotations

from datetime import timedelta

import pytest

from minqing.accounts.models import Role
from minqing.alerts import actions
from minqing.alerts.actions import AlertSignal, raise_alert
from minqing.alerts.models import Alert, AlertEvent
from minqing.alerts.tests.test_cube import DAY0, level2_category, make_case
from minqing.cases.actions import accept_case, assign_case
from minqing.core.errors import DomainError, InvalidTransition, NotPermitted
from minqing.dispatch.models import SupervisionOrder
from minqing.notify.models import Notification
from minqing.testing.personas import HANCHENG, LIUQUAN, first_village, make_staff


def signal(area, *, level="township", key="k1", detector="ears_c2", category=None, start=DAY0, end=DAY0, **extra):
    data = dict(
        kind="detector",
        detector=detector,
        level=level,
        area=area,
        key=key,
        title=f"{area.name} 异常",
        window_start=start,
        window_end=end,
        observed=5,
        category=category or level2_category(),
        severity="medium",
    )
    data.update(extra)
    return AlertSignal(**data)


@pytest.fixture
def other_township_manager(yiyang):
    return make_staff("hancheng_manager", Role.UNIT_MANAGER, HANCHENG)


@pytest.fixture
def alert(yiyang, unit, county_manager, township_manager):
    created, outcome = raise_alert(signal(unit(LIUQUAN)))
    assert outcome == "created"
    return created


def test_raise_alert_is_idempotent_by_key(alert, unit):
    again, outcome = raise_alert(signal(unit(LIUQUAN)))
    assert again.pk == alert.pk and outcome == "unchanged"
    assert Alert.objects.count() == 1 and alert.events.count() == 1


def test_village_and_township_signals_merge_into_one_alert_at_the_higher_level(yiyang, unit, dispatcher):
    village = first_village(LIUQUAN)
    case = make_case(dispatcher, day=DAY0)
    first, _ = raise_alert(
        signal(village, level="village", key="v", detector="rule:1", kind="rule", case_ids=[case.pk])
    )
    merged, outcome = raise_alert(
        signal(
            unit(LIUQUAN), key="t", detector="noufaily", start=DAY0 - timedelta(days=6), severity="high", p_value=1e-5
        )
    )
    assert outcome == "merged" and merged.pk == first.pk
    merged.refresh_from_db()
    assert merged.level == "township" and merged.area == unit(LIUQUAN)
    assert merged.detectors == ["rule:1", "noufaily"] and merged.severity == "high" and merged.p_value == 1e-5
    assert merged.window_start == DAY0 - timedelta(days=6)
    assert list(merged.cases.values_list("pk", flat=True)) == [case.pk]
    assert Alert.objects.count() == 1


def test_parent_category_and_overlapping_window_merge(alert, unit):
    parent = level2_category().parent
    _, outcome = raise_alert(signal(unit(LIUQUAN), key="k2", category=parent, end=DAY0 + timedelta(days=1)))
    assert outcome == "merged" and Alert.objects.count() == 1


def test_unrelated_signals_stay_apart(alert, unit):
    raise_alert(signal(unit(HANCHENG), key="other-township"))
    raise_alert(signal(unit(LIUQUAN), key="other-category", category=level2_category(5)))
    raise_alert(signal(unit(LIUQUAN), key="later", start=DAY0 + timedelta(days=3), end=DAY0 + timedelta(days=3)))
    assert Alert.objects.count() == 4


def test_dismissed_alert_absorbs_a_repeat_without_new_cases(alert, unit, county_manager):
    actions.dismiss(alert, county_manager, "误报")
    _, outcome = raise_alert(signal(unit(LIUQUAN), key="k3", end=DAY0 + timedelta(days=1)))
    assert outcome == "absorbed" and Alert.objects.count() == 1


def test_new_alert_notifies_county_and_township_managers_once(alert, county_manager, township_manager):
    rows = Notification.objects.filter(kind="alert")
    assert sorted(rows.values_list("recipient__username", flat=True)) == ["county_manager", "liuquan_manager"]
    raise_alert(signal(alert.area, key="k1"))
    assert Notification.objects.filter(kind="alert").count() == 2


def test_high_severity_alert_is_also_sent_by_sms(yiyang, unit, county_manager):
    county_manager.phone = "13800000009"
    county_manager.save()
    raise_alert(signal(unit(LIUQUAN), key="high", severity="high"))
    assert Notification.objects.filter(kind="alert", channel="sms", recipient=county_manager).count() == 1


# --- Lifecycle --------------------------------------------------------------------------------


def test_lifecycle_acknowledge_dispatch_close(alert, township_manager, dispatcher):
    case = make_case(dispatcher, day=DAY0)
    actions.acknowledge(alert, township_manager)
    actions.dispatch(alert, township_manager, case=case)
    closed = actions.close(alert, township_manager, "已化解")
    assert closed.state == "closed" and closed.reason == "已化解" and closed.linked_case == case
    assert list(closed.events.values_list("action", flat=True)) == ["raise", "acknowledge", "dispatch", "close"]


def test_dispatch_issues_a_supervision_order_on_a_contributing_case(yiyang, unit, county_manager, dispatcher):
    case = make_case(dispatcher, day=DAY0)
    accept_case(case, dispatcher)
    assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))
    created, _ = raise_alert(signal(unit(LIUQUAN), key="sv", case_ids=[case.pk]))
    dispatched = actions.dispatch(created, county_manager, supervision_note="请三日内化解并回复")
    order = SupervisionOrder.objects.get()
    assert dispatched.state == "dispatched" and dispatched.linked_supervision == order and order.case == case


@pytest.mark.parametrize(
    "verb, kwargs, error",
    [
        ("close", {"reason": "x"}, InvalidTransition),  # new → closed is not in the table
        ("dismiss", {"reason": " "}, DomainError),  # reason required
        ("close", {"reason": ""}, DomainError),
        ("dispatch", {}, DomainError),  # neither case nor 督办
    ],
)
def test_refused_transitions_change_nothing(alert, county_manager, verb, kwargs, error):
    with pytest.raises(error):
        getattr(actions, verb)(alert, county_manager, **kwargs)
    alert.refresh_from_db()
    assert alert.state == "new" and alert.reason == "" and AlertEvent.objects.filter(alert=alert).count() == 1


@pytest.mark.parametrize("who", ["other_township_manager", "township_handler", "dispatcher", "outsider"])
def test_only_county_and_own_township_managers_may_act(alert, request, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        actions.acknowledge(alert, user)
    with pytest.raises(NotPermitted):
        actions.dismiss(alert, user, "误报")
    alert.refresh_from_db()
    assert alert.state == "new" and alert.events.count() == 1


def test_county_alert_is_for_county_managers_only(yiyang, township_manager, county_manager):
    county_alert, _ = raise_alert(signal(yiyang, level="county", key="county"))
    with pytest.raises(NotPermitted):
        actions.acknowledge(county_alert, township_manager)
    assert actions.acknowledge(county_alert, county_manager).state == "acknowledged"


def test_closed_alert_cannot_be_reopened_by_any_verb(alert, county_manager):
    actions.dismiss(alert, county_manager, "误报")
    for verb, kwargs in (("acknowledge", {}), ("dismiss", {"reason": "x"}), ("close", {"reason": "x"})):
        with pytest.raises(InvalidTransition):
            getattr(actions, verb)(alert, county_manager, **kwargs)
    assert Alert.objects.get().state == "dismissed"
