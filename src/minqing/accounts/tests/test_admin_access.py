"""The accounts admin: separation of duties and unit-manager scoping.

Every refusal also checks that nothing changed and nothing was audited.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import AuditEntry, Membership, Role, User
from minqing.accounts.tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD_USER = reverse("admin:accounts_user_add")
AUDIT_LIST = reverse("admin:accounts_auditentry_changelist")


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


@pytest.fixture
def people(county_tree, make_staff) -> SimpleNamespace:
    tree = county_tree
    return SimpleNamespace(
        tree=tree,
        manager_a=make_staff("manager_a", (tree.township_a, Role.UNIT_MANAGER), is_staff=True),
        handler_a1=make_staff("handler_a1", (tree.village_a1, Role.HANDLER), phone="13812345678"),
        handler_b=make_staff("handler_b", (tree.township_b, Role.HANDLER)),
        dispatcher=make_staff("dispatcher", (tree.centre_office, Role.DISPATCHER)),
        system_admin=make_staff("sysadmin", (tree.county, Role.SYSTEM_ADMIN), is_staff=True),
        security_admin=make_staff("secadmin", (tree.county, Role.SECURITY_ADMIN), is_staff=True),
        audit_admin=make_staff("audadmin", (tree.county, Role.AUDIT_ADMIN), is_staff=True),
        superuser=make_staff("root", is_staff=True, is_superuser=True),
    )


def logged_in(client, user: User):
    client.force_login(user)
    return client


def user_form_data(user: User, memberships: list[tuple[Membership | None, object, str]], **changes) -> dict:
    """POST data for the user change page as a unit manager or system admin sees it."""
    data = {"username": user.username, "display_name": user.display_name, "phone": "", "is_active": "on"}
    if user.is_staff:
        data["is_staff"] = "on"
    existing = [m for m, _unit, _role in memberships if m is not None]
    data.update(
        {
            "memberships-TOTAL_FORMS": str(len(memberships)),
            "memberships-INITIAL_FORMS": str(len(existing)),
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        }
    )
    for index, (membership, unit, role) in enumerate(memberships):
        prefix = f"memberships-{index}-"
        data[prefix + "id"] = str(membership.pk) if membership else ""
        data[prefix + "user"] = str(user.pk)
        data[prefix + "unit"] = str(unit.pk)
        data[prefix + "role"] = role
    data.update(changes)
    return data


def current(user: User, membership_unit) -> tuple[Membership, object, str]:
    membership = Membership.objects.get(user=user, unit=membership_unit)
    return membership, membership.unit, membership.role


def audit_count() -> int:
    return AuditEntry.objects.count()


def lock(user: User) -> None:
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() + timedelta(minutes=5), failed_login_count=0)


# --- Unit manager scoping -------------------------------------------------------


def test_unit_manager_changelist_shows_only_own_units_users(client, people):
    page = logged_in(client, people.manager_a).get(CHANGELIST).content.decode()
    assert "handler_a1" in page
    assert "manager_a" in page
    for outsider in ("handler_b", "dispatcher", "sysadmin", "root"):
        assert f">{outsider}<" not in page


def test_unit_manager_cannot_open_other_units_user(client, people):
    response = logged_in(client, people.manager_a).get(change_url(people.handler_b))
    assert response.status_code in (403, 404)


def test_unit_manager_cannot_change_other_units_user(client, people):
    before = audit_count()
    data = user_form_data(people.handler_b, [current(people.handler_b, people.tree.township_b)], display_name="被篡改")
    response = logged_in(client, people.manager_a).post(change_url(people.handler_b), data)
    assert response.status_code in (403, 404)
    people.handler_b.refresh_from_db()
    assert people.handler_b.display_name == "handler_b"
    assert audit_count() == before


def test_unit_manager_cannot_change_user_who_also_works_elsewhere(client, people):
    Membership.objects.create(user=people.handler_a1, unit=people.tree.township_b, role=Role.HANDLER)
    before = audit_count()
    data = user_form_data(people.handler_a1, [current(people.handler_a1, people.tree.village_a1)], display_name="x")
    response = logged_in(client, people.manager_a).post(change_url(people.handler_a1), data)
    assert response.status_code == 403
    people.handler_a1.refresh_from_db()
    assert people.handler_a1.display_name == "handler_a1"
    assert audit_count() == before


def test_unit_manager_grants_membership_within_remit_and_it_is_audited(client, people):
    data = user_form_data(
        people.handler_a1,
        [current(people.handler_a1, people.tree.village_a1), (None, people.tree.village_a2, Role.INFORMANT)],
    )
    response = logged_in(client, people.manager_a).post(change_url(people.handler_a1), data)
    assert response.status_code == 302
    assert Membership.objects.filter(user=people.handler_a1, unit=people.tree.village_a2, role=Role.INFORMANT).exists()
    granted = AuditEntry.objects.get(action="membership_granted")
    assert granted.actor == people.manager_a
    assert granted.payload == {"unit": "VA2", "role": "informant", "via": "admin"}
    assert AuditEntry.objects.filter(action="admin_changed", actor=people.manager_a).exists()


def test_unit_manager_cannot_grant_membership_outside_remit(client, people):
    before = audit_count()
    data = user_form_data(
        people.handler_a1,
        [current(people.handler_a1, people.tree.village_a1), (None, people.tree.township_b, Role.HANDLER)],
    )
    response = logged_in(client, people.manager_a).post(change_url(people.handler_a1), data)
    assert response.status_code == 200  # the form comes back with an error
    assert not Membership.objects.filter(user=people.handler_a1, unit=people.tree.township_b).exists()
    assert audit_count() == before


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.COUNTY_MANAGER, Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN])
def test_unit_manager_cannot_grant_other_roles(client, people, role):
    before = audit_count()
    data = user_form_data(
        people.handler_a1,
        [current(people.handler_a1, people.tree.village_a1), (None, people.tree.village_a2, role)],
    )
    response = logged_in(client, people.manager_a).post(change_url(people.handler_a1), data)
    assert response.status_code == 200
    assert not Membership.objects.filter(user=people.handler_a1, role=role).exists()
    assert audit_count() == before


def test_unit_manager_unit_choices_are_limited_to_remit(client, people):
    response = logged_in(client, people.manager_a).get(change_url(people.handler_a1))
    unit_field = response.context["inline_admin_formsets"][0].formset.empty_form.fields["unit"]
    assert {unit.code for unit in unit_field.queryset} == {"TA", "VA1", "VA2"}


def test_unit_manager_adds_user_in_own_unit(client, people):
    data = {
        "username": "new_handler",
        "display_name": "新承办人",
        "phone": "",
        "usable_password": "true",
        "password1": STAFF_PASSWORD,
        "password2": STAFF_PASSWORD,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-unit": str(people.tree.village_a2.pk),
        "memberships-0-role": Role.HANDLER,
    }
    response = logged_in(client, people.manager_a).post(ADD_USER, data)
    assert response.status_code == 302
    new = User.objects.get(username="new_handler")
    assert not new.is_staff and not new.is_superuser
    assert new.memberships.get().unit == people.tree.village_a2
    assert AuditEntry.objects.filter(action="admin_added", actor=people.manager_a).exists()


def test_unit_manager_cannot_add_user_without_membership(client, people):
    before = audit_count()
    data = {
        "username": "orphan",
        "usable_password": "true",
        "password1": STAFF_PASSWORD,
        "password2": STAFF_PASSWORD,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = logged_in(client, people.manager_a).post(ADD_USER, data)
    assert response.status_code == 200
    assert not User.objects.filter(username="orphan").exists()
    assert audit_count() == before


def test_admin_refuses_simple_password_for_new_user(client, people):
    data = {
        "username": "weak",
        "usable_password": "true",
        "password1": "password",
        "password2": "password",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = logged_in(client, people.system_admin).post(ADD_USER, data)
    assert response.status_code == 200
    assert not User.objects.filter(username="weak").exists()


def test_handler_without_admin_role_gets_no_admin(client, people):
    User.objects.filter(pk=people.handler_b.pk).update(is_staff=True)
    people.handler_b.refresh_from_db()
    response = logged_in(client, people.handler_b).get(CHANGELIST)
    assert response.status_code == 403


# --- Phones are never shown in plaintext ----------------------------------------


def test_changelist_shows_masked_phone_only(client, people):
    page = logged_in(client, people.system_admin).get(CHANGELIST).content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page


def test_change_page_never_shows_plaintext_phone(client, people):
    for viewer in (people.system_admin, people.security_admin, people.manager_a):
        page = logged_in(client, viewer).get(change_url(people.handler_a1)).content.decode()
        assert "13812345678" not in page
        assert "138****5678" in page


def test_admin_sets_phone_encrypted_and_audit_holds_no_digits(client, people):
    data = user_form_data(
        people.handler_a1, [current(people.handler_a1, people.tree.village_a1)], phone="139 0000 1111"
    )
    response = logged_in(client, people.system_admin).post(change_url(people.handler_a1), data)
    assert response.status_code == 302
    people.handler_a1.refresh_from_db()
    assert people.handler_a1.phone == "13900001111"
    assert "13900001111" not in people.handler_a1.phone_encrypted
    entry = AuditEntry.objects.get(action="admin_changed")
    assert "13900001111" not in str(entry.payload)


def test_admin_refuses_invalid_phone(client, people):
    before = audit_count()
    data = user_form_data(people.handler_a1, [current(people.handler_a1, people.tree.village_a1)], phone="12345")
    response = logged_in(client, people.system_admin).post(change_url(people.handler_a1), data)
    assert response.status_code == 200
    people.handler_a1.refresh_from_db()
    assert people.handler_a1.phone == "13812345678"
    assert audit_count() == before


def test_search_by_phone_finds_user(client, people):
    page = logged_in(client, people.system_admin).get(CHANGELIST, {"q": "13812345678"}).content.decode()
    assert "handler_a1" in page
    assert "handler_b" not in page


# --- Separation of duties --------------------------------------------------------


def test_security_admin_unlocks_account_and_it_is_audited(client, people):
    lock(people.handler_b)
    response = logged_in(client, people.security_admin).post(
        CHANGELIST, {"action": "unlock_accounts", "_selected_action": [people.handler_b.pk]}
    )
    assert response.status_code == 302
    people.handler_b.refresh_from_db()
    assert not people.handler_b.is_locked()
    entry = AuditEntry.objects.get(action="account_unlocked")
    assert entry.actor == people.security_admin
    assert entry.target == "handler_b"


def test_security_admin_sees_lock_status(client, people):
    lock(people.handler_b)
    page = logged_in(client, people.security_admin).get(CHANGELIST).content.decode()
    assert "已锁定至" in page


def test_security_admin_cannot_change_users(client, people):
    before = audit_count()
    data = user_form_data(people.handler_b, [current(people.handler_b, people.tree.township_b)], display_name="x")
    response = logged_in(client, people.security_admin).post(change_url(people.handler_b), data)
    assert response.status_code == 403
    people.handler_b.refresh_from_db()
    assert people.handler_b.display_name == "handler_b"
    assert audit_count() == before


def test_system_admin_cannot_unlock_accounts(client, people):
    lock(people.handler_b)
    logged_in(client, people.system_admin).post(
        CHANGELIST, {"action": "unlock_accounts", "_selected_action": [people.handler_b.pk]}
    )
    people.handler_b.refresh_from_db()
    assert people.handler_b.is_locked()
    assert not AuditEntry.objects.filter(action="account_unlocked").exists()


def test_unit_manager_cannot_unlock_accounts(client, people):
    lock(people.handler_a1)
    logged_in(client, people.manager_a).post(
        CHANGELIST, {"action": "unlock_accounts", "_selected_action": [people.handler_a1.pk]}
    )
    people.handler_a1.refresh_from_db()
    assert people.handler_a1.is_locked()


def test_system_admin_cannot_grant_admin_roles(client, people):
    before = audit_count()
    data = user_form_data(
        people.handler_b,
        [current(people.handler_b, people.tree.township_b), (None, people.tree.county, Role.AUDIT_ADMIN)],
    )
    response = logged_in(client, people.system_admin).post(change_url(people.handler_b), data)
    assert response.status_code == 200
    assert not Membership.objects.filter(user=people.handler_b, role=Role.AUDIT_ADMIN).exists()
    assert audit_count() == before


def test_system_admin_cannot_change_other_administrators(client, people):
    before = audit_count()
    data = user_form_data(people.audit_admin, [current(people.audit_admin, people.tree.county)], display_name="x")
    response = logged_in(client, people.system_admin).post(change_url(people.audit_admin), data)
    assert response.status_code == 403
    people.audit_admin.refresh_from_db()
    assert people.audit_admin.display_name == "audadmin"
    assert audit_count() == before


def test_system_admin_manages_users_in_any_unit(client, people):
    data = user_form_data(
        people.handler_b,
        [current(people.handler_b, people.tree.township_b), (None, people.tree.department, Role.HANDLER)],
        display_name="承办人乙",
    )
    response = logged_in(client, people.system_admin).post(change_url(people.handler_b), data)
    assert response.status_code == 302
    people.handler_b.refresh_from_db()
    assert people.handler_b.display_name == "承办人乙"
    assert people.handler_b.memberships.filter(unit=people.tree.department).exists()


def test_system_admin_manages_units(client, people):
    response = logged_in(client, people.system_admin).get(reverse("admin:orgs_orgunit_changelist"))
    assert response.status_code == 200


def test_audit_admin_cannot_see_users_or_units(client, people):
    logged_in(client, people.audit_admin)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:orgs_orgunit_changelist")).status_code == 403


# --- Audit log ------------------------------------------------------------------


def test_audit_admin_reads_audit_log(client, people, staff_user):
    from minqing.accounts import audit

    audit.record("login", actor=people.handler_b, target="handler_b")
    response = logged_in(client, people.audit_admin).get(AUDIT_LIST)
    assert response.status_code == 200
    assert "handler_b" in response.content.decode()


@pytest.mark.parametrize("who", ["system_admin", "security_admin", "manager_a"])
def test_other_roles_cannot_read_audit_log(client, people, who):
    assert logged_in(client, getattr(people, who)).get(AUDIT_LIST).status_code == 403


def test_nobody_can_add_change_or_delete_audit_entries(client, people):
    from minqing.accounts import audit

    entry = audit.record("login", target="someone")
    for who in (people.superuser, people.audit_admin):
        logged_in(client, who)
        assert client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
        assert (
            client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
            == 403
        )
        client.post(reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"target": "edited"})
    entry.refresh_from_db()
    assert entry.target == "someone"
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert audit.verify_chain() is None


def test_sms_codes_are_not_in_the_admin(client, people):
    from django.contrib import admin

    from minqing.accounts.models import AuditChainHead, SmsCode

    assert not admin.site.is_registered(SmsCode)
    assert not admin.site.is_registered(AuditChainHead)
