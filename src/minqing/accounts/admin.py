"""Django admin for accounts, memberships, the audit log and org units.

Who may see and change what is decided by role in `admin_access` (等保2.0 三员分立),
not by Django model permissions. Every change made here writes an audit entry.
Phones are never shown in plaintext: lists and pages show the masked form, and the
form field to set a phone starts empty.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.accounts import audit
from minqing.accounts.actions import unlock_account, validated_mobile
from minqing.accounts.admin_access import (
    AdminAccess,
    admin_access,
    can_change_user,
    can_view_user,
    memberships_visible_to,
    units_grantable_by,
    users_visible_to,
)
from minqing.accounts.models import AuditEntry, Membership, Role, User
from minqing.core import crypto
from minqing.core.errors import DomainError
from minqing.orgs.models import OrgUnit


def _access(request: HttpRequest) -> AdminAccess:
    cached = getattr(request, "_minqing_admin_access", None)
    if cached is None:
        cached = admin_access(request.user)
        request._minqing_admin_access = cached
    return cached


def _object_label(obj: Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk} {obj}"[:200]


def _json_safe(message: Any) -> Any:
    return json.loads(json.dumps(message, default=str, ensure_ascii=False))


def _audit_admin_save(action: str, request: HttpRequest, obj: Model, message: Any) -> None:
    audit.record(action, target=_object_label(obj), request=request, payload={"changes": _json_safe(message)})


class AuditedAdminMixin:
    """Writes an audit entry for every addition, change and deletion made through the admin."""

    def log_addition(self, request: HttpRequest, obj: Model, message: Any):
        _audit_admin_save("admin_added", request, obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any):
        _audit_admin_save("admin_changed", request, obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset):
        for obj in queryset:
            audit.record("admin_deleted", target=_object_label(obj), request=request)
        return super().log_deletions(request, queryset)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        """Objects outside the requester's queryset are not found (404), not a redirect."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("对象不存在或您无权访问"))
        return obj


# --- Users -----------------------------------------------------------------

PHONE_HELP = _("11位手机号。出于隐私保护不显示原号码；留空则不修改。")


def _cleaned_phone(form: forms.ModelForm) -> str:
    raw = (form.cleaned_data.get("phone") or "").strip()
    if not raw:
        return ""
    try:
        phone = validated_mobile(raw)
    except DomainError as error:
        raise forms.ValidationError(error.message, code=error.code) from None
    instance: User = form.instance
    if instance.is_citizen:
        clash = User.objects.filter(is_citizen=True, phone_hash=crypto.lookup_hash(phone)).exclude(pk=instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("已有群众账号使用该手机号"), code="phone_taken")
    return phone


class StaffUserCreationForm(AdminUserCreationForm):
    phone = forms.CharField(label=_("手机号"), required=False, help_text=PHONE_HELP)

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")

    def clean_phone(self) -> str:
        return _cleaned_phone(self)

    def save(self, commit: bool = True) -> User:
        if self.cleaned_data.get("phone"):
            self.instance.phone = self.cleaned_data["phone"]
        return super().save(commit)


class UserAdminChangeForm(UserChangeForm):
    phone = forms.CharField(label=_("设置手机号"), required=False, help_text=PHONE_HELP)

    class Meta(UserChangeForm.Meta):
        model = User

    def clean_phone(self) -> str:
        return _cleaned_phone(self)

    def save(self, commit: bool = True) -> User:
        if self.cleaned_data.get("phone"):
            self.instance.phone = self.cleaned_data["phone"]
        return super().save(commit)


