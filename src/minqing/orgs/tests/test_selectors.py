from __future__ import annotations

import pytest

from minqing.orgs import selectors
from minqing.orgs.models import OrgUnit, UnitKind


def test_townships_lists_16_in_file_order(yiyang):
    townships = list(selectors.townships(yiyang))

    assert len(townships) == 16
    assert townships[0].name == "兴宜街道"
    assert townships[-1].name == "董王庄乡"
    assert list(selectors.townships()) == townships


def test_townships_skip_inactive(yiyang):
    OrgUnit.objects.filter(code="410327102").update(active=False)

    assert "410327102" not in {unit.code for unit in selectors.townships(yiyang)}


def test_villages_of_township_only_its_own(yiyang):
    township = OrgUnit.objects.get(code="410327102")

    villages = list(selectors.villages_of(township))

    assert villages
    assert all(village.parent_id == township.pk and village.kind == UnitKind.VILLAGE for village in villages)


def test_departments_lists_25(yiyang):
    departments = list(selectors.departments(yiyang))

    assert len(departments) == 25
    assert departments[0].name == "县公安局"


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("centre", "信访矛盾化解中心"),
        ("informant_office", "村级信访信息员办公室"),
        ("hard_case_room", "疑难案件研判室"),
        ("legal_office", "涉法涉诉办公室"),
    ],
)
def test_centre_office_by_key_and_name_same_unit(yiyang, key, name):
    by_key = selectors.centre_office(key)

    assert by_key.name == name
    assert selectors.centre_office(name) == by_key
    assert selectors.centre_office(key, county=yiyang) == by_key
    assert selectors.centre_office_key(by_key) == key


def test_centre_office_unknown_raises(yiyang):
    with pytest.raises(OrgUnit.DoesNotExist):
        selectors.centre_office("canteen")


def test_centre_office_without_county_raises(db):
    with pytest.raises(OrgUnit.DoesNotExist):
        selectors.centre_office("centre")


def test_centre_office_key_none_for_other_units(yiyang):
    assert selectors.centre_office_key(OrgUnit.objects.get(code="410327D01")) is None


def test_county_of_any_unit_is_yiyang(yiyang):
    for code in ("410327", "410327102", "410327102201", "410327D05", "410327X01"):
        assert selectors.county_of(OrgUnit.objects.get(code=code)) == yiyang


def test_county_of_city_is_none(db):
    city = OrgUnit.objects.create(code="410300", name="洛阳市", kind=UnitKind.CITY)

    assert selectors.county_of(city) is None


def test_handling_units_townships_departments_offices(yiyang):
    units = list(selectors.handling_units(yiyang))

    assert len(units) == 16 + 25 + 4
    assert [unit.kind for unit in units[:16]] == [UnitKind.TOWNSHIP] * 16
    assert units[-1].name == "涉法涉诉办公室"
    assert not any(unit.kind == UnitKind.VILLAGE for unit in units)


def test_default_county_follows_setting(yiyang, settings):
    assert selectors.default_county() == yiyang
    settings.MINQING_COUNTY_CODE = "999999"
    assert selectors.default_county() is None
