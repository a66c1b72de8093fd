"""Where a report happened: nearest unit to a point, or a township named in free text.

Shared by the Open311 endpoint and the WeChat conversation. Only active townships and
villages of the configured county (MINQING_COUNTY_CODE) are candidates.
"""

from __future__ import annotations

import difflib
import math
import re

from django.conf import settings

from minqing.orgs.models import OrgUnit, UnitKind

EARTH_RADIUS_KM = 6371.0
# Farther than this from every unit with coordinates: not in the county, use the county itself.
MAX_DISTANCE_KM = 30.0
SUFFIXES = re.compile(r"(街道办事处|街道|办事处|镇|乡|村委会|村|社区)$")


def county_unit() -> OrgUnit:
    return OrgUnit.objects.get(code=settings.MINQING_COUNTY_CODE)


def _candidates(county: OrgUnit, kinds: tuple[str, ...]):
    return OrgUnit.objects.within(county).active().filter(kind__in=kinds)


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def nearest_unit(lat: float, lng: float, county: OrgUnit | None = None) -> OrgUnit:
    """The village or township nearest to (lat, lng) within MAX_DISTANCE_KM, else the county."""
    county = county or county_unit()
    units = _candidates(county, (UnitKind.TOWNSHIP, UnitKind.VILLAGE)).filter(
        latitude__isnull=False, longitude__isnull=False
    )
    best, best_km = None, MAX_DISTANCE_KM
    for unit in units.only("id", "code", "name", "path", "kind", "latitude", "longitude", "parent_id"):
        km = distance_km(lat, lng, unit.latitude, unit.longitude)
        if km <= best_km:
            best, best_km = unit, km
    return best or county


def _stem(name: str) -> str:
    return SUFFIXES.sub("", name) or name


def match_township(text: str, county: OrgUnit | None = None) -> OrgUnit | None:
    """A township named (fully, without 镇/乡/街道, or nearly) in `text`; None if nothing fits."""
    text = re.sub(r"\s+", "", text or "")[:100]
    if not text:
        return None
    county = county or county_unit()
    townships = list(_candidates(county, (UnitKind.TOWNSHIP,)))
    for unit in townships:
        if unit.name in text or (len(_stem(unit.name)) >= 2 and _stem(unit.name) in text):
            return unit
    stems = {_stem(unit.name): unit for unit in townships}
    close = difflib.get_close_matches(_stem(text), list(stems), n=1, cutoff=0.6)
    return stems[close[0]] if close else None


def township_names(county: OrgUnit | None = None, limit: int = 20) -> list[str]:
    county = county or county_unit()
    return list(_candidates(county, (UnitKind.TOWNSHIP,)).values_list("name", flat=True)[:limit])
