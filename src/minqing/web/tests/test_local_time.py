"""`|minute` and `|day` say what `|date:"Y-m-d H:i"` and `|date:"Y-m-d"` say, in the current time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.utils import timezone

RENDER = engines["django"].from_string(
    '{% load local_time %}{{ v|minute }}|{{ v|date:"Y-m-d H:i" }}|'
    '{{ v|day|default:"—" }}|{{ v|date:"Y-m-d"|default:"—" }}'
)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/New_York"])
@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 28, 16, 5, tzinfo=UTC),  # past midnight in Shanghai: the local day moves on
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # New York's DST change
    ],
)
def test_same_text_as_the_date_filter(zone, value):
    with timezone.override(zone):
        ours_minute, django_minute, ours_day, django_day = RENDER.render({"v": value}).split("|")
    assert ours_minute == django_minute
    assert ours_day == django_day


def test_a_date_is_its_day():
    day_only = engines["django"].from_string('{% load local_time %}{{ v|day }}|{{ v|date:"Y-m-d" }}')
    ours, django = day_only.render({"v": date(2026, 2, 28)}).split("|")
    assert ours == django == "2026-02-28"


def test_nothing_renders_empty_so_default_applies():
    assert RENDER.render({"v": None}).split("|")[::2] == ["", "—"]
