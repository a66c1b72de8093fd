"""Dispatch for staff: suggested category and unit for a text, related open cases of a case."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from minqing.accounts.scoping import remit_for
from minqing.api.auth import AUTH, require_staff
from minqing.api.routers import ERRORS
from minqing.api.schemas import MAX_ID, UnitCode, text
from minqing.cases.selectors import get_visible_case
from minqing.core.errors import NotPermitted
from minqing.dispatch.related import find_related
from minqing.dispatch.suggest import suggest
from minqing.orgs.models import OrgUnit

router = Router(tags=["dispatch"], auth=AUTH)

CASE_ID = Path(..., ge=1, le=MAX_ID, description="案件 id")


class SuggestionQuery(Schema):
    title: text(120) = ""  # type: ignore[valid-type]
    content: text(5000) = ""  # type: ignore[valid-type]
    township: UnitCode | None = Field(None, description="事发乡镇代码")
    village: UnitCode | None = Field(None, description="事发行政村代码")


class SuggestedItemOut(Schema):
    label: str = Field(description="分类“一级/二级”或单位名称")
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(description="模型依据的词，或“规则：…”")
    source: str = Field(description="model 或 rule")
    id: int | None = Field(None, description="分类或单位 id")
    code: str = Field("", description="单位代码（仅单位）")
    parent_id: int | None = Field(None, description="一级分类 id（仅分类）")
    low_confidence: bool


class SuggestionsOut(Schema):
    categories: list[SuggestedItemOut]
    units: list[SuggestedItemOut]
    models: dict[str, int | None] = Field(description="所用模型版本（无模型为 null）")


class RelatedOut(Schema):
    id: int
    reference: str
    title: str
    state: str
    submitted_at: str
    reasons: list[str]
    score: float


def _unit(user, code: str | None, kind: str) -> OrgUnit | None:
    """A unit the user may see; unknown or outside the remit is ignored (suggestions still come)."""
    if not code:
        return None
    unit = OrgUnit.objects.filter(code=code, kind=kind, active=True).select_related("parent").first()
    return unit if unit is not None and remit_for(user).can_read_path(unit.path) else None


@router.get("/staff/suggestions", response={200: SuggestionsOut, **ERRORS}, summary="分派建议（分类、承办单位）")
def suggestions(request: HttpRequest, query: Query[SuggestionQuery]) -> dict:
    user = require_staff(request)
    if not remit_for(user).read_paths:
        raise NotPermitted("您没有可管辖的单位")
    township = _unit(user, query.township, "township")
    village = _unit(user, query.village, "village")
    return suggest(query.title, query.content, township=township, village=village).as_dict()


@router.get(
    "/staff/cases/{case_id}/related",
    response={200: list[RelatedOut], **ERRORS},
    summary="相似、关联的未办结案件",
)
def related(request: HttpRequest, case_id: int = CASE_ID) -> list[dict]:
    user = require_staff(request)
    case = get_visible_case(user, case_id)
    return [
        {
            "id": r.case.pk,
            "reference": r.case.reference,
            "title": r.case.title,
            "state": r.case.state,
            "submitted_at": r.case.submitted_at.isoformat(),
            "reasons": r.reasons,
            "score": r.score,
        }
        for r in find_related(user, case)
    ]
