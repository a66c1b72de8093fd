"""Citizen and informant pages under /m/ (mobile first, WeChat's browser included).

Thin views: forms validate, `intake.actions` / `cases.actions` change things,
`intake.selectors` read (scoped through `cases_visible_to`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache, wraps
from pathlib import Path

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts import actions as accounts
from minqing.accounts import audit
from minqing.cases import actions as case_actions
from minqing.cases.lifecycle import refusal
from minqing.core.errors import DomainError
from minqing.intake import actions, selectors
from minqing.intake.forms import CodeForm, InformantReportForm, InformationForm, PhoneForm, QueryForm, ReportForm

STATIC_DIR = Path(__file__).resolve().parent / "static" / "intake"
SHELL_FILES = ("mobile.css", "app.js", "outbox.js", "report.js")
ICONS = ("icons/icon-192.png", "icons/icon-512.png", "icons/icon-512-maskable.png", "icons/apple-touch-icon.png")
RATE_URL = "/feedback/cases/{pk}/rate/"
REVIEW_URL = "/feedback/cases/{pk}/review/"

citizen_login_required = login_required(login_url="intake:login")


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _rate_limited(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "intake/rate_limited.html", {"message": message}, status=429)


def citizen_required(view):
    """Citizens only; an informant is sent to the informant pages, other staff to the console."""

    @wraps(view)
    @citizen_login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_citizen:
            if selectors.is_informant(request.user):
                return redirect("intake:informant")
            return render(request, "intake/not_citizen.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def informant_required(view):
    @wraps(view)
    @login_required(login_url="accounts:login")
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        village = selectors.informant_village(request.user)
        if village is None:
            return render(request, "intake/not_citizen.html", status=403)
        return view(request, village, *args, **kwargs)

    return wrapped


# --- Home, login, logout -------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/home.html", {"is_informant": selectors.is_informant(request.user)})


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("intake:my_cases")


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Phone → 获取验证码 → code → logged in (a citizen session)."""
    context = {"next": _next_url(request)}
    if request.method == "GET":
        return render(request, "intake/login.html", {**context, "form": PhoneForm(), "step": "phone"})
    if request.POST.get("step") == "verify":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                citizen = accounts.verify_login_code(form.cleaned_data["phone"], form.cleaned_data["code"])
            except DomainError as exc:
                form.add_error("code", exc.message)
            else:
                login(request, citizen, backend="minqing.accounts.backends.LockoutModelBackend")
                audit.record("citizen_login", actor=citizen, target=citizen.username, request=request)
                return redirect(context["next"])
        return render(request, "intake/login.html", {**context, "form": form, "step": "code"})
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            accounts.send_login_code(form.cleaned_data["phone"], ip=_client_ip(request))
        except accounts.RateLimited as exc:
            return _rate_limited(request, exc.message)
        except DomainError as exc:
            form.add_error("phone", exc.message)
        else:
            code_form = CodeForm(initial={"phone": form.cleaned_data["phone"]})
            return render(request, "intake/login.html", {**context, "form": code_form, "step": "code", "sent": True})
    return render(request, "intake/login.html", {**context, "form": form, "step": "phone"})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record("logout", actor=request.user, target=request.user.get_username(), request=request)
    logout(request)
    return redirect("intake:home")


@never_cache
@require_GET
def session_info(request: HttpRequest) -> JsonResponse:
    """For the offline outbox: a fresh CSRF token and who is logged in, fetched just before sending."""
    user = request.user
    return JsonResponse(
        {
            "csrf": get_token(request),
            "authenticated": bool(user.is_authenticated),
            "user": user.pk if user.is_authenticated else None,
        }
    )


# --- Citizen: report, receipt, my cases, detail ----------------------------------------


def _report_context(request: HttpRequest, form: ReportForm | None = None) -> dict:
    categories = selectors.category_tree()
    places = selectors.location_tree()
    return {
        "form": form or ReportForm(initial={"name": request.user.display_name}),
        "categories": categories,
        "places": places,
        "categories_json": selectors.as_json(categories),
        "places_json": selectors.as_json(places),
        "max_photos": actions.MAX_PHOTOS,
    }


@never_cache
@citizen_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """The form. With JavaScript, report.js sends it to the API (or keeps it offline); this POST is the fallback."""
    if request.method == "GET":
        return render(request, "intake/report.html", _report_context(request))
    form = ReportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            case = actions.submit_report(request.user, form.report())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("intake:receipt", reference=case.reference)
    return render(request, "intake/report.html", _report_context(request, form), status=400)


@never_cache
@citizen_login_required
@require_GET
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    case = selectors.own_case(request.user, reference)
    if case is None:
        raise Http404
    return render(request, "intake/receipt.html", {"case": case, "progress": selectors.progress_text(case)})


