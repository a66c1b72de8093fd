"""Image metadata is stripped without re-encoding: GPS and camera data go, the pixels stay exactly the same."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from minqing.cases.attachments import AttachmentRefused, UploadedFile, check_upload, strip_image_metadata


def _jpeg(*, orientation: int = 1, progressive: bool = False, comment: bytes = b"") -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (34.0, 31.0, 0.0)}
    if orientation != 1:
        exif[ExifTags.Base.Orientation] = orientation
    image = Image.effect_noise((96, 64), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, progressive=progressive, comment=comment, quality=85)
    return out.getvalue()


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
