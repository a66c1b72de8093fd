from __future__ import annotations

from django.contrib.auth import views as auth_views

from minqing.accounts import audit
from minqing.accounts.forms import StaffLoginForm


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record("login", actor=form.get_user(), target=form.get_user().username, request=self.request)
        return response


class StaffLogoutView(auth_views.LogoutView):
    pass