@never_cache
@citizen_login_required
@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    rows = [(case, selectors.progress_text(case)) for case in selectors.my_cases(request.user)[:100]]
    return render(request, "intake/my_cases.html", {"rows": rows, "is_informant": selectors.is_informant(request.user)})


def _detail_context(request: HttpRequest, case, requested: str, form: InformationForm | None = None) -> dict:
    user = request.user
    is_owner = case.citizen_id == user.pk
    return {
        "case": case,
        "requested": requested.strip().upper(),
        "progress": selectors.progress_text(case),
        "timeline": selectors.public_timeline(case),
        "reply": selectors.public_reply(case),
        "can_add": refusal(user, case, "add_information") is None,
        "form": form or InformationForm(),
        "rate_url": RATE_URL.format(pk=case.pk) if is_owner and case.state == "closed" else "",
        "review_url": REVIEW_URL.format(pk=case.pk) if is_owner and case.state == "closed" else "",
        "max_photos": actions.MAX_PHOTOS,
    }


@never_cache
@citizen_login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = selectors.visible_case(request.user, reference)
    if case is None:
        raise Http404
    if request.method == "GET":
        return render(request, "intake/detail.html", _detail_context(request, case, reference))
    form = InformationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            case_actions.add_information(
                case, request.user, text=form.cleaned_data.get("text", ""), attachments=form.cleaned_data["photos"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(f"{reverse('intake:case', args=[case.reference])}?added=1")
    return render(request, "intake/detail.html", _detail_context(request, case, reference, form), status=400)


# --- Query without logging in ----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def query(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "intake/query.html", {"form": QueryForm()})
    try:
        actions.count_query_attempt(_client_ip(request))
    except accounts.RateLimited as exc:
        return _rate_limited(request, exc.message)
    form = QueryForm(request.POST)
    case = None
    if form.is_valid():
        case = selectors.case_for_query_code(form.cleaned_data["reference"], form.cleaned_data["code"])
        if case is None:
            form.add_error(None, _("案件编号或查询码不正确"))
    if case is None:
        return render(request, "intake/query.html", {"form": form}, status=400)
    context = {
        "form": QueryForm(),
        "found": case,
        "progress": selectors.progress_text(case),
        "timeline": selectors.public_timeline(case),
        "reply": selectors.public_reply(case),
    }
    return render(request, "intake/query.html", context)


# --- Informants -----------------------------------------------------------------------------------


@never_cache
@informant_required
@require_GET
def informant_home(request: HttpRequest, village) -> HttpResponse:
    context = {
        "village": village,
        "counts": selectors.informant_counts(request.user),
        "mine": [(c, selectors.progress_text(c)) for c in selectors.my_cases(request.user)[:50]],
        "village_rows": [(c, selectors.progress_text(c)) for c in selectors.village_cases(request.user, village)[:50]],
    }
    return render(request, "intake/informant.html", context)


@never_cache
@informant_required
@require_http_methods(["GET", "POST"])
def informant_report(request: HttpRequest, village) -> HttpResponse:
    places = selectors.informant_places(request.user)
    if request.method == "POST":
        form = InformantReportForm(request.POST, request.FILES, places=places)
        if form.is_valid():
            try:
                case = actions.submit_for_villager(
                    request.user, form.report(), villager_phone=form.cleaned_data["villager_phone"], places=places
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("intake:receipt", reference=case.reference)
        status = 400
    else:
        form, status = InformantReportForm(places=places), 200
    context = {"form": form, "village": village, "categories": selectors.category_tree()}
    context["max_photos"] = actions.MAX_PHOTOS
    context["categories_json"] = selectors.as_json(context["categories"])
    return render(request, "intake/informant_report.html", context, status=status)


# --- PWA: manifest, service worker, offline page ------------------------------------------


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": _("民情"),
        "short_name": _("民情"),
        "description": _("群众诉求反映、查询与评价"),
        "lang": "zh-CN",
        "dir": "ltr",
        "id": "/m/",
        "start_url": "/m/",
        "scope": "/m/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f7f9",
        "theme_color": "#b91c1c",
        "icons": [
            {"src": static("intake/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("intake/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("intake/icons/icon-512-maskable.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Changes whenever a shell file changes, so the service worker re-caches."""
    digest = hashlib.sha256()
    for name in (*SHELL_FILES, "sw.js", *ICONS):
        path = STATIC_DIR / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    shell = [static(f"intake/{name}") for name in (*SHELL_FILES, *ICONS)]
    config = {"version": shell_version(), "shell": shell, "pages": ["/m/", "/m/offline/"]}
    header = "/* generated by minqing.intake.views.service_worker */\n"
    body = (
        header
        + f"self.MINQING_SW = {selectors.as_json(config)};\n"
        + f"importScripts({selectors.as_json(static('intake/outbox.js'))});\n"
        + (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/m/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/offline.html")
