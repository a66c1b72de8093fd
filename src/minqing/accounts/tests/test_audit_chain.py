from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory

from minqing.accounts import audit
from minqing.accounts.models import AuditChainHead, AuditEntry
from minqing.accounts.tests.conftest import frozen_at
from minqing.core.hashchain import GENESIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(staff_user) -> list[AuditEntry]:
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3")
    return [
        audit.record("login", actor=staff_user, target=staff_user.username, request=request),
        audit.record("membership_granted", actor=staff_user, target="某人", payload={"unit": "TA", "role": "handler"}),
        audit.record("account_unlocked", target="other"),
        audit.record("logout", actor=staff_user, target=staff_user.username),
    ]


def test_chain_links_each_entry_to_the_one_before(entries):
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert AuditChainHead.objects.get().last_hash == entries[-1].hash


def test_intact_chain_verifies(entries):
    assert audit.verify_chain() is None


def test_empty_log_verifies(db):
    assert audit.verify_chain() is None


def test_update_via_queryset_is_detected_at_that_entry(entries):
    AuditEntry.objects.filter(pk=entries[1].pk).update(target="篡改")
    assert audit.verify_chain() == entries[1].pk


def test_payload_edit_is_detected(entries):
    AuditEntry.objects.filter(pk=entries[1].pk).update(payload={"unit": "TB", "role": "handler"})
    assert audit.verify_chain() == entries[1].pk


def test_deletion_in_the_middle_is_detected_at_the_next_entry(entries):
    AuditEntry.objects.filter(pk=entries[1].pk).delete()
    assert audit.verify_chain() == entries[2].pk


def test_deletion_at_the_end_is_detected(entries):
    AuditEntry.objects.filter(pk=entries[-1].pk).delete()
    assert audit.verify_chain() == entries[-2].pk


def test_deleting_every_entry_is_detected(entries):
    AuditEntry.objects.all().delete()
    assert audit.verify_chain() == audit.EMPTIED_LOG


def test_ipv6_address_and_other_time_zone_survive_the_database_round_trip(staff_user):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8:0:0::1")
    shanghai_time = datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with frozen_at(shanghai_time):
        entry = audit.record("login", actor=staff_user, request=request)
    assert AuditEntry.objects.get(pk=entry.pk).ip_address == "2001:db8::1"
    assert audit.verify_chain() is None


def test_unparseable_address_is_dropped(db):
    entry = audit.record("login", request=RequestFactory().get("/", REMOTE_ADDR="not-an-ip"))
    assert entry.ip_address is None
    assert audit.verify_chain() is None
