from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from minqing.accounts.models import Membership
from minqing.accounts.scoping import remit_for


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user).select_related("unit", "unit__parent").order_by("unit__path")
    )
    return render(request, "web/home.html", {"memberships": memberships, "remit": remit_for(request.user)})
