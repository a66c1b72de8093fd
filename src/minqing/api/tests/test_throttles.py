"""The sliding-window counter behind every API rate limit."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import RequestFactory

from minqing.api.throttles import ScopedThrottle, parse_rate

START = 1_800_000_000.0  # the start of a one-minute window (divisible by 60)


@pytest.fixture
def clock():
    with mock.patch("minqing.api.throttles.time.time", return_value=START) as fake:
        yield fake


def _request(addr: str = "10.0.0.1"):
    return RequestFactory().post("/api/v1/auth/sms-code", REMOTE_ADDR=addr)


def test_the_limit_holds_within_a_window_and_per_client(settings, clock):
    settings.API_RATE_LIMITS = {"auth": "3/m"}
    throttle = ScopedThrottle("auth", per_user=False)
    assert [throttle.allow_request(_request()) for _ in range(4)] == [True, True, True, False]
    assert throttle.wait() == pytest.approx(60.0)  # nothing before: the next window
    assert throttle.allow_request(_request("10.0.0.2"))  # another address has its own count


def test_the_previous_window_counts_for_the_part_still_covered(settings, clock):
    settings.API_RATE_LIMITS = {"auth": "4/m"}
    throttle = ScopedThrottle("auth", per_user=False)
    clock.return_value = START + 50
    assert all(throttle.allow_request(_request()) for _ in range(4))
    clock.return_value = START + 60 + 10  # 5/6 of the last window still covered: 4 × 5/6 ≈ 3.33
    assert throttle.allow_request(_request())  # 3.33 + 0 < 4
    assert not throttle.allow_request(_request())  # 3.33 + 1 ≥ 4
    assert throttle.wait() == pytest.approx(5.0)  # 4 × (1 − t/60) + 1 < 4 once t > 15 s
    clock.return_value = START + 60 + 31  # 4 × 29/60 ≈ 1.93, + 1 < 4
    assert throttle.allow_request(_request())
    clock.return_value = START + 180  # two windows on: all forgotten
    assert all(throttle.allow_request(_request()) for _ in range(4))


@pytest.mark.parametrize(
    ("rate", "expected"), [("300/m", (300, 60)), ("20/h", (20, 3600)), ("10/5m", (10, 300)), ("2/day", (2, 86400))]
)
def test_rates_are_read_like_ninjas(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "ten/m", "5/fortnight", "5"])
def test_a_bad_rate_is_named(rate):
    with pytest.raises(ValueError, match="invalid rate"):
        parse_rate(rate)
