"""Two identical POSTs with one Idempotency-Key at the same moment: one case, one response."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from minqing.api.models import IdempotencyRecord
from minqing.cases.models import Case


def _post_at_once(clients: list, path: str, body: dict, key: str) -> list:
    """The same POST from every client at the same moment, each on its own thread and connection."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def run(index: int) -> None:
        try:
            barrier.wait()
            responses[index] = clients[index].post(path, body, headers={"Idempotency-Key": key})
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_case(api_as, citizen, submission):
    responses = _post_at_once([api_as(citizen), api_as(citizen)], "/cases", submission(), "race-1")

    assert Case.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    statuses = sorted(r.status_code for r in responses)
    # The loser replays the winner's response, or (if it looked while the winner was still
    # running on a database without blocking inserts) is told to retry.
    assert statuses in ([201, 201], [201, 409])
    created = [r for r in responses if r.status_code == 201]
    assert len({r.content for r in created}) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_case_action_replays_the_winner(api_as, dispatcher, category):
    from minqing.testing.personas import LIUQUAN, first_village

    centre = api_as(dispatcher)
    registered = centre.post(
        "/staff/cases",
        {
            "channel": "walk_in",
            "category_id": category.pk,
            "title": "村道被占用无法通行",
            "content": "村东头道路被人堆放建材，车辆无法通行。",
            "village": first_village(LIUQUAN).code,
            "parties": [{"name": "王大力", "phone": "13912345678"}],
        },
    )
    assert registered.status_code == 201, registered.content
    case = registered.json()
    responses = _post_at_once(
        [api_as(dispatcher), api_as(dispatcher)],
        f"/staff/cases/{case['id']}/actions/accept",
        {"expected_version": case["version"]},
        "accept-race-1",
    )

    # Whichever waited (on the unique index or on the case's row lock) gets the winner's answer,
    # not a version conflict, and the case was accepted once.
    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    assert responses[0].content == responses[1].content
    assert Case.objects.get(pk=case["id"]).events.filter(action="accept").count() == 1
