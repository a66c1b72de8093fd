from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from minqing.cases.models import Attachment, Case, CaseEvent, CaseState, Category
from minqing.testing.personas import HANCHENG, LIUQUAN


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def test_submit_creates_case_with_event(api_as, citizen, submission):
    response = api_as(citizen).post("/cases", submission())
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.citizen == citizen and case.channel == "app" and case.state == CaseState.SUBMITTED
    assert [e.action for e in case.events.all()] == ["register"]
    assert case.parties.get().phone == "13900001111"
    assert body["status_text"].startswith("您的诉求已提交")


def test_submit_unknown_category_is_422_and_creates_nothing(api_as, citizen, submission):
    response = api_as(citizen).post("/cases", submission(category_id=999999))
    assert response.status_code == 422
    assert response.json() == {"detail": "分类不存在", "code": "unknown_category"}
    assert Case.objects.count() == 0


def test_submit_level1_category_is_422(api_as, citizen, submission):
    level1 = Category.objects.filter(parent__isnull=True).first()
    response = api_as(citizen).post("/cases", submission(category_id=level1.pk))
    assert response.status_code == 422
    assert Case.objects.count() == 0


def test_submit_malformed_json_is_400_with_message(api_as, citizen):
    response = api_as(citizen).post("/cases", raw="{not json")
    assert response.status_code == 400
    assert response.json()["detail"] == "请求体不是有效的 JSON"
    assert Case.objects.count() == 0


def test_submit_missing_fields_is_422_readable(api_as, citizen):
    response = api_as(citizen).post("/cases", {"title": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("输入有误")
    assert "category_id" in body["detail"]
    assert Case.objects.count() == 0


def test_submit_nul_character_is_422(api_as, citizen, submission):
    response = api_as(citizen).post("/cases", submission(title="a\x00b"))
    assert response.status_code == 422
    assert Case.objects.count() == 0


def test_staff_cannot_submit_as_citizen(api_as, dispatcher, submission):
    response = api_as(dispatcher).post("/cases", submission())
    assert response.status_code == 403
    assert "/staff/cases" in response.json()["detail"]
    assert Case.objects.count() == 0


def test_citizen_status_and_list(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    assert [c["reference"] for c in client.get("/cases").json()["items"]] == [reference]
    assert client.get(f"/cases/{reference}").json()["state_label"] == "待登记"


def test_other_citizen_sees_404(api_as, citizen, submission):
    from minqing.accounts.actions import get_or_create_citizen

    reference = api_as(citizen).post("/cases", submission()).json()["reference"]
    other = api_as(get_or_create_citizen("13900002222"))
    assert other.get(f"/cases/{reference}").status_code == 404
    assert other.get("/cases").json()["items"] == []


def test_add_information(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    response = client.post(f"/cases/{reference}/information", {"text": "补充：路口也被占了"})
    assert response.status_code == 200
    assert Case.objects.get().events.last().action == "add_information"


def test_upload_image(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    response = client.upload(
        f"/cases/{reference}/attachments", [SimpleUploadedFile("photo.png", _png(), "image/png")], {"text": "现场照片"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["attachments"] == 1
    assert Attachment.objects.get().content_type == "image/png"


def test_upload_forged_file_is_422_and_stores_nothing(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    events = Case.objects.get().event_count
    files = [
        SimpleUploadedFile("ok.png", _png(), "image/png"),
        SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 this is an exe", "image/jpeg"),
    ]
    response = client.upload(f"/cases/{reference}/attachments", files)
    assert response.status_code == 422
    assert response.json()["code"] == "attachment_refused"
    assert "photo.jpg" in response.json()["detail"]
    assert Attachment.objects.count() == 0
    assert Case.objects.get().event_count == events


def test_upload_oversized_is_422_and_stores_nothing(api_as, citizen, submission, settings):
    settings.MAX_ATTACHMENT_BYTES = 1024
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    big = _png() + b"\x00" * 2048
    response = client.upload(f"/cases/{reference}/attachments", [SimpleUploadedFile("big.png", big, "image/png")])
    assert response.status_code == 422
    assert "上限" in response.json()["detail"]
    assert Attachment.objects.count() == 0


def test_upload_without_files_is_422(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    response = client.client.post(
        f"/api/v1/cases/{reference}/attachments", {"text": "x"}, headers={"Authorization": f"Bearer {client.token}"}
    )
    assert response.status_code == 422
    assert Attachment.objects.count() == 0


def test_categories_and_units_are_public(api_as, yiyang):
    anon = api_as(None)
    tree = anon.get("/categories").json()
    assert tree and all(child["id"] for child in tree[0]["children"])
    townships = anon.get("/units", {"kind": "township"}).json()
    assert any(t["code"] == LIUQUAN for t in townships)
    villages = anon.get("/units", {"kind": "village", "parent": HANCHENG}).json()
    assert villages and {v["parent_code"] for v in villages} == {HANCHENG}
    assert anon.get("/units", {"kind": "county"}).status_code == 422


def test_case_events_count(api_as, citizen, submission):
    api_as(citizen).post("/cases", submission())
    assert CaseEvent.objects.count() == 1
