"""Reference data: the category tree and the township/village list. Public, read-only."""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from minqing.api.routers import ERRORS
from minqing.api.schemas import CategoryOut, UnitCode, UnitOut
from minqing.cases.models import Category
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.orgs.selectors import default_county

router = Router(tags=["reference"])


@router.get("/categories", response={200: list[CategoryOut], **ERRORS}, auth=None, summary="诉求分类（两级）")
def categories(request: HttpRequest) -> list[dict]:
    rows = list(Category.objects.filter(active=True).order_by("sort_order", "id"))
    children: dict[int, list[dict]] = {}
    for row in rows:
        if row.parent_id:
            children.setdefault(row.parent_id, []).append({"id": row.pk, "name": row.name})
    return [{"id": r.pk, "name": r.name, "children": children.get(r.pk, [])} for r in rows if not r.parent_id]


class UnitFilter(Schema):
    kind: Literal["township", "village"] = Field("township", description="township 乡镇 / village 行政村")
    parent: UnitCode | None = Field(None, description="上级单位代码（列行政村时为乡镇代码）")


@router.get("/units", response={200: list[UnitOut], **ERRORS}, auth=None, summary="乡镇与行政村")
def units(request: HttpRequest, filters: Query[UnitFilter]) -> list[dict]:
    queryset = OrgUnit.objects.filter(kind=filters.kind, active=True).select_related("parent")
    if filters.parent:
        queryset = queryset.filter(parent__code=filters.parent)
    elif filters.kind == UnitKind.TOWNSHIP and (county := default_county()) is not None:
        queryset = queryset.filter(parent=county)
    return [
        {"code": u.code, "name": u.name, "kind": u.kind, "parent_code": u.parent.code if u.parent_id else None}
        for u in queryset.order_by("sort_order", "code")[:2000]
    ]
