"""Named personas for tests, on the real Yiyang tree.

Reference data (org tree, calendar, categories) is loaded once per database and
re-loaded after transactional tests flush it.
"""

from __future__ import annotations

import pytest

from minqing.accounts.models import Role, User
from minqing.orgs.models import OrgUnit

PASSWORD = "Test@Pass2025"
COUNTY, LIUQUAN, HANCHENG, POLICE, CENTRE, HARD_CASE_ROOM = (
    "410327",
    "410327102",
    "410327103",
    "410327D01",
    "410327X01",
    "410327X03",
)


def ensure_reference_data() -> None:
    from minqing.cases.models import Category, SlaPolicy
    from minqing.cases.seed import seed_reference_data
    from minqing.orgs.loaders import load_dataset
    from minqing.workcalendar.actions import seed_from_chinese_calendar
    from minqing.workcalendar.models import CalendarYear

    if not OrgUnit.objects.filter(code=COUNTY).exists():
        load_dataset("yiyang")
    if not CalendarYear.objects.exists():
        seed_from_chinese_calendar()
    if not Category.objects.exists():
        seed_reference_data(Category, SlaPolicy)


def make_staff(username: str, role: str | None, unit_code: str | None, **extra) -> User:
    from minqing.accounts.models import Membership

    user = User.objects.create_user(username=username, password=PASSWORD, display_name=username, **extra)
    if role:
        Membership.objects.create(user=user, unit=OrgUnit.objects.get(code=unit_code), role=role)
    return user


def first_village(township_code: str) -> OrgUnit:
    return OrgUnit.objects.filter(parent__code=township_code, kind="village").order_by("code").first()


@pytest.fixture
def yiyang(db):
    ensure_reference_data()
    return OrgUnit.objects.get(code=COUNTY)


@pytest.fixture
def unit(yiyang):
    """unit("410327102") → OrgUnit."""
    return lambda code: OrgUnit.objects.get(code=code)


@pytest.fixture
def dispatcher(yiyang):
    return make_staff("dispatcher", Role.DISPATCHER, CENTRE)


@pytest.fixture
def county_manager(yiyang):
    return make_staff("county_manager", Role.COUNTY_MANAGER, COUNTY)


@pytest.fixture
def inspector(yiyang):
    return make_staff("inspector", Role.INSPECTOR, COUNTY)


@pytest.fixture
def township_handler(yiyang):
    return make_staff("liuquan_handler", Role.HANDLER, LIUQUAN)


@pytest.fixture
def township_manager(yiyang):
    return make_staff("liuquan_manager", Role.UNIT_MANAGER, LIUQUAN, is_staff=True)


@pytest.fixture
def other_township_handler(yiyang):
    return make_staff("hancheng_handler", Role.HANDLER, HANCHENG)


@pytest.fixture
def department_handler(yiyang):
    return make_staff("police_handler", Role.HANDLER, POLICE)


@pytest.fixture
def assessor(yiyang):
    return make_staff("assessor", Role.ASSESSOR, HARD_CASE_ROOM)


@pytest.fixture
def informant(yiyang):
    user = User.objects.create_user(username="informant", password=PASSWORD, display_name="信息员")
    from minqing.accounts.models import Membership

    Membership.objects.create(user=user, unit=first_village(LIUQUAN), role=Role.INFORMANT)
    return user


@pytest.fixture
def outsider(yiyang):
    """Staff account with no membership at all."""
    return make_staff("outsider", None, None)


@pytest.fixture
def citizen(yiyang):
    from minqing.accounts.actions import get_or_create_citizen

    return get_or_create_citizen("13900001111", name="王群众")
