"""Image metadata is stripped without re-encoding: GPS and camera data go, the pixels stay exactly the same."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from minqing.cases.attachments import AttachmentRefused, UploadedFile, check_upload, strip_image_metadata


def _jpeg(*, orientation: int = 1, progressive: bool = False, comment: bytes = b"", **options) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (34.0, 31.0, 0.0)}
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    image = Image.effect_noise((96, 64), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, progressive=progressive, comment=comment, quality=85, **options)
    return out.getvalue()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_loses_gps_and_comments_but_not_a_pixel(progressive):
    original = _jpeg(progressive=progressive, comment=b"shot at home")
    stripped = strip_image_metadata(UploadedFile("a.jpg", original))
    assert b"TestCam" in original and b"TestCam" not in stripped
    assert b"shot at home" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        exif = image.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Make not in exif
    assert _pixels(stripped) == _pixels(original)  # no decode/encode round: lossless


def test_restart_markers_inside_a_scan_do_not_end_it():
    original = _jpeg(restart_marker_blocks=1)
    assert any(bytes([0xFF, rst]) in original for rst in range(0xD0, 0xD8))
    stripped = strip_image_metadata(UploadedFile("a.jpg", original))
    assert b"TestCam" not in stripped and stripped.endswith(b"\xff\xd9")
    assert _pixels(stripped) == _pixels(original)


def test_metadata_between_the_scans_of_a_progressive_jpeg_is_dropped():
    original = _jpeg(progressive=True)
    second_scan = original.index(b"\xff\xda", original.index(b"\xff\xda") + 2)
    hidden = _segment(0xE1, b"Exif\x00\x00GPS 34.5N") + _segment(0xFE, b"at home")
    smuggled = original[:second_scan] + hidden + original[second_scan:]
    stripped = strip_image_metadata(UploadedFile("a.jpg", smuggled))
    assert b"GPS 34.5N" not in stripped and b"at home" not in stripped and b"TestCam" not in stripped
    assert _pixels(stripped) == _pixels(original)


def test_jpeg_orientation_is_kept_alone():
    stripped = strip_image_metadata(UploadedFile("a.jpg", _jpeg(orientation=6)))
    with Image.open(io.BytesIO(stripped)) as image:
        assert dict(image.getexif()) == {ExifTags.Base.Orientation: 6}


def test_data_after_the_jpeg_end_is_dropped():
    original = _jpeg() + b"\xff\xd8hidden second image with GPS"
    stripped = strip_image_metadata(UploadedFile("a.jpg", original))
    assert stripped.endswith(b"\xff\xd9") and b"hidden" not in stripped


def test_png_loses_text_and_exif_chunks_but_not_a_pixel():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 34.5N")
    info.add_itxt("Author", "张三")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    out = io.BytesIO()
    Image.effect_noise((40, 30), 40).convert("RGB").save(out, format="PNG", pnginfo=info, exif=exif)
    original = out.getvalue()
    stripped = strip_image_metadata(UploadedFile("a.png", original))
    for chunk in (b"tEXt", b"iTXt", b"eXIf", b"TestCam"):
        assert chunk in original and chunk not in stripped
    assert _pixels(stripped) == _pixels(original)


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_jpeg_is_refused(cut):
    original = _jpeg()
    with pytest.raises(AttachmentRefused, match="已损坏"):
        strip_image_metadata(UploadedFile("broken.jpg", original[: int(len(original) * cut)]))


def test_checked_file_is_inspected_once():
    checked = check_upload(UploadedFile("a.jpg", _jpeg()))
    assert checked.content_type == "image/jpeg" and b"TestCam" not in checked.data
    assert check_upload(checked) is checked
