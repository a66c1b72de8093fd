"""The supervision board (督办台) and the urging / supervision forms the case page links to.

Views change records only through `actions` and read only through `selectors`;
anything outside the user's remit is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from minqing.accounts.decorators import staff_required
from minqing.accounts.scoping import visible_units
from minqing.cases.models import Case
from minqing.cases.selectors import cases_visible_to, get_visible_case
from minqing.core.errors import DomainError
from minqing.dispatch import actions, selectors
from minqing.dispatch.acceptance import acceptance_rates
from minqing.dispatch.models import CaseLink, SuggestionRecord, SupervisionOrder
from minqing.dispatch.suggest import suggest
from minqing.orgs.models import OrgUnit, UnitKind


class UrgeForm(forms.Form):
    note = forms.CharField(label="催办意见", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class SuperviseForm(forms.Form):
    note = forms.CharField(label="督办意见", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    reply_due = forms.DateTimeField(label="回复期限", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


def _visible_case(user, case_id: int) -> Case:
    try:
        return get_visible_case(user, case_id)
    except Case.DoesNotExist:
        raise Http404("案件不存在或您无权查看") from None


def _visible_order(user, pk: int) -> SupervisionOrder:
    order = SupervisionOrder.objects.filter(case__in=cases_visible_to(user), pk=pk).first()
    if order is None:
        raise Http404("督办单不存在或您无权查看")
    return order


def _error_status(exc: DomainError) -> int:
    return 422 if exc.status_code == 400 else exc.status_code


@staff_required
def supervision_board_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dispatch/supervision.html", {"orders": selectors.supervision_board(request.user)[:300]})


@staff_required
@require_POST
def answer_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _visible_order(request.user, pk)
    try:
        actions.answer_supervision(order, request.user, request.POST.get("answer", ""))
        messages.success(request, "督办回复已提交")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dispatch:supervision")


@staff_required
@require_POST
def close_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _visible_order(request.user, pk)
    try:
        actions.close_supervision(order, request.user)
        messages.success(request, "督办已办结")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dispatch:supervision")


def _case_form(request: HttpRequest, case_id: int, form_class, kind: str, perform: Callable) -> HttpResponse:
    case = _visible_case(request.user, case_id)
    form = form_class(request.POST or None)
    context = {"case": case, "form": form, "kind": kind, "error": "", "done": False}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 422
        else:
            try:
                perform(case, form.cleaned_data)
                context["done"] = True
            except DomainError as exc:
                context["error"], status = exc.message, _error_status(exc)
    template = "dispatch/case_form.html#case-form" if request.htmx else "dispatch/case_form.html"
    return render(request, template, context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def urge_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def perform(case: Case, data: dict) -> None:
        actions.urge(case, request.user, data["note"])

    return _case_form(request, case_id, UrgeForm, "urge", perform)


@staff_required
@require_http_methods(["GET", "POST"])
def supervise_view(request: HttpRequest, case_id: int) -> HttpResponse:
    def perform(case: Case, data: dict) -> None:
        actions.issue_supervision(case, request.user, data["note"], data["reply_due"])

    return _case_form(request, case_id, SuperviseForm, "supervise", perform)


# --- Suggestions, acceptance, duplicates -------------------------------------------------

TEXT_LIMIT = 5000


def _visible_unit(user, raw: str | None, kind: str) -> OrgUnit | None:
    if not (raw or "").isdigit():
        return None
    return visible_units(user).filter(pk=int(raw), kind=kind, active=True).select_related("parent").first()


@staff_required
@require_http_methods(["GET"])
def suggest_fragment(request: HttpRequest) -> HttpResponse:
    """The top-3 categories and units for the registration form (htmx fragment)."""
    title = (request.GET.get("title") or "")[:120]
    content = (request.GET.get("content") or "")[:TEXT_LIMIT]
    township = _visible_unit(request.user, request.GET.get("township"), UnitKind.TOWNSHIP)
    village = _visible_unit(request.user, request.GET.get("village"), UnitKind.VILLAGE)
    if not (title.strip() or content.strip()):
        return render(request, "dispatch/_suggestions.html", {"empty": True})
    suggestions = suggest(title, content, township=township, village=village)
    return render(request, "dispatch/_suggestions.html", {"suggestions": suggestions.as_dict()})


@staff_required
@require_http_methods(["GET"])
def acceptance_page(request: HttpRequest) -> HttpResponse:
    records = SuggestionRecord.objects.filter(case__in=cases_visible_to(request.user))
    total, months = acceptance_rates(records)
    return render(request, "dispatch/acceptance.html", {"total": total, "months": months})


def _two_visible(user, case_id: int, other_id: int) -> tuple[Case, Case]:
    return _visible_case(user, case_id), _visible_case(user, other_id)


@staff_required
@require_POST
def link_view(request: HttpRequest, case_id: int, other_id: int) -> HttpResponse:
    case, other = _two_visible(request.user, case_id, other_id)
    kind = request.POST.get("kind") or CaseLink.Kind.RELATED
    try:
        actions.link_cases(case, other, request.user, kind)
        messages.success(request, f"已与案件 {other.reference} 关联")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("cases:detail", pk=case.pk)


@staff_required
@require_POST
def merge_view(request: HttpRequest, case_id: int, other_id: int) -> HttpResponse:
    """合并: this case joins `other`; the petitioner is told."""
    case, other = _two_visible(request.user, case_id, other_id)
    try:
        actions.merge_cases(case, other, request.user, note=request.POST.get("note", "")[:2000])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cases:detail", pk=case.pk)
    messages.success(request, f"案件 {case.reference} 已并入 {other.reference}，已通知信访人")
    return redirect("cases:detail", pk=other.pk)
