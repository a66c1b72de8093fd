from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from PIL import Image

from minqing.cases.models import Category
from minqing.core.sms import MemorySmsBackend
from minqing.testing.personas import LIUQUAN, first_village

CODE_RE = re.compile(r"验证码是(\d{6})")


@pytest.fixture(autouse=True)
def _clean_cache(settings):
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


def jpeg(size=(40, 30), color="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def last_code() -> str:
    match = CODE_RE.search(MemorySmsBackend.outbox[-1].text)
    assert match, MemorySmsBackend.outbox[-1].text
    return match.group(1)


@pytest.fixture
def level2(yiyang) -> Category:
    return Category.objects.filter(parent__isnull=False, active=True).order_by("id").first()


@pytest.fixture
def village(yiyang):
    return first_village(LIUQUAN)


@pytest.fixture
def citizen_client(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    return client


@pytest.fixture
def report_data(level2, village):
    def build(**overrides) -> dict:
        data = {
            "category": str(level2.pk),
            "township": LIUQUAN,
            "village": village.code,
            "content": "村东头道路被人堆放建材，车辆无法通行，请尽快处理。",
            "title": "",
            "address": "村东头桥边",
            "latitude": "34.5123",
            "longitude": "112.1789",
            "name": "王群众",
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return build
