"""Who hears about what happens to a case. Called by actions inside their transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import Membership, Role
from minqing.notify.actions import Message, queue, queue_sms_to_number
from minqing.orgs.models import OrgUnit, UnitKind, ancestor_paths

UNIT_STAFF = (Role.HANDLER, Role.UNIT_MANAGER, Role.ASSESSOR)
# Apps above cases add citizen notifiers (e.g. WeChat template messages): each is called with
# (kind, case), kind in "assigned" | "replied" | "rate", for cases that have a citizen account.
CITIZEN_NOTIFIERS: list = []


def _tell_citizen(kind: str, case) -> None:
    if case.citizen_id:
        for notifier in CITIZEN_NOTIFIERS:
            notifier(kind, case)


def case_link(case) -> str:
    return reverse("cases:detail", args=[case.pk])


def citizen_link(case) -> str:
    """The citizen's own page for the case (the mobile pages), absolute so it works in an SMS."""
    return f"{settings.MINQING_PUBLIC_URL}{reverse('intake:case', args=[case.reference])}"


def _citizen_message(kind: str, case, title: str, body: str = "") -> Message:
    return Message(kind=kind, title=title, body=body, link=citizen_link(case), case_id=case.pk)


# Recipients are looked up for nearly every action; memberships change rarely, so a lookup
# is reused for a few seconds (a new member starts receiving within that time).
_RECIPIENT_CACHE_SECONDS = 5.0
_recipients: dict[tuple, tuple[float, list]] = {}


def _remembered(key: tuple, load) -> list:
    now = time.monotonic()
    hit = _recipients.get(key)
    if hit is None or now - hit[0] > _RECIPIENT_CACHE_SECONDS:
        hit = _recipients[key] = (now, load())
    return hit[1]


def forget_recipients() -> None:
    _recipients.clear()


def unit_staff(units: Iterable[OrgUnit], roles: Sequence[str] = UNIT_STAFF) -> list:
    """Active users holding one of `roles` at exactly these units."""
    unit_ids = tuple(sorted(u.pk for u in units if u is not None))

    def load() -> list:
        memberships = Membership.objects.filter(unit__in=unit_ids, role__in=roles, user__is_active=True)
        return [m.user for m in memberships.select_related("user")]

    return _remembered(("unit", unit_ids, tuple(roles)), load)


def county_staff(case, roles: Sequence[str]) -> list:
    """Users with county-wide `roles` over the case: held at a unit above the case's location,
    or at a centre office of such a unit (see accounts.scoping)."""
    above = tuple(ancestor_paths(case.location_path))

    def load() -> list:
        reach = Q(unit__path__in=above) | Q(unit__kind=UnitKind.OFFICE, unit__parent__path__in=above)
        memberships = Membership.objects.filter(reach, role__in=roles, user__is_active=True).select_related("user")
        return list({m.user_id: m.user for m in memberships}.values())

    return _remembered(("county", above, tuple(roles)), load)


def _local(moment):
    return timezone.localtime(moment)


def _message(kind: str, case, title: str, body: str = "") -> Message:
    return Message(kind=kind, title=title, body=body, link=case_link(case), case_id=case.pk)


def case_registered(case, party=None) -> None:
    """Receipt by SMS to the petitioner's phone when they have no account to see it in."""
    if case.citizen_id is None and not case.is_anonymous and party and party.phone_hash:
        queue_sms_to_number(
            _message("receipt", case, f"您的诉求已登记，编号{case.reference}，查询码{case.query_code}。"),
            party.phone,
            key=f"receipt:{case.pk}",
        )


def case_assigned(case, lead_unit: OrgUnit, co_units: Sequence[OrgUnit]) -> None:
    title = f"新交办案件 {case.reference}：{case.title}"
    due = f"办理期限 {_local(case.handle_due):%Y-%m-%d}" if case.handle_due else ""
    queue(
        _message("assigned", case, title, due),
        unit_staff([lead_unit, *co_units]),
        key=f"assigned:{case.pk}:{case.version}",
        sms=True,
    )
    if lead_unit == case.lead_unit:  # not when a co-unit merely joins
        _tell_citizen("assigned", case)


def case_returned(case, reason: str) -> None:
    queue(
        _message("returned", case, f"案件 {case.reference} 被退回", reason),
        county_staff(case, [Role.DISPATCHER]),
        key=f"returned:{case.pk}:{case.version}",
    )


def case_replied(case) -> None:
    queue(
        _message("replied", case, f"案件 {case.reference} 已答复，待审核办结"),
        county_staff(case, [Role.DISPATCHER]),
        key=f"replied:{case.pk}:{case.version}",
    )
    _tell_citizen("replied", case)


def case_sent_back(case, reason: str) -> None:
    queue(
        _message("sent_back", case, f"案件 {case.reference} 被退回重办", reason),
        unit_staff([case.lead_unit]),
        key=f"sent_back:{case.pk}:{case.version}",
    )


def case_closed(case) -> None:
    if case.citizen_id:
        queue(
            _citizen_message(
                "closed", case, f"您的诉求 {case.reference} 已办结，请对办理结果进行评价：", citizen_link(case)
            ),
            [case.citizen],
            key=f"closed:{case.pk}:{case.version}",
            sms=True,
        )
    _tell_citizen("rate", case)


def case_declined(case) -> None:
    if case.citizen_id:
        queue(
            _citizen_message("declined", case, f"您的诉求 {case.reference} 不予受理", case.decline_reason),
            [case.citizen],
            key=f"declined:{case.pk}",
            sms=True,
        )


def case_nearly_due(case) -> None:
    queue(
        _message(
            "nearly_due", case, f"案件 {case.reference} 即将到期", f"办理期限 {_local(case.handle_due):%Y-%m-%d %H:%M}"
        ),
        unit_staff([case.lead_unit]),
        key=f"nearly_due:{case.pk}:{case.handle_due.isoformat()}",
        sms=True,
    )


def case_overdue(case) -> None:
    if case.state == "submitted":
        recipients, label, due = county_staff(case, [Role.DISPATCHER]), "受理期限", case.accept_due
    else:
        recipients = unit_staff([case.lead_unit]) + county_staff(case, [Role.COUNTY_MANAGER])
        label, due = "办理期限", case.handle_due
    queue(
        _message("overdue", case, f"案件 {case.reference} 已超期", f"{label} {_local(due):%Y-%m-%d %H:%M}"),
        recipients,
        key=f"overdue:{case.pk}:{due.isoformat()}",
        sms=True,
    )
