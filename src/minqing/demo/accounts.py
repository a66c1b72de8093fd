"""One demo account per role, on the Yiyang org tree loaded by `minqing orgs load yiyang`.

Names are synthetic and say so (（演示）). All staff accounts share one password,
DEMO_PASSWORD from the environment or `Minqing@2025`. Running `ensure_demo_accounts`
again creates nothing new; it only makes sure each password is the demo password
and each membership exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.db import transaction

from minqing.accounts.actions import create_staff_user, get_or_create_citizen, grant_membership
from minqing.accounts.models import ADMIN_ROLES, MANAGER_ROLES, Role, User
from minqing.orgs.models import OrgUnit, UnitKind

DEFAULT_DEMO_PASSWORD = "Minqing@2025"
DEMO_CITIZEN_PHONE = "13800000001"
DEMO_CITIZEN_NAME = "王群众（演示）"
# The village for the informant: the first village of this township, by code.
INFORMANT_TOWNSHIP = "410327102"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    unit_code: str | None  # None: the first village of INFORMANT_TOWNSHIP


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("dispatcher", "张调度（演示）", Role.DISPATCHER, "410327X01"),
    DemoAccount("county_manager", "李县管（演示）", Role.COUNTY_MANAGER, "410327"),
    DemoAccount("inspector", "赵督导（演示）", Role.INSPECTOR, "410327"),
    DemoAccount("liuquan_handler", "陈承办（演示）", Role.HANDLER, "410327102"),
    DemoAccount("liuquan_manager", "刘镇管（演示）", Role.UNIT_MANAGER, "410327102"),
    DemoAccount("police_handler", "杨警官（演示）", Role.HANDLER, "410327D01"),
    DemoAccount("police_manager", "黄局管（演示）", Role.UNIT_MANAGER, "410327D01"),
    DemoAccount("informant", "周信息员（演示）", Role.INFORMANT, None),
    DemoAccount("assessor", "吴研判（演示）", Role.ASSESSOR, "410327X03"),
    DemoAccount("sysadmin", "郑系统管理员（演示）", Role.SYSTEM_ADMIN, "410327"),
    DemoAccount("secadmin", "孙安全管理员（演示）", Role.SECURITY_ADMIN, "410327"),
    DemoAccount("auditor", "钱审计管理员（演示）", Role.AUDIT_ADMIN, "410327"),
)

STAFF_SITE_ROLES = frozenset(ADMIN_ROLES | MANAGER_ROLES)


class DemoDataMissing(Exception):
    pass


@dataclass(frozen=True)
class DemoAccountRow:
    username: str
    password: str
    role: str
    unit: str
    display_name: str
    created: bool


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def _units() -> dict[str, OrgUnit]:
    codes = {account.unit_code for account in DEMO_ACCOUNTS if account.unit_code} | {INFORMANT_TOWNSHIP}
    units = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=codes)}
    missing = sorted(codes - units.keys())
    village = OrgUnit.objects.filter(parent__code=INFORMANT_TOWNSHIP, kind=UnitKind.VILLAGE).order_by("code").first()
    if missing or village is None:
        what = ", ".join(missing) if missing else f"villages under {INFORMANT_TOWNSHIP}"
        raise DemoDataMissing(
            f"组织机构数据缺失（{what}）。请先运行 `minqing orgs load yiyang`。\n"
            f"The org units are missing ({what}). Run `minqing orgs load yiyang` first."
        )
    units[""] = village
    return units


@transaction.atomic
def ensure_demo_accounts(password: str | None = None) -> list[DemoAccountRow]:
    password = password or demo_password()
    units = _units()
    rows: list[DemoAccountRow] = []
    for account in DEMO_ACCOUNTS:
        unit = units[account.unit_code or ""]
        user = User.objects.filter(username=account.username).first()
        created = user is None
        if user is None:
            user = create_staff_user(account.username, password, display_name=account.display_name)
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if account.role in STAFF_SITE_ROLES and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        grant_membership(user, unit, account.role)
        rows.append(
            DemoAccountRow(
                username=account.username,
                password=password,
                role=str(Role(account.role).label),
                unit=f"{unit.name} ({unit.code})",
                display_name=user.display_name,
                created=created,
            )
        )
    existed = User.objects.get_citizen_by_phone(DEMO_CITIZEN_PHONE) is not None
    citizen = get_or_create_citizen(DEMO_CITIZEN_PHONE, name=DEMO_CITIZEN_NAME)
    rows.append(
        DemoAccountRow(
            username=DEMO_CITIZEN_PHONE,
            password="短信验证码 / SMS code",
            role="群众",
            unit="—",
            display_name=citizen.display_name,
            created=not existed,
        )
    )
    return rows
