"""Attachment intake: the type is read from the bytes, images lose their metadata (EXIF with GPS included)."""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from PIL import Image, ImageOps, UnidentifiedImageError

from minqing.core.errors import DomainError
from minqing.core.inserts import insert_together

ALLOWED_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "audio/mpeg": ".mp3",
    "audio/x-m4a": ".m4a",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
}
EQUIVALENT_EXTENSIONS = {".jpeg": ".jpg", ".jpe": ".jpg"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes
    sha256: str = ""  # of `data`, when the caller has already computed it


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed inspection: type from its bytes, metadata stripped."""

    name: str
    content_type: str
    extension: str
    data: bytes
    sha256: str


class AttachmentRefused(DomainError):
    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, code="attachment_refused")


def max_attachment_bytes() -> int:
    return getattr(settings, "MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)


def read_upload(upload, *, default_name: str = "file", digest: Callable[[Any], str] | None = None) -> UploadedFile:
    """A received file (Django's UploadedFile) as bytes to inspect; refused unread if it is over the limit.

    One kept in memory hands over its buffer without a copy (a 1 MB copy into fresh memory costs far
    more than the rest of reading it); one on disk is read up to a byte past the limit. `digest`, if
    given, supplies the SHA-256 the caller already has (an idempotency fingerprint shares it).
    """
    name = (upload.name or default_name)[:200].replace("\x00", "")
    limit = max_attachment_bytes()
    if upload.size is not None and upload.size > limit:
        raise AttachmentRefused(f"文件“{name}”超过 {limit // (1024 * 1024)}MB 上限")
    data = upload.file.getvalue() if isinstance(upload.file, io.BytesIO) else upload.read(limit + 1)
    return UploadedFile(name, data, digest(upload) if digest and len(data) <= limit else "")


def inspect_upload(upload: UploadedFile) -> tuple[str, str, bytes]:
    """(content type, extension, bytes to store) or AttachmentRefused with the reason."""
    limit = max_attachment_bytes()
    if not upload.data:
        raise AttachmentRefused(f"文件“{upload.name}”是空的")
    if len(upload.data) > limit:
        raise AttachmentRefused(f"文件“{upload.name}”超过 {limit // (1024 * 1024)}MB 上限")
    kind = filetype.guess(upload.data)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise AttachmentRefused(f"文件“{upload.name}”的格式不受支持，请上传图片、PDF、音频或视频")
    extension = ALLOWED_TYPES[kind.mime]
    claimed = "." + upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if claimed and EQUIVALENT_EXTENSIONS.get(claimed, claimed) != extension:
        raise AttachmentRefused(f"文件“{upload.name}”的扩展名与实际内容（{extension}）不符")
    data = strip_image_metadata(upload) if kind.mime in IMAGE_TYPES else upload.data
    return kind.mime, extension, data


def check_upload(upload: UploadedFile | CheckedFile) -> CheckedFile:
    """Inspect one upload (a file already checked passes through: each file is inspected once)."""
    if isinstance(upload, CheckedFile):
        return upload
    content_type, extension, data = inspect_upload(upload)
    # Nothing stripped and the caller already hashed it: reuse that digest.
    sha256 = upload.sha256 if data is upload.data and upload.sha256 else hashlib.sha256(data).hexdigest()
    return CheckedFile(upload.name, content_type, extension, data, sha256)


def check_uploads(uploads) -> list[CheckedFile]:
    """Inspect every upload first, so a refused file leaves nothing written."""
    return [check_upload(upload) for upload in uploads]


def strip_image_metadata(upload: UploadedFile) -> bytes:
    """The image without its metadata (EXIF with GPS, camera and time; XMP; IPTC; comments).

    JPEG and PNG lose their metadata segments losslessly: the pixels are not decoded again, and
    the file shrinks only by what was removed. A JPEG's EXIF orientation is kept as a new EXIF
    segment holding that one tag, so a photo taken sideways still shows upright. WebP and GIF,
    rarer, are decoded and re-encoded (their metadata does not survive that).
    """
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise AttachmentRefused(f"图片“{upload.name}”尺寸过大")
            fmt = image.format
            orientation = image.getexif().get(ORIENTATION_TAG, 1) if fmt == "JPEG" else 1
            image.verify()
        if fmt == "JPEG":
            return _strip_jpeg(upload.data, orientation)
        if fmt == "PNG":
            return _strip_png(upload.data)
        return _reencode(upload.data)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        IndexError,
        struct.error,
        Image.DecompressionBombError,
    ) as exc:
        raise AttachmentRefused(f"图片“{upload.name}”已损坏或不是有效图片") from exc


ORIENTATION_TAG = 0x0112
# JPEG segments kept: JFIF (APP0), ICC colour profile (APP2 "ICC_PROFILE"), Adobe colour transform
# (APP14), and every non-APP marker (tables, frame, scans). Dropped: every other APPn (EXIF and XMP in
# APP1, MPF with its embedded thumbnails in APP2, IPTC in APP13, …), comments, and anything after EOI.
_JPEG_APP0, _JPEG_APP1, _JPEG_APP2, _JPEG_APP14, _JPEG_APP15 = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF
_JPEG_COM, _JPEG_SOS, _JPEG_EOI = 0xFE, 0xDA, 0xD9
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0–7: no length field
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # in scan data, the next marker that is not RSTn/stuffing


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    view = memoryview(data)  # kept parts are sliced without copying; one join copies them at the end
    out: list[bytes | memoryview] = [view[:2]]
    dropped = orientation != 1  # the new EXIF segment changes the file too
    if orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        body = b"Exif\x00\x00" + exif.tobytes()
        out.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
    pos = 2
    while True:
        while data[pos] == 0xFF and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
            dropped = True
        if data[pos] != 0xFF:
            raise ValueError("marker expected")
        marker = data[pos + 1]
        if marker == _JPEG_EOI:
            if not dropped and pos + 2 == len(data):
                return data  # nothing to remove: spare copying the whole photo
            out.append(view[pos : pos + 2])
            return b"".join(out)
        if marker in _JPEG_STANDALONE:
            out.append(view[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("truncated segment")
        if marker == _JPEG_SOS:  # header, then entropy-coded data up to the next real marker
            found = _SCAN_END.search(data, end)
            if found is None:
                raise ValueError("scan without end")
            end = found.start()
            out.append(view[pos:end])
        elif _drop_jpeg_segment(marker, data[pos + 4 : pos + 16]):
            dropped = True
        else:
            out.append(view[pos:end])
        pos = end


def _drop_jpeg_segment(marker: int, head: bytes) -> bool:
    if marker == _JPEG_COM:
        return True
    if not _JPEG_APP0 <= marker <= _JPEG_APP15:
        return False
    if marker == _JPEG_APP2:
        return not head.startswith(b"ICC_PROFILE\x00")
    return marker not in (_JPEG_APP0, _JPEG_APP14)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def _strip_png(data: bytes) -> bytes:
    """Drop the text, EXIF and time chunks (and anything after IEND); the rest is copied as it is."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("no PNG signature")
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        if kind not in _PNG_DROPPED:
            out.append(data[pos:end])
        if kind == b"IEND":
            return b"".join(out)
        pos = end
    raise ValueError("no IEND")


def _reencode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        upright.save(out, format=image.format or "PNG")
        return out.getvalue()


def new_attachment(case, checked: CheckedFile, actor):
    """The attachment row of a checked file, unsaved, with the name its file gets (`write_files`)."""
    from minqing.cases.models import Attachment

    attachment = Attachment(
        case=case,
        original_name=checked.name[:200],
        content_type=checked.content_type,
        extension=checked.extension,
        size=len(checked.data),
        sha256=checked.sha256,
        uploaded_by=actor if actor is not None and actor.pk else None,
    )
    attachment.file.name = attachment.file.field.generate_filename(attachment, f"x{checked.extension}")
    return attachment


def write_files(attachments, checked: Sequence[CheckedFile]) -> Callable[[], None]:
    """Store each file's bytes under its attachment's name; returns the function that removes what it
    wrote (a `core.inserts` effect). The name is the checksum's within the case's folder, so a file
    already there holds these very bytes (the same file sent twice) and is left alone."""
    written: list[tuple[Storage, str]] = []

    def remove() -> None:
        for storage, name in written:
            storage.delete(name)

    try:
        for attachment, upload in zip(attachments, checked, strict=True):
            storage, name = attachment.file.storage, attachment.file.name
            if storage.exists(name):
                continue
            saved = storage.save(name, ContentFile(upload.data))
            if saved != name:  # a concurrent twin wrote the same bytes a moment before
                storage.delete(saved)
                continue
            written.append((storage, name))
    except BaseException:
        remove()
        raise
    return remove


def store_attachment(case, checked: CheckedFile, actor):
    """Insert the row, then write its file (inside the caller's transaction: a failed write undoes the row)."""
    attachment = new_attachment(case, checked, actor)
    insert_together([attachment], effect=partial(write_files, [attachment], [checked]))
    return attachment
