from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from minqing.orgs.models import OrgUnit, UnitKind


def test_clean_village_under_county_rejected(yiyang):
    village = OrgUnit(code="X", name="某村", kind=UnitKind.VILLAGE, parent=yiyang)

    with pytest.raises(ValidationError) as exc:
        village.clean()
    assert "parent" in exc.value.message_dict


def test_clean_township_without_parent_rejected(db):
    with pytest.raises(ValidationError):
        OrgUnit(code="X", name="某镇", kind=UnitKind.TOWNSHIP).clean()


def test_clean_department_under_township_rejected(yiyang):
    township = OrgUnit.objects.get(code="410327102")

    with pytest.raises(ValidationError):
        OrgUnit(code="X", name="某局", kind=UnitKind.DEPARTMENT, parent=township).clean()


def test_clean_unit_under_own_descendant_rejected(yiyang):
    township = OrgUnit.objects.get(code="410327102")
    township.parent = OrgUnit.objects.get(code="410327102201")

    with pytest.raises(ValidationError):
        township.clean()


def test_clean_village_under_township_accepted(yiyang):
    OrgUnit(code="X", name="某村", kind=UnitKind.VILLAGE, parent=OrgUnit.objects.get(code="410327102")).clean()
