"""Signals sent by the calendar's actions after their transaction commits.

`calendar_changed(sender=CalendarDay, years=frozenset[int])`: the days or completeness of
these years changed. The cases app listens to recompute stored deadlines (in particular the
provisional ones) that consult those years; it may equally poll `selectors.complete_years()`.
"""

from __future__ import annotations

from django.dispatch import Signal

calendar_changed = Signal()
