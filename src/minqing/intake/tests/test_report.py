from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from minqing.cases.models import Attachment, Case, CaseState, Channel, Party
from minqing.intake.tests.conftest import jpeg


def test_report_form_fallback_creates_case_with_photos(citizen_client, citizen, report_data, village):
    photos = [SimpleUploadedFile(f"p{n}.jpg", jpeg(), content_type="image/jpeg") for n in range(2)]
    response = citizen_client.post("/m/report/", {**report_data(), "photos": photos})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/m/cases/{case.reference}/receipt/"
    assert case.channel == Channel.WEB and case.citizen == citizen and case.state == CaseState.SUBMITTED
    assert case.location_unit == village and case.latitude == 34.5123
    assert case.title == report_data()["content"][:20]  # derived from the description
    assert case.parties.get().name == "王群众" and case.parties.get().phone == citizen.phone
    assert Attachment.objects.filter(case=case).count() == 2
    receipt = citizen_client.get(response["Location"]).content.decode()
    assert case.reference in receipt and case.query_code in receipt


def test_report_form_anonymous_stores_no_party(citizen_client, report_data):
    response = citizen_client.post("/m/report/", report_data(anonymous="on", name=""))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.is_anonymous and Party.objects.filter(case=case).count() == 0


def test_report_form_without_name_or_anonymity_is_refused(citizen_client, report_data):
    response = citizen_client.post("/m/report/", report_data(name=""))
    assert response.status_code == 400
    assert "请填写姓名，或选择匿名" in response.content.decode()
    assert Case.objects.count() == 0


def test_report_form_village_of_other_township_is_refused(citizen_client, report_data):
    response = citizen_client.post("/m/report/", report_data(township="410327103"))
    assert response.status_code == 400
    assert "该行政村不属于所选乡镇" in response.content.decode()
    assert Case.objects.count() == 0


def test_report_form_ten_photos_is_refused(citizen_client, report_data):
    photos = [SimpleUploadedFile(f"p{n}.jpg", jpeg(), content_type="image/jpeg") for n in range(10)]
    response = citizen_client.post("/m/report/", {**report_data(), "photos": photos})
    assert response.status_code == 400
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_report_form_oversized_photo_is_refused_unread(citizen_client, report_data, settings, tmp_path):
    settings.MAX_ATTACHMENT_BYTES, settings.MEDIA_ROOT = 1024 * 1024, tmp_path
    big = SimpleUploadedFile("大图.jpg", jpeg() + b"0" * (1024 * 1024), content_type="image/jpeg")
    response = citizen_client.post("/m/report/", {**report_data(), "photos": [big]})
    assert response.status_code == 400
    assert "文件“大图.jpg”超过 1MB 上限" in response.content.decode()
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0 and not any(tmp_path.rglob("*.*"))


def test_report_form_text_posing_as_a_photo_is_refused(citizen_client, report_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("照片.jpg", b"plain text pretending to be a photo", content_type="image/jpeg")
    response = citizen_client.post("/m/report/", {**report_data(), "photos": [fake]})
    assert response.status_code == 400
    assert "格式不受支持" in response.content.decode()
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0 and not any(tmp_path.rglob("*.*"))


def test_report_form_needs_login(client, report_data):
    response = client.post("/m/report/", report_data())
    assert response.status_code == 302 and response["Location"].startswith("/m/login/")
    assert Case.objects.count() == 0


def test_report_page_embeds_pickers_for_js(citizen_client, level2, village):
    html = citizen_client.get("/m/report/").content.decode()
    assert 'id="report-form"' in html and 'data-api="/api/v1/cases"' in html
    assert village.name in html and level2.name in html
    assert "使用当前位置" in html and 'accept="image/*"' in html


def test_api_path_with_session_csrf_and_idempotency_key_creates_once(citizen, level2, village):
    """What report.js / outbox.js do: session + CSRF header, JSON, then one photo with its own key."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    csrf = client.get("/m/session.json").json()["csrf"]
    payload = {
        "category_id": level2.pk,
        "title": "道路被占",
        "content": "道路被占，无法通行",
        "township": village.parent.code,
        "village": village.code,
        "anonymous": False,
        "name": "王群众",
    }
    headers = {"X-CSRFToken": csrf, "Idempotency-Key": "3f0c-offline-1"}
    first = client.post("/api/v1/cases", json.dumps(payload), content_type="application/json", headers=headers)
    again = client.post("/api/v1/cases", json.dumps(payload), content_type="application/json", headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    reference = first.json()["reference"]
    photo_headers = {"X-CSRFToken": csrf, "Idempotency-Key": "3f0c-offline-1:photo:0"}
    for _ in range(2):
        upload = SimpleUploadedFile("photo-1.jpg", jpeg(), content_type="image/jpeg")
        response = client.post(f"/api/v1/cases/{reference}/attachments", {"files": [upload]}, headers=photo_headers)
        assert response.status_code == 200
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1


def test_api_path_without_csrf_header_is_refused(citizen, level2, village):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    payload = {"category_id": level2.pk, "title": "t", "content": "c", "township": village.parent.code, "name": "王"}
    response = client.post("/api/v1/cases", json.dumps(payload), content_type="application/json")
    assert response.status_code == 403
    assert Case.objects.count() == 0


def test_session_info_for_the_outbox(client, citizen):
    assert client.get("/m/session.json").json()["authenticated"] is False
    client.force_login(citizen)
    info = client.get("/m/session.json").json()
    assert info["authenticated"] is True and info["user"] == citizen.pk and info["csrf"]
