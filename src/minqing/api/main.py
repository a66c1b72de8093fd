"""The API object mounted at /api/v1 (see minqing.urls)."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from minqing.api import errors
from minqing.api.auth import AUTH
from minqing.api.parser import ApiParser
from minqing.api.routers import auth, cases, meta, staff
from minqing.api.throttles import ScopedThrottle

DESCRIPTION = """\
民情 REST 接口，供手机应用与外部系统使用。

* 认证：工作人员用 `Authorization: Bearer <token>`（`minqing api_token` 签发）；
  群众先 `POST /auth/sms-code`，再 `POST /auth/sms-login` 换取令牌；网页内也可用登录会话（需 CSRF）。
* 每个 POST 都接受 `Idempotency-Key`：同一键重复提交返回同一结果（响应头 `Idempotent-Replayed: true`），不会重复创建。
* 错误统一为 `{"detail": "中文说明", "code": "..."}`：401 未认证，403 无权限，404 不存在或不在辖区，
  409 状态不允许或版本冲突，422 输入有误，429 请求过于频繁。
"""


class ReadableJSONRenderer(JSONRenderer):
    """Chinese stays readable in responses (UTF-8, not \\u escapes)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="Minqing API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    throttle=[ScopedThrottle("default")],
    renderer=ReadableJSONRenderer(),
    parser=ApiParser(),
)
errors.install(api)
api.add_router("/auth", auth.router)
api.add_router("/", meta.router)
api.add_router("/", cases.router)
api.add_router("/", staff.router)
api.add_router("/", "minqing.api.routers.dispatch.router")
api.add_router("/", "minqing.api.routers.feedback.router")
