"""Read side of 事后评价, always scoped through `cases.selectors.cases_visible_to`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.models import Case
from minqing.cases.selectors import cases_visible_to
from minqing.feedback.models import (
    CallOutcome,
    CallState,
    FollowUpCall,
    Rating,
    RatingChannel,
    ReviewRequest,
    ReviewState,
    Score,
)
from minqing.orgs.models import OrgUnit

SOURCES = {
    "citizen_ratings": "群众评价（网页、微信、短信链接、手机应用），按评价时间统计",
    "follow_up_calls": "督导组电话回访（接通且回答了满意度的），按回访时间统计",
    "combined": "群众评价与电话回访两个来源的回答合计（同一案件两处都有回答时各计一次）",
}


def _scoped_cases(user, unit: OrgUnit | None) -> QuerySet[Case]:
    """The user's cases; with `unit`, only those whose lead unit is that unit or below it."""
    cases = cases_visible_to(user)
    return cases.filter(lead_path__startswith=unit.path) if unit is not None else cases


def _between(field: str, start: datetime | None, end: datetime | None) -> Q:
    query = Q()
    if start is not None:
        query &= Q(**{f"{field}__gte": start})
    if end is not None:
        query &= Q(**{f"{field}__lt": end})
    return query


def _rate(good: int, rated: int) -> float | None:
    """满意率 = (满意 + 基本满意) / 已评价; None when nothing was rated."""
    return good / rated if rated else None


def _score_counts(queryset: QuerySet, field: str) -> dict[str, int]:
    counts = queryset.aggregate(
        rated=Count("pk", filter=Q(**{f"{field}__in": Score.values})),
        satisfied=Count("pk", filter=Q(**{field: Score.SATISFIED})),
        basically=Count("pk", filter=Q(**{field: Score.BASICALLY_SATISFIED})),
        unsatisfied=Count("pk", filter=Q(**{field: Score.UNSATISFIED})),
    )
    return {key: counts[key] or 0 for key in ("rated", "satisfied", "basically", "unsatisfied")}


def _with_rate(counts: dict[str, int]) -> dict[str, Any]:
    return {**counts, "rate": _rate(counts["satisfied"] + counts["basically"], counts["rated"])}


def citizen_rating_figures(cases: QuerySet[Case], start: datetime | None, end: datetime | None) -> dict[str, Any]:
    ratings = Rating.objects.filter(_between("created_at", start, end), case__in=cases)
    by_channel = dict(ratings.values_list("channel").annotate(n=Count("pk")).order_by())
    figures = _with_rate(_score_counts(ratings, "score"))
    figures["by_channel"] = {channel: by_channel.get(channel, 0) for channel in RatingChannel.values}
    return figures


def follow_up_figures(cases: QuerySet[Case], start: datetime | None, end: datetime | None) -> dict[str, Any]:
    calls = FollowUpCall.objects.filter(_between("called_at", start, end), case__in=cases, called_at__isnull=False)
    outcomes = calls.aggregate(
        calls=Count("pk"),
        reached=Count("pk", filter=Q(outcome=CallOutcome.REACHED)),
        not_reached=Count("pk", filter=Q(outcome=CallOutcome.NOT_REACHED)),
        refused=Count("pk", filter=Q(outcome=CallOutcome.REFUSED)),
    )
    return {**outcomes, **_with_rate(_score_counts(calls, "satisfaction"))}


def satisfaction(
    user, *, start: datetime | None = None, end: datetime | None = None, unit: OrgUnit | None = None
) -> dict[str, Any]:
    """满意率 from both sources, each with its counts, and the two combined.

    Ratings count by `created_at`, calls by `called_at`, within [start, end). `unit`
    restricts to cases led by that unit (or a unit below it). Every figure names its source.
    """
    cases = _scoped_cases(user, unit)
    ratings = citizen_rating_figures(cases, start, end)
    calls = follow_up_figures(cases, start, end)
    combined = {key: ratings[key] + calls[key] for key in ("rated", "satisfied", "basically", "unsatisfied")}
    return {
        "citizen_ratings": ratings,
        "follow_up_calls": calls,
        "combined": _with_rate(combined),
        "sources": dict(SOURCES),
        "period": {"start": start, "end": end},
        "unit": unit.name if unit is not None else "",
    }


# --- Queues --------------------------------------------------------------------------------


def is_inspector(user) -> bool:
    return remit_for(user).has_role(Role.INSPECTOR)


def follow_up_queue(user) -> QuerySet[FollowUpCall]:
    """待回访: queued calls on cases the inspector may see, oldest first."""
    if not is_inspector(user):
        return FollowUpCall.objects.none()
    return (
        FollowUpCall.objects.filter(state=CallState.QUEUED, case__in=cases_visible_to(user))
        .select_related("case", "questionnaire")
        .order_by("created_at", "id")
    )


def done_calls(user, limit: int = 50) -> QuerySet[FollowUpCall]:
    if not is_inspector(user):
        return FollowUpCall.objects.none()
    return (
        FollowUpCall.objects.filter(state=CallState.DONE, case__in=cases_visible_to(user))
        .select_related("case", "caller")
        .order_by("-called_at", "-id")[:limit]
    )


def decider_paths(user) -> tuple[str, ...]:
    return remit_for(user).paths_with_role(Role.DISPATCHER, Role.COUNTY_MANAGER)


def _location_within(paths: tuple[str, ...]) -> Q:
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(case__location_path__startswith=path)
    return query


def pending_reviews_for(user) -> QuerySet[ReviewRequest]:
    """待复查决定: pending review requests on cases where the user is the centre or county manager."""
    paths = decider_paths(user)
    if not paths:
        return ReviewRequest.objects.none()
    return (
        ReviewRequest.objects.filter(state=ReviewState.PENDING, case__in=cases_visible_to(user))
        .filter(_location_within(paths))
        .select_related("case", "requested_by")
        .order_by("due", "id")
    )


# --- Inbox tiles (registered in FeedbackConfig.ready) -----------------------------------------


def follow_up_tile(user) -> dict | None:
    """The 待回访 tile, for inspectors only."""
    if not is_inspector(user):
        return None
    return {
        "name": "follow_ups",
        "label": _("待回访"),
        "count": follow_up_queue(user).count(),
        "url": reverse("feedback:calls"),
    }


def review_tile(user) -> dict | None:
    """The 待复查审批 tile, for the centre and county managers only."""
    if not decider_paths(user):
        return None
    return {
        "name": "reviews",
        "label": _("待复查审批"),
        "count": pending_reviews_for(user).count(),
        "url": reverse("feedback:reviews"),
    }
