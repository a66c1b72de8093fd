"""How the API reports failure: JSON `{"detail": <Chinese message>, "code": <code>}`, never a 500 for bad input."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import BadRequest, ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from minqing.core.errors import DomainError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("minqing.api")

LOCATIONS = {
    "body": "请求体",
    "query": "查询参数",
    "path": "路径参数",
    "header": "请求头",
    "form": "表单",
    "file": "文件",
}


def error(api: NinjaAPI, request: HttpRequest, status: int, detail: str, code: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors[:5]:
        loc = [str(p) for p in item.get("loc", ())]
        where = LOCATIONS.get(loc[0], loc[0]) if loc else ""
        field = ".".join(loc[1:])
        label = f"{where} {field}".strip()
        parts.append(f"{label}：{item.get('msg', '无效')}" if label else str(item.get("msg", "无效")))
    return "输入有误：" + "；".join(parts) if parts else "输入有误"


def _clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the JSON-safe parts (loc, msg, type) of pydantic's errors."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors
    ]


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        # A plain rule refusal (400 in the domain) is "unprocessable" for API clients.
        status = 422 if exc.status_code == 400 else exc.status_code
        return error(api, request, status, exc.message, exc.code)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error(api, request, 422, _describe(exc.errors), "validation_error", errors=_clean_errors(exc.errors))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error(api, request, 401, "未登录或令牌无效、已过期、已吊销", "unauthorized")
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        return error(api, request, 429, "请求过于频繁，请稍后再试", "rate_limited")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return error(api, request, 400, "请求体不是有效的 JSON", "malformed_json")
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return error(api, request, exc.status_code, exc.message, codes.get(exc.status_code, "error"))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error(api, request, 404, "案件不存在或您无权查看", "not_found")

    @api.exception_handler(ObjectDoesNotExist)
    def does_not_exist(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        # Case.DoesNotExist included: a case outside the remit looks exactly like a missing one.
        return error(api, request, 404, "案件不存在或您无权查看", "not_found")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error(api, request, 413, "请求体过大", "too_large")

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        return error(api, request, 400, "上传的表单格式有误", "malformed_multipart")

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return error(api, request, 400, "请求无效", "bad_request")

    @api.exception_handler(BadRequest)
    def bad_request(request: HttpRequest, exc: BadRequest) -> HttpResponse:
        return error(api, request, 400, "请求无效", "bad_request")
