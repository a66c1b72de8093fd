from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from minqing.accounts.models import Membership
from minqing.accounts.scoping import remit_for
from minqing.cases.views import can_register, inbox_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user).select_related("unit", "unit__parent").order_by("unit__path")
    )
    staff = not request.user.is_citizen
    return render(
        request,
        "web/home.html",
        {
            "memberships": memberships,
            "remit": remit_for(request.user),
            "queues": inbox_summary(request.user) if staff else [],
            "can_register": staff and can_register(request.user),
        },
    )
