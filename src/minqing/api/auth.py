"""Authentication for the API: bearer tokens, or the Django session (with CSRF) for the mobile pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from minqing.accounts.models import User
from minqing.api.tokens import user_for_token
from minqing.core.errors import NotPermitted


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in Django session; unsafe methods must carry the CSRF token.

    Unlike ninja's `django_auth`, a request without a session cookie is simply not
    authenticated (401), rather than refused for a missing CSRF token.
    """

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated:
            return None
        if check_csrf(request):
            raise HttpError(403, "CSRF 校验失败，请刷新页面后重试")
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
AUTH = [token_auth, session_auth]


def current_user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def require_staff(request: HttpRequest) -> User:
    """Staff endpoints refuse citizen accounts (403)."""
    user = current_user(request)
    if user.is_citizen:
        raise NotPermitted("群众账号不能使用工作人员接口")
    return user


def require_citizen(request: HttpRequest) -> User:
    user = current_user(request)
    if not user.is_citizen:
        raise NotPermitted(
            "工作人员请通过 POST /api/v1/staff/cases 登记来访、来信、来电", code="staff_use_registration"
        )
    return user
