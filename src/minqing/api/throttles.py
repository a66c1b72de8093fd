"""Rate limits of the API (HTTP 429). Rates come from settings.API_RATE_LIMITS, read on each request.

Scopes: "default" (every call, per user or per client address), "auth" (the SMS
endpoints, per client address) and "submit" (citizen submissions, per user).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import SimpleRateThrottle

DEFAULT_RATES = {"default": "300/m", "auth": "10/m", "submit": "20/h"}


def rate_for(scope: str) -> str:
    return {**DEFAULT_RATES, **getattr(settings, "API_RATE_LIMITS", {})}[scope]


class ScopedThrottle(SimpleRateThrottle):
    def __init__(self, scope: str, *, per_user: bool = True) -> None:
        self.scope = scope
        self.per_user = per_user
        self.rate = None

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = rate_for(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "auth", None)
        if self.per_user and user is not None and getattr(user, "pk", None):
            ident = f"user{user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return f"minqing_api_{self.scope}_{ident}"
