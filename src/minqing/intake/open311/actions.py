"""Creating a case from a GeoReport v2 POST. Validation first: a refused request writes nothing."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from minqing.cases.actions import NewCase, PartyInput, register_case
from minqing.cases.models import Case, Category, Channel
from minqing.core.errors import DomainError
from minqing.intake.open311 import geo, selectors
from minqing.intake.open311.errors import Open311Error
from minqing.intake.open311.models import Open311Client, Open311Request
from minqing.orgs.models import OrgUnit

MAX_DESCRIPTION = 4000
PHONE = re.compile(r"^\+?[\d\- ()]{5,20}$")
MEDIA_URL = re.compile(r"^https?://[^\s<>\"]{1,490}$")
# Open311 has no channel of its own yet (see docs/open311.md): requests come in as "app",
# and Open311Request records which client sent them.
OPEN311_CHANNEL = Channel.APP


@dataclass
class Location:
    unit: OrgUnit
    address: str
    latitude: float | None
    longitude: float | None


def _field(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    return (form.get(name) or "").strip()[:limit]


def _service(form: Mapping[str, str]) -> Category:
    code = _field(form, "service_code")
    if not code:
        raise Open311Error(400, "service_code is required (缺少 service_code)")
    category = selectors.service_for_code(code)
    if category is None:
        raise Open311Error(400, f"service_code {code} not found (服务类别不存在)")
    return category


def _coordinate(form: Mapping[str, str], name: str, bound: float) -> float | None:
    raw = _field(form, name, 40)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number (坐标无效)") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} is out of range (坐标超出范围)")
    return value


def _location(form: Mapping[str, str]) -> Location:
    lat, lng = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address = _field(form, "address_string")
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long must be given together (经纬度须同时提供)")
    if lat is not None and lng is not None:
        return Location(geo.nearest_unit(lat, lng), address, lat, lng)
    if address:
        return Location(geo.match_township(address) or geo.county_unit(), address, None, None)
    raise Open311Error(400, "a location is required: lat & long, or address_string (缺少位置)")


def _description(form: Mapping[str, str]) -> str:
    text = (form.get("description") or "").strip()
    if not text:
        raise Open311Error(400, "description is required (缺少诉求描述)")
    if len(text) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters (描述过长)")
    return text


def _party(form: Mapping[str, str]) -> PartyInput | None:
    name = (_field(form, "last_name", 30) + _field(form, "first_name", 30)).strip()  # 姓 + 名
    phone = _field(form, "phone", 30)
    if phone and not PHONE.match(phone):
        raise Open311Error(400, "phone is not a valid number (电话号码无效)")
    return PartyInput(name=name, phone=phone) if name else None


def _media_url(form: Mapping[str, str]) -> str:
    url = _field(form, "media_url", 600)
    if url and not MEDIA_URL.match(url):
        raise Open311Error(400, "media_url must be an http(s) URL (media_url 无效)")
    return url


def create_service_request(client: Open311Client, form: Mapping[str, str]) -> Open311Request:
    """POST requests: validate everything, then register the case and record the client, in one transaction.

    The media_url is recorded, never fetched (no server-side requests to caller-chosen URLs).
    `email` is accepted and not stored: cases have no e-mail field.
    """
    category, location = _service(form), _location(form)
    description, party, media_url = _description(form), _party(form), _media_url(form)
    content = description + (f"\n附件链接：{media_url}" if media_url else "")
    data = NewCase(
        channel=OPEN311_CHANNEL,
        title=description.splitlines()[0][:30],
        content=content,
        location_unit=location.unit,
        category=category,
        address=location.address,
        latitude=location.latitude,
        longitude=location.longitude,
        is_anonymous=party is None,
        parties=[party] if party else [],
    )
    try:
        with transaction.atomic():
            case = register_case(data, None)
            return Open311Request.objects.create(
                case=case, client=client, token=secrets.token_hex(16), media_url=media_url
            )
    except DomainError as exc:
        raise Open311Error(400, exc.message) from exc


def case_for_token(token: str) -> Case | None:
    row = Open311Request.objects.select_related("case").filter(token=token[:40]).first()
    return row.case if row else None
