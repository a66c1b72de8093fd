"""The province bulk loader writes what the actions would: valid chains and lifecycle paths,
and statistics equal to `stats rebuild` and to figures counted from the cases."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command

from minqing.cases.audit import verify_case_chains
from minqing.cases.lifecycle import TRANSITIONS
from minqing.cases.models import Case, CaseEvent, CaseUnit, Party, is_unsatisfied_score
from minqing.core import crypto
from minqing.demo import province
from minqing.demo.accounts import ensure_demo_accounts
from minqing.feedback.models import Rating
from minqing.orgs.province import load_province
from minqing.stats import models as stats_models
from minqing.stats import rollups
from minqing.stats.models import COUNTERS, CaseRollupState, CaseSearchDoc, RollupCursor
from minqing.stats.tests.test_rollups import assert_rollups_equal_raw

CASES = 600


@pytest.fixture
def tree(db):
    load_province(["410327", "410102"], villages=3)
    ensure_demo_accounts()


def _rollup_rows() -> dict[str, dict]:
    """Every rollup table's non-zero rows by key (a rebuild leaves zero rows where a batch split a move)."""
    tables = {}
    for name in ("DailyRollup", "MonthlyRollup", "UnitDayRollup"):
        model = getattr(stats_models, name, None)
        if model is None:
            continue
        rows = {}
        for row in model.objects.values():
            row.pop("id")
            if any(row[c] for c in COUNTERS):
                rows[row["key"]] = row
        tables[name] = rows
    return tables


def _stats_snapshot() -> tuple:
    states = {s.pop("case_id"): s for s in CaseRollupState.objects.values()}
    docs = dict(CaseSearchDoc.objects.values_list("case_id", "tokens"))
    return _rollup_rows(), states, docs


def test_direct_statistics_equal_a_rebuild_from_the_events(tree):
    result = province.load(CASES, seed=3, chunk=150)
    assert result["plan"].stats
    direct = _stats_snapshot()
    assert RollupCursor.objects.get(pk=1).last_event_id == CaseEvent.objects.order_by("-pk").first().pk
    assert rollups.update() == 0  # nothing left for the incremental run

    rollups.rebuild(batch_size=997)

    rebuilt = _stats_snapshot()
    assert rebuilt[0] == direct[0]
    assert rebuilt[1] == direct[1]
    assert rebuilt[2] == direct[2]
    assert len(direct[2]) == CASES and sum(len(rows) for rows in direct[0].values()) > 0
    # The mix includes repeats, reopened cases and ratings, so those paths were compared too.
    counters = Counter()
    for row in direct[0]["DailyRollup"].values():
        counters.update({c: row[c] for c in COUNTERS})
    assert counters["repeat"] > 0 and counters["rated"] > 0 and counters["reopened"] > 0
    assert counters["received"] == CASES


def test_rollups_equal_figures_counted_from_the_cases(tree):
    # The raw reference counts one round of handling per case, so no case is reopened here.
    province.load(CASES, seed=4, chunk=200, reopens=False)

    assert_rollups_equal_raw()
    rollups.rebuild()
    assert_rollups_equal_raw()


def test_chains_verify_and_every_case_follows_the_lifecycle(tree):
    province.load(CASES, seed=5, chunk=128)

    assert verify_case_chains() == []
    call_command("audit_verify")  # raises CommandError on any broken chain
    events: dict[int, list[CaseEvent]] = {}
    for event in CaseEvent.objects.order_by("case_id", "seq"):
        events.setdefault(event.case_id, []).append(event)
    cases = {c.pk: c for c in Case.objects.all()}
    assert len(cases) == len(events) == CASES
    seen = Counter()
    for case_id, chain in events.items():
        case = cases[case_id]
        assert chain[0].action == "register" and chain[0].to_state == "submitted" and chain[0].from_state == ""
        state = "submitted"
        for event in chain[1:]:
            transition = TRANSITIONS[event.action]
            assert event.from_state == state, (case.reference, event.action)
            assert state in transition.sources, (case.reference, event.action, state)
            state = transition.target or state
            assert event.to_state == state
            seen[event.action] += 1
        assert case.state == state
        assert case.event_count == len(chain) and case.version == len(chain) - 1
        assert case.last_event_hash == chain[-1].hash
        assert chain[-1].created_at <= case.updated_at
    assert set(seen) == {"accept", "decline", "assign", "sign_for", "reply", "close", "rate", "reopen"}
    assert Counter(c.state for c in cases.values())["closed"] > CASES * 0.7
    assert {c.state for c in cases.values()} >= {"closed", "declined", "submitted", "in_progress"}


def test_rows_match_what_the_verbs_write(tree):
    province.load(200, seed=6, chunk=64)

    for case in Case.objects.all():
        party = Party.objects.get(case=case)
        assert crypto.lookup_hash(party.phone) == party.phone_hash
        assert crypto.lookup_hash(party.id_number) == party.id_number_hash
        links = list(CaseUnit.objects.filter(case=case))
        assert [(link.unit_id, link.unit_path) for link in links] == (
            [(case.lead_unit_id, case.lead_path)] if case.lead_unit_id else []
        )
        if case.lead_unit_id:
            assert links[0].signed_at == case.signed_at and links[0].assigned_at == case.assigned_at
        assert case.location_path.endswith(f"/{case.location_unit.code}/")
        ratings = {r.pk: r for r in Rating.objects.filter(case=case)}
        rate_events = list(CaseEvent.objects.filter(case=case, action="rate"))
        assert sorted(ratings) == sorted(e.payload["rating"] for e in rate_events)
        for event in rate_events:
            rating = ratings[event.payload["rating"]]
            assert (rating.score, rating.round, rating.created_at) == (
                event.payload["score"],
                event.payload["round"],
                event.created_at,
            )
        assert case.reopen_count == CaseEvent.objects.filter(case=case, action="reopen").count()
        unsatisfied = [e.created_at for e in rate_events if is_unsatisfied_score(e.payload["score"])]
        assert case.unsatisfied_at == max(unsatisfied, default=None)
    assert Case.objects.exclude(unsatisfied_at=None).exists()
    # References are numbered per year from 1, and the counters continue after them.
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert len(set(references)) == 200
    assert any(ref.endswith("-000001") for ref in references)


def test_a_partial_run_is_consistent_newest_chunks_first(tree):
    # One worker of two: every other chunk, newest first (as when the other was stopped at once).
    plan = province.make_plan(600, seed=7, chunk=100)
    province.create_staging()
    result = province.Loader(plan, worker=0, workers=2).run(progress=False)
    province.finish(plan, result["years"])

    ids = sorted(Case.objects.values_list("pk", flat=True))
    chunks = sorted({(pk - plan.case_base) // 100 for pk in ids})
    assert chunks == [1, 3, 5] and len(ids) == 300
    assert verify_case_chains() == []
    direct = _stats_snapshot()
    rollups.rebuild()
    assert _stats_snapshot() == direct
    assert province.Loader(plan, deadline=0.0).run(progress=False)["done"] == 0  # past the deadline: nothing
