"""Approver chains as data: which roles decide each kind of request, level by level.

`Scope.REQUESTING_UNIT`: the role must be held at the requesting unit or above it
(e.g. the township's unit manager). `Scope.CASE`: the role must reach the case's
location (county-wide roles: dispatcher, county manager).

`requesters` are lifecycle actor kinds that may ask; `states` are the case states in
which the request may be made (so that the effect can still be applied).
"""

from __future__ import annotations

from dataclasses import dataclass

from minqing.accounts.models import Role
from minqing.approvals.models import Kind
from minqing.cases.lifecycle import TRANSITIONS, Actor
from minqing.cases.models import CaseState

EXTENSION_MAX_DAYS = 30


class Scope:
    REQUESTING_UNIT = "requesting_unit"
    CASE = "case"


@dataclass(frozen=True)
class ChainStep:
    level: int
    role: str
    scope: str


@dataclass(frozen=True)
class Chain:
    kind: str
    steps: tuple[ChainStep, ...]
    requesters: frozenset[str]
    states: tuple[str, ...]

    def step(self, level: int) -> ChainStep:
        return self.steps[level - 1]

    @property
    def last_level(self) -> int:
        return len(self.steps)


def _chain(kind: str, steps: tuple[tuple[str, str], ...], requesters: set[str], states) -> Chain:
    numbered = tuple(ChainStep(level, role, scope) for level, (role, scope) in enumerate(steps, start=1))
    return Chain(kind, numbered, frozenset(requesters), tuple(states))


UNIT, CASE = Scope.REQUESTING_UNIT, Scope.CASE
ANY_REQUEST_STATE = TRANSITIONS["request_approval"].sources

CHAINS: dict[str, Chain] = {
    c.kind: c
    for c in (
        # 延期: the unit's management post, then the county management post.
        _chain(
            Kind.EXTENSION,
            ((Role.UNIT_MANAGER, UNIT), (Role.COUNTY_MANAGER, CASE)),
            {Actor.LEAD_UNIT},
            TRANSITIONS["extend"].sources,
        ),
        # 改派 after the 5-working-day return window: the centre decides.
        _chain(
            Kind.REASSIGN,
            ((Role.DISPATCHER, CASE),),
            {Actor.LEAD_UNIT},
            (CaseState.ASSIGNED, CaseState.IN_PROGRESS),
        ),
        # 办结审核: the centre, then the county management post.
        _chain(
            Kind.CLOSURE_REVIEW,
            ((Role.DISPATCHER, CASE), (Role.COUNTY_MANAGER, CASE)),
            {Actor.LEAD_UNIT, Actor.CENTRE},
            (CaseState.REPLIED,),
        ),
        # 提交疑难案件研判室 / 移交涉法涉诉办公室: the county management post.
        _chain(Kind.ESCALATION, ((Role.COUNTY_MANAGER, CASE),), {Actor.LEAD_UNIT, Actor.CENTRE}, ANY_REQUEST_STATE),
        _chain(Kind.LEGAL_HANDOVER, ((Role.COUNTY_MANAGER, CASE),), {Actor.LEAD_UNIT, Actor.CENTRE}, ANY_REQUEST_STATE),
    )
}


def chain_for(kind: str) -> Chain:
    return CHAINS[kind]
