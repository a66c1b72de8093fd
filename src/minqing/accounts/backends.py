"""Password login with lockout: 5 failures lock the account for 5 minutes.

The lock lives on the user row and is updated with compare-and-set expressions,
so parallel guesses cannot undercount failures.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from minqing.accounts import audit
from minqing.accounts.models import User


class AccountLocked(Exception):
    pass


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs
    ) -> User | None:
        if username is None or password is None:
            return None
        user = User.objects.filter(username=username, is_citizen=False).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle for names
            return None
        if user.is_locked():
            audit.record("login_refused_locked", actor=None, target=user.username, request=request)
            if request is not None:
                request.minqing_locked_until = user.locked_until
            return None
        if not user.check_password(password):
            register_failed_login(user, request)
            return None
        if not self.user_can_authenticate(user):
            return None  # right password, inactive account: refused, but not a guess to count
        if user.failed_login_count or user.locked_until:
            User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            user.failed_login_count, user.locked_until = 0, None
        return user


def register_failed_login(user: User, request: HttpRequest | None = None) -> None:
    User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
    user.refresh_from_db(fields=["failed_login_count", "locked_until"])
    audit.record(
        "login_failed", actor=None, target=user.username, request=request, payload={"failures": user.failed_login_count}
    )
    if user.failed_login_count >= settings.LOGIN_FAILURE_LIMIT:
        until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_login_count=0)
        user.locked_until = until
        audit.record(
            "account_locked", actor=None, target=user.username, request=request, payload={"until": until.isoformat()}
        )
        if request is not None:
            request.minqing_locked_until = until
