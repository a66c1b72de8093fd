"""Who may administer which accounts: separation of duties (等保2.0 三员分立).

Access is decided by role (memberships), not by Django model permissions:
- superusers: everything, except editing the audit log (nobody can);
- system administrators: users, memberships with any operational role, and org units;
- security administrators: every account's lock status, and unlocking; they change nothing else;
- audit administrators: read the audit log, nothing else;
- unit managers: the users whose memberships all lie in their own unit subtree, granting
  only handler / informant / unit manager at units in that subtree.
Superusers and holders of an administrator role are managed by superusers only, so no
administrator can take over another's account.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from minqing.accounts.models import ADMIN_ROLES, Membership, Role, User
from minqing.accounts.scoping import path_filter, remit_for
from minqing.orgs.models import OrgUnit

UNIT_MANAGER_GRANTABLE_ROLES = (Role.HANDLER, Role.INFORMANT, Role.UNIT_MANAGER)
SYSTEM_ADMIN_GRANTABLE_ROLES = tuple(role for role in Role if role not in ADMIN_ROLES)


@dataclass(frozen=True)
class AdminAccess:
    superuser: bool = False
    system_admin: bool = False
    security_admin: bool = False
    audit_admin: bool = False
    managed_paths: tuple[str, ...] = ()  # reach of the user's unit-manager memberships

    @property
    def unit_manager(self) -> bool:
        return bool(self.managed_paths)

    @property
    def sees_all_users(self) -> bool:
        return self.superuser or self.system_admin or self.security_admin

    @property
    def manages_users(self) -> bool:
        return self.superuser or self.system_admin or self.unit_manager

    @property
    def reads_users(self) -> bool:
        return self.sees_all_users or self.unit_manager

    @property
    def unlocks_accounts(self) -> bool:
        return self.superuser or self.security_admin

    @property
    def reads_audit_log(self) -> bool:
        return self.superuser or self.audit_admin

    @property
    def manages_units(self) -> bool:
        return self.superuser or self.system_admin

    def grantable_roles(self) -> tuple[str, ...]:
        if self.superuser:
            return tuple(Role)
        if self.system_admin:
            return SYSTEM_ADMIN_GRANTABLE_ROLES
        if self.unit_manager:
            return UNIT_MANAGER_GRANTABLE_ROLES
        return ()


NO_ACCESS = AdminAccess()


def admin_access(user: User | None) -> AdminAccess:
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return NO_ACCESS
    remit = remit_for(user)
    return AdminAccess(
        superuser=user.is_superuser,
        system_admin=remit.has_role(Role.SYSTEM_ADMIN),
        security_admin=remit.has_role(Role.SECURITY_ADMIN),
        audit_admin=remit.has_role(Role.AUDIT_ADMIN),
        managed_paths=remit.paths_with_role(Role.UNIT_MANAGER),
    )


def _protected_users() -> QuerySet[User]:
    """Accounts only a superuser may manage."""
    admin_holders = Membership.objects.filter(role__in=ADMIN_ROLES).values("user_id")
    return User.objects.filter(is_superuser=True) | User.objects.filter(pk__in=admin_holders)


def users_visible_to(access: AdminAccess) -> QuerySet[User]:
    users = User.objects.all()
    if access.sees_all_users:
        return users
    if not access.unit_manager:
        return users.none()
    in_subtree = Membership.objects.filter(path_filter(access.managed_paths, "unit")).values("user_id")
    return users.filter(pk__in=in_subtree).exclude(pk__in=_protected_users().values("pk"))


def units_grantable_by(access: AdminAccess) -> QuerySet[OrgUnit]:
    units = OrgUnit.objects.active()
    if access.superuser or access.system_admin:
        return units
    return units.filter(path_filter(access.managed_paths))


def memberships_visible_to(access: AdminAccess) -> QuerySet[Membership]:
    memberships = Membership.objects.select_related("unit")
    if access.sees_all_users:
        return memberships
    return memberships.filter(path_filter(access.managed_paths, "unit"))


def can_view_user(access: AdminAccess, user: User) -> bool:
    return users_visible_to(access).filter(pk=user.pk).exists()


def can_change_user(access: AdminAccess, user: User) -> bool:
    if access.superuser:
        return True
    if not access.manages_users or _protected_users().filter(pk=user.pk).exists():
        return False
    if access.system_admin:
        return True
    # A unit manager changes a user only when every membership is one they could have granted,
    # so editing cannot reach into another unit's staff.
    outside = Membership.objects.filter(user=user).exclude(
        path_filter(access.managed_paths, "unit") & Q(role__in=access.grantable_roles())
    )
    return can_view_user(access, user) and not outside.exists()
