"""Turning identifiers in requests into rows; unknown ones are refused with a message (422).

Categories and places are reference data read on every submission: found ones are kept per
process for `REFERENCE_CACHE_SECONDS` (changes saved in this process clear them at once). That is
minutes, not seconds: submissions spread over hundreds of villages, so a key comes back to a worker
only every half minute or so, and a short limit would miss most of the time.
"""

from __future__ import annotations

from collections.abc import Sequence

from minqing.api.memo import TtlCache
from minqing.cases.models import Category
from minqing.core.errors import DomainError
from minqing.orgs.models import OrgUnit, UnitKind

REFERENCE_CACHE_SECONDS = 300.0
_categories: TtlCache[Category] = TtlCache(REFERENCE_CACHE_SECONDS)
_units: TtlCache[OrgUnit] = TtlCache(REFERENCE_CACHE_SECONDS)


def forget_reference_data() -> None:
    _categories.clear()
    _units.clear()


def level2_category(category_id: int) -> Category:
    category = _categories.get_or_load(
        category_id, lambda: Category.objects.filter(pk=category_id, active=True).select_related("parent").first()
    )
    if category is None:
        raise DomainError("分类不存在", code="unknown_category")
    if category.parent_id is None:
        raise DomainError("请选择二级分类", code="unknown_category")
    return category


def location(township: str | None, village: str | None) -> OrgUnit:
    """The village (checked against its township) or else the township where it happened."""
    if village:
        unit = _units.get_or_load(
            (UnitKind.VILLAGE, village),
            lambda: (
                OrgUnit.objects.filter(code=village, kind=UnitKind.VILLAGE, active=True)
                .select_related("parent")
                .first()
            ),
        )
        if unit is None:
            raise DomainError("行政村不存在", code="unknown_unit")
        if township and unit.parent.code != township:
            raise DomainError("该行政村不属于所选乡镇", code="unknown_unit")
        return unit
    if township:
        unit = _units.get_or_load(
            (UnitKind.TOWNSHIP, township),
            lambda: OrgUnit.objects.filter(code=township, kind=UnitKind.TOWNSHIP, active=True).first(),
        )
        if unit is None:
            raise DomainError("乡镇不存在", code="unknown_unit")
        return unit
    raise DomainError("请选择事发乡镇或行政村", code="location_required")


def units_by_code(codes: Sequence[str]) -> list[OrgUnit]:
    found = {u.code: u for u in OrgUnit.objects.filter(code__in=list(codes))}
    missing = [code for code in codes if code not in found]
    if missing:
        raise DomainError(f"单位不存在：{'、'.join(missing[:5])}", code="unknown_unit")
    return [found[code] for code in codes]
