"""SMS gateway interface. Providers implement `send`; development logs the text.

Configure with SMS_BACKEND (a dotted path). A provider raises `SmsError` on a
failure worth retrying; the notification outbox retries with backoff.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("minqing.sms")


class SmsError(Exception):
    pass


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class SmsBackend:
    def send(self, message: SmsMessage) -> str:
        """Send one message; return the provider's message id."""
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: the message (including any code) goes to the log."""

    def send(self, message: SmsMessage) -> str:
        logger.info("SMS to %s: %s", message.phone, message.text)
        return "console"


class MemorySmsBackend(SmsBackend):
    """Tests: keeps every message so assertions can read them."""

    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            MemorySmsBackend.outbox.append(message)
        return f"mem-{len(MemorySmsBackend.outbox)}"


@lru_cache(maxsize=4)
def _backend(path: str) -> SmsBackend:
    return import_string(path)()


def get_sms_backend() -> SmsBackend:
    return _backend(settings.SMS_BACKEND)


def send_sms(phone: str, text: str) -> str:
    return get_sms_backend().send(SmsMessage(phone=phone, text=text))
