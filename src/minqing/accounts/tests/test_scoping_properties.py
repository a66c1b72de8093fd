"""Property tests for jurisdiction: random org trees, random memberships.

Trees are built in memory (unsaved units with their paths set), so hypothesis can
try hundreds of them quickly; a few database-backed examples check that the
query side (`visible_units`, `actionable_units`) agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minqing.accounts.models import (
    ADMIN_ROLES,
    COUNTY_WIDE_ROLES,
    Membership,
    Role,
    User,
)
from minqing.accounts.scoping import (
    actionable_units,
    forget_remit,
    remit_for,
    remit_from_memberships,
    visible_units,
)
from minqing.orgs.models import OrgUnit, UnitKind

ALL_ROLES = list(Role)
NON_ACTING_ROLES = frozenset({Role.INSPECTOR, Role.INFORMANT}) | ADMIN_ROLES


@dataclass
class Forest:
    counties: list[OrgUnit]
    units: list[OrgUnit]

    def of_kind(self, kind: str) -> list[OrgUnit]:
        return [unit for unit in self.units if unit.kind == kind]

    def under(self, top: OrgUnit) -> set[str]:
        return {unit.code for unit in self.units if unit.path.startswith(top.path)}

    def county_of(self, unit: OrgUnit) -> OrgUnit:
        return next(county for county in self.counties if unit.path.startswith(county.path))


def in_memory_unit(code: str, kind: str, parent: OrgUnit | None, active: bool = True) -> OrgUnit:
    unit = OrgUnit(code=code, name=code, kind=kind, parent=parent, active=active)
    unit.path = OrgUnit.path_for(code, parent)
    unit.depth = unit.path.count("/") - 2
    return unit


@st.composite
def forests(draw, *, all_active: bool = False) -> Forest:
    """One or two counties, each with townships (and villages), departments and centre offices."""
    counties: list[OrgUnit] = []
    units: list[OrgUnit] = []

    def add(code: str, kind: str, parent: OrgUnit | None) -> OrgUnit:
        active = True if all_active or kind == UnitKind.COUNTY else draw(st.sampled_from([True, True, True, False]))
        unit = in_memory_unit(code, kind, parent, active)
        units.append(unit)
        return unit

    for c in range(draw(st.integers(1, 2))):
        county = add(f"C{c}", UnitKind.COUNTY, None)
        counties.append(county)
        for t in range(draw(st.integers(1, 4))):
            township = add(f"C{c}T{t}", UnitKind.TOWNSHIP, county)
            for v in range(draw(st.integers(0, 4))):
                add(f"C{c}T{t}V{v}", UnitKind.VILLAGE, township)
        for d in range(draw(st.integers(0, 3))):
            add(f"C{c}D{d}", UnitKind.DEPARTMENT, county)
        for o in range(draw(st.integers(0, 2))):
            add(f"C{c}O{o}", UnitKind.OFFICE, county)
    return Forest(counties=counties, units=units)


@st.composite
def forests_with_memberships(draw) -> tuple[Forest, list[Membership]]:
    forest = draw(forests())
    pairs = draw(st.lists(st.tuples(st.sampled_from(forest.units), st.sampled_from(ALL_ROLES)), max_size=6))
    return forest, [Membership(unit=unit, role=role) for unit, role in pairs]


def expected_reach(membership: Membership) -> OrgUnit:
    """The spec, restated independently of the implementation."""
    unit = membership.unit
    if membership.role in COUNTY_WIDE_ROLES and unit.kind == UnitKind.OFFICE:
        return unit.parent
    return unit


def codes(forest: Forest, predicate) -> set[str]:
    return {unit.code for unit in forest.units if predicate(unit)}


def expected_codes(forest: Forest, memberships: list[Membership], *, acting: bool) -> set[str]:
    reached: set[str] = set()
    for membership in memberships:
        excluded = NON_ACTING_ROLES if acting else ADMIN_ROLES
        if membership.unit.active and membership.role not in excluded:
            reached |= forest.under(expected_reach(membership))
    return reached


PROPERTY_SETTINGS = settings(deadline=None, max_examples=200)


@PROPERTY_SETTINGS
@given(forests_with_memberships())
def test_read_reach_is_exactly_the_union_of_membership_reaches(case):
    forest, memberships = case
    remit = remit_from_memberships(memberships)
    assert codes(forest, remit.can_see) == expected_codes(forest, memberships, acting=False)


@PROPERTY_SETTINGS
@given(forests_with_memberships())
def test_act_reach_is_the_union_of_acting_membership_reaches(case):
    forest, memberships = case
    remit = remit_from_memberships(memberships)
    assert codes(forest, remit.can_act_on) == expected_codes(forest, memberships, acting=True)


@PROPERTY_SETTINGS
@given(forests_with_memberships())
def test_acting_implies_reading(case):
    forest, memberships = case
    remit = remit_from_memberships(memberships)
    assert codes(forest, remit.can_act_on) <= codes(forest, remit.can_see)


@PROPERTY_SETTINGS
@given(forests_with_memberships())
def test_no_reach_outside_the_counties_of_the_memberships(case):
    forest, memberships = case
    remit = remit_from_memberships(memberships)
    home_counties = {forest.county_of(m.unit).code for m in memberships}
    for unit in forest.units:
        if remit.can_see(unit):
            assert forest.county_of(unit).code in home_counties


@PROPERTY_SETTINGS
@given(forests(all_active=True), st.sampled_from([Role.HANDLER, Role.UNIT_MANAGER]), st.data())
def test_township_roles_include_their_villages(forest, role, data):
    township = data.draw(st.sampled_from(forest.of_kind(UnitKind.TOWNSHIP)))
    remit = remit_from_memberships([Membership(unit=township, role=role)])
    villages = [unit for unit in forest.units if unit.parent is township]
    assert all(remit.can_see(v) and remit.can_act_on(v) for v in villages)
    assert codes(forest, remit.can_see) == forest.under(township)


@PROPERTY_SETTINGS
@given(forests(all_active=True), st.sampled_from(sorted(COUNTY_WIDE_ROLES)), st.data())
def test_county_wide_roles_at_a_centre_office_reach_the_whole_county(forest, role, data):
    county = data.draw(st.sampled_from(forest.counties))
    office = in_memory_unit(f"{county.code}OX", UnitKind.OFFICE, county)
    forest.units.append(office)
    remit = remit_from_memberships([Membership(unit=office, role=role)])
    assert codes(forest, remit.can_see) == forest.under(county)


@PROPERTY_SETTINGS
@given(forests(all_active=True), st.data())
def test_inspectors_read_but_never_act(forest, data):
    units = data.draw(st.lists(st.sampled_from(forest.units), min_size=1, max_size=4))
    remit = remit_from_memberships([Membership(unit=unit, role=Role.INSPECTOR) for unit in units])
    assert remit.act_paths == ()
    assert not any(remit.can_act_on(unit) for unit in forest.units)
    assert all(remit.can_see(unit) for unit in units)


@PROPERTY_SETTINGS
@given(forests(all_active=True), st.data())
def test_admin_roles_reach_nothing(forest, data):
    pairs = data.draw(
        st.lists(st.tuples(st.sampled_from(forest.units), st.sampled_from(sorted(ADMIN_ROLES))), max_size=5)
    )
    remit = remit_from_memberships([Membership(unit=unit, role=role) for unit, role in pairs])
    assert remit.read_paths == () and remit.act_paths == ()
    assert not any(remit.can_see(unit) for unit in forest.units)


@PROPERTY_SETTINGS
@given(forests(all_active=True), st.data())
def test_informants_read_their_village_and_act_nowhere(forest, data):
    villages = forest.of_kind(UnitKind.VILLAGE)
    if not villages:
        return
    village = data.draw(st.sampled_from(villages))
    remit = remit_from_memberships([Membership(unit=village, role=Role.INFORMANT)])
    assert codes(forest, remit.can_see) == {village.code}
    assert remit.act_paths == ()


@PROPERTY_SETTINGS
@given(forests_with_memberships())
def test_memberships_at_inactive_units_give_nothing(case):
    forest, memberships = case
    for unit in forest.units:
        unit.active = False
    remit = remit_from_memberships(memberships)
    assert remit == remit_from_memberships([])


def test_sibling_codes_sharing_a_prefix_do_not_leak():
    county = in_memory_unit("C", UnitKind.COUNTY, None)
    t1 = in_memory_unit("T1", UnitKind.TOWNSHIP, county)
    t10 = in_memory_unit("T10", UnitKind.TOWNSHIP, county)
    remit = remit_from_memberships([Membership(unit=t1, role=Role.HANDLER)])
    assert remit.can_see(t1)
    assert not remit.can_see(t10)


# --- Database-backed examples -------------------------------------------------


def unit_codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


@pytest.mark.django_db
def test_township_manager_sees_township_and_villages_in_the_database(county_tree, make_staff):
    manager = make_staff("m", (county_tree.township_a, Role.UNIT_MANAGER))
    assert unit_codes(visible_units(manager)) == {"TA", "VA1", "VA2"}
    assert unit_codes(actionable_units(manager)) == {"TA", "VA1", "VA2"}


@pytest.mark.django_db
def test_dispatcher_at_centre_office_sees_whole_county_in_the_database(county_tree, make_staff):
    dispatcher = make_staff("d", (county_tree.centre_office, Role.DISPATCHER))
    assert unit_codes(visible_units(dispatcher)) == set(OrgUnit.objects.values_list("code", flat=True))


@pytest.mark.django_db
def test_inspector_reads_county_but_acts_nowhere_in_the_database(county_tree, make_staff):
    inspector = make_staff("i", (county_tree.centre_office, Role.INSPECTOR))
    assert len(unit_codes(visible_units(inspector))) == OrgUnit.objects.count()
    assert not actionable_units(inspector).exists()


@pytest.mark.django_db
def test_informant_and_admin_in_the_database(county_tree, make_staff):
    informant = make_staff("inf", (county_tree.village_b1, Role.INFORMANT))
    admin = make_staff("adm", (county_tree.county, Role.SYSTEM_ADMIN))
    assert unit_codes(visible_units(informant)) == {"VB1"}
    assert not actionable_units(informant).exists()
    assert not visible_units(admin).exists()
    assert remit_for(admin).has_role(Role.SYSTEM_ADMIN)


@pytest.mark.django_db
def test_remit_is_cached_until_forgotten(county_tree, make_staff):
    handler = make_staff("h", (county_tree.village_a1, Role.HANDLER))
    assert unit_codes(visible_units(handler)) == {"VA1"}
    Membership.objects.create(user=handler, unit=county_tree.township_b, role=Role.HANDLER)
    assert unit_codes(visible_units(handler)) == {"VA1"}
    forget_remit(handler)
    assert unit_codes(visible_units(handler)) == {"VA1", "TB", "VB1"}


@pytest.mark.django_db
def test_inactive_or_anonymous_users_reach_nothing(county_tree, make_staff):
    from django.contrib.auth.models import AnonymousUser

    handler = make_staff("h", (county_tree.township_a, Role.HANDLER))
    User.objects.filter(pk=handler.pk).update(is_active=False)
    handler.refresh_from_db()
    forget_remit(handler)
    assert not visible_units(handler).exists()
    assert not visible_units(AnonymousUser()).exists()
