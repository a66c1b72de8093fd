from __future__ import annotations

import pytest

from minqing.accounts.models import Membership, Role
from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, CaseState, Category
from minqing.cases.selectors import cases_visible_to, resolve_reference
from minqing.core.errors import Conflict
from minqing.dispatch.actions import link_cases, merge_cases
from minqing.dispatch.models import CaseLink, SuggestionRecord
from minqing.dispatch.related import distance_metres, find_related
from minqing.dispatch.tests.factories import register
from minqing.notify.models import Notification
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.testing.personas import HANCHENG, LIUQUAN, PASSWORD, first_village

LIGHTS = ("东街路灯不亮", "东街的路灯已经坏了一个月，晚上出行很不方便，希望尽快修好。")
LIGHTS_AGAIN = ("东街路灯坏了", "东街路灯坏了一个月了，晚上出行不方便，请尽快修复路灯。")
WATER = ("机井坏了", "西村的机井坏了，浇地没有水，麦子快旱死了。")


@pytest.fixture
def village(yiyang) -> OrgUnit:
    return first_village(LIUQUAN)


def _references(related) -> list[str]:
    return [r.case.reference for r in related]


def test_similar_text_is_found_and_dissimilar_is_not(dispatcher, village):
    original = register(dispatcher, village, *LIGHTS)
    unrelated = register(dispatcher, OrgUnit.objects.get(code=HANCHENG), *WATER)
    related = find_related(dispatcher, LIGHTS_AGAIN[0] + LIGHTS_AGAIN[1], township=village.parent)
    assert _references(related) == [original.reference]
    assert related[0].reasons[0].startswith("内容相似")
    assert unrelated.reference not in _references(related)


def test_same_phone_is_found_whatever_the_text(dispatcher, village):
    earlier = register(dispatcher, OrgUnit.objects.get(code=HANCHENG), *WATER, phone="13700001234")
    new = register(dispatcher, village, *LIGHTS, phone="137 0000 1234")
    related = find_related(dispatcher, new)
    assert _references(related) == [earlier.reference]
    assert related[0].reasons == ["同一信访人（电话）"]


def test_same_village_and_nearby_place_are_found(dispatcher, village):
    near = register(dispatcher, village, *WATER, latitude=34.4680, longitude=112.0750)
    far = register(dispatcher, OrgUnit.objects.get(code=HANCHENG), *WATER, latitude=34.48, longitude=111.985)
    related = find_related(dispatcher, "无关的文字", village=village, latitude=34.4690, longitude=112.0752)
    assert _references(related) == [near.reference]
    assert set(related[0].reasons) == {f"同一行政村（{village.name}）", "地点相近（约113米）"}
    assert far.reference not in _references(related)
    assert 100 < distance_metres(34.4680, 112.0750, 34.4690, 112.0752) < 120


def test_closed_declined_and_merged_cases_are_left_out(dispatcher, village):
    declined = register(dispatcher, village, *LIGHTS)
    case_actions.decline_case(declined, dispatcher, reason="不属于信访事项")
    target = register(dispatcher, village, *WATER)
    merged = register(dispatcher, village, *LIGHTS)
    case_actions.merge_case(merged, dispatcher, into=target)
    assert find_related(dispatcher, "".join(LIGHTS_AGAIN), township=village.parent) == []


def test_cases_of_another_county_are_left_out(dispatcher, village):
    other_county = OrgUnit.objects.create(code="410328", name="洛宁县", kind=UnitKind.COUNTY)
    other_township = OrgUnit.objects.create(
        code="410328100", name="城关镇", kind=UnitKind.TOWNSHIP, parent=other_county
    )
    Membership.objects.create(user=dispatcher, unit=other_county, role=Role.DISPATCHER)
    elsewhere = register(dispatcher, other_township, *LIGHTS, phone="13700009999")
    here = register(dispatcher, village, *LIGHTS_AGAIN, phone="13700009999")
    assert elsewhere in cases_visible_to(dispatcher)
    assert find_related(dispatcher, here) == []


def test_only_cases_the_user_may_see_are_offered(dispatcher, other_township_handler, village):
    register(dispatcher, village, *LIGHTS)
    hancheng = OrgUnit.objects.get(code=HANCHENG)
    assert find_related(other_township_handler, "".join(LIGHTS_AGAIN), township=hancheng) == []


def test_link_cases_records_link_and_a_link_event_on_both(dispatcher, village):
    a, b = register(dispatcher, village, *LIGHTS), register(dispatcher, village, *LIGHTS_AGAIN)
    link = link_cases(b, a, dispatcher, CaseLink.Kind.DUPLICATE)
    assert (link.case_a_id, link.case_b_id, link.kind) == (a.pk, b.pk, "duplicate")
    for case, other in ((a, b), (b, a)):
        event = CaseEvent.objects.filter(case=case).last()
        assert (event.action, event.payload["link"], event.payload["link_kind"]) == (
            "link",
            other.reference,
            "duplicate",
        )
    with pytest.raises(Conflict):
        link_cases(a, b, dispatcher)


