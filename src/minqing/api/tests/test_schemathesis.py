"""Schemathesis over the whole committed-able schema, in process: no 5xx, every response as documented.

One test sets up the database once (personas, a citizen case, a staff-registered case)
and then drives every operation with Hypothesis, as a dispatcher, as a township
handler and as a citizen. Path parameters point at real cases half of the time, so
the action endpoints get past the 404 and into the verbs.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from minqing.api.tokens import issue_token
from minqing.wsgi import application

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def keep_connection():
    """The WSGI handler closes the connection after each request; the test's transaction must survive it.

    Requested after `world`: Django's test client reconnects these receivers after each of its requests.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(yiyang, dispatcher, township_handler, citizen, api_as, submission):
    from minqing.testing.personas import LIUQUAN

    citizen_case = api_as(citizen).post("/cases", submission()).json()
    centre = api_as(dispatcher)
    staff_case = centre.post(
        "/staff/cases",
        {"channel": "walk_in", "title": "来访", "content": "来访内容", "township": LIUQUAN, "anonymous": True},
    ).json()
    return {
        "tokens": {
            "dispatcher": issue_token(dispatcher, "schemathesis")[1],
            "handler": issue_token(township_handler, "schemathesis")[1],
            "citizen": issue_token(citizen, "schemathesis")[1],
        },
        "path": {"reference": citizen_case["reference"], "case_id": staff_case["id"]},
    }


def test_whole_schema(world, keep_connection):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for operation in operations:
        fixed = {k: v for k, v in world["path"].items() if "{" + k + "}" in operation.path}
        strategies = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        if fixed:
            strategies.append(operation.as_strategy(path_parameters=fixed))

        @given(case=st.one_of(strategies), who=st.sampled_from(sorted(world["tokens"])))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case, who) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {world['tokens'][who]}"}, checks=CHECKS
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    print("responses by status:", dict(sorted(statuses.items())))
    assert statuses.get(200, 0) > 50 and statuses.get(422, 0) > 20
