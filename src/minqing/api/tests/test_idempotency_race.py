"""Two identical POSTs with one Idempotency-Key at the same moment: one case, one response."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from minqing.api.models import IdempotencyRecord
from minqing.cases.models import Case


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_case(api_as, citizen, submission):
    clients = [api_as(citizen), api_as(citizen)]
    body = submission()
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def run(index: int) -> None:
        try:
            barrier.wait()
            responses[index] = clients[index].post("/cases", body, headers={"Idempotency-Key": "race-1"})
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Case.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    statuses = sorted(r.status_code for r in responses)
    # The loser replays the winner's response, or (if it looked while the winner was still
    # running on a database without blocking inserts) is told to retry.
    assert statuses in ([201, 201], [201, 409])
    created = [r for r in responses if r.status_code == 201]
    assert len({r.content for r in created}) == 1
