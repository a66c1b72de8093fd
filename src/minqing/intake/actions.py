"""Intake verbs: a citizen's report (API, or the form fallback), an informant's report for a villager,
and the per-address limit on query-code lookups. Cases are created only by `cases.actions.register_case`;
intake adds routing and the duplicate check (`triage`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from minqing.accounts.actions import RateLimited
from minqing.cases import actions as case_actions
from minqing.cases import numbering
from minqing.cases.attachments import CheckedFile, UploadedFile, check_uploads
from minqing.cases.models import Case, Category, Channel
from minqing.core import crypto
from minqing.core.errors import DomainError
from minqing.dispatch.related import duplicate_references, duplicates_query
from minqing.dispatch.suggest import route
from minqing.orgs.models import OrgUnit, UnitKind

QUERY_ATTEMPTS = 10
QUERY_WINDOW_SECONDS = 600
MAX_PHOTOS = 9
TITLE_FROM_CONTENT_CHARS = 20


def derived_title(title: str, content: str) -> str:
    """The title the petitioner gave, or the first 20 characters of what they wrote."""
    title = (title or "").strip()
    if title:
        return title[:120]
    first_line = " ".join((content or "").split())
    return first_line[:TITLE_FROM_CONTENT_CHARS]


@dataclass
class Report:
    category: Category
    location_unit: OrgUnit
    content: str
    title: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    name: str = ""
    photos: Sequence[UploadedFile | CheckedFile] = field(default_factory=list)


def _check_photos(photos: Sequence[UploadedFile | CheckedFile]) -> None:
    if len(photos) > MAX_PHOTOS:
        raise DomainError(f"最多上传 {MAX_PHOTOS} 张照片", code="attachment_refused")


def triage(data: case_actions.NewCase, duplicate_rows: Sequence[tuple]) -> dict[str, Any]:
    """Routing and the duplicate check's answer (its rows, from `_duplicates_query`), kept in the
    register event. Routing is cheap: its rules come from dispatch's per-process cache."""
    if data.category is None:
        return {}
    place = data.location_unit
    township = place.parent if place.kind == UnitKind.VILLAGE else place if place.kind == UnitKind.TOWNSHIP else None
    notes: dict[str, Any] = {}
    unit = route(data.category, data.title, data.content, township=township)
    if unit is not None:
        notes["route"] = {"unit": unit.code, "name": unit.label, "reason": unit.reasons[0] if unit.reasons else ""}
    duplicates = duplicate_references(duplicate_rows)
    if duplicates:
        notes["duplicates"] = duplicates
    return notes


def _duplicates_query(data: case_actions.NewCase) -> tuple[str, list] | None:
    """One indexed lookup: the same petitioner, category and place within 30 days."""
    if data.category is None:
        return None
    if data.citizen is not None:  # the account identifies the petitioner
        petitioner: dict[str, Any] = {"citizen_id": data.citizen.pk}
    else:
        phone = next((party.phone for party in data.parties if party.phone), "")
        petitioner = {"phone_hash": crypto.lookup_hash(phone) if phone else ""}
    return duplicates_query(category_id=data.category.pk, location_unit_id=data.location_unit.pk, **petitioner)


def _register(data: case_actions.NewCase, actor) -> Case:
    # Checked before a number is drawn: a refused report leaves no gap in the numbering.
    case_actions.validate_new_case(data)
    data.attachments = check_uploads(data.attachments)
    at = timezone.now()
    data.number, duplicate_rows = numbering.draw_with(at, _duplicates_query(data))
    data.triage = triage(data, duplicate_rows)
    return case_actions.register_case(data, actor, at=at)


def submit_report(citizen, report: Report, *, channel: str = Channel.WEB) -> Case:
    """A citizen's own report: the API (`POST /api/v1/cases`) and the mobile form without JavaScript."""
    if not getattr(citizen, "is_citizen", False):
        raise DomainError("请用手机号登录后提交", code="forbidden")
    _check_photos(report.photos)
    return _register(
        case_actions.NewCase(
            channel=channel,
            title=derived_title(report.title, report.content),
            content=report.content,
            location_unit=report.location_unit,
            category=report.category,
            address=report.address,
            latitude=report.latitude,
            longitude=report.longitude,
            is_anonymous=report.anonymous,
            citizen=citizen,
            parties=[case_actions.PartyInput(name=report.name, account=citizen)],
            attachments=list(report.photos),
        ),
        citizen,
    )


def submit_for_villager(informant, report: Report, *, villager_phone: str, places: Sequence[OrgUnit]) -> Case:
    """An informant reports for a villager; the villager gets the receipt by SMS (cases.notifications)."""
    if not places:
        raise DomainError("您的账号不是村级信访信息员", code="forbidden")
    if report.location_unit.pk not in {place.pk for place in places}:
        raise DomainError("只能上报本村或本村所在乡镇的事项", code="unknown_unit")
    if not report.name.strip() or not villager_phone.strip():
        raise DomainError("请填写群众姓名和手机号", code="invalid_case")
    _check_photos(report.photos)
    return _register(
        case_actions.NewCase(
            channel=Channel.INFORMANT,
            title=derived_title(report.title, report.content),
            content=report.content,
            location_unit=report.location_unit,
            category=report.category,
            address=report.address,
            latitude=report.latitude,
            longitude=report.longitude,
            parties=[case_actions.PartyInput(name=report.name, phone=villager_phone)],
            attachments=list(report.photos),
        ),
        informant,
    )


def count_query_attempt(address: str | None) -> None:
    """Count one query-code lookup from this address; RateLimited (429) past the limit."""
    key = f"minqing_intake_query_{address or 'unknown'}"
    cache.add(key, 0, QUERY_WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, QUERY_WINDOW_SECONDS)
        attempts = 1
    if attempts > QUERY_ATTEMPTS:
        raise RateLimited("查询次数过多，请十分钟后再试")
