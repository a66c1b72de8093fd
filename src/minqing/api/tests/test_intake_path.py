"""The submission path: one multipart request with photos, routing and the duplicate check recorded,
the case written once with a valid first link, the per-process token cache honouring revocation."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from minqing.api.models import IdempotencyRecord
from minqing.api.tokens import issue_token, revoke_token
from minqing.cases.models import Attachment, Case, CaseEvent
from minqing.core.hashchain import GENESIS, link_hash
from minqing.dispatch.models import RoutingRule
from minqing.orgs.models import OrgUnit, UnitKind


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def gps_jpeg(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (34.0, 31.0, 0.0)}
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def form(body: dict) -> dict:
    return {key: (str(value).lower() if isinstance(value, bool) else value) for key, value in body.items()}


def test_multipart_submit_stores_case_and_photos_in_one_request(api_as, citizen, submission):
    client = api_as(citizen)
    photos = [SimpleUploadedFile(f"现场{i}.jpg", gps_jpeg(), "image/jpeg") for i in range(2)]
    response = client.upload("/cases", photos, form(submission(anonymous=False)), headers={"Idempotency-Key": "mp-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attachments"] == 2
    assert [entry["label"] for entry in body["timeline"]] == ["提交诉求"]
    case = Case.objects.get(reference=body["reference"])
    assert case.attachments.count() == 2
    assert case.events.get().payload["attachments"] == 2
    stored = case.attachments.first()
    with stored.file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()  # still a valid picture
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Make not in image.getexif()


@pytest.mark.parametrize("key", [{"Idempotency-Key": "mp-sum"}, {}])
def test_stored_checksums_are_of_the_stored_bytes(api_as, citizen, submission, key):
    """A clean photo is stored as sent, under the digest the request was fingerprinted with; a photo
    with GPS is stored stripped, under the digest of what was stored."""
    clean = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(clean, format="JPEG")
    sent = {"clean.jpg": clean.getvalue(), "gps.jpg": gps_jpeg()}
    photos = [SimpleUploadedFile(name, data, "image/jpeg") for name, data in sent.items()]
    response = api_as(citizen).upload("/cases", photos, form(submission()), headers=key)
    assert response.status_code == 201, response.content
    stored = {}
    for attachment in Case.objects.get(reference=response.json()["reference"]).attachments.all():
        with attachment.file.open("rb") as handle:
            data = handle.read()
        assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.size == len(data)
        stored[attachment.original_name] = data
    assert stored["clean.jpg"] == sent["clean.jpg"]
    assert stored["gps.jpg"] != sent["gps.jpg"] and b"TestCam" not in stored["gps.jpg"]


def test_multipart_submit_replays_without_a_second_case(api_as, citizen, submission):
    client = api_as(citizen)

    def send():
        photo = SimpleUploadedFile("a.jpg", gps_jpeg(), "image/jpeg")
        return client.upload("/cases", [photo], form(submission()), headers={"Idempotency-Key": "mp-2"})

    first, second = send(), send()
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and second.content == first.content
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_multipart_submit_with_a_bad_file_stores_nothing(api_as, citizen, submission, media):
    files = [
        SimpleUploadedFile("ok.jpg", gps_jpeg(), "image/jpeg"),
        SimpleUploadedFile("bad.jpg", b"MZ\x90\x00 not a photo", "image/jpeg"),
    ]
    response = api_as(citizen).upload("/cases", files, form(submission()))
    assert response.status_code == 422
    assert response.json()["code"] == "attachment_refused" and "bad.jpg" in response.json()["detail"]
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not any(path.is_file() for path in media.rglob("*"))


def test_multipart_submit_refuses_ten_files(api_as, citizen, submission):
    files = [SimpleUploadedFile(f"{i}.jpg", gps_jpeg(), "image/jpeg") for i in range(10)]
    response = api_as(citizen).upload("/cases", files, form(submission()))
    assert response.status_code == 422
    assert "最多" in response.json()["detail"]
    assert not Case.objects.exists()


def test_multipart_submit_validates_fields_like_json(api_as, citizen, submission):
    response = api_as(citizen).upload("/cases", [], form(submission(category_id="abc", title="")))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert {tuple(e["loc"]) for e in response.json()["errors"]} >= {("body", "payload", "category_id")}


def test_other_json_endpoints_do_not_take_forms(api_as, citizen, submission):
    client = api_as(citizen)
    reference = client.post("/cases", submission()).json()["reference"]
    response = client.client.post(
        f"/api/v1/cases/{reference}/information",
        {"text": "补充"},
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_registration_writes_a_valid_first_link(api_as, citizen, submission):
    reference = api_as(citizen).post("/cases", submission()).json()["reference"]
    case = Case.objects.get(reference=reference)
    event = CaseEvent.objects.get(case=case)
    assert case.event_count == event.seq == 1
    assert event.prev_hash == GENESIS
    assert case.last_event_hash == event.hash == link_hash(GENESIS, event.chain_record())


def test_references_follow_each_other(api_as, citizen, submission):
    client = api_as(citizen)
    numbers = [int(client.post("/cases", submission()).json()["reference"].rsplit("-", 1)[1]) for _ in range(3)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_routing_rule_and_duplicate_are_recorded_on_the_register_event(api_as, citizen, submission, category):
    unit = OrgUnit.objects.filter(kind=UnitKind.DEPARTMENT, active=True).order_by("code").first()
    RoutingRule.objects.create(keyword="建材", unit=unit)
    client = api_as(citizen)
    first = client.post("/cases", submission()).json()["reference"]
    second = client.post("/cases", submission()).json()["reference"]
    elsewhere = client.post("/cases", submission(village=None)).json()["reference"]
    payloads = {e.case.reference: e.payload for e in CaseEvent.objects.select_related("case")}
    assert payloads[first]["route"]["unit"] == unit.code
    assert "建材" in payloads[first]["route"]["reason"]
    assert "duplicates" not in payloads[first]
    assert payloads[second]["duplicates"] == [first]
    assert "duplicates" not in payloads[elsewhere]  # another place (the township), not a duplicate


def test_without_a_rule_the_township_or_department_is_suggested(api_as, citizen, submission):
    reference = api_as(citizen).post("/cases", submission()).json()["reference"]
    route = CaseEvent.objects.get(case__reference=reference).payload["route"]
    assert OrgUnit.objects.filter(code=route["unit"], kind__in=[UnitKind.TOWNSHIP, UnitKind.DEPARTMENT]).exists()


def test_revoked_token_is_refused_at_once_despite_the_cache(api_as, citizen, submission):
    token, secret = issue_token(citizen, "app")
    client = api_as(None)
    client.token = secret
    assert client.get("/cases").status_code == 200
    assert client.get("/cases").status_code == 200  # now from the cache
    revoke_token(token)
    assert client.get("/cases").status_code == 401


def test_cached_token_gives_each_request_its_own_user(api_as, citizen):
    from minqing.api.tokens import user_for_token

    _, secret = issue_token(citizen, "app")
    first, second = user_for_token(secret), user_for_token(secret)
    assert first == second == citizen
    assert first is not second


@pytest.mark.django_db(transaction=True)
def test_a_json_submission_needs_no_transaction_on_postgresql(api_as, citizen, submission, monkeypatch):
    """Its one write is the closing statement: the duplicate check and the number are read in
    autocommit, and the statement commits alone (no BEGIN, no COMMIT round trips)."""
    from django.db import connection

    from minqing.core import inserts

    seen = []
    real_insert = inserts._insert

    def insert(objects, using):
        seen.append((connection.get_autocommit(), connection.in_atomic_block))
        real_insert(objects, using)

    monkeypatch.setattr(inserts, "_insert", insert)
    response = api_as(citizen).post("/cases", submission(), headers={"Idempotency-Key": "no-begin"})
    assert response.status_code == 201, response.content
    assert seen == ([(True, False)] if connection.vendor == "postgresql" else [(False, True)])
    case = Case.objects.get(reference=response.json()["reference"])
    assert case.events.count() == 1 and case.parties.count() == 1 and IdempotencyRecord.objects.count() == 1


def test_a_submission_with_a_photo_writes_its_rows_in_one_statement(api_as, citizen, submission, media):
    """Case, party, event, attachment and idempotency record in one INSERT (PostgreSQL), no lookup
    of the key first; the photo is on disk under the name its row holds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_as(citizen)
    photo = SimpleUploadedFile("a.jpg", gps_jpeg(), "image/jpeg")
    with CaptureQueriesContext(connection) as queries:
        response = client.upload("/cases", [photo], form(submission()), headers={"Idempotency-Key": "one-go"})
    assert response.status_code == 201, response.content
    writes = [q["sql"] for q in queries if "INSERT" in q["sql"]]
    reads_of_keys = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "api_idempotencyrecord" in q["sql"]]
    assert reads_of_keys == []
    if connection.vendor == "postgresql":
        assert len(writes) == 1
        assert all(table in writes[0] for table in ("cases_case", "cases_attachment", "api_idempotencyrecord"))
    attachment = Attachment.objects.get()
    assert (media / attachment.file.name).read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.django_db(transaction=True)  # as in service: no test transaction around the request
