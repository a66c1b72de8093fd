"""Rate limits of the API (HTTP 429). Rates come from settings.API_RATE_LIMITS, read on each request.

Scopes: "default" (every call, per user or per client address), "auth" (the SMS
endpoints, per client address) and "submit" (citizen submissions, per user).

A sliding-window counter: the count of the current fixed window, plus the previous window's count
weighted by how much of that window the sliding one still covers. Per request that is one read of
two small counters and one atomic increment in the shared cache, whatever the rate. (ninja's
SimpleRateThrottle keeps every request's time in one cached list and rewrites it on each request,
so its cost grows with the rate, and two workers writing the list at once lose each other's entries.)
"""

from __future__ import annotations

import re
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

DEFAULT_RATES = {"default": "300/m", "auth": "10/m", "submit": "20/h"}


def rate_for(scope: str) -> str:
    return {**DEFAULT_RATES, **getattr(settings, "API_RATE_LIMITS", {})}[scope]


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)(s|sec|second|m|min|minute|h|hour|d|day)$")


def parse_rate(rate: str) -> tuple[int, int]:
    """ "20/h" → (20 requests, 3600 seconds); "10/5m" → (10, 300). The format of ninja's throttles."""
    found = _RATE.match(rate.strip())
    if found is None:
        raise ValueError(f"invalid rate {rate!r}: expected e.g. 300/m, 20/h, 10/5m")
    count, multiple, unit = found.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit[0]]


class ScopedThrottle(BaseThrottle):
    def __init__(self, scope: str, *, per_user: bool = True) -> None:
        self.scope = scope
        self.per_user = per_user
        self._refused = threading.local()  # one instance serves every thread of the worker

    def allow_request(self, request: HttpRequest) -> bool:
        limit, seconds = parse_rate(rate_for(self.scope))
        now = time.time()
        window, into = divmod(now, seconds)
        current, previous = self.cache_key(request, int(window)), self.cache_key(request, int(window) - 1)
        counts = cache.get_many([current, previous])
        done_now, done_before = counts.get(current, 0), counts.get(previous, 0)
        if done_before * (1 - into / seconds) + done_now >= limit:
            self._refused.wait = self._seconds_until_allowed(limit, seconds, into, done_before, done_now)
            return False
        # Kept two windows: the next window reads this one as its previous.
        if not cache.add(current, 1, timeout=2 * seconds):
            try:
                cache.incr(current)
            except ValueError:  # expired between add and incr
                cache.add(current, 1, timeout=2 * seconds)
        return True

    def wait(self) -> float | None:
        """Seconds until a request would be allowed again (after a refusal)."""
        return getattr(self._refused, "wait", None)

    @staticmethod
    def _seconds_until_allowed(limit: int, seconds: int, into: float, previous: int, current: int) -> float:
        if current >= limit:  # only the next window helps
            return seconds - into
        # previous × (1 − t / seconds) + current < limit, solved for t within this window
        return max(seconds * (1 - (limit - current) / previous) - into, 0.0)

    def cache_key(self, request: HttpRequest, window: int) -> str:
        user = getattr(request, "auth", None)
        if self.per_user and user is not None and getattr(user, "pk", None):
            ident = f"user{user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return f"minqing_api_{self.scope}_{ident}_{window}"
