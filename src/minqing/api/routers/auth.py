"""Citizen login by SMS: ask for a code, then trade phone + code for a bearer token."""

from django.http import HttpRequest, HttpResponse
from ninja import Router

from minqing.accounts import actions as accounts
from minqing.api.idempotency import idempotency_header, idempotent
from minqing.api.routers import ERRORS
from minqing.api.schemas import MessageOut, SmsCodeIn, SmsLoginIn, TokenOut
from minqing.api.throttles import ScopedThrottle
from minqing.api.tokens import issue_citizen_token

router = Router(tags=["auth"], auth=None, throttle=[ScopedThrottle("auth", per_user=False)])


@router.post("/sms-code", response={202: MessageOut, **ERRORS}, summary="发送短信验证码")
def sms_code(
    request: HttpRequest, payload: SmsCodeIn, idempotency_key: str | None = idempotency_header()
) -> HttpResponse:
    def produce() -> dict:
        accounts.send_login_code(payload.phone, ip=request.META.get("REMOTE_ADDR"))
        return {"detail": "验证码已发送，5分钟内有效"}

    return idempotent(request, idempotency_key, 202, MessageOut, produce, atomic=False)


@router.post("/sms-login", response={200: TokenOut, **ERRORS}, summary="短信验证码登录，换取令牌")
def sms_login(
    request: HttpRequest, payload: SmsLoginIn, idempotency_key: str | None = idempotency_header()
) -> HttpResponse:
    def produce() -> dict:
        citizen = accounts.verify_login_code(payload.phone, payload.code)
        token, expires_at = issue_citizen_token(citizen)
        return {"token": token, "expires_at": expires_at.isoformat()}

    # Not atomic: a wrong guess must stay counted even though the request fails.
    return idempotent(request, idempotency_key, 200, TokenOut, produce, atomic=False)
