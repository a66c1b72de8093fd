"""The staff console: inbox, case list, case detail with its actions, registration.

Views parse with `forms`, change cases only through `actions` and read only through
`selectors` (scoped by `cases_visible_to`); a case outside the user's remit is a 404.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from minqing.accounts.decorators import staff_required
from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases import actions, selectors
from minqing.cases.attachments import AttachmentRefused
from minqing.cases.forms import (
    ACTION_FORMS,
    PAGE_SIZE,
    PICKER_KINDS,
    AcceptForm,
    ActionForm,
    AssignForm,
    CaseFilterForm,
    RegisterCaseForm,
    duplicate_cases,
    villages_of,
)
from minqing.cases.lifecycle import TRANSITIONS, actor_kinds, allowed_actions
from minqing.cases.models import Case, CaseEvent, CaseState, Category, Channel, Outcome, Party, Urgency
from minqing.core.errors import DomainError, InvalidTransition
from minqing.notify import actions as notify_actions
from minqing.notify import selectors as notify_selectors
from minqing.orgs.models import OrgUnit

STALE_MESSAGE = gettext_lazy("该案件刚刚已被他人处理，请刷新页面查看最新状态后再操作")
COUNT_CAP = 1000
QUEUE_LABELS = {
    "to_register": gettext_lazy("待登记受理"),
    "returned": gettext_lazy("被退回"),
    "replied": gettext_lazy("已答复待办结"),
    "to_sign": gettext_lazy("待签收"),
    "in_progress": gettext_lazy("办理中"),
    "nearly_due": gettext_lazy("即将到期"),
    "overdue": gettext_lazy("已超期"),
}
EVENT_LABELS = {"register": gettext_lazy("登记"), "deadline_recomputed": gettext_lazy("期限重算")}
PAYLOAD_LABELS = {
    "reason": gettext_lazy("理由"),
    "text": gettext_lazy("内容"),
    "note": gettext_lazy("意见"),
    "reply": gettext_lazy("答复意见"),
    "outcome": gettext_lazy("办理结果"),
    "summary": gettext_lazy("调解经过"),
    "participants": gettext_lazy("参与人"),
    "result": gettext_lazy("调解结果"),
    "lead_unit": gettext_lazy("主办单位"),
    "co_units": gettext_lazy("协办单位"),
    "previous_lead": gettext_lazy("原主办单位"),
    "unit": gettext_lazy("单位"),
    "handle_due": gettext_lazy("办理期限"),
    "category": gettext_lazy("分类"),
    "urgency": gettext_lazy("紧急程度"),
    "channel": gettext_lazy("渠道"),
    "attachments": gettext_lazy("附件"),
    "into": gettext_lazy("并入"),
    "merged_from": gettext_lazy("并入案件"),
    "days": gettext_lazy("延期天数"),
    "link": gettext_lazy("关联案件"),
    "link_kind": gettext_lazy("关系"),
}


def can_register(user) -> bool:
    return remit_for(user).has_role(Role.DISPATCHER)


def _visible_case(user, pk: int) -> Case:
    try:
        return selectors.get_visible_case(user, pk)
    except Case.DoesNotExist:
        raise Http404(_("案件不存在或您无权查看")) from None


# --- Inbox ---------------------------------------------------------------------------


def inbox_summary(user) -> list[dict]:
    """The user's queues with counts and links to the filtered list (also used on the home page)."""
    counts = selectors.queue_counts(user)
    list_url = reverse("cases:list")
    rows = [
        {"name": name, "label": QUEUE_LABELS[name], "count": count, "url": f"{list_url}?queue={name}"}
        for name, count in counts.items()
    ]
    if counts:
        rows.extend(row for queue in selectors.EXTRA_INBOX_QUEUES if (row := queue(user)))
    return rows


@staff_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread = notify_selectors.inbox(request.user).filter(read_at__isnull=True)[:30]
    return render(
        request,
        "cases/inbox.html",
        {"queues": inbox_summary(request.user), "notifications": unread, "can_register": can_register(request.user)},
    )


@staff_required
@require_POST
def mark_notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notify_actions.mark_read(request.user, [pk])
    if request.htmx:
        return HttpResponse("")
    return redirect("cases:inbox")


# --- List ----------------------------------------------------------------------------


def _picker_units(user):
    remit = remit_for(user)
    return list(
        OrgUnit.objects.filter(remit.unit_filter(""), kind__in=PICKER_KINDS, active=True).order_by("kind", "path")
    )


