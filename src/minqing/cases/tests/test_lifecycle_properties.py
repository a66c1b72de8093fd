"""Property test: whatever sequence of verbs and actors, only the table's transitions happen."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.cases import actions
from minqing.cases.audit import verify_case_chains
from minqing.cases.lifecycle import TRANSITIONS, actor_kinds
from minqing.cases.models import Case, CaseEvent, Outcome
from minqing.core.errors import DomainError
from minqing.testing.personas import LIUQUAN, POLICE

VERBS = {
    "accept": lambda c, u, units: actions.accept_case(c, u),
    "decline": lambda c, u, units: actions.decline_case(c, u, reason="不属于受理范围"),
    "assign": lambda c, u, units: actions.assign_case(c, u, lead_unit=units[LIUQUAN], co_units=[units[POLICE]]),
    "sign_for": lambda c, u, units: actions.sign_for_case(c, u),
    "return": lambda c, u, units: actions.return_case(c, u, reason="不属于本单位职责"),
    "reassign": lambda c, u, units: actions.reassign_case(c, u, lead_unit=units[LIUQUAN]),
    "reply": lambda c, u, units: actions.reply_case(c, u, outcome=Outcome.EXPLAINED, reply_text="已向当事人解释政策。"),
    "close": lambda c, u, units: actions.close_case(c, u),
    "send_back": lambda c, u, units: actions.send_back_case(c, u, reason="答复不完整"),
    "reopen": lambda c, u, units: actions.reopen_case(c, u, reason="群众不满意"),
    "add_note": lambda c, u, units: actions.add_note(c, u, text="电话联系当事人"),
    "add_mediation_record": lambda c, u, units: actions.add_mediation_record(c, u, summary="双方达成一致"),
}
PERSONAS = ["dispatcher", "township_handler", "department_handler", "county_manager", "inspector", "outsider"]


@pytest.fixture
def cast(dispatcher, township_handler, department_handler, county_manager, inspector, outsider, unit):
    people = dict(
        zip(
            PERSONAS,
            [dispatcher, township_handler, department_handler, county_manager, inspector, outsider],
            strict=True,
        )
    )
    return people, {LIUQUAN: unit(LIUQUAN), POLICE: unit(POLICE)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(sorted(VERBS)), st.sampled_from(PERSONAS)), max_size=14))
def test_only_table_transitions_happen(steps, new_case, cast):
    people, units = cast
    case = actions.register_case(new_case(), people["dispatcher"])
    for verb, who in steps:
        before = Case.objects.get(pk=case.pk)
        user = people[who]
        allowed = before.state in TRANSITIONS[verb].sources and actor_kinds(user, before) & TRANSITIONS[verb].actors
        try:
            VERBS[verb](case.pk, user, units)
            succeeded = True
        except DomainError:
            succeeded = False
        after = Case.objects.get(pk=case.pk)
        if not allowed:
            assert not succeeded
        if succeeded:
            target = TRANSITIONS[verb].target or before.state
            assert after.state == target
            assert after.event_count == before.event_count + 1
        else:
            assert (after.state, after.version, after.event_count) == (before.state, before.version, before.event_count)
    assert CaseEvent.objects.filter(case=case).count() == Case.objects.get(pk=case.pk).event_count
    assert verify_case_chains() == []
