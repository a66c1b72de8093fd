"""Two officers act on the same case at once: exactly one wins, the other is told why."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from minqing.cases import actions
from minqing.cases.models import Case, CaseEvent, CaseState
from minqing.core.errors import DomainError
from minqing.testing.personas import CENTRE, LIUQUAN, make_staff


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except DomainError as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_accept_and_decline_exactly_one_wins(new_case, dispatcher):
    second_dispatcher = make_staff("dispatcher2", "dispatcher", CENTRE)
    case = actions.register_case(new_case(), dispatcher)
    outcomes = _race(
        lambda: actions.accept_case(case.pk, dispatcher),
        lambda: actions.decline_case(case.pk, second_dispatcher, reason="不属于信访事项"),
    )
    winners = [o for o in outcomes if isinstance(o, Case)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].status_code == 409 and "不能执行" in losers[0].message
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.state == winners[0].state
    assert fresh.event_count == 2 == CaseEvent.objects.filter(case=case).count()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_for_by_two_handlers_records_one_signature(new_case, dispatcher, unit):
    first = make_staff("h1", "handler", LIUQUAN)
    second = make_staff("h2", "handler", LIUQUAN)
    case = actions.register_case(new_case(), dispatcher)
    actions.accept_case(case, dispatcher)
    actions.assign_case(case.pk, dispatcher, lead_unit=unit(LIUQUAN))
    outcomes = _race(lambda: actions.sign_for_case(case.pk, first), lambda: actions.sign_for_case(case.pk, second))
    assert sum(isinstance(o, Case) for o in outcomes) == 1
    assert CaseEvent.objects.filter(case=case, action="sign_for").count() == 1
    assert Case.objects.get(pk=case.pk).state == CaseState.IN_PROGRESS


@pytest.mark.django_db(transaction=True)
def test_stale_version_is_refused(new_case, dispatcher):
    case = actions.register_case(new_case(), dispatcher)
    stale_version = case.version
    actions.add_note(case, dispatcher, text="先记一笔")
    with pytest.raises(DomainError, match="刷新"):
        actions.accept_case(case, dispatcher, expected_version=stale_version)
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED
