from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from minqing.cases.lifecycle import allowed_actions
from minqing.cases.models import Case
from minqing.cases.selectors import get_visible_case


@login_required
def case_detail(request, pk: int):
    try:
        case = get_visible_case(request.user, pk)
    except Case.DoesNotExist:
        raise Http404("案件不存在或您无权查看") from None
    return render(request, "cases/detail.html", {"case": case, "actions": allowed_actions(request.user, case)})
