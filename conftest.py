"""Test-wide settings. Named personas live in minqing.testing.personas (fixtures)."""

from __future__ import annotations

import pytest

from minqing.core.sms import MemorySmsBackend

pytest_plugins = ["minqing.testing.personas", "minqing.testing.browser"]


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.SMS_BACKEND = "minqing.core.sms.MemorySmsBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "notify"]}
    }
    MemorySmsBackend.outbox.clear()
    _forget_process_caches()
    yield
    MemorySmsBackend.outbox.clear()


@pytest.fixture
def sms_outbox():
    return MemorySmsBackend.outbox


def _forget_process_caches() -> None:
    """Per-process caches (calendar, SLA policies) must not carry over from another test's database."""
    from minqing.cases.deadlines import forget_policies
    from minqing.cases.notifications import forget_recipients
    from minqing.workcalendar.selectors import invalidate_calendar_cache

    forget_policies()
    forget_recipients()
    invalidate_calendar_cache()
