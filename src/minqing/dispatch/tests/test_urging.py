from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import Membership, Role
from minqing.cases import actions as case_actions
from minqing.cases.models import Case, CaseEvent, Category, Channel
from minqing.core.errors import Conflict, DomainError, NotPermitted
from minqing.dispatch import actions
from minqing.dispatch.models import SupervisionOrder, Urging
from minqing.dispatch.selectors import supervision_board
from minqing.notify.models import Notification
from minqing.testing.personas import HANCHENG, LIUQUAN, PASSWORD, POLICE, first_village, make_staff


@pytest.fixture
def case(yiyang, dispatcher, township_handler, unit) -> Case:
    """An in-progress case led by 柳泉镇."""
    data = case_actions.NewCase(
        channel=Channel.PHONE,
        title="灌溉渠堵塞",
        content="村西灌溉渠被垃圾堵塞，农田无法浇灌。",
        location_unit=first_village(LIUQUAN),
        category=Category.objects.filter(parent__isnull=False).order_by("id").first(),
        parties=[case_actions.PartyInput(name="李二")],
    )
    case = case_actions.register_case(data, dispatcher)
    case = case_actions.accept_case(case, dispatcher)
    case = case_actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))
    return case_actions.sign_for_case(case, township_handler)


@pytest.fixture
def other_township_manager(yiyang):
    return make_staff("hancheng_manager", Role.UNIT_MANAGER, HANCHENG)


@pytest.fixture
def department_manager(yiyang):
    return make_staff("police_manager", Role.UNIT_MANAGER, POLICE)


def _events(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))


def _due_in(days: int):
    return timezone.now() + timedelta(days=days)


def test_urging_notifies_lead_unit_staff_once(case, dispatcher, township_handler, township_manager, unit):
    # The manager also holds the handler role: still one message each.
    Membership.objects.create(user=township_manager, unit=unit(LIUQUAN), role=Role.HANDLER)
    urging = actions.urge(case, dispatcher, "请于本周内处理完毕")
    assert (urging.case_id, urging.issued_by, urging.note) == (case.pk, dispatcher, "请于本周内处理完毕")
    in_app = Notification.objects.filter(kind="urged", channel="in_app")
    assert sorted(in_app.values_list("recipient__username", flat=True)) == sorted(
        [township_handler.username, township_manager.username]
    )
    assert _events(case)[-1] == "urge"
    assert CaseEvent.objects.filter(case=case).last().payload["urging"] == urging.pk


def test_second_urging_is_a_new_reminder(case, dispatcher, township_handler):
    actions.urge(case, dispatcher, "第一次催办")
    actions.urge(case, dispatcher, "第二次催办")
    assert Notification.objects.filter(kind="urged", recipient=township_handler).count() == 2


def test_unit_manager_urges_own_unit_case(case, township_manager):
    actions.urge(case, township_manager, "抓紧办理")
    assert Urging.objects.filter(case=case, issued_by=township_manager).exists()


def test_department_manager_cannot_urge_township_case_and_nothing_changes(case, department_manager):
    before = Case.objects.get(pk=case.pk)
    with pytest.raises(NotPermitted):
        actions.urge(case, department_manager, "请办理")
    after = Case.objects.get(pk=case.pk)
    assert (after.version, after.event_count) == (before.version, before.event_count)
    assert not Urging.objects.exists()
    assert not Notification.objects.filter(kind="urged").exists()


def test_handler_cannot_urge(case, township_handler):
    with pytest.raises(NotPermitted):
        actions.urge(case, township_handler, "请办理")
    assert not Urging.objects.exists()


def test_empty_note_refused(case, dispatcher):
    with pytest.raises(DomainError):
        actions.urge(case, dispatcher, "  ")
    assert not Urging.objects.exists()


def test_supervision_on_board_of_county_and_unit_manager_not_other_township(
    case, county_manager, township_manager, other_township_manager, township_handler
):
    order = actions.issue_supervision(case, county_manager, "限期回复处理进展", _due_in(3))
    assert order.issuing_level == SupervisionOrder.Level.COUNTY
    assert order in supervision_board(county_manager)
    assert order in supervision_board(township_manager)
    assert order in supervision_board(township_handler)
    assert order not in supervision_board(other_township_manager)
    assert _events(case)[-1] == "supervise"
    assert Notification.objects.filter(kind="supervised", recipient=township_handler).exists()


def test_unit_manager_issues_unit_level_supervision(case, township_manager):
    order = actions.issue_supervision(case, township_manager, "请三日内回复", _due_in(3))
    assert order.issuing_level == SupervisionOrder.Level.UNIT


@pytest.mark.parametrize("who", ["dispatcher", "department_manager", "other_township_manager", "township_handler"])
def test_supervision_refused_for_others_and_nothing_changes(case, request, who):
    before = Case.objects.get(pk=case.pk).event_count
    with pytest.raises(NotPermitted):
        actions.issue_supervision(case, request.getfixturevalue(who), "督办", _due_in(3))
    assert not SupervisionOrder.objects.exists()
    assert Case.objects.get(pk=case.pk).event_count == before


def test_reply_due_in_the_past_refused(case, county_manager):
    with pytest.raises(DomainError):
        actions.issue_supervision(case, county_manager, "督办", timezone.now() - timedelta(hours=1))
    assert not SupervisionOrder.objects.exists()


def test_answer_then_close_takes_order_off_the_board(case, county_manager, township_handler, township_manager):
    order = actions.issue_supervision(case, county_manager, "限期回复", _due_in(3))
    with pytest.raises(NotPermitted):
        actions.answer_supervision(order, county_manager, "已处理")
    order = actions.answer_supervision(order, township_handler, "已组织清理，预计明日完成")
    assert (order.state, order.answered_by) == (SupervisionOrder.State.ANSWERED, township_handler)
    assert Notification.objects.filter(kind="supervision_answered", recipient=county_manager).exists()
    with pytest.raises(NotPermitted):
        actions.close_supervision(order, township_manager)  # county-level orders are closed by the county
    order = actions.close_supervision(order, county_manager)
    assert order.state == SupervisionOrder.State.CLOSED
    assert order not in supervision_board(county_manager)
    with pytest.raises(Conflict):
        actions.close_supervision(order, county_manager)


def test_supervision_board_page_lists_orders(client, case, county_manager, settings):
    actions.issue_supervision(case, county_manager, "限期回复处理进展", _due_in(3))
    assert client.login(username=county_manager.username, password=PASSWORD)
    page = client.get(reverse("dispatch:supervision"))
    assert page.status_code == 200
    assert case.reference in page.content.decode() and "督办台" in page.content.decode()


def test_urge_form_posts_through_the_action(client, case, dispatcher, settings):
    assert client.login(username=dispatcher.username, password=PASSWORD)
    response = client.post(reverse("dispatch:urge", args=[case.pk]), {"note": "请尽快"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "已催办" in response.content.decode()
    assert Urging.objects.filter(case=case).count() == 1
