"""Attachment intake: the type is read from the bytes, images lose their EXIF (GPS included)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from minqing.core.errors import DomainError

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


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed inspection: type from its bytes, metadata stripped."""

    name: str
    content_type: str
    extension: str
    data: bytes


class AttachmentRefused(DomainError):
    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, code="attachment_refused")


def max_attachment_bytes() -> int:
    return getattr(settings, "MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)


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
    """Inspect one upload (a file already checked passes through: images are re-encoded once)."""
    if isinstance(upload, CheckedFile):
        return upload
    return CheckedFile(upload.name, *inspect_upload(upload))


def check_uploads(uploads) -> list[CheckedFile]:
    """Inspect every upload first, so a refused file leaves nothing written."""
    return [check_upload(upload) for upload in uploads]


def strip_image_metadata(upload: UploadedFile) -> bytes:
    """Re-encode the pixels only: EXIF (GPS, camera, time) does not survive."""
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise AttachmentRefused(f"图片“{upload.name}”尺寸过大")
            image.load()
            upright = ImageOps.exif_transpose(image)
            fmt = image.format or "PNG"
            out = io.BytesIO()
            if fmt == "JPEG":
                upright.convert("RGB").save(out, format="JPEG", quality=88)
            elif fmt == "GIF":
                upright.save(out, format="GIF")
            else:
                upright.save(out, format=fmt)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AttachmentRefused(f"图片“{upload.name}”已损坏或不是有效图片") from exc


def store_attachment(case, checked: CheckedFile, actor):
    from minqing.cases.models import Attachment

    attachment = Attachment(
        case=case,
        original_name=checked.name[:200],
        content_type=checked.content_type,
        extension=checked.extension,
        size=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
        uploaded_by=actor if actor is not None and actor.pk else None,
    )
    attachment.file.save(f"x{checked.extension}", ContentFile(checked.data), save=False)
    attachment.save()
    return attachment
