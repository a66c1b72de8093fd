"""GeoReport v2 endpoints under /open311/v2/ (JSON or XML by the URL's extension).

Errors use the spec's format with HTTP 400 / 403 / 404 / 405 / 413. POST requests is
csrf_exempt: it is called by other systems, authenticated by api_key, not by a session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.views.decorators.csrf import csrf_exempt

from minqing.intake.open311 import selectors
from minqing.intake.open311.actions import case_for_token, create_service_request
from minqing.intake.open311.errors import Open311Error
from minqing.intake.open311.keys import client_for_key
from minqing.intake.open311.render import error_response, respond

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-01-01T00:00:00+08:00"
MAX_IDS = 100


def open311_view(*methods: str) -> Callable:
    """Allowed methods, and every Open311Error (or unreadable body) rendered in the spec's error format."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return error_response(fmt, 405, f"method {request.method} not allowed")
            try:
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return error_response(fmt, exc.status, exc.description)
            except RequestDataTooBig:
                return error_response(fmt, 413, "request body too large (请求体过大)")
            except (SuspiciousOperation, MultiPartParserError):
                return error_response(fmt, 400, "malformed request body (请求体格式有误)")

        return wrapper

    return decorate


@open311_view("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    endpoint = {
        "specification": SPEC_URL,
        "url": request.build_absolute_uri("/open311/v2/"),
        "changeset": CHANGESET,
        "type": "production",
        "formats": ["application/json", "text/xml"],
    }
    body = {"changeset": CHANGESET, "contact": "", "key_service": "", "endpoints": [endpoint]}
    return respond(fmt, body, "discovery")


@open311_view("GET")
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond(fmt, [selectors.service_dict(c) for c in selectors.services()], "services")


@open311_view("GET")
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    """Every service has metadata=false, so its definition has no attributes."""
    category = selectors.service_for_code(service_code)
    if category is None:
        raise Open311Error(404, f"service_code {service_code} not found")
    return respond(fmt, {"service_code": str(category.pk), "attributes": []}, "service_definition")


# CSRF exemption: other systems POST here with an api_key, not with a browser session.
@csrf_exempt
@open311_view("GET", "POST")
def requests_collection(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    return _list(request, fmt)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    client = client_for_key(request.POST.get("api_key", ""))
    if client is None:
        raise Open311Error(403, "api_key is missing or invalid (api_key 无效)")
    row = create_service_request(client, request.POST)
    item = {
        "service_request_id": row.case.reference,
        "token": row.token,
        "service_notice": "",
        "account_id": None,
    }
    return respond(fmt, [item], "service_requests", status=201)


def _date(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # a "+" offset arrives as a space if not URL-encoded
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(400, f"{name} must be a W3C date-time, e.g. 2026-03-01T00:00:00+08:00")
    return make_aware(moment) if is_naive(moment) else moment


def _statuses(request: HttpRequest) -> set[str] | None:
    raw = request.GET.get("status", "").strip().lower()
    if not raw:
        return None
    statuses = {s.strip() for s in raw.split(",") if s.strip()}
    if not statuses <= {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed")
    return statuses


def _service_code(request: HttpRequest) -> int | None:
    code = request.GET.get("service_code", "").strip()
    if not code:
        return None
    category = selectors.service_for_code(code)
    if category is None:
        raise Open311Error(400, f"service_code {code} not found")
    return category.pk


def _list(request: HttpRequest, fmt: str) -> HttpResponse:
    ids = [i.strip() for i in request.GET.get("service_request_id", "").split(",") if i.strip()]
    if len(ids) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id values")
    cases = selectors.filter_requests(
        selectors.public_cases(),
        ids=ids,
        service_code=_service_code(request),
        start=_date(request, "start_date"),
        end=_date(request, "end_date"),
        statuses=_statuses(request),
    )
    return respond(fmt, [selectors.request_dict(c) for c in cases], "service_requests")


@open311_view("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    case = selectors.public_cases().filter(reference=request_id.upper()[:20]).first()
    if case is None:
        raise Open311Error(404, f"service request {request_id} not found")
    return respond(fmt, [selectors.request_dict(case)], "service_requests")


@open311_view("GET")
def token_detail(request: HttpRequest, fmt: str, token_id: str) -> HttpResponse:
    case = case_for_token(token_id)
    if case is None:
        raise Open311Error(404, f"token {token_id} not found")
    return respond(fmt, [{"service_request_id": case.reference, "token": token_id}], "service_requests")
