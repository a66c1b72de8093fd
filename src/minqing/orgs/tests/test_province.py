from __future__ import annotations

import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from minqing.orgs.loaders import ImportResult, load_yiyang
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.orgs.province import load_province, shared_data_dir, village_names

from .conftest import snapshot

SLICE = ["410102", "410327", "411729"]  # a city district, Yiyang, a county in the last city


def _townships(county: str) -> dict[str, str]:
    with (shared_data_dir() / "henan_townships.csv").open(encoding="utf-8-sig") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle) if row["county_code"] == county}


def test_province_slice_has_the_shape_of_yiyang(db):
    load_province(SLICE, villages=5)

    province = OrgUnit.objects.get(code="41")
    assert (province.kind, province.parent, province.path, province.depth) == ("province", None, "/41/", 0)
    counties = OrgUnit.objects.filter(kind=UnitKind.COUNTY)
    assert sorted(c.code for c in counties) == SLICE
    assert all(c.parent_id == province.pk and c.path == f"/41/{c.code}/" and c.depth == 1 for c in counties)
    assert OrgUnit.objects.get(code="410102").name == "中原区"
    for county in ("410102", "411729"):
        townships = OrgUnit.objects.filter(kind=UnitKind.TOWNSHIP, parent__code=county)
        assert {t.code: t.name for t in townships} == _townships(county)
        assert all(t.official_code and not t.synthetic and t.depth == 2 for t in townships)
        villages = OrgUnit.objects.filter(kind=UnitKind.VILLAGE, path__startswith=f"/41/{county}/")
        assert villages.count() == 5 * len(townships)
        assert all(v.synthetic and not v.official_code and v.depth == 3 for v in villages)
        assert all(v.path == f"{v.parent.path}{v.code}/" for v in villages.select_related("parent"))
        departments = OrgUnit.objects.filter(parent__code=county, kind=UnitKind.DEPARTMENT)
        assert departments.count() == 25 and all(d.synthetic for d in departments)
        assert OrgUnit.objects.filter(parent__code=county, kind=UnitKind.OFFICE).count() == 4
    assert OrgUnit.objects.get(code="410102D01").name == "区公安局"
    # Yiyang comes from its own dataset: its 353 villages, real coordinates, under the province.
    yiyang = OrgUnit.objects.get(code="410327")
    assert yiyang.path == "/41/410327/"
    assert OrgUnit.objects.filter(kind=UnitKind.VILLAGE, path__startswith=yiyang.path).count() == 353
    assert OrgUnit.objects.get(code="410327102").latitude == pytest.approx(34.468)


def test_loading_the_province_twice_changes_nothing(db):
    first = load_province(SLICE[:2], villages=3)
    before = snapshot()

    again = load_province(SLICE[:2], villages=3)

    assert first.created == len(before) and first.updated == 0
    assert again == ImportResult(created=0, updated=0, unchanged=len(before))
    assert snapshot() == before


def test_province_moves_an_existing_yiyang_under_it_and_keeps_its_units(db):
    load_yiyang()
    ids = dict(OrgUnit.objects.values_list("code", "pk"))

    load_province(["410327"], villages=3)

    assert OrgUnit.objects.get(code="410327").parent.code == "41"
    assert dict(OrgUnit.objects.exclude(code="41").values_list("code", "pk")) == ids
    assert OrgUnit.objects.get(code="410327102201").path == "/41/410327/410327102/410327102201/"


def test_village_names_are_distinct_and_stable():
    names = village_names("410102001", "林山寨街道", 40)

    assert len(set(names)) == 40
    assert all(name.endswith("社区") for name in names)
    assert names == village_names("410102001", "林山寨街道", 40)
    assert all(name.endswith("村") for name in village_names("411729100", "某镇", 10))


def test_command_loads_a_slice_and_rejects_an_unknown_county(db, capsys):
    call_command("orgs_load", "henan", "--counties", "410102", "--villages", "2")
    assert "河南省：新增" in capsys.readouterr().out
    assert OrgUnit.objects.filter(kind=UnitKind.VILLAGE).count() == 2 * len(_townships("410102"))

    with pytest.raises(CommandError, match="未知的县级代码：999999"):
        call_command("orgs_load", "henan", "--counties", "999999")
