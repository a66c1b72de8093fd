"""Read-side helpers for the organisation tree, used by the other apps.

Results are active units ordered as the tree shows them (sort_order, then code).
`county=None` means every county in the database.
"""

from __future__ import annotations

from django.conf import settings

from minqing.orgs.models import OrgUnit, OrgUnitQuerySet, UnitKind

# The centre's four offices have stable code suffixes under their county (410327X01...).
CENTRE_OFFICE_SUFFIXES: dict[str, str] = {
    "centre": "X01",  # 信访矛盾化解中心
    "informant_office": "X02",  # 村级信访信息员办公室
    "hard_case_room": "X03",  # 疑难案件研判室
    "legal_office": "X04",  # 涉法涉诉办公室
}


def _ordered(queryset: OrgUnitQuerySet) -> OrgUnitQuerySet:
    return queryset.active().order_by("sort_order", "code")


def _children_of(county: OrgUnit | None, kind: str) -> OrgUnitQuerySet:
    queryset = OrgUnit.objects.filter(kind=kind)
    if county is not None:
        queryset = queryset.filter(parent=county)
    return _ordered(queryset)


def default_county() -> OrgUnit | None:
    """The county this installation serves (settings.MINQING_COUNTY_CODE), if loaded."""
    return OrgUnit.objects.filter(code=settings.MINQING_COUNTY_CODE, kind=UnitKind.COUNTY).first()


def townships(county: OrgUnit | None = None) -> OrgUnitQuerySet:
    return _children_of(county, UnitKind.TOWNSHIP)


def departments(county: OrgUnit | None = None) -> OrgUnitQuerySet:
    return _children_of(county, UnitKind.DEPARTMENT)


def offices(county: OrgUnit | None = None) -> OrgUnitQuerySet:
    return _children_of(county, UnitKind.OFFICE)


def villages_of(township: OrgUnit) -> OrgUnitQuerySet:
    return _ordered(OrgUnit.objects.filter(parent=township, kind=UnitKind.VILLAGE))


def centre_office(name_or_key: str, county: OrgUnit | None = None) -> OrgUnit:
    """One of the centre's offices, by key ('centre', 'informant_office', 'hard_case_room',
    'legal_office') or by name. Defaults to the installation's county.

    Raises OrgUnit.DoesNotExist when there is no such office.
    """
    county = county or default_county()
    if county is None:
        raise OrgUnit.DoesNotExist(f"county {settings.MINQING_COUNTY_CODE} is not loaded")
    suffix = CENTRE_OFFICE_SUFFIXES.get(name_or_key)
    queryset = OrgUnit.objects.filter(kind=UnitKind.OFFICE, parent=county)
    if suffix is not None:
        return queryset.get(code=f"{county.code}{suffix}")
    return queryset.get(name=name_or_key)


def centre_office_key(unit: OrgUnit) -> str | None:
    """The stable key of a centre office ('centre', ...), or None for any other unit."""
    if unit.kind != UnitKind.OFFICE:
        return None
    for key, suffix in CENTRE_OFFICE_SUFFIXES.items():
        if unit.code.endswith(suffix) and unit.parent_id and unit.code == f"{unit.parent.code}{suffix}":
            return key
    return None


def county_of(unit: OrgUnit) -> OrgUnit | None:
    """The county the unit belongs to (the unit itself for a county); None above county level."""
    if unit.kind == UnitKind.COUNTY:
        return unit
    codes = unit.path.strip("/").split("/")
    return OrgUnit.objects.filter(code__in=codes, kind=UnitKind.COUNTY).order_by("-depth").first()


def handling_units(county: OrgUnit) -> OrgUnitQuerySet:
    """Units a county's cases can be assigned to: its townships, departments and centre offices."""
    kinds = (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT, UnitKind.OFFICE)
    return _ordered(OrgUnit.objects.filter(parent=county, kind__in=kinds))
