"""Users, memberships (user × unit × role), one-time SMS codes and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.core import crypto


class Role(models.TextChoices):
    INFORMANT = "informant", _("村级信访信息员")
    HANDLER = "handler", _("承办人")
    UNIT_MANAGER = "unit_manager", _("单位管理总岗")
    DISPATCHER = "dispatcher", _("信访矛盾化解中心调度员")
    COUNTY_MANAGER = "county_manager", _("县级管理总岗")
    INSPECTOR = "inspector", _("督导组")
    ASSESSOR = "assessor", _("研判员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


# Roles whose remit is the whole county their membership sits in, even when the
# membership is held at a centre office below the county.
COUNTY_WIDE_ROLES = frozenset({Role.DISPATCHER, Role.COUNTY_MANAGER, Role.INSPECTOR})
READ_ONLY_ROLES = frozenset({Role.INSPECTOR})
UNIT_ROLES = frozenset({Role.HANDLER, Role.UNIT_MANAGER})
# 等保2.0 三员分立: administrators configure, they do not handle cases.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
MANAGER_ROLES = frozenset({Role.UNIT_MANAGER, Role.COUNTY_MANAGER})


class MinqingUserManager(UserManager["User"]):
    def get_citizen_by_phone(self, phone: str) -> User | None:
        return self.filter(is_citizen=True, phone_hash=crypto.lookup_hash(phone)).first()


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    is_citizen = models.BooleanField(_("群众账号"), default=False, db_index=True)
    phone_encrypted = models.TextField(_("手机号(加密)"), blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_verified_at = models.DateTimeField(_("手机验证时间"), null=True, blank=True)
    wechat_openid = models.CharField(_("微信 openid"), max_length=64, null=True, blank=True, unique=True)
    failed_login_count = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    objects = MinqingUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            # Citizens without a phone (e.g. WeChat-only) all have an empty hash; only real phones are unique.
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=models.Q(is_citizen=True) & ~models.Q(phone_hash=""),
                name="unique_citizen_phone",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    @phone.setter
    def phone(self, value: str) -> None:
        self.phone_encrypted = crypto.encrypt(crypto.normalise_identifier(value or ""))
        self.phone_hash = crypto.lookup_hash(value or "")

    @property
    def masked_phone(self) -> str:
        return crypto.mask_phone(self.phone)

    def is_locked(self, now: datetime | None = None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} · {self.unit} · {self.get_role_display()}"


class SmsCode(models.Model):
    """A one-time code sent to a phone. Only its hash is stored."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="login")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"SMS code {self.pk} ({self.purpose})"


class AuditEntry(models.Model):
    """Security-relevant events: logins, lockouts, account changes, unmasked exports.

    Hash-chained like case events; `minqing audit verify` detects edits.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"

    def chain_record(self) -> dict:
        return {
            # In UTC, as every database gives it back, whatever zone it was created in.
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "actor": self.actor_label,
            "action": self.action,
            "target": self.target,
            "ip": self.ip_address or "",
            "payload": self.payload,
        }


class AuditChainHead(models.Model):
    """One row, locked while appending, so concurrent writers cannot fork the chain."""

    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash
