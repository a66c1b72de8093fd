from __future__ import annotations

import pytest
from django.core.cache import cache

from minqing.intake.wechat.tests.helpers import AES_KEY, APP_ID, APP_SECRET, TOKEN, start_fake_wechat


@pytest.fixture(autouse=True)
def wechat_settings(settings):
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_APP_SECRET = APP_SECRET
    settings.WECHAT_AES_KEY = AES_KEY
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens: tests that send use fake_wechat
    settings.WECHAT_TEMPLATE_IDS = {"assigned": "TPL-ASSIGNED", "replied": "TPL-REPLIED", "rate": "TPL-RATE"}
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def fake_wechat(wechat_settings):
    fake, server = start_fake_wechat()
    wechat_settings.WECHAT_API_BASE = fake.base_url
    yield fake
    server.shutdown()
    server.server_close()
