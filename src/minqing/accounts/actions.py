"""Account verbs: staff accounts and memberships, citizen phone verification."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from minqing.accounts import audit
from minqing.accounts.models import Membership, SmsCode, User
from minqing.core import crypto
from minqing.core.errors import DomainError
from minqing.core.sms import send_sms
from minqing.orgs.models import OrgUnit

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
CODES_PER_PHONE_PER_HOUR = 5
CODES_PER_IP_PER_HOUR = 20
RESEND_INTERVAL_SECONDS = 60


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, message: str) -> None:
        super().__init__(message, code="rate_limited")


def validated_mobile(phone: str) -> str:
    normalised = crypto.normalise_identifier(phone or "")
    if not MAINLAND_MOBILE.match(normalised):
        raise DomainError("请输入11位手机号码", code="invalid_phone")
    return normalised


def _code_hash(phone_hash: str, code: str) -> str:
    return hmac.new(phone_hash.encode(), code.encode(), hashlib.sha256).hexdigest()


def send_login_code(phone: str, *, ip: str | None = None) -> None:
    """Text a 6-digit code to the phone, within per-phone and per-IP limits."""
    phone = validated_mobile(phone)
    phone_hash = crypto.lookup_hash(phone)
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    recent = SmsCode.objects.filter(phone_hash=phone_hash, created_at__gte=hour_ago)
    if recent.filter(created_at__gte=now - timedelta(seconds=RESEND_INTERVAL_SECONDS)).exists():
        raise RateLimited("验证码已发送，请一分钟后再试")
    if recent.count() >= CODES_PER_PHONE_PER_HOUR:
        raise RateLimited("该号码获取验证码过于频繁，请一小时后再试")
    if ip and SmsCode.objects.filter(requested_ip=ip, created_at__gte=hour_ago).count() >= CODES_PER_IP_PER_HOUR:
        raise RateLimited("请求过于频繁，请稍后再试")
    code = f"{secrets.randbelow(10**6):06d}"
    SmsCode.objects.create(
        phone_hash=phone_hash,
        code_hash=_code_hash(phone_hash, code),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        requested_ip=ip,
    )
    send_sms(phone, f"【民情】您的验证码是{code}，{settings.SMS_CODE_TTL_SECONDS // 60}分钟内有效。请勿告诉他人。")


def verify_login_code(phone: str, code: str) -> User:
    """Consume a valid code and return the citizen account for the phone, creating it once.

    A wrong guess is counted in its own committed transaction before the error is raised:
    raising inside the atomic block would roll the count back and allow unlimited guesses.
    """
    phone = validated_mobile(phone)
    with transaction.atomic():
        outcome = _consume_code(phone, code)
        citizen = _verified_citizen(phone) if outcome == "ok" else None
    if outcome == "expired":
        raise DomainError("验证码已失效，请重新获取", code="code_expired")
    if outcome == "wrong":
        raise DomainError("验证码不正确", code="code_wrong")
    if citizen is None or not citizen.is_active:
        raise DomainError("该账号已停用", code="account_inactive")
    return citizen


def _consume_code(phone: str, code: str) -> str:
    """'ok' (code now used), 'wrong' (attempt counted) or 'expired'."""
    phone_hash = crypto.lookup_hash(phone)
    now = timezone.now()
    pending = (
        SmsCode.objects.select_for_update()
        .filter(phone_hash=phone_hash, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-id")
        .first()
    )
    if pending is None or pending.attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
        return "expired"
    if not hmac.compare_digest(pending.code_hash, _code_hash(phone_hash, (code or "").strip())):
        SmsCode.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1)
        return "wrong"
    pending.used_at = now
    pending.save(update_fields=["used_at"])
    return "ok"


def _verified_citizen(phone: str) -> User:
    citizen = get_or_create_citizen(phone)
    if citizen.phone_verified_at is None:
        citizen.phone_verified_at = timezone.now()
        citizen.save(update_fields=["phone_verified_at"])
    return citizen


def get_or_create_citizen(phone: str, *, name: str = "") -> User:
    phone = validated_mobile(phone)
    existing = User.objects.get_citizen_by_phone(phone)
    if existing:
        return existing
    citizen = User(username=f"c{crypto.lookup_hash(phone)[:16]}", is_citizen=True, display_name=name)
    citizen.phone = phone
    citizen.set_unusable_password()
    try:
        with transaction.atomic():
            citizen.save()
    except IntegrityError:
        # Another request created this citizen between our lookup and our insert.
        existing = User.objects.get_citizen_by_phone(phone)
        if existing is None:
            raise
        return existing
    audit.record("citizen_created", target=citizen.username)
    return citizen


@transaction.atomic
def create_staff_user(
    username: str, password: str, *, display_name: str = "", phone: str = "", actor: User | None = None
) -> User:
    user = User(username=username, display_name=display_name, is_citizen=False)
    validate_password(password, user)
    if phone:
        user.phone = phone
    user.set_password(password)
    user.save()
    audit.record("user_created", actor=actor, target=username)
    return user


@transaction.atomic
def grant_membership(user: User, unit: OrgUnit, role: str, *, actor: User | None = None) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, unit=unit, role=role)
    if created:
        audit.record("membership_granted", actor=actor, target=user.username, payload={"unit": unit.code, "role": role})
    return membership


@transaction.atomic
def unlock_account(user: User, *, actor: User | None = None, request: HttpRequest | None = None) -> None:
    User.objects.filter(pk=user.pk).update(locked_until=None, failed_login_count=0)
    user.locked_until = None
    user.failed_login_count = 0
    audit.record("account_unlocked", actor=actor, target=user.username, request=request)
