from __future__ import annotations

import json

import pytest
from django.test import Client

from minqing.api.tokens import issue_token
from minqing.cases.models import Category

BASE = "/api/v1"


class ApiClient:
    """A test client that speaks JSON to /api/v1 with a bearer token."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(BASE + path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict | None = None, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(BASE + path, data, content_type="application/json", headers=self._headers(headers))

    def upload(self, path: str, files: list, data: dict | None = None, headers: dict | None = None):
        payload = {"files": files, **(data or {})}
        return self.client.post(BASE + path, payload, headers=self._headers(headers))


@pytest.fixture(autouse=True)
def _api_cache(settings):
    from django.core.cache import cache

    from minqing.api.inputs import forget_reference_data
    from minqing.api.tokens import forget_tokens
    from minqing.dispatch.suggest import clear_model_cache

    # Per-process caches must not carry rows over from another test's (rolled back) database.
    forget_tokens()
    forget_reference_data()
    clear_model_cache()
    cache.clear()
    settings.API_RATE_LIMITS = {"default": "10000/m", "auth": "1000/m", "submit": "1000/h"}
    yield
    cache.clear()


@pytest.fixture
def api_as():
    """api_as(user) → ApiClient with a fresh token for user; api_as(None) → anonymous."""

    def build(user=None) -> ApiClient:
        if user is None:
            return ApiClient()
        _, secret = issue_token(user, "test")
        return ApiClient(secret)

    return build


@pytest.fixture
def category(yiyang):
    return Category.objects.filter(parent__isnull=False).order_by("id").first()


@pytest.fixture
def submission(category):
    from minqing.testing.personas import LIUQUAN, first_village

    def build(**overrides) -> dict:
        body = {
            "category_id": category.pk,
            "title": "村道被占用无法通行",
            "content": "村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            "township": LIUQUAN,
            "village": first_village(LIUQUAN).code,
            "address": "村东头",
            "name": "王群众",
        }
        body.update(overrides)
        return body

    return build
