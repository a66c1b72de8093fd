from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from minqing.accounts import audit

SESSION_KEY = "minqing_last_seen"
# Refreshing the timestamp on every request would write the session row every time;
# a minute's precision is plenty against a 30-minute timeout.
TOUCH_INTERVAL_SECONDS = 60


class StaffIdleTimeoutMiddleware:
    """Log staff out after STAFF_IDLE_TIMEOUT_SECONDS without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_citizen:
            now = time.time()
            last_seen = request.session.get(SESSION_KEY)
            if last_seen is not None and now - last_seen > settings.STAFF_IDLE_TIMEOUT_SECONDS:
                return self._log_out(request, user)
            if last_seen is None or now - last_seen >= TOUCH_INTERVAL_SECONDS:
                request.session[SESSION_KEY] = now
        return self.get_response(request)

    @staticmethod
    def _log_out(request: HttpRequest, user) -> HttpResponse:
        audit.record("idle_logout", actor=user, target=user.get_username(), request=request)
        logout(request)
        # This middleware may run before MessageMiddleware, which then never sees the
        # request or the response: keep the message in storage we save ourselves.
        storage = getattr(request, "_messages", None) or default_storage(request)
        storage.add(messages.INFO, _("您已长时间未操作，请重新登录。"))
        response = redirect(settings.LOGIN_URL)
        if getattr(request, "_messages", None) is None:
            storage.update(response)
        return response
