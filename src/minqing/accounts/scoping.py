"""Jurisdiction: which units a user may see, and which they may act on.

This module is the single answer to that question. Every read of cases (and of
anything hanging off a unit) filters through a `Remit`, so a missing filter
cannot leak another unit's data.

Rules:
- county-wide roles (dispatcher, county manager, inspector) reach the whole county
  their membership sits in, even when held at a centre office;
- handlers and unit managers reach their unit and everything below it (a township
  includes its villages);
- informants read their own village; what they filed is a case-level rule;
- inspectors read but never act; administrators (三员) reach no cases at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from minqing.accounts.models import (
    ADMIN_ROLES,
    COUNTY_WIDE_ROLES,
    READ_ONLY_ROLES,
    Membership,
    Role,
)
from minqing.orgs.models import OrgUnit, UnitKind

_CACHE_ATTR = "_minqing_remit"


def _collapse(paths: set[str]) -> tuple[str, ...]:
    """Drop paths already covered by a shorter one, so filters stay small."""
    kept: list[str] = []
    for path in sorted(paths, key=len):
        if not any(path.startswith(prefix) for prefix in kept):
            kept.append(path)
    return tuple(sorted(kept))


@dataclass(frozen=True)
class Remit:
    read_paths: tuple[str, ...] = ()
    act_paths: tuple[str, ...] = ()
    roles: frozenset[str] = field(default_factory=frozenset)
    roles_by_unit: tuple[tuple[str, str], ...] = ()  # (unit path, role)
    # Read paths that are whole counties (or larger): every case there is *located* below them,
    # so case scoping can use the location alone, which an index serves at any size.
    territorial_paths: tuple[str, ...] = ()

    def can_read_path(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.read_paths)

    def can_act_path(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.act_paths)

    def can_see(self, unit: OrgUnit) -> bool:
        return self.can_read_path(unit.path)

    def can_act_on(self, unit: OrgUnit) -> bool:
        return self.can_act_path(unit.path)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def unit_filter(self, lookup: str, *, acting: bool = False) -> Q:
        """A Q restricting the OrgUnit reached by `lookup` ("" for OrgUnit itself) to this remit."""
        return path_filter(self.act_paths if acting else self.read_paths, lookup)

    def paths_with_role(self, *roles: str) -> tuple[str, ...]:
        """Reach of the memberships holding one of `roles` (e.g. where the user is unit manager)."""
        return _collapse({path for path, role in self.roles_by_unit if role in roles})


def path_filter(paths: tuple[str, ...], lookup: str = "") -> Q:
    """A Q matching the OrgUnit reached by `lookup` ("" for OrgUnit itself) at or below any of `paths`."""
    if not paths:
        return Q(pk__in=[])
    field_name = f"{lookup}__path__startswith" if lookup else "path__startswith"
    query = Q()
    for path in paths:
        query |= Q(**{field_name: path})
    return query


NO_REMIT = Remit()


TERRITORIAL_KINDS = frozenset({UnitKind.COUNTY, UnitKind.CITY, UnitKind.PROVINCE})


def _reach_unit(membership: Membership) -> OrgUnit:
    """The unit whose subtree a membership reaches."""
    unit = membership.unit
    if membership.role in COUNTY_WIDE_ROLES and unit.kind == UnitKind.OFFICE and unit.parent is not None:
        return unit.parent
    return unit


def _reach_of(membership: Membership) -> str:
    """Path prefix a membership reaches."""
    return _reach_unit(membership).path


def remit_from_memberships(memberships: list[Membership]) -> Remit:
    read: set[str] = set()
    act: set[str] = set()
    roles: set[str] = set()
    by_unit: set[tuple[str, str]] = set()
    territorial: set[str] = set()
    for membership in memberships:
        if not membership.unit.active:
            continue
        roles.add(membership.role)
        if membership.role in ADMIN_ROLES:
            continue
        reach = _reach_of(membership)
        by_unit.add((reach, membership.role))
        read.add(reach)
        if _reach_unit(membership).kind in TERRITORIAL_KINDS:
            territorial.add(reach)
        if membership.role not in READ_ONLY_ROLES and membership.role != Role.INFORMANT:
            act.add(reach)
    return Remit(
        read_paths=_collapse(read),
        act_paths=_collapse(act),
        roles=frozenset(roles),
        roles_by_unit=tuple(sorted(by_unit)),
        territorial_paths=tuple(path for path in _collapse(read) if path in territorial),
    )


def remit_for(user: AbstractBaseUser | AnonymousUser | None) -> Remit:
    """The user's remit, computed once per user object (i.e. once per request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_REMIT
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        memberships = list(Membership.objects.filter(user=user).select_related("unit", "unit__parent"))
        cached = remit_from_memberships(memberships)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_remit(user: AbstractBaseUser) -> None:
    """Call after changing a user's memberships within the same request."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _units(user: AbstractBaseUser | AnonymousUser | None, *, acting: bool) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(remit_for(user).unit_filter("", acting=acting))


def visible_units(user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[OrgUnit]:
    """Units whose data the user may read."""
    return _units(user, acting=False)


def actionable_units(user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[OrgUnit]:
    """Units the user may act for (assign to, handle in, approve for)."""
    return _units(user, acting=True)
