"""Citizen side: submit, list my cases, follow one, add information and files."""

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Path, Router
from ninja.files import UploadedFile as NinjaUpload

from minqing.api import inputs, presenters
from minqing.api.auth import AUTH, current_user, require_citizen
from minqing.api.idempotency import idempotency_header, idempotent, upload_digest
from minqing.api.parser import SUBMIT_URL_NAME
from minqing.api.routers import ERRORS
from minqing.api.schemas import CitizenCaseListOut, CitizenCaseOut, InformationIn, SubmitIn, text
from minqing.api.throttles import ScopedThrottle
from minqing.cases import actions, selectors
from minqing.cases.attachments import UploadedFile, check_uploads, read_upload
from minqing.cases.models import Case, Channel
from minqing.core.errors import DomainError
from minqing.intake import actions as intake

router = Router(tags=["cases (citizen)"], auth=AUTH)

REFERENCE = Path(..., pattern=r"^[A-Za-z0-9-]{1,20}$", description="案件编号，如 YY2025-000123")
MAX_FILES = 9
FILES = File(..., description="要上传的文件（可多个）")
FORM_TEXT = Form("", alias="text", description="补充说明（可选）")


def _my_case(user, reference: str) -> Case:
    return selectors.cases_visible_to(user).select_related("category__parent", "location_unit").get(reference=reference)


SUBMIT_MULTIPART = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "title": "SubmitForm",
                    "description": "与 JSON 相同的字段（作表单字段），另可附 files：最多 9 个文件",
                    "type": "object",
                    "required": ["category_id", "title", "content"],
                    "properties": {
                        **{name: {"type": "string", "description": "同 JSON 字段"} for name in SubmitIn.model_fields},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            }
        }
    }
}


@router.post(
    "/cases",
    response={201: CitizenCaseOut, **ERRORS},
    throttle=[ScopedThrottle("submit")],
    url_name=SUBMIT_URL_NAME,
    summary="群众提交诉求",
    description=(
        "仅群众账号。工作人员登记来访、来信、来电请用 POST /staff/cases。"
        "请求体为 JSON；或 multipart/form-data：同样的字段作表单字段，另加 files（最多 9 个文件），"
        "一次请求提交诉求和照片（任一文件不合格则整单拒绝，422）。"
        "提交后也可用 /cases/{reference}/attachments 补传材料。"
    ),
    openapi_extra=SUBMIT_MULTIPART,
)
def submit(request: HttpRequest, payload: SubmitIn, idempotency_key: str | None = idempotency_header()) -> HttpResponse:
    citizen = require_citizen(request)
    uploads = request.FILES.getlist("files") if request.content_type == "multipart/form-data" else []

    def produce() -> dict:
        if not payload.anonymous and not payload.name.strip():
            raise DomainError("请填写姓名，或选择匿名", code="invalid_case")
        if len(uploads) > MAX_FILES:
            raise DomainError(f"一次最多上传 {MAX_FILES} 个文件", code="attachment_refused")
        report = intake.Report(
            category=inputs.level2_category(payload.category_id),
            location_unit=inputs.location(payload.township, payload.village),
            content=payload.content,
            title=payload.title,
            address=payload.address,
            latitude=payload.latitude,
            longitude=payload.longitude,
            anonymous=payload.anonymous,
            name=payload.name,
            photos=check_uploads([_read(f) for f in uploads]),
        )
        case = intake.submit_report(citizen, report, channel=Channel.APP)
        return presenters.citizen_case_registered(case, attachments=len(report.photos))

    # The registration reads back nothing it inserts: its rows, files and idempotency record go in together.
    return idempotent(request, idempotency_key, 201, CitizenCaseOut, produce, gathered=True)


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
    return read_upload(upload, digest=upload_digest)


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
        # Every file is checked (once) before any is stored: a bad one leaves nothing behind.
        actions.add_information(case, user, text=text_, attachments=check_uploads([_read(f) for f in files]))
        return presenters.citizen_case(_my_case(user, reference))

    return idempotent(request, idempotency_key, 200, CitizenCaseOut, produce)
