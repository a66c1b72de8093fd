from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.955 → "95.5%"; None (nothing rated) → "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}%"