def test_link_by_unit_handler_outside_is_refused_and_nothing_is_written(dispatcher, other_township_handler, village):
    from minqing.core.errors import NotPermitted

    a, b = register(dispatcher, village, *LIGHTS), register(dispatcher, village, *LIGHTS_AGAIN)
    with pytest.raises(NotPermitted):
        link_cases(a, b, other_township_handler)
    assert not CaseLink.objects.exists()
    assert CaseEvent.objects.filter(action="link").count() == 0


def test_merge_tells_the_petitioner_and_keeps_the_reference(dispatcher, village):
    target = register(dispatcher, village, *LIGHTS, phone="13700001111")
    duplicate = register(dispatcher, village, *LIGHTS_AGAIN, phone="13700002222", name="李四")
    merged = merge_cases(duplicate, target, dispatcher)
    assert merged.state == CaseState.MERGED and merged.merged_into_id == target.pk
    sms = Notification.objects.get(kind="case_merged", channel="sms")
    assert sms.address == "13700002222"
    assert target.reference in sms.title and duplicate.reference in sms.title
    assert resolve_reference(cases_visible_to(dispatcher), duplicate.reference) == target
    assert CaseLink.objects.get().kind == CaseLink.Kind.DUPLICATE


def _panel(client, user, case: Case) -> str:
    """The related-cases panel of the case page (panels load lazily, one URL per slot)."""
    from minqing.cases.selectors import CASE_PANELS
    from minqing.dispatch.apps import _related_panel as related_panel

    client.login(username=user.username, password=PASSWORD)
    response = client.get(f"/cases/{case.pk}/panels/{CASE_PANELS.index(related_panel)}/")
    assert response.status_code == 200
    return response.content.decode()


def test_case_page_panel_lists_related_cases_with_link_and_merge(client, dispatcher, village):
    original = register(dispatcher, village, *LIGHTS)
    new = register(dispatcher, village, *LIGHTS_AGAIN)
    body = _panel(client, dispatcher, new)
    assert "相似、关联案件" in body and original.reference in body
    assert f"/dispatch/cases/{new.pk}/merge/{original.pk}/" in body
    assert f"/dispatch/cases/{new.pk}/link/{original.pk}/" in body
    assert "智能分派建议" in body  # a new case: the suggestions are shown (and recorded)
    assert SuggestionRecord.objects.filter(case=new).count() == 1


def test_case_panel_is_empty_for_unit_handlers(client, dispatcher, township_handler, village):
    register(dispatcher, village, *LIGHTS)
    new = register(dispatcher, village, *LIGHTS_AGAIN)
    new = case_actions.accept_case(new, dispatcher, category=Category.objects.filter(parent__isnull=False).first())
    case_actions.assign_case(new, dispatcher, lead_unit=village.parent)
    assert _panel(client, township_handler, new) == ""


def test_merge_through_the_panel_queues_the_sms(client, dispatcher, village):
    original = register(dispatcher, village, *LIGHTS, phone="13700001111")
    new = register(dispatcher, village, *LIGHTS_AGAIN, phone="13700003333")
    client.login(username=dispatcher.username, password=PASSWORD)
    response = client.post(f"/dispatch/cases/{new.pk}/merge/{original.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{original.pk}/"
    assert Case.objects.get(pk=new.pk).state == CaseState.MERGED
    assert Notification.objects.filter(kind="case_merged", channel="sms", address="13700003333").count() == 1


def test_link_through_the_panel(client, dispatcher, village):
    original, new = register(dispatcher, village, *LIGHTS), register(dispatcher, village, *LIGHTS_AGAIN)
    client.login(username=dispatcher.username, password=PASSWORD)
    response = client.post(f"/dispatch/cases/{new.pk}/link/{original.pk}/", {"kind": "duplicate"})
    assert response.status_code == 302
    assert CaseLink.objects.filter(case_a=original, case_b=new, kind="duplicate").exists()


def test_merge_by_someone_outside_the_remit_is_404_and_nothing_changes(
    client, dispatcher, other_township_handler, village
):
    original, new = register(dispatcher, village, *LIGHTS), register(dispatcher, village, *LIGHTS_AGAIN)
    client.login(username=other_township_handler.username, password=PASSWORD)
    assert client.post(f"/dispatch/cases/{new.pk}/merge/{original.pk}/").status_code == 404
    assert Case.objects.get(pk=new.pk).state == CaseState.SUBMITTED
    assert not Notification.objects.filter(kind="case_merged").exists()
    assert not CaseLink.objects.exists()
