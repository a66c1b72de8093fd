"""Citizen side: submit, list my cases, follow one, add information and files."""

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Path, Router
from ninja.files import UploadedFile as NinjaUpload

from minqing.api import inputs, presenters
from minqing.api.auth import AUTH, current_user, require_citizen
from minqing.api.idempotency import idempotency_header, idempotent
from minqing.api.routers import ERRORS
from minqing.api.schemas import CitizenCaseListOut, CitizenCaseOut, InformationIn, SubmitIn, text
from minqing.api.throttles import ScopedThrottle
from minqing.cases import actions, selectors
from minqing.cases.attachments import AttachmentRefused, UploadedFile, max_attachment_bytes
from minqing.cases.models import Case, Channel
from minqing.core.errors import DomainError

router = Router(tags=["cases (citizen)"], auth=AUTH)

REFERENCE = Path(..., pattern=r"^[A-Za-z0-9-]{1,20}$", description="案件编号，如 YY2025-000123")
MAX_FILES = 9
FILES = File(..., description="要上传的文件（可多个）")
FORM_TEXT = Form("", alias="text", description="补充说明（可选）")


def _my_case(user, reference: str) -> Case:
    return selectors.cases_visible_to(user).select_related("category__parent", "location_unit").get(reference=reference)


@router.post(
    "/cases",
    response={201: CitizenCaseOut, **ERRORS},
    throttle=[ScopedThrottle("submit")],
    summary="群众提交诉求",
    description=(
        "仅群众账号。工作人员登记来访、来信、来电请用 POST /staff/cases。"
        "附件在提交后用 /cases/{reference}/attachments 上传。"
    ),
)
def submit(request: HttpRequest, payload: SubmitIn, idempotency_key: str | None = idempotency_header()) -> HttpResponse:
    citizen = require_citizen(request)

    def produce() -> dict:
        if not payload.anonymous and not payload.name.strip():
            raise DomainError("请填写姓名，或选择匿名", code="invalid_case")
        data = actions.NewCase(
            channel=Channel.APP,
            title=payload.title,
            content=payload.content,
            location_unit=inputs.location(payload.township, payload.village),
            category=inputs.level2_category(payload.category_id),
            address=payload.address,
            latitude=payload.latitude,
            longitude=payload.longitude,
            is_anonymous=payload.anonymous,
            citizen=citizen,
            parties=[actions.PartyInput(name=payload.name, phone=citizen.phone)],
        )
        case = actions.register_case(data, citizen)
        return presenters.citizen_case(case)

    return idempotent(request, idempotency_key, 201, CitizenCaseOut, produce)


@router.get("/cases", response={200: CitizenCaseListOut, **ERRORS}, summary="我的诉求")
def my_cases(request: HttpRequest) -> dict:
    user = current_user(request)
    mine = selectors.cases_visible_to(user).filter(Q(citizen=user) | Q(submitted_by=user))
    rows = (
        mine.select_related("category__parent", "location_unit")
        .annotate(attachment_count=Count("attachments", distinct=True))
        .prefetch_related(presenters.public_events_prefetch())
        .order_by("-submitted_at", "-id")[:100]
    )
    return {"items": [presenters.citizen_case(case) for case in rows]}


@router.get("/cases/{reference}", response={200: CitizenCaseOut, **ERRORS}, summary="诉求办理进展")
def case_status(request: HttpRequest, reference: str = REFERENCE) -> dict:
    return presenters.citizen_case(_my_case(current_user(request), reference))


@router.post("/cases/{reference}/information", response={200: CitizenCaseOut, **ERRORS}, summary="补充说明")
def add_information(
    request: HttpRequest,
    payload: InformationIn,
    reference: str = REFERENCE,
    idempotency_key: str | None = idempotency_header(),
) -> HttpResponse:
    user = current_user(request)

    def produce() -> dict:
        case = _my_case(user, reference)
        actions.add_information(case, user, text=payload.text)
        return presenters.citizen_case(_my_case(user, reference))

    return idempotent(request, idempotency_key, 200, CitizenCaseOut, produce)


def _read(upload: NinjaUpload) -> UploadedFile:
    """Refuse an oversized file before reading it into memory; the rest is checked by cases.attachments."""
    name = (upload.name or "file")[:200].replace("\x00", "")
    limit = max_attachment_bytes()
    if upload.size is not None and upload.size > limit:
        raise AttachmentRefused(f"文件“{name}”超过 {limit // (1024 * 1024)}MB 上限")
    return UploadedFile(name=name, data=upload.read(limit + 1))


@router.post(
    "/cases/{reference}/attachments",
    response={200: CitizenCaseOut, **ERRORS},
    summary="上传材料（图片、PDF、音频、视频）",
    description="multipart/form-data：files（可多个，最多 9 个）与可选的 text。类型按文件内容判断，图片去除 EXIF。"
    "任一文件不合格则整批拒绝（422），不保存任何文件。",
)
def upload_attachments(
    request: HttpRequest,
    reference: str = REFERENCE,
    files: list[NinjaUpload] = FILES,
    text_: text(2000) = FORM_TEXT,  # type: ignore[valid-type]
    idempotency_key: str | None = idempotency_header(),
) -> HttpResponse:
    user = current_user(request)

    def produce() -> dict:
        case = _my_case(user, reference)
        if not files:
            raise DomainError("请选择要上传的文件", code="attachment_refused")
        if len(files) > MAX_FILES:
            raise DomainError(f"一次最多上传 {MAX_FILES} 个文件", code="attachment_refused")
        # add_information checks every file before storing any: a bad one leaves nothing behind.
        actions.add_information(case, user, text=text_, attachments=[_read(f) for f in files])
        return presenters.citizen_case(_my_case(user, reference))

    return idempotent(request, idempotency_key, 200, CitizenCaseOut, produce)
