"""A small demo year (200 cases over 40 days) through the real actions, checked end to end."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

import pytest
from django.core.management import call_command

from minqing.accounts.models import Membership, Role
from minqing.cases.lifecycle import SIDE_ACTIONS
from minqing.cases.models import Case, CaseEvent, CaseState, CaseUnit, Party
from minqing.core.hashchain import first_broken_link
from minqing.demo.generator import generate_demo_year
from minqing.demo.texts import SYNTHETIC_PHONE_PREFIX, SYNTHETIC_SUFFIX

CENTRE_ACTIONS = {"accept", "decline", "merge", "assign", "reassign", "close", "send_back", "reopen"}
UNIT_ACTIONS = {"sign_for", "return", "reply", "add_mediation_record"}
END = date(2025, 6, 30)


def _member_paths(user_ids) -> dict[int, list[tuple[str, str, str]]]:
    paths: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for m in Membership.objects.filter(user_id__in=user_ids).select_related("unit", "unit__parent"):
        reach = m.unit.parent.path if m.unit.kind == "office" and m.role == Role.DISPATCHER else m.unit.path
        paths[m.user_id].append((m.role, reach, m.unit.path))
    return paths


@pytest.mark.django_db
def test_small_demo_year_goes_through_the_actions(yiyang):
    result = generate_demo_year(cases=200, seed=11, end_date=END, days=40)
    assert not result.skipped and result.step_errors == 0
    cases = {c.pk: c for c in Case.objects.all()}
    assert len(cases) == 200

    # Event chains: seq 1..n, hashes link, states follow the events.
    events = defaultdict(list)
    for event in CaseEvent.objects.order_by("case_id", "seq"):
        events[event.case_id].append(event)
    for case_id, case in cases.items():
        chain = events[case_id]
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert first_broken_link((e.prev_hash, e.hash, e.chain_record()) for e in chain) is None
        assert case.event_count == len(chain) and case.last_event_hash == chain[-1].hash
        assert chain[0].action == "register"
        for before, after in itertools.pairwise(chain):
            assert after.from_state == before.to_state, (case.reference, after.action)
            assert after.created_at >= before.created_at
            if after.action in SIDE_ACTIONS:
                assert after.to_state == after.from_state
        assert chain[-1].to_state == case.state

    # Plausible shares for 40 days: most cases done, the recent ones still open.
    closed = sum(c.state == CaseState.CLOSED for c in cases.values()) / len(cases)
    assert 0.6 <= closed <= 0.95  # about 10 days of pipeline out of 40 are still open
    assert any(c.state in (CaseState.IN_PROGRESS, CaseState.ASSIGNED, CaseState.REPLIED) for c in cases.values())
    assert result.rated > 0 and result.satisfied_share > 0.85

    # Texts vary.
    titles = [c.title for c in cases.values()]
    assert len(set(titles)) / len(titles) > 0.9

    # People are synthetic and say so.
    parties = list(Party.objects.all())
    assert parties
    for party in parties:
        assert party.name.endswith(SYNTHETIC_SUFFIX)
        assert party.phone.startswith(SYNTHETIC_PHONE_PREFIX)

    # Every actor acts for a unit they belong to.
    unit_paths = defaultdict(set)
    for link in CaseUnit.objects.all():
        unit_paths[link.case_id].add(link.unit_path)
    all_events = [e for chain in events.values() for e in chain]
    members = _member_paths({e.actor_id for e in all_events if e.actor_id})
    for event in all_events:
        case = cases[event.case_id]
        if event.actor_id is None:
            assert event.action in ("register", "rate"), event.action
            continue
        held = members[event.actor_id]
        if event.action in CENTRE_ACTIONS:
            assert any(r == Role.DISPATCHER and case.location_path.startswith(p) for r, p, _ in held)
        elif event.action in UNIT_ACTIONS or (event.action == "add_note" and event.actor.username != "dispatcher"):
            assert any(
                r in (Role.HANDLER, Role.UNIT_MANAGER) and any(u.startswith(p) for u in unit_paths[case.pk])
                for r, p, _ in held
            ), (event.action, event.actor.username)
        elif event.action == "register":
            assert any(case.location_path.startswith(p) for _, p, _ in held)
        elif event.action == "urge":
            assert any(r == Role.COUNTY_MANAGER for r, _, _ in held)

    # Staff actors who are not demo accounts are synthetic and marked.
    for member in Membership.objects.filter(user__username__startswith="h_").select_related("user")[:20]:
        assert "演示" in member.user.display_name and not member.user.has_usable_password()

    # Idempotent: a second run without --force adds nothing.
    again = generate_demo_year(cases=200, seed=11, end_date=END, days=40)
    assert again.skipped and Case.objects.count() == 200


@pytest.mark.django_db
def test_command_refuses_politely_when_cases_exist(yiyang, capsys):
    generate_demo_year(cases=5, seed=1, end_date=END, days=5)
    before = Case.objects.count()
    call_command("demo_year", "--cases", "5")
    assert Case.objects.count() == before
    assert "--force" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_prints_a_progress_bar(yiyang, capsys):
    call_command("demo_year", "--cases", "20", "--days", "10", "--end-date", "2025-06-30", "--seed", "3")
    out = capsys.readouterr().out
    assert "100% 20/20 cases" in out and "[####" in out
    assert Case.objects.count() == 20
