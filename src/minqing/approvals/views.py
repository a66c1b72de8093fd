"""Approval queue (待我审批), my requests, and the request form the case page links to.

Views parse with `forms`, change records only through `actions` and read only through
`selectors`; a case or request outside the user's remit is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from minqing.accounts.decorators import staff_required
from minqing.approvals import actions, selectors
from minqing.approvals.forms import DecisionForm, RequestForm
from minqing.approvals.models import ApprovalRequest, Kind
from minqing.cases.models import Case
from minqing.cases.selectors import cases_visible_to, get_visible_case
from minqing.core.errors import DomainError
from minqing.orgs.models import HANDLING_KINDS, OrgUnit
from minqing.orgs.selectors import county_of


def _visible_request(user, pk: int) -> ApprovalRequest:
    found = (
        ApprovalRequest.objects.filter(case__in=cases_visible_to(user), pk=pk)
        .select_related("case", "requested_by", "requesting_unit")
        .first()
    )
    if found is None:
        raise Http404("申请不存在或您无权查看")
    return found


@staff_required
def queue_page(request: HttpRequest) -> HttpResponse:
    context = {"pending": selectors.pending_for(request.user)[:200], "mine": selectors.mine(request.user)[:50]}
    return render(request, "approvals/queue.html", context)


@staff_required
@require_POST
def decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request(request.user, pk)
    form = DecisionForm(request.POST)
    error, status = "", 200
    if not form.is_valid():
        error, status = "请选择审批意见", 422
    else:
        try:
            item = actions.decide(item, request.user, form.approve, form.cleaned_data["reason"])
        except DomainError as exc:
            error, status = exc.message, (422 if exc.status_code == 400 else exc.status_code)
    if request.htmx:
        item = _visible_request(request.user, pk)
        context = {"item": item, "error": error, "can_decide": actions.can_decide(request.user, item)}
        return render(request, "approvals/queue.html#row", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "审批意见已提交")
    return redirect("approvals:queue")


@staff_required
@require_POST
def withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_request(request.user, pk)
    try:
        actions.withdraw(item, request.user)
        messages.success(request, "申请已撤回")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("approvals:queue")


def _reassign_units(case: Case):
    county = county_of(case.location_unit)
    if county is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(parent=county, kind__in=HANDLING_KINDS, active=True).order_by("kind", "sort_order")


@staff_required
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest, case_id: int, kind: str) -> HttpResponse:
    if kind not in Kind.values:
        raise Http404("未知的申请类型")
    try:
        case = get_visible_case(request.user, case_id)
    except Case.DoesNotExist:
        raise Http404("案件不存在或您无权查看") from None
    units = _reassign_units(case) if kind == Kind.REASSIGN else None
    form = RequestForm(request.POST or None, kind=kind, units=units)
    context = {"case": case, "kind": kind, "kind_label": Kind(kind).label, "form": form, "error": "", "done": None}
    status = 200
    if request.method == "POST":
        status = _submit(request, case, kind, form, context)
    template = "approvals/new.html#request-form" if request.htmx else "approvals/new.html"
    return render(request, template, context, status=status)


def _submit(request: HttpRequest, case: Case, kind: str, form: RequestForm, context: dict) -> int:
    if not form.is_valid():
        return 422
    try:
        context["done"] = actions.request_approval(
            case, request.user, kind, form.cleaned_data["reason"], **form.payload()
        )
    except DomainError as exc:
        context["error"] = exc.message
        return 422 if exc.status_code == 400 else exc.status_code
    return 200
