"""Request and response schemas of the API. Strings refuse NUL characters (PostgreSQL cannot store them)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from minqing.cases.models import Channel, Nature, Outcome, RequestType, Urgency

MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含空字符")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("不能为空")
    return value


def text(max_length: int, *, required: bool = False) -> Any:
    """A string type: at most `max_length` characters, no NUL, and (if required) not blank."""
    validators = [AfterValidator(_no_nul)] + ([AfterValidator(_not_blank)] if required else [])
    return Annotated[str, Field(max_length=max_length, min_length=1 if required else 0), *validators]


UnitCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,20}$", description="单位代码，如 410327102")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]

UrgencyValue = Literal[tuple(Urgency.values)]  # type: ignore[valid-type]
OutcomeValue = Literal[tuple(Outcome.values)]  # type: ignore[valid-type]
NatureValue = Literal[tuple(Nature.values)]  # type: ignore[valid-type]
RequestTypeValue = Literal[tuple(RequestType.values)]  # type: ignore[valid-type]
RegisterChannel = Literal[Channel.PHONE.value, Channel.WALK_IN.value, Channel.LETTER.value, Channel.INFORMANT.value]


class ErrorOut(Schema):
    detail: str = Field(description="给用户看的中文说明")
    code: str = Field(description="机器可读的错误代码")
    errors: list[dict[str, Any]] | None = Field(None, description="逐项的校验错误（仅 422）")


# --- Auth ----------------------------------------------------------------------


class SmsCodeIn(Schema):
    phone: text(20, required=True)  # type: ignore[valid-type]


class MessageOut(Schema):
    detail: str


class SmsLoginIn(Schema):
    phone: text(20, required=True)  # type: ignore[valid-type]
    code: text(10, required=True)  # type: ignore[valid-type]


class TokenOut(Schema):
    token: str = Field(description="Bearer 令牌，仅此一次返回")
    expires_at: datetime | None


# --- Reference data ----------------------------------------------------------------


class CategoryChildOut(Schema):
    id: int
    name: str


class CategoryOut(Schema):
    id: int
    name: str
    children: list[CategoryChildOut]


class UnitOut(Schema):
    code: str
    name: str
    kind: str
    parent_code: str | None


class UnitRef(Schema):
    code: str
    name: str


# --- Citizen side -------------------------------------------------------------------


class SubmitIn(Schema):
    category_id: Id = Field(description="二级分类 id（见 GET /categories）")
    title: text(120, required=True)  # type: ignore[valid-type]
    content: text(5000, required=True)  # type: ignore[valid-type]
    township: UnitCode | None = Field(None, description="乡镇代码")
    village: UnitCode | None = Field(None, description="行政村代码（可选，须属于该乡镇）")
    address: text(200) = ""  # type: ignore[valid-type]
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    anonymous: bool = False
    name: text(60) = Field("", description="信访人姓名；不匿名时必填")  # type: ignore[valid-type]


class InformationIn(Schema):
    text: text(2000, required=True)  # type: ignore[valid-type]


class TimelineEntry(Schema):
    at: datetime
    label: str


class CitizenCaseOut(Schema):
    reference: str
    title: str
    content: str
    category: str | None
    location: str
    state: str
    state_label: str
    status_text: str = Field(description="用通俗的话说明案件进展")
    submitted_at: datetime
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    outcome: str
    outcome_label: str
    reply_text: str
    decline_reason: str
    attachments: int
    timeline: list[TimelineEntry]


class CitizenCaseListOut(Schema):
    items: list[CitizenCaseOut]


# --- Staff side ---------------------------------------------------------------------


class PartyIn(Schema):
    name: text(60) = ""  # type: ignore[valid-type]
    phone: text(20) = ""  # type: ignore[valid-type]
    id_number: text(18) = ""  # type: ignore[valid-type]
    address: text(200) = ""  # type: ignore[valid-type]


class RegisterIn(Schema):
    channel: RegisterChannel = Field(description="来电/来访/来信；信息员上报用 informant")
    category_id: Id | None = None
    title: text(120, required=True)  # type: ignore[valid-type]
    content: text(5000, required=True)  # type: ignore[valid-type]
    township: UnitCode | None = None
    village: UnitCode | None = None
    address: text(200) = ""  # type: ignore[valid-type]
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    urgency: UrgencyValue = Urgency.NORMAL.value
    nature: NatureValue = Nature.CLAIM.value
    request_type: RequestTypeValue = RequestType.HELP.value
    group_size: int = Field(1, ge=1, le=100000)
    anonymous: bool = False
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)


class QueueOut(Schema):
    name: str
    label: str
    count: int


class InboxOut(Schema):
    queues: list[QueueOut]


class CaseSummaryOut(Schema):
    id: int
    reference: str
    title: str
    state: str
    state_label: str
    channel: str
    urgency: str
    category: str | None
    location_unit: UnitRef
    lead_unit: UnitRef | None
    submitted_at: datetime
    accept_due: datetime | None
    handle_due: datetime | None
    overdue: bool
    version: int


class CaseListOut(Schema):
    items: list[CaseSummaryOut]
    page: int
    page_size: int
    has_more: bool
    total: int | None = Field(description="第一页给出总数（上限 1000 时为 1001 表示“更多”）；其余页为 null")


class PartyOut(Schema):
    name: str
    phone: str = Field(description="已脱敏")
    id_number: str = Field(description="已脱敏")
    address: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    created_at: datetime


class EventOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    label: str
    from_state: str
    to_state: str
    payload: dict[str, Any]


class CaseDetailOut(CaseSummaryOut):
    content: str
    nature: str
    request_type: str
    address: str
    latitude: float | None
    longitude: float | None
    is_anonymous: bool
    group_size: int
    co_units: list[UnitRef]
    merged_into: str | None
    outcome: str
    reply_text: str
    decline_reason: str
    accepted_at: datetime | None
    assigned_at: datetime | None
    signed_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    parties: list[PartyOut]
    attachments: list[AttachmentOut]
    events: list[EventOut]
    allowed_actions: list[str]


# --- Staff action bodies ------------------------------------------------------------


class ActionIn(Schema):
    expected_version: int | None = Field(
        None, ge=0, le=MAX_VERSION, description="客户端看到的案件版本；不一致时返回 409，防止覆盖他人的操作"
    )


class AcceptIn(ActionIn):
    category_id: Id | None = None
    urgency: UrgencyValue | None = None


class ReasonIn(ActionIn):
    reason: text(2000, required=True)  # type: ignore[valid-type]


class MergeIn(ActionIn):
    into: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,20}$", description="并入的案件编号")]
    note: text(2000) = ""  # type: ignore[valid-type]


class AssignIn(ActionIn):
    lead_unit: UnitCode
    co_units: list[UnitCode] = Field(default_factory=list, max_length=20)
    deadline: Day | None = Field(None, description="办理期限（日期，当天 23:59:59 截止）；不填按法定期限")
    note: text(2000) = ""  # type: ignore[valid-type]


class ReplyIn(ActionIn):
    outcome: OutcomeValue
    reply_text: text(5000, required=True)  # type: ignore[valid-type]


class NoteIn(ActionIn):
    note: text(2000) = ""  # type: ignore[valid-type]


class TextIn(ActionIn):
    text: text(2000, required=True)  # type: ignore[valid-type]


class MediationIn(ActionIn):
    summary: text(5000, required=True)  # type: ignore[valid-type]
    participants: text(500) = ""  # type: ignore[valid-type]
    result: text(2000) = ""  # type: ignore[valid-type]
