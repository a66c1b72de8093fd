from __future__ import annotations

from minqing.orgs.loaders import ImportResult, load_yiyang
from minqing.orgs.models import OrgUnit, UnitKind

from .conftest import snapshot


def test_load_yiyang_creates_county_and_398_units_below(db):
    result = load_yiyang()

    assert result == ImportResult(created=399, updated=0, unchanged=0)
    county = OrgUnit.objects.get(code="410327")
    assert county.name == "宜阳县"
    assert county.kind == UnitKind.COUNTY
    assert county.parent is None
    assert OrgUnit.objects.within(county).exclude(pk=county.pk).count() == 398


def test_load_yiyang_townships_match_official_codes(yiyang, official_townships):
    townships = OrgUnit.objects.filter(kind=UnitKind.TOWNSHIP)

    assert {unit.code: unit.name for unit in townships} == official_townships
    assert len(official_townships) == 16
    assert all(unit.parent_id == yiyang.pk for unit in townships)
    assert all(unit.official_code and not unit.synthetic for unit in townships)


def test_load_yiyang_gives_25_departments_353_villages_4_offices(yiyang):
    counts = {kind: OrgUnit.objects.filter(kind=kind).count() for kind in UnitKind.values}

    assert counts[UnitKind.DEPARTMENT] == 25
    assert counts[UnitKind.VILLAGE] == 353
    assert counts[UnitKind.OFFICE] == 4
    assert counts[UnitKind.TOWNSHIP] + counts[UnitKind.DEPARTMENT] + counts[UnitKind.VILLAGE] == 394
    assert set(OrgUnit.objects.filter(kind=UnitKind.OFFICE).values_list("name", flat=True)) == {
        "信访矛盾化解中心",
        "村级信访信息员办公室",
        "疑难案件研判室",
        "涉法涉诉办公室",
    }


def test_load_yiyang_villages_sit_under_townships_with_unofficial_codes(yiyang):
    villages = OrgUnit.objects.filter(kind=UnitKind.VILLAGE).select_related("parent")

    for village in villages:
        assert village.parent.kind == UnitKind.TOWNSHIP
        assert village.code.startswith(village.parent.code)
        assert len(village.code) == 12
        assert int(village.code[-3:]) >= 201
        assert village.synthetic and not village.official_code
        assert village.depth == 2
        assert village.path == f"/410327/{village.parent.code}/{village.code}/"
    # every township has villages, and names are unique within a township
    for township in OrgUnit.objects.filter(kind=UnitKind.TOWNSHIP):
        names = list(township.children.values_list("name", flat=True))
        assert names
        assert len(names) == len(set(names))
    communities = OrgUnit.objects.get(name="兴宜街道").children.all()
    assert all(unit.name.endswith("社区") for unit in communities)


def test_load_yiyang_coordinates_lie_around_the_county(yiyang):
    for unit in OrgUnit.objects.all():
        assert unit.latitude is not None and unit.longitude is not None
        # Yiyang is about 60 km across around 34.52N 112.18E
        assert abs(unit.latitude - 34.52) < 0.45
        assert abs(unit.longitude - 112.18) < 0.5


def test_load_yiyang_phones_for_townships_and_departments(yiyang):
    units = OrgUnit.objects.filter(kind__in=[UnitKind.TOWNSHIP, UnitKind.DEPARTMENT])

    phones = [unit.contact_phone for unit in units]
    assert all(phone.startswith("0379-68") and len(phone) == 13 for phone in phones)
    assert len(set(phones)) == len(phones)


def test_load_yiyang_twice_changes_nothing(yiyang):
    before = snapshot()

    result = load_yiyang()

    assert result == ImportResult(created=0, updated=0, unchanged=399)
    assert snapshot() == before


def test_load_yiyang_restores_edited_unit(yiyang):
    OrgUnit.objects.filter(code="410327D01").update(name="改名", contact_phone="")

    result = load_yiyang()

    assert result == ImportResult(created=0, updated=1, unchanged=398)
    assert OrgUnit.objects.get(code="410327D01").name == "县公安局"
