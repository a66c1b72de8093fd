from __future__ import annotations

import re

import pytest
from django.db import connection

from minqing.accounts.actions import (
    CODES_PER_IP_PER_HOUR,
    CODES_PER_PHONE_PER_HOUR,
    RESEND_INTERVAL_SECONDS,
    RateLimited,
    get_or_create_citizen,
    send_login_code,
    verify_login_code,
)
from minqing.accounts.models import SmsCode, User
from minqing.accounts.tests.conftest import frozen_at
from minqing.core import crypto
from minqing.core.errors import DomainError

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def last_code(outbox) -> str:
    return re.search(r"验证码是(\d{6})", outbox[-1].text).group(1)


def wrong_code_for(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_goes_through_sms_backend(sms_outbox):
    send_login_code(PHONE, ip="10.0.0.1")
    assert len(sms_outbox) == 1
    assert sms_outbox[0].phone == PHONE
    assert re.search(r"【民情】您的验证码是\d{6}，5分钟内有效", sms_outbox[0].text)


def test_code_is_stored_only_as_hash(sms_outbox):
    send_login_code(PHONE)
    stored = SmsCode.objects.get()
    assert last_code(sms_outbox) not in stored.code_hash
    assert PHONE not in stored.phone_hash


def test_invalid_phone_is_refused_and_nothing_sent(sms_outbox):
    with pytest.raises(DomainError) as caught:
        send_login_code("12345")
    assert caught.value.code == "invalid_phone"
    assert sms_outbox == []
    assert not SmsCode.objects.exists()


def test_verify_creates_citizen_once(sms_outbox, later):
    send_login_code(PHONE)
    first = verify_login_code(PHONE, last_code(sms_outbox))
    assert first.is_citizen
    assert first.phone == PHONE
    assert first.phone_verified_at is not None
    assert not first.has_usable_password()
    with frozen_at(later(RESEND_INTERVAL_SECONDS + 1)):
        send_login_code(PHONE)
        second = verify_login_code("138 1234 5678", last_code(sms_outbox))
    assert second.pk == first.pk
    assert User.objects.filter(is_citizen=True).count() == 1


def test_code_cannot_be_used_twice(sms_outbox):
    send_login_code(PHONE)
    code = last_code(sms_outbox)
    verify_login_code(PHONE, code)
    with pytest.raises(DomainError) as caught:
        verify_login_code(PHONE, code)
    assert caught.value.code == "code_expired"


def test_wrong_code_counts_attempts_and_creates_no_citizen(sms_outbox):
    send_login_code(PHONE)
    with pytest.raises(DomainError) as caught:
        verify_login_code(PHONE, wrong_code_for(last_code(sms_outbox)))
    assert caught.value.code == "code_wrong"
    assert SmsCode.objects.get().attempts == 1  # counted even though an error was raised
    assert not User.objects.filter(is_citizen=True).exists()


def test_too_many_wrong_codes_invalidate_the_code(sms_outbox, settings):
    send_login_code(PHONE)
    code = last_code(sms_outbox)
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        with pytest.raises(DomainError):
            verify_login_code(PHONE, wrong_code_for(code))
    with pytest.raises(DomainError) as caught:
        verify_login_code(PHONE, code)
    assert caught.value.code == "code_expired"
    assert not User.objects.filter(is_citizen=True).exists()


def test_expired_code_is_refused(sms_outbox, later, settings):
    send_login_code(PHONE)
    with frozen_at(later(settings.SMS_CODE_TTL_SECONDS + 1)), pytest.raises(DomainError) as caught:
        verify_login_code(PHONE, last_code(sms_outbox))
    assert caught.value.code == "code_expired"
    assert not User.objects.filter(is_citizen=True).exists()


def test_resend_within_interval_is_refused_and_not_sent(sms_outbox, later):
    send_login_code(PHONE)
    with frozen_at(later(RESEND_INTERVAL_SECONDS - 5)), pytest.raises(RateLimited) as caught:
        send_login_code(PHONE)
    assert "一分钟" in caught.value.message
    assert caught.value.status_code == 429
    assert len(sms_outbox) == 1
    assert SmsCode.objects.count() == 1


def test_resend_after_interval_is_allowed(sms_outbox, later):
    send_login_code(PHONE)
    with frozen_at(later(RESEND_INTERVAL_SECONDS + 1)):
        send_login_code(PHONE)
    assert len(sms_outbox) == 2


def test_hourly_limit_per_phone(sms_outbox, later):
    for index in range(CODES_PER_PHONE_PER_HOUR):
        with frozen_at(later(index * (RESEND_INTERVAL_SECONDS + 1))):
            send_login_code(PHONE)
    with (
        frozen_at(later(CODES_PER_PHONE_PER_HOUR * (RESEND_INTERVAL_SECONDS + 1))),
        pytest.raises(RateLimited) as caught,
    ):
        send_login_code(PHONE)
    assert "一小时" in caught.value.message
    assert len(sms_outbox) == CODES_PER_PHONE_PER_HOUR
    with frozen_at(later(3600 + CODES_PER_PHONE_PER_HOUR * (RESEND_INTERVAL_SECONDS + 1))):
        send_login_code(PHONE)  # an hour later the window has moved on
    assert len(sms_outbox) == CODES_PER_PHONE_PER_HOUR + 1


def test_newest_code_is_the_one_that_counts(sms_outbox, later):
    send_login_code(PHONE)
    with frozen_at(later(RESEND_INTERVAL_SECONDS + 1)):
        send_login_code(PHONE)
        assert verify_login_code(PHONE, last_code(sms_outbox)).is_citizen


def test_per_ip_limit(sms_outbox):
    for index in range(CODES_PER_IP_PER_HOUR):
        send_login_code(f"139{index:08d}", ip="10.0.0.9")
    with pytest.raises(RateLimited):
        send_login_code("13700000000", ip="10.0.0.9")
    assert len(sms_outbox) == CODES_PER_IP_PER_HOUR
    send_login_code("13700000000", ip="10.0.0.10")  # another address is not affected
    assert len(sms_outbox) == CODES_PER_IP_PER_HOUR + 1


def test_phone_is_stored_encrypted_and_found_by_hash():
    citizen = get_or_create_citizen(PHONE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_encrypted, phone_hash FROM accounts_user WHERE id = %s", [citizen.pk])
        encrypted, phone_hash = cursor.fetchone()
    assert PHONE not in encrypted
    assert "5678" not in encrypted
    assert PHONE not in phone_hash
    assert phone_hash == crypto.lookup_hash(PHONE)
    assert User.objects.get_citizen_by_phone("+86 138-1234-5678") == citizen
    assert User.objects.get(pk=citizen.pk).phone == PHONE
    assert citizen.masked_phone == "138****5678"


def test_citizens_without_phone_do_not_clash():
    for name in ("wx1", "wx2"):
        User.objects.create(username=name, is_citizen=True)
    assert User.objects.filter(is_citizen=True, phone_hash="").count() == 2


def test_second_citizen_with_same_phone_is_refused_by_the_database():
    from django.db import IntegrityError, transaction

    get_or_create_citizen(PHONE)
    duplicate = User(username="dup", is_citizen=True)
    duplicate.phone = PHONE
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
