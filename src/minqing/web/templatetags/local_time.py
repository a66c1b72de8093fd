"""`{{ value|minute }}` and `{{ value|day }}`: a time as "2026-11-29 16:05" or "2026-11-29" in the
current time zone, what `|date:"Y-m-d H:i"` and `|date:"Y-m-d"` give, at a fifth of their cost
(case lists render two per row). Empty for None, so `|default:"—"` still applies. `minute` is for
times (`|date` refuses an hour format for a date); `day` takes either."""

from __future__ import annotations

from datetime import date, datetime

from django import template

register = template.Library()


@register.filter(expects_localtime=True)
def minute(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@register.filter(expects_localtime=True)
def day(value: date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""
