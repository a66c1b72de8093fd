"""Attachments on the registration form: refused uploads create nothing, GPS never reaches storage."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from minqing.cases.models import Attachment, Case, CaseCounter
from minqing.testing.personas import LIUQUAN


def image_bytes(fmt: str, *, gps: bool = False) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (40, 30), (200, 40, 40))
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "TestCam"
        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (34.0, 31.0, 0.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (112.0, 10.0, 0.0),
        }
        image.save(out, format=fmt, exif=exif)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def post_with(client, dispatcher, unit):
    client.force_login(dispatcher)

    def post(*files: SimpleUploadedFile):
        data = {
            "channel": "letter",
            "nature": "claim",
            "request_type": "help",
            "title": "来信反映道路问题",
            "content": "附照片说明道路损坏情况。",
            "township": unit(LIUQUAN).pk,
            "urgency": "normal",
            "group_size": 1,
            "name": "赵五",
            "attachments": list(files),
        }
        return client.post(reverse("cases:new"), data)

    return post


def _nothing_written(media_root) -> bool:
    return (
        not Case.objects.exists()
        and not Attachment.objects.exists()
        and not CaseCounter.objects.filter(last_number__gt=0).exists()
        and not any(path.is_file() for path in media_root.rglob("*"))
    )


def test_valid_uploads_are_stored(post_with):
    response = post_with(
        SimpleUploadedFile("现场.png", image_bytes("PNG")), SimpleUploadedFile("信件.jpg", image_bytes("JPEG"))
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert sorted(case.attachments.values_list("content_type", flat=True)) == ["image/jpeg", "image/png"]


def test_oversized_upload_is_refused_with_reason(post_with, settings, media):
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024
    big = SimpleUploadedFile("大图.png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024 + 10))
    response = post_with(SimpleUploadedFile("ok.png", image_bytes("PNG")), big)
    assert response.status_code == 422
    assert "文件“大图.png”超过 1MB 上限" in response.content.decode()
    assert _nothing_written(media)


def test_forged_image_is_refused(post_with, media):
    response = post_with(SimpleUploadedFile("照片.jpg", b"this is plain text pretending to be a photo"))
    assert response.status_code == 422
    assert "文件“照片.jpg”的格式不受支持" in response.content.decode()
    assert _nothing_written(media)


def test_mislabelled_file_is_refused_and_no_half_written_case(post_with, media):
    # The first file is fine; the second is refused before either reaches storage.
    response = post_with(
        SimpleUploadedFile("ok.jpg", image_bytes("JPEG")), SimpleUploadedFile("材料.pdf", image_bytes("PNG"))
    )
    assert response.status_code == 422
    assert "文件“材料.pdf”的扩展名与实际内容（.png）不符" in response.content.decode()
    assert _nothing_written(media)


def test_exif_gps_is_stripped_from_jpeg(post_with):
    original = image_bytes("JPEG", gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert post_with(SimpleUploadedFile("gps.jpg", original)).status_code == 302
    stored = Case.objects.get().attachments.get()
    with stored.file.open("rb") as handle:
        exif = Image.open(io.BytesIO(handle.read())).getexif()
    assert ExifTags.IFD.GPSInfo not in exif
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Make not in exif
