from __future__ import annotations

import json
import re

import pytest
from django.test import Client

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def test_manifest_is_served_as_web_manifest(db):
    response = Client().get("/m/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    data = json.loads(response.content)
    assert data["name"] == "民情" and data["lang"] == "zh-CN" and data["scope"] == "/m/" and data["start_url"] == "/m/"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert Client().get(icon["src"]).status_code == 200


def test_service_worker_is_served_for_the_m_scope(db):
    response = Client().get("/m/sw.js")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/m/"
    assert "no-cache" in response["Cache-Control"]
    assert "importScripts(" in body and "/static/intake/outbox.js" in body
    assert '"/api/"' in body or "'/api/'" in body or "/api/" in body  # the API is never cached
    assert 'request.method !== "GET"' in body


@pytest.mark.parametrize(
    "path", ["/m/", "/m/login/", "/m/report/", "/m/cases/", "/m/query/", "/m/offline/", "/m/informant/"]
)
def test_pages_have_csp_manifest_and_no_inline_script(path, client, citizen, informant):
    client.force_login(informant if "informant" in path else citizen)
    response = client.get(path)
    assert response.status_code == 200, path
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html), "inline event handler"
    assert '<link rel="manifest" href="/m/manifest.webmanifest">' in html
    assert '<html lang="zh-CN">' in html


def test_receipt_detail_and_informant_report_have_no_inline_script(client, citizen, informant, village):
    from minqing.intake.tests.helpers import citizen_case

    case = citizen_case(citizen, village)
    client.force_login(citizen)
    for path in (f"/m/cases/{case.reference}/receipt/", f"/m/cases/{case.reference}/"):
        html = client.get(path).content.decode()
        assert not INLINE_SCRIPT.search(html) and case.reference in html
    client.force_login(informant)
    assert not INLINE_SCRIPT.search(client.get("/m/informant/report/").content.decode())
