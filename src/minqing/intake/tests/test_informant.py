from __future__ import annotations

import pytest
from django.test import Client

from minqing.cases import actions
from minqing.cases.models import Case, CaseState, Channel
from minqing.intake.tests.helpers import citizen_case, take_to_reply
from minqing.notify.actions import deliver_due
from minqing.testing.personas import HANCHENG, LIUQUAN, first_village

VILLAGER_PHONE = "13598765432"


@pytest.fixture
def informant_client(informant) -> Client:
    client = Client()
    client.force_login(informant)
    return client


def informant_form(level2, village, **overrides) -> dict:
    data = {
        "villager_name": "赵大爷",
        "villager_phone": VILLAGER_PHONE,
        "category": str(level2.pk),
        "place": village.code,
        "content": "赵大爷家门前排水沟堵塞，雨天积水进院。",
    }
    data.update(overrides)
    return data


def test_informant_submits_for_villager_who_gets_sms_receipt(informant_client, informant, level2, village, sms_outbox):
    response = informant_client.post("/m/informant/report/", informant_form(level2, village))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/m/cases/{case.reference}/receipt/"
    assert case.channel == Channel.INFORMANT and case.submitted_by == informant and case.citizen is None
    assert case.location_unit == village and case.parties.get().name == "赵大爷"
    deliver_due()
    receipts = [m for m in sms_outbox if m.phone == VILLAGER_PHONE]
    assert len(receipts) == 1
    assert case.reference in receipts[0].text and case.query_code in receipts[0].text
    assert informant_client.get(response["Location"]).status_code == 200


def test_informant_may_report_for_the_township_but_not_elsewhere(informant_client, level2, village, unit):
    response = informant_client.post("/m/informant/report/", informant_form(level2, village, place=village.parent.code))
    assert response.status_code == 302
    assert Case.objects.get().location_unit == village.parent
    elsewhere = first_village(HANCHENG)
    response = informant_client.post("/m/informant/report/", informant_form(level2, village, place=elsewhere.code))
    assert response.status_code == 400
    assert Case.objects.count() == 1


def test_informant_report_requires_villager_phone(informant_client, level2, village, sms_outbox):
    response = informant_client.post("/m/informant/report/", informant_form(level2, village, villager_phone=""))
    assert response.status_code == 400
    assert Case.objects.count() == 0 and sms_outbox == []


def test_informant_pages_refuse_citizens_and_other_staff(client, citizen, township_handler, level2, village):
    client.force_login(citizen)
    assert client.get("/m/informant/").status_code == 403
    client.force_login(township_handler)
    response = client.post("/m/informant/report/", informant_form(level2, village))
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_informant_sees_village_cases_not_another_villages(informant_client, citizen, village):
    own_village = citizen_case(citizen, village, title="本村的诉求")
    elsewhere = citizen_case(citizen, first_village(HANCHENG), title="外村的诉求")
    html = informant_client.get("/m/informant/").content.decode()
    assert own_village.reference in html and "本村的诉求" in html
    assert elsewhere.reference not in html
    assert informant_client.get(f"/m/cases/{own_village.reference}/").status_code == 200
    assert informant_client.get(f"/m/cases/{elsewhere.reference}/").status_code == 404


def test_informant_counts(informant_client, informant, level2, village, dispatcher, township_handler, unit):
    def filed(title: str) -> Case:
        return actions.register_case(
            actions.NewCase(
                channel=Channel.INFORMANT,
                title=title,
                content=title,
                location_unit=village,
                category=level2,
                parties=[actions.PartyInput(name="村民", phone=VILLAGER_PHONE)],
            ),
            informant,
        )

    html = informant_client.get("/m/informant/").content.decode()
    assert 'id="count-reports">0<' in html and 'id="count-satisfaction">—<' in html
    cases = [filed(f"上报{n}") for n in range(4)]
    for case in cases[:3]:
        take_to_reply(case, dispatcher, township_handler, unit(LIUQUAN))
        actions.close_case(case, dispatcher)
    # Ratings as the feedback app records them: `rate` events with a score.
    actions.record_side_event(cases[0], None, "rate", {"score": "satisfied"})
    actions.record_side_event(cases[1], None, "rate", {"score": "unsatisfied"})
    actions.record_side_event(cases[1], None, "rate", {"score": "basically_satisfied"})  # the latest counts
    actions.record_side_event(cases[2], None, "rate", {"score": "unsatisfied"})
    html = informant_client.get("/m/informant/").content.decode()
    assert 'id="count-reports">4<' in html
    assert 'id="count-closed">3<' in html
    assert 'id="count-satisfaction">67%<' in html and "3件已评价" in html
    assert Case.objects.filter(state=CaseState.CLOSED).count() == 3
