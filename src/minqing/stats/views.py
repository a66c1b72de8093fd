"""Statistics pages: dashboards, supervision board, comprehensive query, person history,
export and reports. Every read goes through `selectors` (scoped by the user's remit);
a unit outside the remit is a 404, a bad filter a 400 with a Chinese message."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from minqing.accounts import audit
from minqing.accounts.decorators import staff_required
from minqing.cases.models import Case, Category, Party
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.stats import dashboards, export, reports, selectors
from minqing.stats.forms import PAGE_SIZE, QueryForm
from minqing.stats.models import Report, SavedQuery

COUNT_CAP = 1000  # capped count, as on the case list: cheap at any size, exact below the cap
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# What stats/_case_rows.html reads of a case (`is_overdue` reads the state and both deadlines).
CASE_ROW_FIELDS = (
    "reference",
    "title",
    "state",
    "submitted_at",
    "accept_due",
    "handle_due",
    "category__name",
    "lead_unit__name",
)


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "stats/error.html", {"message": message}, status=400)


def _month(request: HttpRequest) -> selectors.Period | None:
    value = request.GET.get("month", "")
    if not value:
        return selectors.month_of(selectors.today())
    match = MONTH.match(value)
    if not match or not (1 <= int(match[2]) <= 12) or not (2000 <= int(match[1]) <= 2100):
        return None
    return selectors.month_of(date(int(match[1]), int(match[2]), 1))


# --- Dashboards ---------------------------------------------------------------------------------


@staff_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    scope = selectors.home_scope(request.user)
    if scope is None:
        raise PermissionDenied("您没有查看统计的权限")
    if scope.kind != UnitKind.COUNTY:
        return redirect("stats:unit", code=scope.code)
    return _dashboard(request, scope)


@staff_required
@require_GET
def unit_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    return _dashboard(request, selectors.visible_unit(request.user, code))


def _dashboard(request: HttpRequest, scope: OrgUnit) -> HttpResponse:
    month = _month(request)
    if month is None:
        return _bad_request(request, "月份格式应为 YYYY-MM，例如 2025-03")
    context = dashboards.dashboard(request.user, scope, month)
    context["month_value"] = f"{month.start:%Y-%m}"
    return render(request, "stats/dashboard.html", context)


@staff_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("unit", "")
    scope = selectors.visible_unit(request.user, code) if code else selectors.home_scope(request.user)
    if scope is None:
        raise PermissionDenied("您没有查看督办台的权限")
    unsatisfied_ids = selectors.unsatisfied_case_ids(request.user, scope)
    live = selectors.live_counts(request.user, scope, unsatisfied_ids=unsatisfied_ids)
    cases = selectors.scoped_cases(request.user, scope).select_related("lead_unit", "category").only(*CASE_ROW_FIELDS)
    queries = selectors.live_queries()
    # Every listed tile but 近30日不满意 is a kind of open case; saying so lets the database read only
    # the scope's open cases (`case_open_paths`) rather than all of them.
    open_cases = cases.filter(queries["open"])
    sections = [
        (tile, list(open_cases.filter(queries[tile.key]).order_by("handle_due", "id")[:20]))
        if tile.key in queries
        else (tile, list(cases.filter(pk__in=unsatisfied_ids[:20])))
        for tile in dashboards.live_tiles(scope, live)
        if tile.key != "open"
    ]
    return render(
        request,
        "stats/supervision.html",
        {
            "scope": scope,
            "sections": sections,
            "orders": selectors.open_supervision_events(request.user, scope),
            "supervised": dashboards.Count(
                "督办中",
                cases.filter(selectors.under_supervision_q()).count(),
                dashboards.query_url(unit=scope.code, supervised="yes"),
            ),
        },
    )


# --- Query ----------------------------------------------------------------------------------------


def _parse(request: HttpRequest) -> QueryForm:
    form = QueryForm(request.GET, user=request.user)
    form.is_valid()
    return form


def _page(form: QueryForm, queryset) -> tuple[list[Case], bool]:
    offset = (form.page_number - 1) * PAGE_SIZE
    rows = list(
        queryset.select_related("category__parent", "location_unit", "lead_unit").prefetch_related(
            Prefetch("parties", queryset=Party.objects.filter(is_primary=True), to_attr="primary_parties")
        )[offset : offset + PAGE_SIZE + 1]
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@staff_required
@require_GET
def query(request: HttpRequest) -> HttpResponse:
    form = _parse(request)
    context = {
        "form": form,
        "saved": SavedQuery.objects.filter(user=request.user)[:30],
        "categories": Category.objects.filter(active=True).select_related("parent"),
        "can_unmask": selectors.can_unmask(request.user),
    }
    if form.errors:
        context["error"] = form.error_text()
        return render(request, "stats/query.html", context, status=400)
    queryset = form.filter(selectors.cases_visible_to(request.user))
    cases, has_more = _page(form, queryset)
    params = request.GET.copy()
    params.pop("page", None)
    context.update(
        cases=cases,
        has_more=has_more,
        page=form.page_number,
        total=queryset.order_by()[: COUNT_CAP + 1].count() if form.page_number == 1 else None,
        count_cap=COUNT_CAP,
        query=params.urlencode(),
    )
    return render(request, "stats/query.html", context)


@staff_required
@require_GET
def query_api(request: HttpRequest) -> JsonResponse:
    """The same query as JSON (masked personal data)."""
    form = _parse(request)
    if form.errors:
        return JsonResponse({"error": form.error_text(), "fields": form.errors}, status=400)
    cases, has_more = _page(form, form.filter(selectors.cases_visible_to(request.user)))
    return JsonResponse(
        {
            "page": form.page_number,
            "has_more": has_more,
            "results": [
                {
                    "id": c.pk,
                    "reference": c.reference,
                    "title": c.title,
                    "state": c.state,
                    "channel": c.channel,
                    "category": str(c.category) if c.category_id else None,
                    "location": c.location_unit.name,
                    "lead_unit": c.lead_unit.name if c.lead_unit_id else None,
                    "submitted_at": c.submitted_at.isoformat(),
                    "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                    "petitioner_phone": c.primary_parties[0].masked_phone if c.primary_parties else "",
                }
                for c in cases
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )


@staff_required
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponse:
    form = _parse(request)
    if form.errors:
        return _bad_request(request, form.error_text())
    unmasked = request.GET.get("unmasked") == "1"
    if unmasked and not selectors.can_unmask(request.user):
        raise PermissionDenied("您无权导出未脱敏的个人信息")
    path, count = export.write_xlsx(form.filter(selectors.cases_visible_to(request.user)), unmasked)
    if unmasked:
        audit.record(
            "export_unmasked", request=request, target="stats.query", payload={"filters": form.params(), "rows": count}
        )
    response = FileResponse(
        export.DeletingFile(path),
        as_attachment=True,
        filename=f"cases-{selectors.today():%Y%m%d}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
@require_POST
def save_query(request: HttpRequest) -> HttpResponse:
    name = (request.POST.get("name") or "").strip()[:60]
    form = QueryForm(request.POST, user=request.user)
    if not name or not form.is_valid():
        messages.error(request, "请填写查询名称并检查查询条件")
        return redirect(reverse("stats:query"))
    try:
        SavedQuery.objects.create(user=request.user, name=name, params=form.params())
    except IntegrityError:
        SavedQuery.objects.filter(user=request.user, name=name).update(params=form.params())
    messages.success(request, f"已保存查询：{name}")
    return redirect(f"{reverse('stats:query')}?{_encode(form.params())}")


def _encode(params: dict) -> str:
    return urlencode(params)


@staff_required
@require_GET
def run_saved(request: HttpRequest, pk: int) -> HttpResponse:
    saved = SavedQuery.objects.filter(user=request.user, pk=pk).first()
    if saved is None:
        raise Http404
    return redirect(f"{reverse('stats:query')}?{_encode(saved.params)}")


@staff_required
@require_POST
def delete_saved(request: HttpRequest, pk: int) -> HttpResponse:
    SavedQuery.objects.filter(user=request.user, pk=pk).delete()
    return redirect("stats:query")


@staff_required
@require_GET
def person(request: HttpRequest) -> HttpResponse:
    """Person history (同一信访人): all visible cases matched by the phone or ID number hash."""
    form = QueryForm({k: request.GET.get(k, "") for k in ("phone", "id_number")}, user=request.user)
    if not form.is_valid():
        return _bad_request(request, form.error_text())
    phone, id_number = form.cleaned_data.get("phone", ""), form.cleaned_data.get("id_number", "")
    cases = (
        list(selectors.person_cases(request.user, phone=phone, id_number=id_number).select_related("lead_unit")[:200])
        if phone or id_number
        else []
    )
    return render(
        request,
        "stats/person.html",
        {"cases": cases, "count": len(cases), "repeat": max(len(cases) - 1, 0), "searched": bool(phone or id_number)},
    )


# --- Reports ----------------------------------------------------------------------------------------


def _report(request: HttpRequest, scope_code: str, period: str) -> Report:
    scope = selectors.visible_unit(request.user, scope_code)
    try:
        kind, start = reports.parse_period(period)
    except ValueError as exc:
        raise Http404(str(exc)) from None
    found = Report.objects.filter(scope=scope, kind=kind, period_start=start).first()
    if found is None:
        raise Http404("该期报告尚未生成")
    return found


@staff_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    remit_scope = selectors.home_scope(request.user)
    if remit_scope is None:
        raise PermissionDenied
    found = Report.objects.filter(scope__path__startswith=remit_scope.path).select_related("scope")[:100]
    return render(request, "stats/report_list.html", {"reports": found})


@staff_required
@require_GET
def report_page(request: HttpRequest, scope_code: str, period: str) -> HttpResponse:
    report = _report(request, scope_code, period)
    return render(request, "stats/report.html", reports.page_context(report))


@staff_required
@require_GET
def report_file(request: HttpRequest, scope_code: str, period: str, fmt: str) -> FileResponse:
    report = _report(request, scope_code, period)
    stored = report.pdf if fmt == "pdf" else report.xlsx
    if not stored:
        raise Http404
    return FileResponse(stored.open("rb"), as_attachment=fmt != "pdf", filename=stored.name.rsplit("/", 1)[-1])
