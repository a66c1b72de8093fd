"""The official-account callback protocol: signatures, replay window and safe (AES) mode.

Plain mode: `signature = sha1("".join(sorted([token, timestamp, nonce])))`.
Safe mode adds `msg_signature = sha1("".join(sorted([token, timestamp, nonce, Encrypt])))`
and an AES-256-CBC body: key = base64decode(EncodingAESKey + "="), IV = key[:16],
PKCS#7 padding to 32 bytes, plaintext = 16 random bytes + 4-byte big-endian length + xml + appid.
The AES part is wechatpy's (`wechatpy.crypto.PrpCrypto`, over `cryptography`); signatures are
compared here in constant time, and every decoding failure becomes a `Refused` (never a 500).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from wechatpy.crypto import PrpCrypto

from minqing.intake.wechat import conf


class Refused(Exception):
    """A callback request we will not process; `status` and a clear message go back to the caller."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadSignature(Refused):
    status = 403


class Replayed(Refused):
    status = 403


class NotConfigured(Refused):
    status = 503


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_timestamp(timestamp: str, now: float | None = None) -> None:
    """Refuse a timestamp more than 5 minutes from our clock (old requests replayed, or forged ones)."""
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Replayed("timestamp 无效")
    skew = abs((time.time() if now is None else now) - int(timestamp))
    if skew > conf.MAX_CLOCK_SKEW_SECONDS:
        raise Replayed(f"timestamp 与服务器时间相差超过 {conf.MAX_CLOCK_SKEW_SECONDS} 秒，请求已拒绝（疑似重放）")


def check_signature(token: str, timestamp: str, nonce: str, given: str) -> None:
    if not token:
        raise NotConfigured("未配置 WECHAT_TOKEN")
    if not hmac.compare_digest(signature(token, timestamp, nonce), given.lower()):
        raise BadSignature("签名校验失败")


class SafeMode:
    """Safe-mode (AES) message crypto for one official account."""

    def __init__(self, token: str, aes_key: str, app_id: str) -> None:
        if len(aes_key) != 43 or not app_id:
            raise NotConfigured("安全模式需要 43 位 WECHAT_AES_KEY 和 WECHAT_APP_ID")
        try:
            self.key = base64.b64decode(aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NotConfigured("WECHAT_AES_KEY 不是有效的 Base64") from exc
        self.token, self.app_id = token, app_id

    @classmethod
    def from_settings(cls) -> SafeMode:
        return cls(conf.token(), conf.aes_key(), conf.app_id())

    def decrypt(self, encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The inner XML, after checking msg_signature, the padding, the length and the appid."""
        if not hmac.compare_digest(signature(self.token, timestamp, nonce, encrypted), msg_signature.lower()):
            raise BadSignature("msg_signature 校验失败")
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Refused("Encrypt 不是有效的 Base64") from exc
        if not raw or len(raw) % 16:
            raise Refused("Encrypt 长度无效")
        try:
            return PrpCrypto(self.key).decrypt(encrypted, self.app_id)
        except Exception as exc:  # wechatpy raises assorted errors (struct, unicode, appid mismatch)
            raise Refused("消息解密失败（密钥或 AppID 不匹配）") from exc

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        """The passive reply wrapped in the safe-mode envelope."""
        encrypted = PrpCrypto(self.key).encrypt(xml, self.app_id).decode()
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
