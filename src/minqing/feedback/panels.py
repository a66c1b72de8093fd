"""The 事后评价 panel on the case page: ratings, review requests and follow-up calls of the case."""

from __future__ import annotations

from django.template.loader import render_to_string

from minqing.feedback.actions import REVIEW_DECIDERS
from minqing.feedback.models import FollowUpCall, Rating, ReviewRequest


def case_panel(user, case, kinds: frozenset[str]) -> str:
    """The case page already checked that `user` may see `case`."""
    ratings = list(Rating.objects.filter(case=case).select_related("rated_by").order_by("round", "id"))
    reviews = list(ReviewRequest.objects.filter(case=case).select_related("decided_by").order_by("created_at", "id"))
    calls = list(FollowUpCall.objects.filter(case=case).select_related("caller").order_by("round", "id"))
    if not (ratings or reviews or calls):
        return ""
    context = {
        "case": case,
        "ratings": ratings,
        "reviews": reviews,
        "calls": calls,
        "may_decide": bool(kinds & REVIEW_DECIDERS) and any(r.is_pending for r in reviews),
    }
    return render_to_string("feedback/_case_panel.html", context)