def _categories() -> list[Category]:
    return list(Category.objects.filter(active=True).select_related("parent").order_by("parent_id", "sort_order"))


@staff_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None, categories=_categories(), units=_picker_units(request.user))
    queryset = form.filter(request.user, selectors.cases_visible_to(request.user))
    page = form.page_number
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        queryset.select_related("category__parent", "location_unit", "lead_unit").prefetch_related(
            Prefetch("parties", queryset=Party.objects.filter(is_primary=True), to_attr="primary_parties")
        )[offset : offset + PAGE_SIZE + 1]
    )
    has_more = len(rows) > PAGE_SIZE
    # Capped count: cheap at any table size, exact below the cap.
    total = queryset.order_by()[: COUNT_CAP + 1].count() if page == 1 else None
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "cases": rows[:PAGE_SIZE],
        "page": page,
        "has_more": has_more,
        "total": total,
        "count_cap": COUNT_CAP,
        "query": params.urlencode(),
        "queue_label": QUEUE_LABELS.get(request.GET.get("queue", "")),
        "can_register": can_register(request.user),
    }
    template = "cases/list.html#results" if request.htmx and not request.htmx.boosted else "cases/list.html"
    return render(request, template, context)


# --- Detail --------------------------------------------------------------------------


def describe_event(event: CaseEvent, units: dict[str, str], categories: dict[int, str]) -> list[tuple[str, str]]:
    """A short, human summary of an event's payload."""
    lines = []
    for key, value in (event.payload or {}).items():
        if value in (None, "", []) or key in ("approval", "on_time", "years", "accept_due"):
            continue
        if key in ("lead_unit", "previous_lead", "unit"):
            value = units.get(value, value)
        elif key == "co_units":
            value = "、".join(units.get(code, code) for code in value)
        elif key == "category":
            value = categories.get(value, value)
        elif key == "outcome":
            value = Outcome(value).label if value in Outcome.values else value
        elif key == "urgency":
            value = Urgency(value).label if value in Urgency.values else value
        elif key == "channel":
            value = Channel(value).label if value in Channel.values else value
        elif key == "handle_due":
            value = _local_time(value)
        lines.append((str(PAYLOAD_LABELS.get(key, key)), str(value)))
    return lines


def _local_time(iso: str) -> str:
    try:
        return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(iso)


def _event_label(action: str) -> str:
    return TRANSITIONS[action].label if action in TRANSITIONS else EVENT_LABELS.get(action, action)


def _event_unit_codes(events: list[CaseEvent]) -> set[str]:
    codes: set[str] = set()
    for event in events:
        payload = event.payload or {}
        codes.update(payload.get(k) for k in ("lead_unit", "previous_lead", "unit") if payload.get(k))
        codes.update(payload.get("co_units") or [])
    return codes


def _county_path(user, case: Case) -> str:
    for path, role in remit_for(user).roles_by_unit:
        if role == Role.DISPATCHER and case.location_path.startswith(path):
            return path
    return case.location_path


def _action_form(action: str, case: Case, *, data=None, categories=(), units=()) -> ActionForm:
    form_class = ACTION_FORMS[action]
    kwargs: dict = {"action": action, "initial": {"expected_version": case.version}}
    if form_class is AcceptForm:
        kwargs["categories"] = categories
        kwargs["initial"].update(category=case.category_id, urgency=case.urgency)
    elif form_class is AssignForm:
        kwargs["units"] = units
        if case.lead_unit_id:
            kwargs["initial"]["lead_unit"] = case.lead_unit_id
    return form_class(data, **kwargs)


