from __future__ import annotations

import pytest
from django.core.management import call_command

from minqing.core.errors import Conflict, DomainError, NotPermitted
from minqing.feedback import actions
from minqing.feedback.models import (
    CallOutcome,
    CallState,
    FollowUpCall,
    FollowUpRule,
    Questionnaire,
    RuleKind,
    SampleReason,
    Score,
)
from minqing.feedback.seed import DEFAULT_QUESTIONS

from .conftest import snapshot

GOOD_ANSWERS = {"contacted": "yes", "resolved": "是", "satisfaction": "基本满意", "comment": "  处理及时  "}


def set_share(share: float) -> None:
    FollowUpRule.objects.filter(kind=RuleKind.SHARE_OF_CLOSED).update(share=share)


# --- Seed data ------------------------------------------------------------------------------------


def test_defaults_are_seeded(db):
    rules = {r.kind: (r.share, r.active) for r in FollowUpRule.objects.all()}
    assert set(rules) == set(RuleKind.values) and all(active for _, active in rules.values())
    questionnaire = actions.active_questionnaire()
    assert [q["key"] for q in questionnaire.questions] == ["contacted", "resolved", "satisfaction", "comment"]
    assert questionnaire.questions[2]["choices"] == ["满意", "基本满意", "不满意"]


# --- Sampling ---------------------------------------------------------------------------------------


def test_every_unsatisfied_and_every_group_case_is_sampled(make_closed, citizen):
    set_share(0)
    plain = make_closed()
    group = make_closed(group_size=6)
    unhappy = make_closed(citizen=citizen)
    actions.rate_case(unhappy, citizen, score=Score.UNSATISFIED, reason="没解决", channel="web")
    result = actions.sample_follow_ups()
    calls = {c.case_id: (c.reason, c.round) for c in FollowUpCall.objects.all()}
    assert calls == {group.pk: (SampleReason.GROUP_CASE, 0), unhappy.pk: (SampleReason.UNSATISFIED, 0)}
    assert plain.pk not in calls and result.total == 2


def test_sampling_twice_adds_nothing(make_closed, citizen):
    set_share(1)
    make_closed()
    make_closed(group_size=9)
    first = actions.sample_follow_ups()
    call_command("feedback_sample")
    second = actions.sample_follow_ups()
    assert first.total == 2 and second.total == 0 and FollowUpCall.objects.count() == 2


def test_share_sampling_is_deterministic_and_close_to_the_share():
    share = 0.2
    picked = [case_id for case_id in range(1, 20001) if actions.in_share(case_id, 0, share)]
    assert 0.19 < len(picked) / 20000 < 0.21
    assert picked == [case_id for case_id in range(1, 20001) if actions.in_share(case_id, 0, share)]
    assert not any(actions.in_share(case_id, 0, 0.0) for case_id in range(1, 1000))
    assert all(actions.in_share(case_id, 0, 1.0) for case_id in range(1, 1000))


def test_share_sampling_applies_the_hash(make_closed):
    set_share(0.5)
    cases = [make_closed() for _ in range(6)]
    actions.sample_follow_ups()
    expected = {c.pk for c in cases if actions.in_share(c.pk, 0, 0.5)}
    assert set(FollowUpCall.objects.values_list("case_id", flat=True)) == expected


def test_inactive_rules_sample_nothing(make_closed):
    FollowUpRule.objects.update(active=False)
    make_closed(group_size=10)
    assert actions.sample_follow_ups().total == 0


def test_no_active_questionnaire_skips_sampling(make_closed):
    Questionnaire.objects.update(active=False)
    make_closed(group_size=10)
    result = actions.sample_follow_ups()
    assert result.total == 0 and result.skipped_reason


# --- Recording calls ---------------------------------------------------------------------------------


@pytest.fixture
def call(make_closed):
    make_closed(group_size=8)
    actions.sample_follow_ups()
    return FollowUpCall.objects.get()


