"""The case lifecycle as one declarative table.

Each row says: in which states an action may happen, what state it leads to
(None: the state stays), and which kinds of actor may take it. Anything not in
the table is refused. `actor_kinds` works out which kinds a user is for a case;
the UI asks `allowed_actions` and shows only those buttons.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import Role
from minqing.accounts.scoping import remit_for
from minqing.cases.models import Case, CaseState

S = CaseState
# Roles that handle cases for their unit (assessors handle for the hard-case room).
HANDLING_ROLES = frozenset({Role.HANDLER, Role.UNIT_MANAGER, Role.ASSESSOR})


class Actor:
    """Kinds of actor, relative to one case."""

    CENTRE = "centre"  # dispatcher whose county contains the case
    COUNTY_MANAGER = "county_manager"
    INSPECTOR = "inspector"  # 督导组: reads the whole county, acts only through follow-up calls
    LEAD_UNIT = "lead_unit"  # handler or manager of the lead unit
    LEAD_MANAGER = "lead_manager"  # manager of the lead unit (approvals at unit level)
    CO_UNIT = "co_unit"
    OWNER = "owner"  # the citizen whose case it is
    INFORMANT = "informant"  # the informant who filed it
    SYSTEM = "system"  # scheduled jobs and automatic follow-ups (no user)


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None
    actors: frozenset[str]


def _t(action: str, label: str, sources: tuple[str, ...], target: str | None, *actors: str) -> Transition:
    return Transition(action, label, sources, target, frozenset(actors))


ALL_LIVE = (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED, S.REPLIED, S.CLOSED, S.REOPENED)
HANDLING = (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED, S.REOPENED)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", _("受理"), (S.SUBMITTED,), S.ACCEPTED, Actor.CENTRE),
        _t("decline", _("不予受理"), (S.SUBMITTED,), S.DECLINED, Actor.CENTRE),
        _t("merge", _("合并"), (S.SUBMITTED, S.ACCEPTED), S.MERGED, Actor.CENTRE),
        _t("assign", _("交办"), (S.ACCEPTED, S.REOPENED), S.ASSIGNED, Actor.CENTRE),
        _t("sign_for", _("签收"), (S.ASSIGNED, S.REOPENED), S.IN_PROGRESS, Actor.LEAD_UNIT),
        _t("return", _("退回"), (S.ASSIGNED,), S.RETURNED, Actor.LEAD_UNIT),
        _t("reassign", _("重新交办"), (S.RETURNED, S.ASSIGNED, S.IN_PROGRESS), S.ASSIGNED, Actor.CENTRE),
        _t("reply", _("答复"), (S.IN_PROGRESS,), S.REPLIED, Actor.LEAD_UNIT),
        _t("close", _("办结"), (S.REPLIED,), S.CLOSED, Actor.CENTRE),
        _t("send_back", _("退回重办"), (S.REPLIED,), S.IN_PROGRESS, Actor.CENTRE),
        _t(
            "reopen",
            _("重新办理"),
            (S.CLOSED,),
            S.REOPENED,
            Actor.CENTRE,
            Actor.COUNTY_MANAGER,
            Actor.SYSTEM,
            Actor.OWNER,
        ),
        _t(
            "add_note",
            _("添加备注"),
            ALL_LIVE,
            None,
            Actor.CENTRE,
            Actor.COUNTY_MANAGER,
            Actor.LEAD_UNIT,
            Actor.CO_UNIT,
            Actor.INFORMANT,
        ),
        _t("add_information", _("补充材料"), ALL_LIVE, None, Actor.OWNER, Actor.INFORMANT, Actor.CENTRE),
        _t("add_mediation_record", _("调解记录"), (S.IN_PROGRESS, S.REOPENED), None, Actor.LEAD_UNIT, Actor.CO_UNIT),
        # Side records decided elsewhere (approvals, dispatch) still pass through the table.
        _t("extend", _("延期"), HANDLING, None, Actor.COUNTY_MANAGER, Actor.LEAD_MANAGER, Actor.SYSTEM),
        _t("request_approval", _("提出申请"), (*HANDLING, S.REPLIED), None, Actor.LEAD_UNIT, Actor.CENTRE),
        _t("decide_approval", _("审批"), ALL_LIVE, None, Actor.CENTRE, Actor.COUNTY_MANAGER, Actor.LEAD_MANAGER),
        _t("withdraw_approval", _("撤回申请"), ALL_LIVE, None, Actor.LEAD_UNIT, Actor.CENTRE),
        _t("link", _("关联案件"), ALL_LIVE, None, Actor.CENTRE, Actor.COUNTY_MANAGER),
        _t("add_co_unit", _("增加协办单位"), HANDLING, None, Actor.CENTRE, Actor.COUNTY_MANAGER),
        _t("urge", _("催办"), HANDLING, None, Actor.CENTRE, Actor.COUNTY_MANAGER, Actor.LEAD_MANAGER),
        _t("supervise", _("督办"), HANDLING, None, Actor.COUNTY_MANAGER, Actor.LEAD_MANAGER),
        _t("answer_supervision", _("督办回复"), (*HANDLING, S.REPLIED, S.CLOSED), None, Actor.LEAD_UNIT),
        _t("close_supervision", _("督办销号"), ALL_LIVE, None, Actor.COUNTY_MANAGER, Actor.LEAD_MANAGER),
        _t("flag_nearly_due", _("临期提醒"), HANDLING, None, Actor.SYSTEM),
        _t("flag_overdue", _("超期预警"), (S.SUBMITTED, *HANDLING), None, Actor.SYSTEM),
        _t("request_review", _("申请复查"), (S.CLOSED,), None, Actor.OWNER, Actor.INFORMANT, Actor.SYSTEM),
        _t("decide_review", _("复查决定"), (S.CLOSED,), None, Actor.CENTRE, Actor.COUNTY_MANAGER),
        _t("follow_up_call", _("回访"), ALL_LIVE, None, Actor.INSPECTOR),
        _t("rate", _("评价"), (S.CLOSED, S.REPLIED), None, Actor.OWNER, Actor.INFORMANT, Actor.SYSTEM),
    )
}

# What a petitioner sees of the event log (internal notes, approvals and side records stay inside).
PUBLIC_EVENT_LABELS = {
    "register": _("提交诉求"),
    "accept": _("已受理"),
    "decline": _("不予受理"),
    "merge": _("合并办理"),
    "assign": _("交承办单位办理"),
    "reassign": _("重新交办"),
    "sign_for": _("承办单位已签收"),
    "reply": _("承办单位已答复"),
    "close": _("已办结"),
    "send_back": _("中心要求重新办理"),
    "reopen": _("重新办理"),
    "add_information": _("补充材料"),
    "rate": _("已评价"),
}

# Actions that write records rather than move the case; the case console lists them apart.
SIDE_ACTIONS = frozenset(a for a, t in TRANSITIONS.items() if t.target is None)


def actor_kinds(user, case: Case, *, with_co_units: bool = True) -> frozenset[str]:
    """Which kinds of actor `user` is for `case` (empty: none).

    `with_co_units=False` skips the co-unit lookup (a query) when the caller does not need it.
    """
    if user is None:
        return frozenset({Actor.SYSTEM})
    kinds: set[str] = set()
    if case.citizen_id and case.citizen_id == user.pk:
        kinds.add(Actor.OWNER)
    if user.is_citizen:
        return frozenset(kinds)
    remit = remit_for(user)
    location_roles = {role for path, role in remit.roles_by_unit if case.location_path.startswith(path)}
    if Role.DISPATCHER in location_roles:
        kinds.add(Actor.CENTRE)
    if Role.COUNTY_MANAGER in location_roles:
        kinds.add(Actor.COUNTY_MANAGER)
    if Role.INSPECTOR in location_roles:
        kinds.add(Actor.INSPECTOR)
    if Role.INFORMANT in remit.roles and case.submitted_by_id == user.pk:
        kinds.add(Actor.INFORMANT)
    if case.lead_path:
        lead_roles = {role for path, role in remit.roles_by_unit if case.lead_path.startswith(path)}
        if lead_roles & HANDLING_ROLES:
            kinds.add(Actor.LEAD_UNIT)
        if Role.UNIT_MANAGER in lead_roles:
            kinds.add(Actor.LEAD_MANAGER)
    if with_co_units and _is_co_unit_member(remit, case):
        kinds.add(Actor.CO_UNIT)
    return frozenset(kinds)


def _is_co_unit_member(remit, case: Case) -> bool:
    acting_paths = [path for path, role in remit.roles_by_unit if role in HANDLING_ROLES]
    if not acting_paths:
        return False
    co_paths = getattr(case, "_co_unit_paths", None)
    if co_paths is None:
        co_paths = [link.unit_path for link in case.unit_links.all() if link.role == "co" and link.active]
    return any(co.startswith(path) for co in co_paths for path in acting_paths)


def refusal(user, case: Case, action: str) -> str | None:
    """Why `user` may not take `action` on `case` now, in Chinese; None when allowed."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return str(_("未知操作：%(action)s") % {"action": action})
    if case.state not in transition.sources:
        return str(
            _("案件当前状态为“%(state)s”，不能执行“%(action)s”。")
            % {"state": case.get_state_display(), "action": transition.label}
        )
    if not (actor_kinds(user, case) & transition.actors):
        return str(_("您无权对该案件执行“%(action)s”。") % {"action": transition.label})
    return None


def allowed_actions(user, case: Case) -> list[Transition]:
    kinds = actor_kinds(user, case)
    return [t for t in TRANSITIONS.values() if case.state in t.sources and kinds & t.actors]