def _detail_context(request: HttpRequest, case: Case, *, bound: ActionForm | None = None, error: str = "") -> dict:
    user = request.user
    # Unit links exist only once the case has been assigned; skip the query before that.
    links = list(case.unit_links.filter(active=True).select_related("unit")) if case.lead_unit_id else []
    case._co_unit_paths = [link.unit_path for link in links if link.role == "co"]
    transitions = [t for t in allowed_actions(user, case) if t.action in ACTION_FORMS]
    names = {t.action for t in transitions}
    events = list(case.events.select_related("actor").order_by("seq"))

    categories = _categories() if "accept" in names else []
    category_names = {c.pk: str(c) for c in categories}
    if case.category_id:
        category_names[case.category_id] = str(case.category)
    county_path = _county_path(user, case)
    codes = _event_unit_codes(events)
    wants_picker = bool(names & {"assign", "reassign"})
    units: list[OrgUnit] = []
    if codes or wants_picker:
        # One query for both the names in the timeline and the assignment picker.
        unit_query = Q(code__in=codes)
        if wants_picker:
            unit_query |= Q(path__startswith=county_path, kind__in=PICKER_KINDS, active=True)
        units = list(OrgUnit.objects.filter(unit_query).order_by("kind", "path"))
    picker = [u for u in units if u.kind in PICKER_KINDS and u.path.startswith(county_path) and u.active]
    unit_names = {u.code: u.name for u in units}

    panels = []
    for transition in transitions:
        if bound is not None and bound.action == transition.action:
            form, panel_error = bound, error
        else:
            form = _action_form(transition.action, case, categories=categories, units=picker)
            panel_error = ""
        panels.append({"transition": transition, "form": form, "error": panel_error})
    return {
        "case": case,
        "parties": list(case.parties.all()),
        "attachments": list(case.attachments.all()),
        "lead_links": [link for link in links if link.role == "lead"],
        "co_links": [link for link in links if link.role == "co"],
        "timeline": [
            {
                "event": e,
                "label": _event_label(e.action),
                "from": CaseState(e.from_state).label if e.from_state in CaseState.values else "",
                "to": CaseState(e.to_state).label if e.to_state in CaseState.values else "",
                "changed": e.from_state != e.to_state,
                "lines": describe_event(e, unit_names, category_names),
            }
            for e in events
        ],
        "panels": panels,
        # Panels of other apps load on their own (htmx), so this page's queries stay bounded.
        "panel_slots": range(len(selectors.CASE_PANELS)),
        "page_error": error if bound is None or bound.action not in names else "",
        "extended": bool(case.handle_due_original and case.handle_due != case.handle_due_original),
        "overdue": case.is_overdue(),
        "can_register": can_register(user),
    }


@staff_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request.user, pk)
    return render(request, "cases/detail.html", _detail_context(request, case))


@staff_required
@require_GET
def case_panel(request: HttpRequest, pk: int, slot: int) -> HttpResponse:
    """One panel contributed by an app above cases (approvals, supervision, ratings, related cases)."""
    case = _visible_case(request.user, pk)
    if slot >= len(selectors.CASE_PANELS):
        raise Http404
    return HttpResponse(selectors.CASE_PANELS[slot](request.user, case, actor_kinds(request.user, case)))


def _perform(action: str, case: Case, user, data: dict, version: int) -> Case:
    """Call the verb for `action`; the version check happens under the case's row lock."""
    v = {"expected_version": version}
    match action:
        case "accept":
            return actions.accept_case(case, user, category=data["category"], urgency=data["urgency"], **v)
        case "decline":
            return actions.decline_case(case, user, reason=data["reason"], **v)
        case "assign" | "reassign":
            verb = actions.assign_case if action == "assign" else actions.reassign_case
            return verb(
                case,
                user,
                lead_unit=data["lead_unit"],
                co_units=data["co_units"],
                deadline=data["deadline"],
                note=data["note"],
                **v,
            )
        case "sign_for":
            return actions.sign_for_case(case, user, **v)
        case "return":
            return actions.return_case(case, user, reason=data["reason"], **v)
        case "reply":
            return actions.reply_case(case, user, outcome=data["outcome"], reply_text=data["reply_text"], **v)
        case "close":
            return actions.close_case(case, user, note=data["note"], **v)
        case "send_back":
            return actions.send_back_case(case, user, reason=data["reason"], **v)
        case "reopen":
            return actions.reopen_case(case, user, reason=data["reason"], **v)
        case "add_note":
            return actions.add_note(case, user, text=data["text"], **v)
        case "add_mediation_record":
            return actions.add_mediation_record(
                case, user, summary=data["summary"], participants=data["participants"], result=data["result"], **v
            )
    raise Http404


def _precheck(user, case: Case, action: str, form: ActionForm) -> DomainError | None:
    """Refuse before validating the form: a stale page first, then the lifecycle table."""
    try:
        posted = int(form.data.get("expected_version", ""))
    except ValueError:
        return DomainError(_("页面缺少版本信息，请刷新页面后重试"))
    if posted != case.version:
        return InvalidTransition(str(STALE_MESSAGE), code="stale")
    try:
        actions.check_allowed(user, case, action)  # the same refusal the verb would give
    except DomainError as refused:
        return refused
    return None


