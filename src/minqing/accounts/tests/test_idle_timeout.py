from __future__ import annotations

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from minqing.accounts.middleware import SESSION_KEY as LAST_SEEN_KEY
from minqing.accounts.models import AuditEntry, User

pytestmark = pytest.mark.django_db

HOME = reverse("web:home")


def pretend_last_seen(client, seconds_ago: float) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds_ago
    session.save()


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.STAFF_IDLE_TIMEOUT_SECONDS = 60


def test_active_staff_stays_logged_in(client, staff_user):
    client.force_login(staff_user)
    assert client.get(HOME).status_code == 200
    pretend_last_seen(client, 30)
    assert client.get(HOME).status_code == 200
    assert SESSION_KEY in client.session


def test_idle_staff_is_logged_out_with_message(client, staff_user):
    client.force_login(staff_user)
    client.get(HOME)
    pretend_last_seen(client, 61)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert SESSION_KEY not in client.session
    assert AuditEntry.objects.filter(action="idle_logout", actor=staff_user).exists()
    login_page = client.get(response.url)
    assert "您已长时间未操作，请重新登录。" in login_page.content.decode()


def test_idle_citizen_is_not_logged_out(client, db):
    citizen = User.objects.create(username="citizen", is_citizen=True)
    client.force_login(citizen)
    client.get(HOME)
    pretend_last_seen(client, 3600)
    client.get(HOME)
    assert SESSION_KEY in client.session