def test_record_call_reached_stores_clean_answers_and_satisfaction(call, inspector):
    done = actions.record_call(call, inspector, CallOutcome.REACHED, GOOD_ANSWERS)
    assert done.state == CallState.DONE and done.caller == inspector and done.attempts == 1
    assert done.answers == {"contacted": "yes", "resolved": "yes", "satisfaction": "基本满意", "comment": "处理及时"}
    assert done.satisfaction == Score.BASICALLY_SATISFIED


@pytest.mark.parametrize(
    "answers, fragment",
    [
        ({**GOOD_ANSWERS, "satisfaction": "非常满意"}, "满意度"),
        ({k: v for k, v in GOOD_ANSWERS.items() if k != "resolved"}, "是否解决"),
        ({**GOOD_ANSWERS, "contacted": "maybe"}, "是或否"),
        ({**GOOD_ANSWERS, "extra": "x"}, "未知的问题"),
    ],
)
def test_record_call_with_invalid_answers_is_refused(call, inspector, answers, fragment):
    before = snapshot(call.case)
    with pytest.raises(DomainError) as refused:
        actions.record_call(call, inspector, CallOutcome.REACHED, answers)
    assert refused.value.code == "invalid_answers" and fragment in refused.value.message
    call.refresh_from_db()
    assert call.state == CallState.QUEUED and call.attempts == 0 and call.answers == {}
    assert snapshot(call.case) == before


@pytest.mark.parametrize("who", ["dispatcher", "county_manager", "township_handler", "citizen"])
def test_record_call_by_non_inspector_is_refused(request, call, who):
    with pytest.raises(NotPermitted):
        actions.record_call(call, request.getfixturevalue(who), CallOutcome.REACHED, GOOD_ANSWERS)
    call.refresh_from_db()
    assert call.state == CallState.QUEUED and call.attempts == 0 and call.caller is None


def test_record_call_outside_the_inspectors_remit_is_refused(call):
    from minqing.accounts.models import Role
    from minqing.testing.personas import HANCHENG, make_staff

    township_inspector = make_staff("hancheng_inspector", Role.INSPECTOR, HANCHENG)
    with pytest.raises(NotPermitted):
        actions.record_call(call, township_inspector, CallOutcome.REACHED, GOOD_ANSWERS)
    call.refresh_from_db()
    assert call.state == CallState.QUEUED and call.attempts == 0


def test_not_reached_stays_queued_until_the_third_attempt(call, inspector):
    for attempt in (1, 2):
        call = actions.record_call(call, inspector, CallOutcome.NOT_REACHED, {})
        assert call.state == CallState.QUEUED and call.attempts == attempt
    call = actions.record_call(call, inspector, CallOutcome.NOT_REACHED, {"comment": "ignored"})
    assert call.state == CallState.DONE and call.attempts == 3 and call.answers == {}
    with pytest.raises(Conflict):
        actions.record_call(call, inspector, CallOutcome.REACHED, GOOD_ANSWERS)


def test_refused_call_is_done_without_answers(call, inspector):
    call = actions.record_call(call, inspector, CallOutcome.REFUSED, GOOD_ANSWERS)
    assert call.state == CallState.DONE and call.outcome == "refused" and call.satisfaction == ""


def test_unsatisfied_call_tells_county_managers(call, inspector, county_manager):
    from minqing.notify.models import Notification

    actions.record_call(call, inspector, CallOutcome.REACHED, {**GOOD_ANSWERS, "satisfaction": "不满意"})
    assert Notification.objects.filter(kind="follow_up_unsatisfied", recipient=county_manager).exists()


def test_clean_answers_accepts_the_seeded_questions():
    assert actions.clean_answers(DEFAULT_QUESTIONS, {"contacted": True, "resolved": False, "satisfaction": "满意"}) == {
        "contacted": "yes",
        "resolved": "no",
        "satisfaction": "满意",
    }