@staff_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    case = _visible_case(request.user, pk)
    if action not in ACTION_FORMS:
        raise Http404
    links = case.unit_links.filter(active=True, role="co").values_list("unit_path", flat=True)
    case._co_unit_paths = list(links)
    needs_units = action in ("assign", "reassign")
    form = _action_form(
        action,
        case,
        data=request.POST,
        categories=_categories() if action == "accept" else (),
        units=[u for u in _picker_units(request.user) if u.path.startswith(_county_path(request.user, case))]
        if needs_units
        else (),
    )
    refused = _precheck(request.user, case, action, form)
    status, message = 200, ""
    if refused is not None:
        status, message = refused.status_code, refused.message
    elif not form.is_valid():
        status = 422
    else:
        try:
            _perform(action, case, request.user, form.cleaned_data, form.cleaned_data["expected_version"])
        except DomainError as exc:
            status, message = (422 if exc.status_code == 400 else exc.status_code), exc.message
    if status == 200:
        label = TRANSITIONS[action].label
        if request.htmx:
            fresh = _visible_case(request.user, pk)
            context = _detail_context(request, fresh)
            context["flash"] = _("已完成：%(action)s") % {"action": label}
            return render(request, "cases/detail.html#case-main", context)
        messages.success(request, _("已完成：%(action)s") % {"action": label})
        return redirect("cases:detail", pk=pk)
    if request.htmx:
        # The post came from this action's form on the (possibly stale) page: answer there.
        response = render(
            request,
            "cases/_action.html",
            {"case": case, "panel": {"transition": TRANSITIONS[action], "form": form, "error": message}},
            status=status,
        )
        response["HX-Retarget"] = f"#action-{action}"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render(
        request, "cases/detail.html", _detail_context(request, case, bound=form, error=message), status=status
    )


@staff_required
@require_GET
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    case = _visible_case(request.user, pk)
    try:
        stored = case.attachments.get(pk=attachment_id)
    except case.attachments.model.DoesNotExist:
        raise Http404 from None
    inline = stored.content_type.startswith("image/") or stored.content_type == "application/pdf"
    response = FileResponse(
        stored.file.open("rb"),
        content_type=stored.content_type,
        as_attachment=not inline,
        filename=stored.original_name,
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Registration --------------------------------------------------------------------


def _require_dispatcher(user) -> None:
    if not can_register(user):
        raise PermissionDenied


@staff_required
def register(request: HttpRequest) -> HttpResponse:
    _require_dispatcher(request.user)
    if request.method != "POST":
        return render(request, "cases/new.html", {"form": RegisterCaseForm(user=request.user), "can_register": True})
    form = RegisterCaseForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        new = actions.NewCase(
            channel=data["channel"],
            nature=data["nature"],
            request_type=data["request_type"],
            category=data["category"],
            title=data["title"],
            content=data["content"],
            location_unit=form.location_unit,
            address=data["address"],
            urgency=data["urgency"],
            group_size=data["group_size"],
            is_anonymous=data["is_anonymous"],
            parties=[
                actions.PartyInput(
                    name=data["name"], phone=data["phone"], id_number=data["id_number"], address=data["party_address"]
                )
            ],
            attachments=data["attachments"],
        )
        try:
            case = actions.register_case(new, request.user)
        except AttachmentRefused as exc:
            form.add_error("attachments", exc.message)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("案件已登记：%(ref)s") % {"ref": case.reference})
            return redirect("cases:detail", pk=case.pk)
    return render(request, "cases/new.html", {"form": form, "can_register": True}, status=422)


@staff_required
@require_GET
def category_options(request: HttpRequest) -> HttpResponse:
    level1 = request.GET.get("level1") or ""
    options = Category.objects.filter(parent_id=level1, active=True) if level1.isdigit() else Category.objects.none()
    return render(request, "cases/_options.html", {"options": options, "empty": _("请选择二级分类")})


@staff_required
@require_GET
def village_options(request: HttpRequest) -> HttpResponse:
    township = request.GET.get("township") or ""
    options = villages_of(request.user, int(township)) if township.isdigit() else OrgUnit.objects.none()
    return render(request, "cases/_options.html", {"options": options, "empty": _("（乡镇本级）")})


@staff_required
@require_POST
def duplicate_check(request: HttpRequest) -> HttpResponse:
    _require_dispatcher(request.user)
    phone, id_number = request.POST.get("phone", ""), request.POST.get("id_number", "")
    found = list(duplicate_cases(request.user, phone=phone, id_number=id_number)) if phone or id_number else []
    return render(request, "cases/_duplicates.html", {"duplicates": found})
