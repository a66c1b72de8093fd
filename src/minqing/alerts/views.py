"""The alert centre (预警中心): list, detail with the series chart, and the lifecycle forms.

Views read through `selectors` and change alerts only through `actions`. An alert outside the user's
remit is a 404. The chart is an inline SVG drawn here on the server (no script, CSP-safe).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from minqing.accounts.decorators import staff_required
from minqing.alerts import actions, selectors
from minqing.alerts.forms import AlertFilterForm, DispatchForm, ReasonForm
from minqing.alerts.models import Alert
from minqing.cases.selectors import cases_visible_to
from minqing.core.errors import DomainError

ACTION_LABELS = {"acknowledge": "确认", "dispatch": "处置", "close": "关闭", "dismiss": "排除"}


def _visible(request: HttpRequest, pk: int) -> Alert:
    try:
        return selectors.get_visible_alert(request.user, pk)
    except Alert.DoesNotExist:
        raise Http404 from None


@staff_required
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.alert_list(request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(request, "alerts/list.html", {"form": form, "page": page})


def _panel_context(request: HttpRequest, alert: Alert, error: str = "") -> dict:
    return {
        "alert": alert,
        "history": selectors.history(alert),
        "actions": actions.allowed_actions(request.user, alert),
        "error": error,
    }


@staff_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _visible(request, pk)
    linked = alert.cases.all()
    cases = cases_visible_to(request.user).filter(pk__in=linked.values("pk")).select_related("location_unit")
    cases = list(cases.order_by("-submitted_at")[:200])
    context = {
        **_panel_context(request, alert),
        "chart": series_svg(alert.series or {}),
        "cases": cases,
        "hidden_cases": max(0, linked.count() - len(cases)),
    }
    return render(request, "alerts/detail.html", context)


def _run(request: HttpRequest, alert: Alert, action: str) -> None:
    user = request.user
    if action == "acknowledge":
        actions.acknowledge(alert, user)
    elif action in ("close", "dismiss"):
        form = ReasonForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        getattr(actions, action)(alert, user, reason)
    elif action == "dispatch":
        form = DispatchForm(request.POST)
        if not form.is_valid():
            raise DomainError("；".join(str(e) for errors in form.errors.values() for e in errors))
        data = form.cleaned_data
        actions.dispatch(
            alert, user, case=data["case"], supervision_note=data["supervision_note"], reply_due=data["reply_due"]
        )
    else:
        raise Http404


@staff_required
@require_POST
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    alert = _visible(request, pk)
    if action not in ACTION_LABELS:
        raise Http404
    error, status = "", 200
    try:
        _run(request, alert, action)
    except DomainError as exc:
        error, status = exc.message, 422 if exc.status_code == 400 else exc.status_code
    alert = _visible(request, pk)
    if request.htmx:
        return render(request, "alerts/detail.html#panel", _panel_context(request, alert, error), status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"预警已{ACTION_LABELS[action]}")
    return redirect("alerts:detail", pk=pk)


# --- The chart ---------------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 640, 180, 28


def _points(values: list[float | None], x: Callable[[int], float], y: Callable[[float], float]) -> str:
    return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)


def series_svg(series: dict) -> SafeString:
    """Bars for the counts, a red dashed line for the threshold, a grey dashed line for the expectation."""
    values = [float(v) for v in series.get("values") or []]
    if not values:
        return mark_safe('<p class="muted">无序列数据</p>')
    n = len(values)
    threshold = series.get("threshold")
    expected = series.get("expected")
    lines = threshold if isinstance(threshold, list) else [threshold] * n
    top = max([*values, *(v for v in lines if v is not None), expected or 0, 1.0]) * 1.1
    step = (WIDTH - 2 * PAD) / n

    def x(i: int) -> float:
        return PAD + step * (i + 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * float(v) / top

    bars = "".join(
        f'<rect x="{x(i) - step * 0.4:.1f}" y="{y(v):.1f}" width="{step * 0.8:.1f}" height="{y(0) - y(v):.1f}" '
        f'fill="#5b8def"><title>{v:g}</title></rect>'
        for i, v in enumerate(values)
    )
    parts = [bars]
    if any(v is not None for v in lines):
        parts.append(
            f'<polyline points="{_points(lines, x, y)}" fill="none" stroke="#d9363e" stroke-width="2" '
            'stroke-dasharray="6 3"/>'
        )
    if expected is not None:
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(expected):.1f}" y2="{y(expected):.1f}" stroke="#888" '
            'stroke-dasharray="3 3"/>'
        )
    labels = _axis_labels(series, n)
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{escape(labels[0])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{escape(labels[1])}</text>'
        f'<text x="4" y="{PAD - 10}" font-size="11">{top / 1.1:g}</text>'
    )
    label = escape(str(series.get("label", "")))
    return mark_safe(
        f'<svg class="alert-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{label}">'
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999"/>{"".join(parts)}</svg>'
    )


def _axis_labels(series: dict, n: int) -> tuple[str, str]:
    try:
        end = date.fromisoformat(series["end"])
    except (KeyError, TypeError, ValueError):
        return "", ""
    step = int(series.get("step_days") or 1)
    return (end - timedelta(days=step * (n - 1))).isoformat(), end.isoformat()