def test_a_replayed_photo_submission_writes_no_file(api_as, citizen, submission, media):
    client = api_as(citizen)

    def send():
        photo = SimpleUploadedFile("a.jpg", gps_jpeg(), "image/jpeg")
        return client.upload("/cases", [photo], form(submission()), headers={"Idempotency-Key": "mp-files"})

    first = send()
    files_after_first = sorted(path for path in media.rglob("*") if path.is_file())
    second = send()
    assert second["Idempotent-Replayed"] == "true" and second.content == first.content
    assert sorted(path for path in media.rglob("*") if path.is_file()) == files_after_first
    assert len(files_after_first) == 1 and Attachment.objects.count() == 1


def test_the_same_photo_twice_keeps_two_rows_and_one_file(api_as, citizen, submission, media):
    data = gps_jpeg()
    photos = [SimpleUploadedFile(name, data, "image/jpeg") for name in ("前.jpg", "后.jpg")]
    response = api_as(citizen).upload("/cases", photos, form(submission()))
    assert response.status_code == 201, response.content
    names = {a.original_name: a.file.name for a in Attachment.objects.all()}
    assert set(names) == {"前.jpg", "后.jpg"} and names["前.jpg"] == names["后.jpg"]
    assert [path for path in media.rglob("*") if path.is_file()] == [media / names["前.jpg"]]


