"""The daily scan: idempotent; person-level signals; detectors; insufficient data gives no alert."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.management import call_command

from minqing.alerts.models import Alert, AlertEvent, RiskWord
from minqing.alerts.scan import ScanConfig, run_scan
from minqing.alerts.tests.test_cube import DAY0, at, make_case
from minqing.cases.actions import accept_case, assign_case, close_case, record_side_event, reply_case, sign_for_case
from minqing.notify.models import Notification
from minqing.testing.personas import HANCHENG, LIUQUAN, first_village

FAST = ScanConfig(history_days=60, spacetime=False)


def kinds() -> list[str]:
    return sorted(Alert.objects.values_list("kind", flat=True))


def closed_case(dispatcher, handler, unit, day):
    case = make_case(dispatcher, day=day, phone="13700000077")
    accept_case(case, dispatcher, at=at(day, 11))
    assign_case(case, dispatcher, lead_unit=unit(LIUQUAN), at=at(day, 12))
    sign_for_case(case, handler, at=at(day, 13))
    reply_case(case, handler, outcome="explained", reply_text="已向群众解释政策依据。", at=at(day, 14))
    return close_case(case, dispatcher, at=at(day, 15))


def test_scan_twice_gives_the_same_alerts_and_one_notification_each(
    yiyang, dispatcher, county_manager, township_manager
):
    make_case(dispatcher, day=DAY0, title="村民准备进京上访", group_size=8)
    for _ in range(3):
        make_case(dispatcher, day=DAY0, phone="13500000001")
    first = run_scan(DAY0, county=yiyang, config=FAST)
    alerts = sorted(Alert.objects.values_list("pk", "kind", "state", "detectors"))
    events, notes = AlertEvent.objects.count(), Notification.objects.filter(kind="alert").count()
    second = run_scan(DAY0, county=yiyang, config=FAST)
    assert sorted(Alert.objects.values_list("pk", "kind", "state", "detectors")) == alerts
    assert AlertEvent.objects.count() == events and Notification.objects.filter(kind="alert").count() == notes
    assert first.outcomes["created"] == len(alerts) and set(second.outcomes) == {"unchanged"}
    per_user = Notification.objects.filter(kind="alert", channel="in_app").values_list("recipient_id", "dedupe_key")
    assert len(per_user) == len(set(per_user)) == 2 * len(alerts)


def test_risk_words_from_the_configured_list(yiyang, dispatcher):
    hit = make_case(dispatcher, day=DAY0, content="如果不解决，我们就去堵路。")
    make_case(dispatcher, day=DAY0, content="路灯不亮，请维修。")
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="risk_words")
    assert "堵路" in alert.title and alert.severity == "high"
    assert list(alert.cases.values_list("pk", flat=True)) == [hit.pk]


def test_risk_word_list_is_configurable(yiyang, dispatcher):
    RiskWord.objects.filter(word="堵路").update(active=False)
    RiskWord.objects.create(word="讨薪", severity="low")
    make_case(dispatcher, day=DAY0, content="我们明天去堵路。")
    paid = make_case(dispatcher, day=DAY0, content="工地拖欠工资，农民工要讨薪。")
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="risk_words")
    assert list(alert.cases.values_list("pk", flat=True)) == [paid.pk] and alert.severity == "low"


def test_repeat_petitioner_n_cases_in_m_days(yiyang, dispatcher):
    for i in range(3):
        make_case(dispatcher, day=DAY0 - timedelta(days=10 * i), phone="138 0000 0002")
    make_case(dispatcher, day=DAY0, phone="13800000003")
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="repeat_petitioner")
    assert alert.cases.count() == 3 and alert.observed == 3 and alert.threshold == 3


def test_two_cases_in_thirty_days_are_not_a_repeat_petitioner(yiyang, dispatcher):
    make_case(dispatcher, day=DAY0, phone="13800000004")
    make_case(dispatcher, day=DAY0 - timedelta(days=5), phone="13800000004")
    make_case(dispatcher, day=DAY0 - timedelta(days=31), phone="13800000004")
    run_scan(DAY0, county=yiyang, config=FAST)
    assert "repeat_petitioner" not in kinds()


def test_same_person_by_id_number_across_phones(yiyang, dispatcher):
    for i, phone in enumerate(["13800000005", "13800000006", "13800000005"]):
        make_case(dispatcher, day=DAY0 - timedelta(days=i), phone=phone, id_number="410327198001011234")
    run_scan(DAY0, county=yiyang, config=FAST)
    assert Alert.objects.get(kind="repeat_petitioner").cases.count() == 3


def test_same_matter_again_after_review(yiyang, dispatcher, township_handler, unit):
    old = closed_case(dispatcher, township_handler, unit, DAY0 - timedelta(days=60))
    record_side_event(old, None, "request_review", {"reason": "不服"}, at=at(DAY0 - timedelta(days=50)))
    new = make_case(dispatcher, day=DAY0, phone="13700000077")
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="repeat_petitioner", detector="after_review")
    assert set(alert.cases.values_list("pk", flat=True)) == {old.pk, new.pk}


def test_group_case_of_five_or_more(yiyang, dispatcher):
    group = make_case(dispatcher, day=DAY0, group_size=5)
    make_case(dispatcher, day=DAY0, group_size=4)
    run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="group_case")
    assert list(alert.cases.values_list("pk", flat=True)) == [group.pk]


def test_case_rated_unsatisfied_more_than_once(yiyang, dispatcher, township_handler, unit):
    case = closed_case(dispatcher, township_handler, unit, DAY0 - timedelta(days=5))
    record_side_event(case, None, "rate", {"score": "unsatisfied"}, at=at(DAY0 - timedelta(days=4)))
    run_scan(DAY0 - timedelta(days=4), county=yiyang, config=FAST)
    assert "repeat_unsatisfied" not in kinds()
    record_side_event(case, None, "rate", {"score": "unsatisfied"}, at=at(DAY0))
    run_scan(DAY0, county=yiyang, config=FAST)
    assert Alert.objects.get(kind="repeat_unsatisfied").observed == 2


def test_spike_after_quiet_days_raises_a_detector_alert(yiyang, dispatcher):
    make_case(dispatcher, day=DAY0 - timedelta(days=12))
    for i in range(5):
        make_case(dispatcher, day=DAY0, phone=f"1360000000{i}")
    summary = run_scan(DAY0, county=yiyang, config=FAST)
    alert = Alert.objects.get(kind="detector")
    assert alert.detectors == ["ears_c2"] and alert.observed == 5 and alert.p_value < 1e-4
    assert alert.cases.count() == 5 and summary.insufficient["ears_c2"] > 0


def test_empty_or_short_data_gives_insufficient_data_and_no_alert(yiyang, dispatcher):
    summary = run_scan(DAY0, county=yiyang, config=ScanConfig(history_days=5, replicates=19))
    assert Alert.objects.count() == 0
    assert summary.insufficient["ears_c2"] == summary.judged["ears_c2"] > 0
    assert summary.insufficient["noufaily"] == summary.judged["noufaily"] > 0
    assert summary.insufficient["spacetime"] == summary.judged["spacetime"] > 0
    make_case(dispatcher, day=DAY0)  # one case: still too little for any detector
    summary = run_scan(DAY0, county=yiyang, config=ScanConfig(history_days=30, replicates=19))
    assert Alert.objects.count() == 0 and summary.insufficient["spacetime"] == summary.judged["spacetime"]


def test_spacetime_cluster_of_villages(yiyang, dispatcher, unit):
    from minqing.orgs.models import OrgUnit

    villages = list(OrgUnit.objects.filter(kind="village").order_by("code"))
    rng = random.Random(3)
    for day in range(28):
        for _ in range(2):
            make_case(dispatcher, unit=rng.choice(villages), day=DAY0 - timedelta(days=28 - day), phone="")
    target = first_village(HANCHENG)
    for _ in range(6):
        make_case(dispatcher, unit=target, day=DAY0, phone="")
    run_scan(DAY0, county=yiyang, config=ScanConfig(history_days=40, replicates=199))
    clustered = [a for a in Alert.objects.all() if "spacetime_permutation" in a.detectors]
    assert len(clustered) == 1
    assert clustered[0].area.path.startswith(unit(HANCHENG).path) or clustered[0].level == "county"
    assert clustered[0].cases.filter(location_unit=target).count() == 6


def test_command_prints_a_summary_line(yiyang, capsys):
    call_command("alerts_scan", "--date", DAY0.isoformat(), "--no-spacetime")
    assert "alerts_scan 2025-03-01" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday"])
def test_command_refuses_a_bad_date(yiyang, bad):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("alerts_scan", "--date", bad)