class LockStatusFilter(admin.SimpleListFilter):
    title = _("锁定状态")
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return (("yes", _("已锁定")), ("no", _("未锁定")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(locked_until__gt=now)
        if self.value() == "no":
            return queryset.exclude(locked_until__gt=now)
        return queryset


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ("unit", "role")
    verbose_name = _("任职")
    verbose_name_plural = _("任职")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return memberships_visible_to(_access(request))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = units_grantable_by(_access(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "role":
            allowed = _access(request).grantable_roles()
            kwargs["choices"] = [("", "---------"), *((role.value, role.label) for role in Role if role in allowed)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_min_num(self, request: HttpRequest, obj: User | None = None, **kwargs) -> int:
        """A unit manager's new user must belong to their unit, or the manager would lose sight of it."""
        access = _access(request)
        return 1 if obj is None and not (access.superuser or access.system_admin) else 0

    def get_formset(self, request: HttpRequest, obj: User | None = None, **kwargs):
        kwargs.setdefault("validate_min", True)  # without it min_num only shapes the blank rows
        return super().get_formset(request, obj, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _access(request).reads_users

    def _may_edit(self, request: HttpRequest, obj: User | None) -> bool:
        access = _access(request)
        return access.manages_users and (obj is None or can_change_user(access, obj))

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return self._may_edit(request, obj)


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = StaffUserCreationForm
    inlines = (MembershipInline,)
    list_display = ("username", "display_name", "masked_phone", "is_citizen", "is_active", "is_staff")
    list_filter = ("is_citizen", "is_active", "is_staff")
    search_fields = ("username", "display_name")
    ordering = ("username",)
    actions = ("unlock_accounts",)
    readonly_fields = (
        "masked_phone",
        "is_citizen",
        "lock_status",
        "failed_login_count",
        "locked_until",
        "last_login",
        "date_joined",
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "phone", "usable_password", "password1", "password2"),
            },
        ),
    )

    # Display ------------------------------------------------------------

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: User) -> str:
        return obj.masked_phone if obj.phone_encrypted else "—"

    @admin.display(description=_("锁定状态"))
    def lock_status(self, obj: User) -> str:
        if obj.is_locked():
            return _("已锁定至 %(time)s") % {"time": f"{timezone.localtime(obj.locked_until):%Y-%m-%d %H:%M}"}
        return _("正常")

    def get_list_display(self, request: HttpRequest):
        columns = super().get_list_display(request)
        if _access(request).unlocks_accounts:
            columns = (*columns, "lock_status", "failed_login_count")
        return columns

    def get_list_filter(self, request: HttpRequest):
        filters = super().get_list_filter(request)
        if _access(request).unlocks_accounts:
            filters = (*filters, LockStatusFilter)
        return filters

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):
        if obj is None:
            return self.add_fieldsets
        access = _access(request)
        editable = self.has_change_permission(request, obj)
        # In view-only mode every listed field is displayed read-only: never list `phone`
        # (the model property would show the plaintext) or the password hash.
        account = ("username", "password") if editable else ("username",)
        personal = ("display_name", "masked_phone", "phone") if editable else ("display_name", "masked_phone")
        status: tuple[str, ...] = ("is_active", "is_citizen")
        if access.superuser or access.system_admin:
            status = (*status, "is_staff")
        if access.superuser:
            status = (*status, "is_superuser", "groups", "user_permissions")
        fieldsets = [
            (None, {"fields": account}),
            (_("个人信息"), {"fields": personal}),
            (_("状态"), {"fields": status}),
        ]
        if access.unlocks_accounts:
            fieldsets.append((_("登录锁定"), {"fields": ("lock_status", "failed_login_count", "locked_until")}))
        fieldsets.append((_("时间"), {"fields": ("last_login", "date_joined")}))
        return fieldsets

    # Scope and permissions ------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return users_visible_to(_access(request)).order_by(*self.ordering)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[User], search_term: str):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = validated_mobile(search_term)
        except DomainError:
            return results, may_have_duplicates
        return results | queryset.filter(phone_hash=crypto.lookup_hash(phone)), may_have_duplicates

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _access(request).reads_users

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        access = _access(request)
        return access.reads_users if obj is None else can_view_user(access, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _access(request).manages_users

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        access = _access(request)
        return access.manages_users if obj is None else can_change_user(access, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        access = _access(request)
        if not (access.superuser or access.system_admin):
            return False
        return obj is None or can_change_user(access, obj)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return _access(request).unlocks_accounts

    # Changes ----------------------------------------------------------------

    @admin.action(description=_("解锁所选账号"), permissions=["unlock"])
    def unlock_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        unlocked = 0
        for user in queryset:
            if user.locked_until or user.failed_login_count:
                unlock_account(user, actor=request.user, request=request)
                unlocked += 1
        self.message_user(request, _("已解锁 %(n)d 个账号。") % {"n": unlocked}, messages.SUCCESS)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            _audit_membership_changes(request, form.instance, formset)


def _audit_membership_changes(request: HttpRequest, user: User, formset) -> None:
    def record(action: str, membership: Membership) -> None:
        audit.record(
            action,
            target=user.get_username(),
            request=request,
            payload={"unit": membership.unit.code, "role": membership.role, "via": "admin"},
        )

    for membership in formset.new_objects:
        record("membership_granted", membership)
    for membership, _changed_fields in formset.changed_objects:
        record("membership_changed", membership)
    for membership in formset.deleted_objects:
        record("membership_revoked", membership)


# --- Audit log: read-only for everyone, visible to superusers and audit admins --


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_label", "target", "ip_address")
    list_filter = ("action",)
    search_fields = ("action", "actor_label", "target")
    actions = None
    fields = ("created_at", "action", "actor_label", "target", "ip_address", "payload", "prev_hash", "hash")
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _access(request).reads_audit_log

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return _access(request).reads_audit_log

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


# --- Org units: managed by system administrators ----------------------------
# The orgs app cannot import accounts (imports flow one way), so the role-based
# access for its admin is layered on here, keeping the orgs app's own configuration.

_OrgUnitAdminBase = type(admin.site.get_model_admin(OrgUnit)) if admin.site.is_registered(OrgUnit) else admin.ModelAdmin


class OrgUnitAdminForSystemAdmins(AuditedAdminMixin, _OrgUnitAdminBase):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _access(request).manages_units

    def has_view_permission(self, request: HttpRequest, obj: OrgUnit | None = None) -> bool:
        return _access(request).manages_units

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _access(request).manages_units

    def has_change_permission(self, request: HttpRequest, obj: OrgUnit | None = None) -> bool:
        return _access(request).manages_units

    def has_delete_permission(self, request: HttpRequest, obj: OrgUnit | None = None) -> bool:
        return _access(request).manages_units


if admin.site.is_registered(OrgUnit):
    admin.site.unregister(OrgUnit)
admin.site.register(OrgUnit, OrgUnitAdminForSystemAdmins)
