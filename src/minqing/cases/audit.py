"""Verification of the case event chains (tamper evidence)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from minqing.cases.models import Case, CaseEvent
from minqing.core.hashchain import GENESIS, link_hash


@dataclass(frozen=True)
class BrokenChain:
    case_id: int
    reference: str
    seq: int | None
    problem: str


def _events_by_case(batch: int = 5000) -> Iterator[tuple[int, list[CaseEvent]]]:
    current, events = None, []
    for event in CaseEvent.objects.order_by("case_id", "seq").iterator(chunk_size=batch):
        if event.case_id != current and events:
            yield current, events
            events = []
        current = event.case_id
        events.append(event)
    if events:
        yield current, events


def _check(events: list[CaseEvent]) -> tuple[int | None, str] | None:
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return event.seq, f"事件序号不连续（应为 {expected_seq}）"
        if event.prev_hash != previous:
            return event.seq, "与上一事件的哈希不衔接"
        if link_hash(event.prev_hash, event.chain_record()) != event.hash:
            return event.seq, "事件内容与哈希不符（已被修改）"
        previous = event.hash
    return None


def verify_case_chains() -> list[BrokenChain]:
    heads = dict(Case.objects.values_list("pk", "last_event_hash"))
    references = dict(Case.objects.values_list("pk", "reference"))
    broken, seen = [], set()
    for case_id, events in _events_by_case():
        seen.add(case_id)
        problem = _check(events)
        if problem is None and heads.get(case_id) != events[-1].hash:
            problem = (events[-1].seq, "案件记录的最新哈希与事件链末尾不符（事件被删除或篡改）")
        if problem:
            broken.append(BrokenChain(case_id, references.get(case_id, "?"), *problem))
    for case_id, head in heads.items():
        if case_id not in seen and head:
            broken.append(BrokenChain(case_id, references[case_id], None, "事件记录全部缺失"))
    return broken
