from __future__ import annotations

import math

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。连续失败5次将锁定账号5分钟。"),
        "locked": _("账号因多次登录失败已锁定，请在%(minutes)d分钟后再试，或联系安全管理员解锁。"),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            locked_until = getattr(self.request, "minqing_locked_until", None)
            if locked_until is not None:
                minutes = max(1, math.ceil((locked_until - timezone.now()).total_seconds() / 60))
                raise forms.ValidationError(
                    self.error_messages["locked"], code="locked", params={"minutes": minutes}
                ) from None
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_citizen:
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
