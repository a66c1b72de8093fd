"""Cases for the page tests, created through the real actions."""

from __future__ import annotations

from minqing.cases import actions
from minqing.cases.models import Case, Category, Channel
from minqing.orgs.models import OrgUnit


def citizen_case(citizen, unit: OrgUnit, *, title: str = "路灯不亮", content: str = "村口路灯坏了一个月") -> Case:
    return actions.register_case(
        actions.NewCase(
            channel=Channel.APP,
            title=title,
            content=content,
            location_unit=unit,
            category=Category.objects.filter(parent__isnull=False).order_by("id").first(),
            citizen=citizen,
            parties=[actions.PartyInput(name="王群众", phone=citizen.phone if citizen else "")],
        ),
        citizen,
    )


REPLY = "已安排电工更换路灯，现已恢复照明。"


def take_to_reply(case: Case, dispatcher, handler, lead: OrgUnit, reply: str = REPLY) -> Case:
    actions.accept_case(case, dispatcher)
    actions.assign_case(case, dispatcher, lead_unit=lead)
    actions.sign_for_case(case, handler)
    return actions.reply_case(case, handler, outcome="supported", reply_text=reply)
