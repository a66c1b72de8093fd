from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import AuditEntry, User
from minqing.accounts.tests.conftest import STAFF_PASSWORD, frozen_at

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def attempt(client, username: str, password: str):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def fail_five_times(client, user: User) -> None:
    for _ in range(5):
        attempt(client, user.username, "wrong-password")


def is_logged_in(client) -> bool:
    return SESSION_KEY in client.session


def test_login_page_answers_in_chinese():
    from django.test import Client

    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "工作人员登录" in page
    assert 'lang="zh-hans"' in page


def test_right_password_logs_in_and_is_audited(client, staff_user):
    response = attempt(client, staff_user.username, STAFF_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)
    assert AuditEntry.objects.filter(action="login", actor=staff_user).exists()


def test_wrong_password_is_refused_in_chinese(client, staff_user):
    response = attempt(client, staff_user.username, "wrong-password")
    assert "用户名或密码不正确" in response.content.decode()
    assert not is_logged_in(client)
    staff_user.refresh_from_db()
    assert staff_user.failed_login_count == 1


def test_five_wrong_passwords_lock_account(client, staff_user):
    fail_five_times(client, staff_user)
    staff_user.refresh_from_db()
    assert staff_user.is_locked()
    remaining = staff_user.locked_until - timezone.now()
    assert timedelta(minutes=4) < remaining <= timedelta(minutes=5)


def test_locked_account_refuses_right_password_with_lock_message(client, staff_user):
    fail_five_times(client, staff_user)
    response = attempt(client, staff_user.username, STAFF_PASSWORD)
    page = response.content.decode()
    assert response.status_code == 200
    assert "账号因多次登录失败已锁定" in page
    assert "5分钟后再试" in page
    assert not is_logged_in(client)


def test_fifth_failure_already_shows_lock_message(client, staff_user):
    for _ in range(4):
        attempt(client, staff_user.username, "wrong-password")
    response = attempt(client, staff_user.username, "wrong-password")
    assert "已锁定" in response.content.decode()


def test_lock_expires_after_five_minutes(client, staff_user, later):
    fail_five_times(client, staff_user)
    with frozen_at(later(5 * 60 + 1)):
        response = attempt(client, staff_user.username, STAFF_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_lock_still_holds_just_before_five_minutes(client, staff_user, later):
    fail_five_times(client, staff_user)
    with frozen_at(later(4 * 60 + 50)):
        response = attempt(client, staff_user.username, STAFF_PASSWORD)
    assert "已锁定" in response.content.decode()
    assert not is_logged_in(client)


def test_lock_in_the_past_no_longer_blocks(client, staff_user):
    User.objects.filter(pk=staff_user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    attempt(client, staff_user.username, STAFF_PASSWORD)
    assert is_logged_in(client)


def test_success_resets_failure_counter(client, staff_user):
    for _ in range(4):
        attempt(client, staff_user.username, "wrong-password")
    attempt(client, staff_user.username, STAFF_PASSWORD)
    staff_user.refresh_from_db()
    assert staff_user.failed_login_count == 0
    client.logout()
    for _ in range(4):  # four more failures do not lock: the count started again
        attempt(client, staff_user.username, "wrong-password")
    staff_user.refresh_from_db()
    assert not staff_user.is_locked()


def test_lockout_writes_audit_entries(client, staff_user):
    fail_five_times(client, staff_user)
    attempt(client, staff_user.username, STAFF_PASSWORD)
    actions = list(AuditEntry.objects.filter(target=staff_user.username).values_list("action", flat=True))
    assert actions == ["login_failed"] * 5 + ["account_locked", "login_refused_locked"]
    assert AuditEntry.objects.filter(action="login_failed").first().ip_address == "127.0.0.1"


def test_inactive_account_with_right_password_is_refused_without_counting(client, staff_user):
    User.objects.filter(pk=staff_user.pk).update(is_active=False)
    attempt(client, staff_user.username, STAFF_PASSWORD)
    assert not is_logged_in(client)
    staff_user.refresh_from_db()
    assert staff_user.failed_login_count == 0


def test_citizen_account_cannot_use_staff_login(client, db):
    citizen = User(username="citizen1", is_citizen=True)
    citizen.set_password(STAFF_PASSWORD)  # even a citizen that somehow has a password
    citizen.save()
    response = attempt(client, "citizen1", STAFF_PASSWORD)
    assert "用户名或密码不正确" in response.content.decode()
    assert not is_logged_in(client)
    citizen.refresh_from_db()
    assert citizen.failed_login_count == 0


def test_unknown_username_is_refused_like_a_wrong_password(client, db):
    response = attempt(client, "nobody", STAFF_PASSWORD)
    assert "用户名或密码不正确" in response.content.decode()
    assert not is_logged_in(client)


def test_logout_is_audited(client, staff_user):
    client.force_login(staff_user)
    client.post(reverse("accounts:logout"))
    assert not is_logged_in(client)
    assert AuditEntry.objects.filter(action="logout", actor=staff_user).exists()
