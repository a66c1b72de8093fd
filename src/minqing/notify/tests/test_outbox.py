from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from minqing.core.sms import MemorySmsBackend, SmsBackend, SmsError
from minqing.notify import actions
from minqing.notify.models import Channel, Notification, Status


@pytest.fixture
def recipient(citizen):
    return citizen


def _queue(recipient, key="k1"):
    return actions.queue(
        actions.Message(kind="assigned", title="新交办案件", body="请签收"), [recipient], key=key, sms=True
    )


def test_queue_twice_with_same_key_creates_one_of_each(recipient):
    _queue(recipient)
    _queue(recipient)
    assert Notification.objects.filter(channel=Channel.IN_APP).count() == 1
    assert Notification.objects.filter(channel=Channel.SMS).count() == 1


def test_sms_is_sent_once_even_when_delivery_runs_twice(recipient, sms_outbox):
    _queue(recipient)
    assert actions.deliver_due() == 1
    assert actions.deliver_due() == 0
    assert len(sms_outbox) == 1 and "新交办案件" in sms_outbox[0].text
    assert Notification.objects.get(channel=Channel.SMS).status == Status.SENT


class FlakyBackend(SmsBackend):
    def send(self, message):
        raise SmsError("gateway timeout")


def test_failed_sms_is_retried_with_backoff_then_given_up(recipient, settings, monkeypatch):
    monkeypatch.setattr(actions, "send_sms", lambda phone, text: FlakyBackend().send(None))
    _queue(recipient)
    sms = Notification.objects.get(channel=Channel.SMS)
    delays = []
    for _attempt in range(actions.MAX_ATTEMPTS):
        Notification.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        before = timezone.now()
        assert actions.deliver_due() == 0
        sms.refresh_from_db()
        delays.append((sms.next_attempt_at - before).total_seconds())
    assert sms.status == Status.FAILED and sms.attempts == actions.MAX_ATTEMPTS
    assert delays[1] > delays[0] * 1.5  # exponential backoff
    assert "gateway timeout" in sms.last_error


def test_claimed_notification_is_not_sent_by_a_second_worker(recipient):
    _queue(recipient)
    sms = Notification.objects.get(channel=Channel.SMS)
    assert actions._claim(sms) is True
    assert actions._claim(sms) is False  # the stale copy lost the compare-and-set


def test_notify_send_command_reports_count(recipient, capsys):
    _queue(recipient)
    call_command("notify_send")
    assert capsys.readouterr().out.strip() == "已发送 1 条通知"
    assert len(MemorySmsBackend.outbox) == 1


def test_mark_read_only_touches_own_notifications(recipient, dispatcher):
    _queue(recipient)
    own = Notification.objects.get(channel=Channel.IN_APP)
    assert actions.mark_read(dispatcher, [own.pk]) == 0
    assert actions.mark_read(recipient, [own.pk]) == 1
