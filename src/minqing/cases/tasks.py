from __future__ import annotations

import logging

from django_tasks import task

logger = logging.getLogger("minqing.cases")


@task()
def recompute_deadlines(years: list[int]) -> int:
    from minqing.cases.actions import recompute_provisional_deadlines

    changed = recompute_provisional_deadlines(years)
    logger.info("recomputed deadlines of %s cases after calendar change for %s", changed, years)
    return changed


def on_calendar_changed(sender, years, **kwargs) -> None:
    """A year's schedule was entered or edited: recount provisional due dates in the background."""
    recompute_deadlines.enqueue(sorted(years))
