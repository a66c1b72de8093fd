"""Pages of 事后评价: citizen rating and review (by signed link or logged in), review decisions,
the inspectors' follow-up queue, and the satisfaction summary.

Views parse with `forms`, change records only through `actions` and read only through
`selectors`. A case outside the user's remit is a 404; a bad or expired link is a 400 page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from minqing.accounts.decorators import staff_required
from minqing.cases.lifecycle import actor_kinds
from minqing.cases.models import Case
from minqing.cases.selectors import cases_visible_to
from minqing.core.deadlines import LOCAL_TZ
from minqing.core.errors import DomainError
from minqing.feedback import actions, selectors
from minqing.feedback.forms import RatingForm, ReviewDecisionForm, ReviewForm, answers_from_post
from minqing.feedback.models import FollowUpCall, Rating, RatingChannel, ReviewRequest, ReviewState


def _status(exc: DomainError) -> int:
    return 422 if exc.status_code == 400 else exc.status_code


# --- Citizen: rating and review ----------------------------------------------------------------


class Entry:
    """How the citizen reached the page: a signed link (no login) or their own account."""

    def __init__(self, case: Case, actor, channel: str, *, token: str = "", expected_round: int | None = None) -> None:
        self.case, self.actor, self.channel = case, actor, channel
        self.token, self.expected_round = token, expected_round

    def urls(self) -> dict[str, str]:
        if self.token:
            return {
                "rate": reverse("feedback:rate_link", args=[self.token]),
                "review": reverse("feedback:review_link", args=[self.token]),
            }
        return {
            "rate": reverse("feedback:rate", args=[self.case.pk]),
            "review": reverse("feedback:review", args=[self.case.pk]),
        }


def _link_entry(request: HttpRequest, token: str) -> Entry | HttpResponse:
    try:
        target = actions.read_rating_token(token)
    except actions.InvalidLink as exc:
        return render(request, "feedback/link_error.html", {"error": exc.message}, status=400)
    case = Case.objects.filter(pk=target.case_id).first()
    if case is None:
        return render(request, "feedback/link_error.html", {"error": "案件不存在"}, status=404)
    return Entry(case, None, target.channel, token=token, expected_round=target.round)


def _own_entry(request: HttpRequest, pk: int) -> Entry:
    case = cases_visible_to(request.user).filter(pk=pk).first()
    if case is None or not actor_kinds(request.user, case) & actions.RATERS:
        raise Http404("案件不存在或您无权评价")
    return Entry(case, request.user, RatingChannel.WEB)


def _rating_context(entry: Entry) -> dict:
    case = entry.case
    current = Rating.objects.filter(case=case, round=case.reopen_count).first()
    stale = entry.expected_round is not None and entry.expected_round != case.reopen_count
    return {
        "case": case,
        "urls": entry.urls(),
        "rating": current,
        "stale": stale,
        "closed": case.state == "closed",
        "invites_review": bool(current and actions.invites_review(current)),
        "review_end": actions.review_window_end(case),
        "error": "",
    }


def _rate(request: HttpRequest, entry: Entry) -> HttpResponse:
    form = RatingForm(request.POST or None)
    context = {**_rating_context(entry), "form": form}
    status = 200
    if request.method == "POST":
        status = _submit_rating(entry, form, context)
    return render(request, "feedback/rate.html", context, status=status)


def _submit_rating(entry: Entry, form: RatingForm, context: dict) -> int:
    if not form.is_valid():
        context["error"] = "请选择评价"
        return 422
    try:
        rating = actions.rate_case(
            entry.case,
            entry.actor,
            score=form.cleaned_data["score"],
            reason=form.cleaned_data["reason"],
            channel=entry.channel,
            expected_round=entry.expected_round,
        )
    except DomainError as exc:
        context["error"] = exc.message
        return _status(exc)
    context.update(rating=rating, done=True, invites_review=actions.invites_review(rating))
    context["case"] = Case.objects.get(pk=entry.case.pk)
    return 200


@require_http_methods(["GET", "POST"])
def rate_by_link(request: HttpRequest, token: str) -> HttpResponse:
    entry = _link_entry(request, token)
    return entry if isinstance(entry, HttpResponse) else _rate(request, entry)


@login_required
@require_http_methods(["GET", "POST"])
def rate_own(request: HttpRequest, pk: int) -> HttpResponse:
    return _rate(request, _own_entry(request, pk))


def _review(request: HttpRequest, entry: Entry) -> HttpResponse:
    form = ReviewForm(request.POST or None)
    pending = ReviewRequest.objects.filter(case=entry.case, state=ReviewState.PENDING).first()
    context = {**_rating_context(entry), "form": form, "pending": pending, "review": None}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            context["error"], status = "请写明申请复查的理由", 422
        else:
            try:
                context["review"] = actions.request_review(
                    entry.case, entry.actor, form.cleaned_data["reason"], channel=entry.channel
                )
            except DomainError as exc:
                context["error"], status = exc.message, _status(exc)
    return render(request, "feedback/review.html", context, status=status)


@require_http_methods(["GET", "POST"])
def review_by_link(request: HttpRequest, token: str) -> HttpResponse:
    entry = _link_entry(request, token)
    return entry if isinstance(entry, HttpResponse) else _review(request, entry)


@login_required
@require_http_methods(["GET", "POST"])
def review_own(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, _own_entry(request, pk))


# --- Staff: review decisions ----------------------------------------------------------------------


@staff_required
def review_queue(request: HttpRequest) -> HttpResponse:
    pending = list(selectors.pending_reviews_for(request.user)[:200])
    return render(request, "feedback/reviews.html", {"pending": pending})


@staff_required
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.pending_reviews_for(request.user).filter(pk=pk).first()
    if item is None:
        item = ReviewRequest.objects.filter(case__in=cases_visible_to(request.user), pk=pk).first()
        if item is None:
            raise Http404("复查申请不存在或您无权查看")
    form = ReviewDecisionForm(request.POST)
    error, status = "", 200
    if not form.is_valid():
        error, status = "请选择是否同意复查", 422
    else:
        try:
            item = actions.decide_review(item, request.user, form.accept, form.cleaned_data["reason"])
        except DomainError as exc:
            error, status = exc.message, _status(exc)
    if request.htmx:
        item.refresh_from_db()
        return render(request, "feedback/reviews.html#row", {"item": item, "error": error}, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "复查决定已提交")
    return redirect("feedback:reviews")


# --- Inspectors: follow-up calls ------------------------------------------------------------------


def inspector_required(view: Callable) -> Callable:
    @wraps(view)
    @staff_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.is_inspector(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@inspector_required
def call_queue(request: HttpRequest) -> HttpResponse:
    context = {
        "queued": list(selectors.follow_up_queue(request.user)[:100]),
        "done": list(selectors.done_calls(request.user)),
        "summary": selectors.satisfaction(request.user),
    }
    return render(request, "feedback/calls.html", context)


@inspector_required
@require_POST
def call_record(request: HttpRequest, pk: int) -> HttpResponse:
    call = (
        FollowUpCall.objects.filter(case__in=cases_visible_to(request.user), pk=pk)
        .select_related("case", "questionnaire")
        .first()
    )
    if call is None:
        raise Http404("回访任务不存在或您无权查看")
    answers = answers_from_post(call.questionnaire.questions, request.POST)
    error, status = "", 200
    try:
        call = actions.record_call(call, request.user, request.POST.get("outcome", ""), answers)
    except DomainError as exc:
        error, status = exc.message, _status(exc)
        call.refresh_from_db()
    if request.htmx:
        context = {"call": call, "error": error, "posted": answers if error else {}}
        return render(request, "feedback/calls.html#call", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"已记录回访：{call.get_outcome_display()}")
    return redirect("feedback:calls")


# --- Satisfaction summary -----------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    """The date in `value` (YYYY-MM-DD), None when blank; ValueError when malformed."""
    return date.fromisoformat(value) if value else None


def _period(request: HttpRequest) -> tuple[datetime | None, datetime | None]:
    start, end = _day(request.GET.get("start")), _day(request.GET.get("end"))
    return (
        datetime.combine(start, time.min, tzinfo=LOCAL_TZ) if start else None,
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=LOCAL_TZ) if end else None,
    )


@staff_required
def summary(request: HttpRequest) -> HttpResponse:
    try:
        start, end = _period(request)
    except ValueError:
        message = "日期格式应为 YYYY-MM-DD，例如 2025-03-01"
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    figures = selectors.satisfaction(request.user, start=start, end=end)
    context = {"summary": figures, "start": request.GET.get("start", ""), "end": request.GET.get("end", "")}
    template = "feedback/_summary.html" if request.htmx else "feedback/summary.html"
    return render(request, template, context)
