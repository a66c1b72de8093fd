from __future__ import annotations

import pytest

from minqing.cases import actions
from minqing.cases.models import Case, CaseEvent, CaseState, Outcome
from minqing.core.errors import InvalidTransition, NotPermitted
from minqing.notify.models import Notification
from minqing.testing.personas import LIUQUAN


def test_full_flow_reaches_closed_with_one_event_per_step(registered, dispatcher, township_handler, unit):
    case = actions.accept_case(registered, dispatcher)
    assert case.handle_due and case.handle_due == case.handle_due_original
    case = actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))
    assert Notification.objects.filter(kind="assigned", recipient=township_handler).exists()
    case = actions.sign_for_case(case, township_handler)
    case = actions.reply_case(case, township_handler, outcome=Outcome.SUPPORTED, reply_text="已清理道路，恢复通行。")
    case = actions.close_case(case, dispatcher)
    assert case.state == CaseState.CLOSED
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [
        "register",
        "accept",
        "assign",
        "sign_for",
        "reply",
        "close",
    ]


def test_reference_numbers_are_sequential_per_year(new_case, dispatcher):
    first = actions.register_case(new_case(), dispatcher)
    second = actions.register_case(new_case(), dispatcher)
    assert first.reference[:7] == second.reference[:7]
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1


def test_wrong_state_action_is_refused_and_changes_nothing(registered, township_handler, dispatcher):
    before = Case.objects.get(pk=registered.pk)
    with pytest.raises(InvalidTransition):
        actions.close_case(registered, dispatcher)
    after = Case.objects.get(pk=registered.pk)
    assert (after.state, after.version, after.event_count) == (before.state, before.version, before.event_count)


def test_handler_cannot_accept_and_nothing_changes(registered, township_handler):
    with pytest.raises(NotPermitted):
        actions.accept_case(registered, township_handler)
    assert Case.objects.get(pk=registered.pk).state == CaseState.SUBMITTED
    assert CaseEvent.objects.filter(case=registered).count() == 1


def test_party_phone_is_encrypted_at_rest(registered):
    party = registered.parties.get()
    assert "13912345678" not in party.phone_encrypted
    assert party.phone == "13912345678"
    assert party.masked_phone == "139****5678"


def test_merged_reference_resolves_to_the_surviving_case(new_case, dispatcher):
    from minqing.cases.selectors import cases_visible_to, resolve_reference

    kept = actions.register_case(new_case(), dispatcher)
    folded = actions.register_case(new_case(), dispatcher)
    actions.merge_case(folded, dispatcher, into=kept)
    assert resolve_reference(cases_visible_to(dispatcher), folded.reference) == kept
    assert resolve_reference(cases_visible_to(dispatcher), kept.reference) == kept
    assert resolve_reference(cases_visible_to(dispatcher), "YY1999-000001") is None
