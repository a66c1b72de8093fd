"""Two approvers deciding the same request at once: the row lock lets exactly one through."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from minqing.accounts.models import Role
from minqing.approvals import actions
from minqing.approvals.models import ApprovalStep, Kind
from minqing.core.errors import DomainError
from minqing.testing.personas import LIUQUAN, make_staff


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_record_one_step(make_case, township_handler, township_manager):
    second_manager = make_staff("liuquan_manager_2", Role.UNIT_MANAGER, LIUQUAN)
    request = actions.request_approval(make_case(), township_handler, Kind.EXTENSION, "需鉴定", days=10)
    barrier, outcomes = threading.Barrier(2), []

    def decide(user, approve):
        try:
            barrier.wait()
            actions.decide(request.pk, user, approve, "意见")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(township_manager, True)),
        threading.Thread(target=decide, args=(second_manager, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loser is refused either way: the request is no longer pending (conflict), or it moved on
    # to the county level, where a unit manager may not decide (forbidden).
    assert sorted(outcomes) in (["conflict", "ok"], ["forbidden", "ok"])
    assert ApprovalStep.objects.filter(request=request).count() == 1