@pytest.mark.django_db(transaction=True)  # as in service: no test transaction around the request
def test_a_failed_file_write_leaves_no_case(api_as, citizen, submission, media, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    def disk_full(self, name, content, max_length=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "save", disk_full)
    client = api_as(citizen)
    client.client.raise_request_exception = False
    photo = SimpleUploadedFile("a.jpg", gps_jpeg(), "image/jpeg")
    response = client.upload("/cases", [photo], form(submission()), headers={"Idempotency-Key": "full-disk"})
    assert response.status_code == 500
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_refused_report_draws_no_number(api_as, citizen, submission, category):
    from minqing.core.errors import DomainError
    from minqing.intake import actions as intake
    from minqing.testing.personas import LIUQUAN, first_village

    client = api_as(citizen)
    numbers = [int(client.post("/cases", submission()).json()["reference"].rsplit("-", 1)[1])]
    blank = intake.Report(category=category, location_unit=first_village(LIUQUAN), content=" \n ", name="王群众")
    with pytest.raises(DomainError, match="请填写"):
        intake.submit_report(citizen, blank)
    numbers.append(int(client.post("/cases", submission()).json()["reference"].rsplit("-", 1)[1]))
    assert numbers[1] == numbers[0] + 1  # no gap: the report was refused before a number was drawn


@pytest.mark.django_db(transaction=True)
def test_a_json_submission_makes_two_statements_on_postgresql(api_as, citizen, submission):
    """The number is drawn with the duplicate check, and everything is written by one statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_as(citizen)
    first = client.post("/cases", submission()).json()["reference"]
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/cases", submission(), headers={"Idempotency-Key": "two"})
    assert response.status_code == 201
    assert CaseEvent.objects.get(case__reference=response.json()["reference"]).payload["duplicates"] == [first]
    case_statements = [q["sql"] for q in queries if "cases_case" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(case_statements) == 2
        assert "nextval" in case_statements[0] and "citizen_id" in case_statements[0]
        assert case_statements[1].startswith("WITH") and "api_idempotencyrecord" in case_statements[1]
