"""Citizen side of 事后评价: rate the handling of a closed case, ask for a review (复查)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema

from minqing.api.auth import AUTH, current_user
from minqing.api.idempotency import idempotency_header, idempotent
from minqing.api.routers import ERRORS
from minqing.api.schemas import text
from minqing.cases.models import Case
from minqing.cases.selectors import cases_visible_to
from minqing.feedback import actions
from minqing.feedback.models import Rating, RatingChannel, ReviewRequest, Score

router = Router(tags=["feedback (citizen)"], auth=AUTH)

REFERENCE = Path(..., pattern=r"^[A-Za-z0-9-]{1,20}$", description="案件编号，如 YY2025-000123")
ScoreValue = Literal[tuple(Score.values)]  # type: ignore[valid-type]


class RatingIn(Schema):
    score: ScoreValue = Field(description="satisfied 满意 / basically_satisfied 基本满意 / unsatisfied 不满意")
    reason: text(2000) = Field("", description="理由；不满意时必填")  # type: ignore[valid-type]


class RatingOut(Schema):
    reference: str
    score: str
    score_label: str
    round: int = Field(description="第几轮办理的评价（0 为首次办理）")
    created_at: datetime
    case_state: str
    case_state_label: str
    reopened: bool = Field(description="首轮不满意：案件已重新办理")
    may_request_review: bool = Field(description="重新办理后仍不满意：可以申请复查（POST /cases/{reference}/review）")


class ReviewIn(Schema):
    reason: text(2000, required=True) = Field(description="申请复查的理由")  # type: ignore[valid-type]


class ReviewOut(Schema):
    id: int
    reference: str
    state: str
    state_label: str
    created_at: datetime
    due: datetime = Field(description="应在此时间前作出是否复查的决定（30日）")


def _my_case(user, reference: str) -> Case:
    return cases_visible_to(user).get(reference=reference.upper())


def _rating_out(rating: Rating) -> dict:
    case = Case.objects.get(pk=rating.case_id)
    return {
        "reference": case.reference,
        "score": rating.score,
        "score_label": rating.get_score_display(),
        "round": rating.round,
        "created_at": rating.created_at,
        "case_state": case.state,
        "case_state_label": case.get_state_display(),
        "reopened": case.reopen_count > rating.round,
        "may_request_review": actions.invites_review(rating),
    }


def _review_out(review: ReviewRequest) -> dict:
    return {
        "id": review.pk,
        "reference": review.case.reference,
        "state": review.state,
        "state_label": review.get_state_display(),
        "created_at": review.created_at,
        "due": review.due,
    }


@router.post(
    "/cases/{reference}/rating",
    response={201: RatingOut, **ERRORS},
    summary="评价办理结果",
    description="案件办结后，信访人（或代为反映的信息员）评价一次本轮办理结果。首轮“不满意”将使案件重新办理；"
    "重新办理后仍“不满意”的，可申请复查。未办结 409，已评价 409，非本人 403。",
)
def rate(
    request: HttpRequest,
    payload: RatingIn,
    reference: str = REFERENCE,
    idempotency_key: str | None = idempotency_header(),
) -> HttpResponse:
    user = current_user(request)

    def produce() -> dict:
        case = _my_case(user, reference)
        rating = actions.rate_case(case, user, score=payload.score, reason=payload.reason, channel=RatingChannel.APP)
        return _rating_out(rating)

    return idempotent(request, idempotency_key, 201, RatingOut, produce)


@router.post(
    "/cases/{reference}/review",
    response={201: ReviewOut, **ERRORS},
    summary="申请复查",
    description="收到答复之日起30日内可申请复查，逾期 422；同一案件同时只能有一件待决定的申请。",
)
def request_review(
    request: HttpRequest,
    payload: ReviewIn,
    reference: str = REFERENCE,
    idempotency_key: str | None = idempotency_header(),
) -> HttpResponse:
    user = current_user(request)

    def produce() -> dict:
        case = _my_case(user, reference)
        return _review_out(actions.request_review(case, user, payload.reason, channel=RatingChannel.APP))

    return idempotent(request, idempotency_key, 201, ReviewOut, produce)
