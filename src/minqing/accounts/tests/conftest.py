"""A small county built in the database for account tests (independent of the Yiyang loader).

county 900001
├── township TA (villages VA1, VA2)
├── township TB (village VB1)
├── department DP
└── centre office OC
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.utils import timezone

from minqing.accounts.models import Membership, User
from minqing.orgs.models import OrgUnit, UnitKind

STAFF_PASSWORD = "Minqing#2024x"


@pytest.fixture
def county_tree(db) -> SimpleNamespace:
    def unit(code: str, kind: str, parent: OrgUnit | None = None) -> OrgUnit:
        return OrgUnit.objects.create(code=code, name=f"测试{code}", kind=kind, parent=parent, synthetic=True)

    county = unit("900001", UnitKind.COUNTY)
    township_a = unit("TA", UnitKind.TOWNSHIP, county)
    township_b = unit("TB", UnitKind.TOWNSHIP, county)
    return SimpleNamespace(
        county=county,
        township_a=township_a,
        village_a1=unit("VA1", UnitKind.VILLAGE, township_a),
        village_a2=unit("VA2", UnitKind.VILLAGE, township_a),
        township_b=township_b,
        village_b1=unit("VB1", UnitKind.VILLAGE, township_b),
        department=unit("DP", UnitKind.DEPARTMENT, county),
        centre_office=unit("OC", UnitKind.OFFICE, county),
    )


@pytest.fixture
def make_staff(db) -> Callable[..., User]:
    def make(username: str, *memberships: tuple[OrgUnit, str], is_staff: bool = False, **fields) -> User:
        user = User(username=username, display_name=fields.pop("display_name", username), is_staff=is_staff, **fields)
        user.set_password(STAFF_PASSWORD)
        user.save()
        for unit, role in memberships:
            Membership.objects.create(user=user, unit=unit, role=role)
        return user

    return make


@pytest.fixture
def staff_user(make_staff, county_tree) -> User:
    return make_staff("handler_a", (county_tree.township_a, "handler"))


@contextmanager
def frozen_at(moment: datetime):
    """Make django.utils.timezone.now() answer `moment` (all our code reads time through it)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def later() -> Callable[[float], datetime]:
    start = timezone.now()

    def after(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    return after
