from __future__ import annotations

from django.core.management import call_command

from minqing.cases import actions as case_actions
from minqing.dispatch.acceptance import acceptance_rates, reconcile, record_missing, record_suggestion
from minqing.dispatch.models import SuggestionRecord
from minqing.dispatch.tests.factories import category_for, register, unit_for
from minqing.orgs.models import OrgUnit
from minqing.testing.personas import LIUQUAN, PASSWORD, first_village


def _suggested(categories, units) -> dict:
    return {"categories": [{"id": c.pk} for c in categories], "units": [{"id": u.pk} for u in units]}


def _case_with_record(dispatcher, categories, units):
    case = register(dispatcher, first_village(LIUQUAN), "路灯不亮", "东街路灯不亮")
    SuggestionRecord.objects.create(case=case, suggested=_suggested(categories, units))
    return case


def test_reconciliation_computes_top1_and_top3_rates(yiyang, dispatcher):
    security, streets, water = (category_for(t) for t in ("security", "streets", "water"))
    police, city, water_unit = (unit_for(t) for t in ("security", "streets", "water"))
    first = _case_with_record(dispatcher, [security, streets], [police, city])  # chosen: top-1 both
    second = _case_with_record(dispatcher, [streets, security], [city, police])  # chosen: 2nd both
    third = _case_with_record(dispatcher, [water], [water_unit])  # chosen: not suggested
    for case in (first, second, third):
        case_actions.accept_case(case, dispatcher, category=security)
        case_actions.assign_case(case, dispatcher, lead_unit=police)

    assert reconcile() == {"pending": 3, "category": 3, "unit": 3}
    records = {r.case_id: r for r in SuggestionRecord.objects.all()}
    assert (records[first.pk].accepted_category, records[first.pk].category_rank) == (True, 1)
    assert (records[second.pk].accepted_unit, records[second.pk].unit_rank) == (False, 2)
    assert (records[third.pk].accepted_category, records[third.pk].category_rank) == (False, 0)
    assert records[third.pk].chosen_unit == police

    total, months = acceptance_rates(SuggestionRecord.objects.all())
    assert (total.category_n, total.category_top1_rate, total.category_top3_rate) == (3, 0.3333, 0.6667)
    assert (total.unit_n, total.unit_top1_rate, total.unit_top3_rate) == (3, 0.3333, 0.6667)
    assert len(months) == 1 and months[0].category_n == 3

    assert reconcile() == {"pending": 0, "category": 0, "unit": 0}  # idempotent


def test_accepted_but_not_yet_assigned_keeps_the_unit_open(yiyang, dispatcher):
    case = _case_with_record(dispatcher, [category_for("security")], [unit_for("security")])
    case_actions.accept_case(case, dispatcher, category=category_for("security"))
    reconcile()
    record = SuggestionRecord.objects.get()
    assert (record.accepted_category, record.accepted_unit, record.chosen_unit) == (True, None, None)
    case_actions.assign_case(case, dispatcher, lead_unit=unit_for("water"))
    reconcile()
    record.refresh_from_db()
    assert (record.accepted_unit, record.unit_rank) == (False, 0)


def test_suggestions_are_recorded_once_for_submitted_cases_only(yiyang, models_dir, dispatcher):
    waiting = register(dispatcher, first_village(LIUQUAN), "路灯不亮", "东街路灯不亮")
    accepted = register(dispatcher, first_village(LIUQUAN), "机井坏了", "浇地没有水")
    accepted = case_actions.accept_case(accepted, dispatcher, category=category_for("water"))
    assert record_missing() == 1
    assert record_missing() == 0
    record = SuggestionRecord.objects.get()
    assert record.case == waiting and set(record.suggested) == {"categories", "units", "models"}
    assert record_suggestion(waiting) == record
    assert record_suggestion(accepted) is None


def test_reconcile_command_prints_counts(yiyang, models_dir, dispatcher, capsys):
    register(dispatcher, first_village(LIUQUAN), "路灯不亮", "东街路灯不亮")
    call_command("dispatch_reconcile")
    assert '"recorded": 1' in capsys.readouterr().out


def test_acceptance_page_shows_rates(client, yiyang, dispatcher):
    case = _case_with_record(dispatcher, [category_for("security")], [unit_for("security")])
    case_actions.accept_case(case, dispatcher, category=category_for("security"))
    case_actions.assign_case(case, dispatcher, lead_unit=OrgUnit.objects.get(code=LIUQUAN))
    reconcile()
    client.login(username=dispatcher.username, password=PASSWORD)
    body = client.get("/dispatch/acceptance/").content.decode()
    assert "分派建议采纳率" in body and "100%" in body and "0%" in body and "<meter" in body


def test_acceptance_page_counts_only_visible_cases(client, yiyang, dispatcher, other_township_handler):
    case = _case_with_record(dispatcher, [category_for("security")], [unit_for("security")])
    case_actions.accept_case(case, dispatcher, category=category_for("security"))
    reconcile()
    client.login(username=other_township_handler.username, password=PASSWORD)
    assert "暂无数据" in client.get("/dispatch/acceptance/").content.decode()
