"""Business verbs of 事后评价: rate, ask for and decide a review (复查), invite, sample and record follow-up calls.

Each verb runs in one transaction and locks the case row (through `cases.actions`) or
its own row before it checks anything, so two people acting at once cannot rate a
round twice or decide a review twice. A refused verb raises a `DomainError` and leaves
nothing behind. The case itself changes only through `cases.actions` (`rate` side
event, `reopen`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.actions import record_side_event, reopen_case
from minqing.cases.lifecycle import TRANSITIONS, Actor, actor_kinds
from minqing.cases.models import GROUP_CASE_SIZE, Case, CaseState
from minqing.cases.notifications import case_link, county_staff
from minqing.cases.selectors import cases_visible_to
from minqing.core.deadlines import add_period, local_date
from minqing.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from minqing.feedback.models import (
    CallOutcome,
    CallState,
    FollowUpCall,
    FollowUpRule,
    Questionnaire,
    Rating,
    RatingChannel,
    ReviewRequest,
    ReviewState,
    RuleKind,
    SampleReason,
    Score,
)
from minqing.feedback.seed import SATISFACTION_KEY
from minqing.notify.actions import Message, queue, queue_sms_to_number
from minqing.notify.models import Notification
from minqing.workcalendar.selectors import load_calendar

logger = logging.getLogger("minqing.feedback")

REVIEW_WINDOW_DAYS = 30  # 《信访工作条例》: 复查 asked within 30 days of the reply …
REVIEW_DECISION_DAYS = 30  # … and decided within 30 days.
LINK_MAX_AGE = timedelta(days=30)
LINK_SALT = "minqing.feedback.rating-link"
# Channels where a signed link, not a login, identifies the case (the actor is None).
LINK_CHANNELS = frozenset({RatingChannel.SMS, RatingChannel.WECHAT})
RATERS = frozenset({Actor.OWNER, Actor.INFORMANT})
REVIEW_DECIDERS = frozenset({Actor.CENTRE, Actor.COUNTY_MANAGER})
MAX_CALL_ATTEMPTS = 3
SAMPLING_LOOKBACK = timedelta(days=7)
MAX_TEXT = 2000
CHOICE_SCORES = {"满意": Score.SATISFIED, "基本满意": Score.BASICALLY_SATISFIED, "不满意": Score.UNSATISFIED}


def _lock_case(case: Case | int) -> Case:
    pk = case.pk if isinstance(case, Case) else int(case)
    return Case.objects.select_for_update(of=("self",)).select_related("location_unit", "lead_unit").get(pk=pk)


def _log_on_case(case: Case, actor, action: str, payload: dict[str, Any], at: datetime) -> bool:
    """Log a side record on the case's chain when the lifecycle table has a row for it.

    `request_review`, `decide_review` and `follow_up_call` have no row in `cases.lifecycle` yet;
    until they do, the feedback row itself (with its actor and time) is the record.
    """
    if action not in TRANSITIONS:
        return False
    record_side_event(case, actor, action, payload, at=at)
    return True


def _text(value: str | None) -> str:
    return (value or "").strip()[:MAX_TEXT]


# --- Rating ---------------------------------------------------------------------------


def _check_rater(actor, case: Case, channel: str) -> None:
    if actor is None:
        if channel not in LINK_CHANNELS:
            raise NotPermitted("请登录后再评价")
        return
    if not actor_kinds(actor, case) & RATERS:
        raise NotPermitted("只有信访人本人或代为反映的信息员可以评价该案件")


def _check_closed(case: Case, what: str) -> None:
    if case.state != CaseState.CLOSED:
        raise InvalidTransition(f"案件办结后才能{what}，当前状态为“{case.get_state_display()}”")


def rate_case(
    case: Case | int,
    actor,
    *,
    score: str,
    reason: str = "",
    channel: str,
    at: datetime | None = None,
    expected_round: int | None = None,
) -> Rating:
    """评价: one rating per round of handling, on a closed case.

    不满意 in the first round reopens the case (as the system); a later 不满意 does not
    reopen it by itself but invites a review request (`invites_review`).
    `expected_round` (from a signed link) refuses a link sent before the case was reopened.
    """
    if score not in Score.values:
        raise DomainError("请选择满意、基本满意或不满意", code="invalid_score")
    if channel not in RatingChannel.values:
        raise DomainError("评价渠道无效", code="invalid_channel")
    reason = _text(reason)
    if score == Score.UNSATISFIED and not reason:
        raise DomainError("选择“不满意”时请写明理由", code="reason_required")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        _check_rater(actor, locked, channel)
        _check_closed(locked, "评价")
        if expected_round is not None and expected_round != locked.reopen_count:
            raise InvalidTransition("案件已重新办理，该评价链接已失效，请使用最新的评价链接", code="stale_link")
        rating = _create_rating(locked, actor, score, reason, channel, at)
        payload = {"rating": rating.pk, "score": score, "channel": channel, "round": rating.round, "reason": reason}
        locked = record_side_event(locked, actor, "rate", payload, at=at)
        if score == Score.UNSATISFIED and rating.round == 0:
            reopen_case(locked, None, reason=f"群众评价不满意：{reason}", at=at)
    return rating


def _create_rating(case: Case, actor, score: str, reason: str, channel: str, at: datetime) -> Rating:
    if Rating.objects.filter(case=case, round=case.reopen_count).exists():
        raise Conflict("本轮办理结果已评价，不能重复评价", code="already_rated")
    try:
        with transaction.atomic():
            return Rating.objects.create(
                case=case,
                rated_by=actor,
                channel=channel,
                score=score,
                reason=reason,
                round=case.reopen_count,
                created_at=at,
            )
    except IntegrityError:
        raise Conflict("本轮办理结果已评价，不能重复评价", code="already_rated") from None


def invites_review(rating: Rating) -> bool:
    """A 不满意 after re-handling does not reopen the case again: the citizen may ask for a review."""
    return rating.score == Score.UNSATISFIED and rating.round >= 1


# --- Signed rating links ------------------------------------------------------------------


class InvalidLink(DomainError):
    def __init__(self, message: str = "评价链接无效，请核对短信中的完整链接", *, code: str = "invalid_link") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class LinkTarget:
    case_id: int
    round: int
    channel: str


def rating_token(case: Case, channel: str = RatingChannel.SMS) -> str:
    return signing.dumps({"c": case.pk, "r": case.reopen_count, "ch": channel}, salt=LINK_SALT, compress=True)


def rating_link(case: Case, channel: str = RatingChannel.SMS) -> str:
    """The address of the rating page for `case` (signed, valid for 30 days).

    Absolute when `MINQING_PUBLIC_URL` is set (e.g. https://minqing.example.gov.cn), else a path.
    """
    path = reverse("feedback:rate_link", args=[rating_token(case, channel)])
    return getattr(settings, "MINQING_PUBLIC_URL", "").rstrip("/") + path


def read_rating_token(token: str) -> LinkTarget:
    """The case a link points to; `InvalidLink` for a tampered, malformed or expired link."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidLink("评价链接已过期（有效期30日）", code="link_expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidLink() from None
    try:
        return LinkTarget(case_id=int(data["c"]), round=int(data["r"]), channel=str(data["ch"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidLink() from None


def _invite_message(case: Case, link: str) -> Message:
    return Message(
        kind="rating_invite",
        title=f"您的诉求{case.reference}已办结，请评价办理结果：",
        body=link,
        link=link,
        case_id=case.pk,
    )


def invite_key(case_id: int, round_: int) -> str:
    return f"rating_invite:{case_id}:{round_}"


def invite_ratings(now: datetime | None = None) -> int:
    """Queue an SMS with a rating link for closed, unrated cases whose petitioner has no account.

    Cases with a citizen account already get the "closed" notification from `cases`.
    Idempotent: one invitation per case and round (dedupe key), and links last 30 days,
    so older closures are not invited.
    """
    now = now or timezone.now()
    unrated = Case.objects.filter(
        state=CaseState.CLOSED, citizen__isnull=True, is_anonymous=False, closed_at__gte=now - LINK_MAX_AGE
    ).exclude(Exists(Rating.objects.filter(case=OuterRef("pk"), round=OuterRef("reopen_count"))))
    cases = {case.pk: case for case in unrated.prefetch_related("parties")}
    keys = {pk: invite_key(pk, case.reopen_count) for pk, case in cases.items()}
    sent = set(
        Notification.objects.filter(dedupe_key__in=[f"{k}:sms" for k in keys.values()]).values_list(
            "dedupe_key", flat=True
        )
    )
    queued = 0
    for pk, case in cases.items():
        if f"{keys[pk]}:sms" in sent:
            continue
        phone = _party_phone(case)
        if not phone:
            continue
        with transaction.atomic():
            queue_sms_to_number(_invite_message(case, rating_link(case)), phone, key=keys[pk])
        queued += 1
    return queued


def _party_phone(case: Case) -> str:
    parties = sorted(case.parties.all(), key=lambda p: (not p.is_primary, p.pk))
    return next((p.phone for p in parties if p.phone_hash), "")


# --- Review (复查) ------------------------------------------------------------------------


def review_window_end(case: Case) -> datetime | None:
    """End of the 30 days after the reply (first day not counted; a holiday runs to the next working day)."""
    start = case.replied_at or case.closed_at
    if start is None:
        return None
    return add_period(start, REVIEW_WINDOW_DAYS, "calendar_days", load_calendar()).due


def _check_requester(actor, case: Case, channel: str) -> None:
    if actor is None:
        if channel not in LINK_CHANNELS:
            raise NotPermitted("请登录后再申请复查")
        return
    if not actor_kinds(actor, case) & RATERS:
        raise NotPermitted("只有信访人本人或代为反映的信息员可以申请复查")


def request_review(
    case: Case | int, actor, reason: str, *, channel: str = RatingChannel.WEB, at: datetime | None = None
) -> ReviewRequest:
    """申请复查: within 30 days of the reply, one pending request at a time; deciders are told."""
    reason = _text(reason)
    if not reason:
        raise DomainError("请写明申请复查的理由", code="reason_required")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        _check_requester(actor, locked, channel)
        _check_closed(locked, "申请复查")
        window_end = review_window_end(locked)
        if window_end is not None and at > window_end:
            raise DomainError(
                f"复查申请应在收到答复之日起30日内提出，本案截止日期为{local_date(window_end):%Y年%m月%d日}，现已逾期",
                code="review_window_passed",
            )
        review = _create_review(locked, actor, reason, at)
        payload = {"review": review.pk, "reason": reason, "due": review.due.isoformat()}
        _log_on_case(locked, actor, "request_review", payload, at)
        queue(
            Message(
                kind="review_requested",
                title=f"案件 {locked.reference} 申请复查，待决定",
                body=reason,
                link=reverse("feedback:reviews"),
                case_id=locked.pk,
            ),
            county_staff(locked, [Role.DISPATCHER, Role.COUNTY_MANAGER]),
            key=f"review_requested:{review.pk}",
        )
    return review


def _create_review(case: Case, actor, reason: str, at: datetime) -> ReviewRequest:
    duplicate = DomainError("该案件已有复查申请正在处理，请勿重复提出", code="duplicate_review")
    if ReviewRequest.objects.filter(case=case, state=ReviewState.PENDING).exists():
        raise duplicate
    due = add_period(at, REVIEW_DECISION_DAYS, "calendar_days", load_calendar()).due
    try:
        with transaction.atomic():
            return ReviewRequest.objects.create(
                case=case, requested_by=actor, reason=reason, round=case.reopen_count, created_at=at, due=due
            )
    except IntegrityError:
        raise duplicate from None


def can_decide_review(user, case: Case) -> bool:
    return user is not None and bool(actor_kinds(user, case) & REVIEW_DECIDERS)


def decide_review(
    review: ReviewRequest | int, actor, accept: bool, reason: str = "", *, at: datetime | None = None
) -> ReviewRequest:
    """复查决定 by the centre or the county manager: accepting reopens the case for re-handling."""
    reason = _text(reason)
    if not accept and not reason:
        raise DomainError("不予复查时请写明理由", code="reason_required")
    at = at or timezone.now()
    pk = review.pk if isinstance(review, ReviewRequest) else int(review)
    with transaction.atomic():
        locked = ReviewRequest.objects.select_for_update(of=("self",)).get(pk=pk)
        case = _lock_case(locked.case_id)
        if not can_decide_review(actor, case):
            raise NotPermitted("只有信访矛盾化解中心或县级管理总岗可以决定复查")
        if not locked.is_pending:
            raise Conflict(f"该复查申请已{locked.get_state_display()}，请刷新页面", code="review_decided")
        if accept:
            _check_closed(case, "同意复查")
        locked.state = ReviewState.ACCEPTED if accept else ReviewState.REFUSED
        locked.decided_by, locked.decision_reason, locked.decided_at = actor, reason, at
        locked.save(update_fields=["state", "decided_by", "decision_reason", "decided_at"])
        payload = {"review": locked.pk, "accept": accept, "reason": reason}
        _log_on_case(case, actor, "decide_review", payload, at)
        if accept:
            reopen_case(case, actor, reason=f"同意复查：{reason or locked.reason}", at=at)
        _tell_requester(locked, case, accept)
    return locked


def _tell_requester(review: ReviewRequest, case: Case, accept: bool) -> None:
    if review.requested_by_id is None:
        return
    verdict = "同意复查，案件将重新办理" if accept else f"不予复查：{review.decision_reason}"
    queue(
        Message(kind="review_decided", title=f"您对诉求 {case.reference} 的复查申请：{verdict}", case_id=case.pk),
        [review.requested_by],
        key=f"review_decided:{review.pk}",
        sms=True,
    )


# --- Follow-up sampling (回访抽样) ------------------------------------------------------------


def in_share(case_id: int, round_: int, share: float) -> bool:
    """Deterministic sampling: the same case and round always fall on the same side of `share`."""
    digest = hashlib.sha256(f"follow-up:{case_id}:{round_}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def active_questionnaire() -> Questionnaire | None:
    return Questionnaire.objects.filter(active=True).order_by("-id").first()


@dataclass
class SampleResult:
    queued: dict[str, int] = field(default_factory=dict)
    skipped_reason: str = ""

    @property
    def total(self) -> int:
        return sum(self.queued.values())


def _candidates(rules: dict[str, FollowUpRule], since: datetime, now: datetime) -> list[tuple[int, int, str]]:
    """(case id, round, reason), the strongest reason first: unsatisfied, group case, share."""
    found: list[tuple[int, int, str]] = []
    if RuleKind.EVERY_UNSATISFIED in rules:
        ratings = Rating.objects.filter(score=Score.UNSATISFIED, created_at__gte=since, created_at__lte=now)
        found += [(c, r, SampleReason.UNSATISFIED) for c, r in ratings.values_list("case_id", "round")]
    closed = Case.objects.filter(state=CaseState.CLOSED, closed_at__gte=since, closed_at__lte=now)
    if RuleKind.EVERY_GROUP_CASE in rules:
        groups = closed.filter(group_size__gte=GROUP_CASE_SIZE).values_list("pk", "reopen_count")
        found += [(c, r, SampleReason.GROUP_CASE) for c, r in groups]
    if (share_rule := rules.get(RuleKind.SHARE_OF_CLOSED)) and share_rule.share > 0:
        found += [
            (c, r, SampleReason.SHARE_OF_CLOSED)
            for c, r in closed.values_list("pk", "reopen_count")
            if in_share(c, r, share_rule.share)
        ]
    return found


def sample_follow_ups(now: datetime | None = None, *, lookback: timedelta = SAMPLING_LOOKBACK) -> SampleResult:
    """Queue follow-up calls for cases closed or rated within `lookback` under the active rules.

    Idempotent: one call per case and round (unique), and share sampling hashes the case,
    so running again, or over overlapping windows, adds nothing.
    """
    now = now or timezone.now()
    questionnaire = active_questionnaire()
    if questionnaire is None:
        return SampleResult(skipped_reason="没有启用的回访问卷")
    rules = {rule.kind: rule for rule in FollowUpRule.objects.filter(active=True)}
    picked: dict[tuple[int, int], str] = {}
    for case_id, round_, reason in _candidates(rules, now - lookback, now):
        picked.setdefault((case_id, round_), reason)
    existing = set(FollowUpCall.objects.filter(case_id__in={c for c, _ in picked}).values_list("case_id", "round"))
    new = [
        FollowUpCall(case_id=c, round=r, reason=reason, questionnaire=questionnaire, created_at=now)
        for (c, r), reason in picked.items()
        if (c, r) not in existing
    ]
    FollowUpCall.objects.bulk_create(new, ignore_conflicts=True)
    result = SampleResult()
    for call in new:
        result.queued[call.reason] = result.queued.get(call.reason, 0) + 1
    return result


# --- Recording a call ---------------------------------------------------------------------


def _yes_no(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text in ("yes", "true", "1", "是"):
        return "yes"
    if text in ("no", "false", "0", "否"):
        return "no"
    return None


def _clean_one(question: dict[str, Any], value: Any) -> tuple[Any, str]:
    """(cleaned value or None, error message or "")."""
    label, kind = question.get("label", question["key"]), question.get("type")
    if kind == "yes_no":
        cleaned = _yes_no(value)
        return cleaned, "" if cleaned else f"“{label}”请选择是或否"
    if kind == "choice":
        choices = [str(c) for c in question.get("choices", [])]
        return (str(value), "") if str(value) in choices else (None, f"“{label}”请从{'、'.join(choices)}中选择")
    if not isinstance(value, str):
        return None, f"“{label}”应为文字"
    return value.strip()[:MAX_TEXT], ""


def clean_answers(questions: Iterable[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """Answers checked against the questionnaire; `DomainError` lists every problem."""
    questions = list(questions)
    known = {q["key"] for q in questions}
    errors = [f"未知的问题“{key}”" for key in answers if key not in known]
    cleaned: dict[str, Any] = {}
    for question in questions:
        key, value = question["key"], answers.get(question["key"])
        required = question.get("required", question.get("type") != "text")
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors.append(f"请回答“{question.get('label', key)}”")
            continue
        cleaned[key], error = _clean_one(question, value)
        if error:
            errors.append(error)
    if errors:
        raise DomainError("；".join(errors), code="invalid_answers")
    return cleaned


def satisfaction_of(answers: dict[str, Any]) -> str:
    value = answers.get(SATISFACTION_KEY, "")
    return value if value in Score.values else CHOICE_SCORES.get(value, "")


def _check_caller(actor, call: FollowUpCall) -> None:
    if actor is None or not remit_for(actor).has_role(Role.INSPECTOR):
        raise NotPermitted("只有督导组可以记录回访")
    if not cases_visible_to(actor).filter(pk=call.case_id).exists():
        raise NotPermitted("该案件不在您的督导范围内")


def record_call(
    call: FollowUpCall | int, actor, outcome: str, answers: dict[str, Any] | None = None, *, at: datetime | None = None
) -> FollowUpCall:
    """记录回访: 接通 with the questionnaire's answers, 未接通 (retried up to 3 times), or 拒访."""
    if outcome not in CallOutcome.values:
        raise DomainError("请选择回访结果：接通、未接通或拒访", code="invalid_outcome")
    at = at or timezone.now()
    pk = call.pk if isinstance(call, FollowUpCall) else int(call)
    with transaction.atomic():
        locked = FollowUpCall.objects.select_for_update(of=("self",)).select_related("questionnaire").get(pk=pk)
        _check_caller(actor, locked)
        if locked.state != CallState.QUEUED:
            raise Conflict("该回访已完成，请刷新页面", code="call_done")
        cleaned = clean_answers(locked.questionnaire.questions, answers or {}) if outcome == CallOutcome.REACHED else {}
        _apply_outcome(locked, actor, outcome, cleaned, at)
        payload = {
            "call": locked.pk,
            "outcome": outcome,
            "satisfaction": locked.satisfaction,
            "attempt": locked.attempts,
        }
        _log_on_case(_lock_case(locked.case_id), actor, "follow_up_call", payload, at)
        if locked.satisfaction == Score.UNSATISFIED:
            _tell_managers_unsatisfied(locked)
    return locked


def _apply_outcome(call: FollowUpCall, actor, outcome: str, answers: dict[str, Any], at: datetime) -> None:
    call.attempts += 1
    call.outcome, call.caller, call.called_at, call.answers = outcome, actor, at, answers
    call.satisfaction = satisfaction_of(answers)
    finished = outcome != CallOutcome.NOT_REACHED or call.attempts >= MAX_CALL_ATTEMPTS
    call.state = CallState.DONE if finished else CallState.QUEUED
    call.save()


def _tell_managers_unsatisfied(call: FollowUpCall) -> None:
    case = call.case
    queue(
        Message(
            kind="follow_up_unsatisfied",
            title=f"案件 {case.reference} 回访不满意",
            body=str(call.answers.get("comment", "")),
            link=case_link(case),
            case_id=case.pk,
        ),
        county_staff(case, [Role.COUNTY_MANAGER, Role.DISPATCHER]),
        key=f"follow_up_unsatisfied:{call.pk}",
    )
