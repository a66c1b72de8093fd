"""Were the suggestions taken? Record what was suggested, reconcile with what was chosen.

`record_suggestion(case)` stores the top-3 suggestions for a case that has not been
accepted yet (the case panel does it when a dispatcher opens the case, and the
reconciliation catches the rest). `reconcile()` is idempotent and runs on a schedule:
it reads the case's events (`accept` → category, `assign` → lead unit) for records
still lacking a choice, so the case code never has to know about suggestions.
`acceptance_rates()` gives top-1 and top-3 rates per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from minqing.cases.models import Case, CaseEvent, CaseState, Category
from minqing.dispatch.models import SuggestionRecord
from minqing.dispatch.suggest import suggest
from minqing.orgs.models import OrgUnit, UnitKind

RECORD_BATCH = 500
RECONCILE_BATCH = 2000


def record_suggestion(case: Case) -> SuggestionRecord | None:
    """Store what would be suggested now for a case still awaiting its category/unit choice."""
    if case.state != CaseState.SUBMITTED:
        return None
    existing = SuggestionRecord.objects.filter(case=case).order_by("-made_at", "-id").first()
    if existing is not None:
        return existing
    village = case.location_unit if case.location_unit.kind == UnitKind.VILLAGE else None
    township = village.parent if village else case.location_unit
    suggestions = suggest(case.title, case.content, township=township, village=village)
    return SuggestionRecord.objects.create(case=case, suggested=suggestions.as_dict())


def record_missing(limit: int = RECORD_BATCH) -> int:
    """Suggestion records for submitted cases that have none yet."""
    without = ~Exists(SuggestionRecord.objects.filter(case=OuterRef("pk")))
    cases = Case.objects.filter(without, state=CaseState.SUBMITTED).select_related("location_unit__parent")
    return sum(record_suggestion(case) is not None for case in cases.order_by("submitted_at")[:limit])


def _first_event_values(case_ids: list[int], action: str, key: str) -> dict[int, Any]:
    values: dict[int, Any] = {}
    events = CaseEvent.objects.filter(case_id__in=case_ids, action=action).order_by("case_id", "seq")
    for case_id, payload in events.values_list("case_id", "payload"):
        if case_id not in values and (payload or {}).get(key) is not None:
            values[case_id] = payload[key]
    return values


def _rank(suggested: list[dict], chosen_id: int) -> int:
    """1–3 for the position of the chosen item among the suggestions, 0 when it was not suggested."""
    for position, item in enumerate(suggested[:3], start=1):
        if item.get("id") == chosen_id:
            return position
    return 0


def reconcile(limit: int = RECONCILE_BATCH) -> dict[str, int]:
    """Fill in the dispatcher's choices from the case events; safe to run any number of times."""
    pending = list(
        SuggestionRecord.objects.filter(Q(chosen_category__isnull=True) | Q(chosen_unit__isnull=True)).order_by("id")[
            :limit
        ]
    )
    case_ids = [record.case_id for record in pending]
    categories = _first_event_values(case_ids, "accept", "category")
    unit_codes = _first_event_values(case_ids, "assign", "lead_unit")
    units = {u.code: u.pk for u in OrgUnit.objects.filter(code__in=set(unit_codes.values()))}
    known_categories = set(Category.objects.filter(pk__in=set(categories.values())).values_list("pk", flat=True))
    updated = {"category": 0, "unit": 0}
    for record in pending:
        changed = _apply_category(record, categories.get(record.case_id), known_categories)
        changed |= _apply_unit(record, units.get(unit_codes.get(record.case_id)))
        if changed:
            record.save()
            updated["category"] += record.chosen_category_id is not None
            updated["unit"] += record.chosen_unit_id is not None
    return {"pending": len(pending), **updated}


def _apply_category(record: SuggestionRecord, category_id: int | None, known: set[int]) -> bool:
    if record.chosen_category_id is not None or category_id not in known:
        return False
    record.chosen_category_id = category_id
    record.category_rank = _rank(record.suggested.get("categories", []), category_id)
    record.accepted_category = record.category_rank == 1
    return True


def _apply_unit(record: SuggestionRecord, unit_id: int | None) -> bool:
    if record.chosen_unit_id is not None or unit_id is None:
        return False
    record.chosen_unit_id = unit_id
    record.unit_rank = _rank(record.suggested.get("units", []), unit_id)
    record.accepted_unit = record.unit_rank == 1
    return True


# --- Rates -------------------------------------------------------------------------------


@dataclass(slots=True)
class Rates:
    period: str
    category_n: int = 0
    category_top1: int = 0
    category_top3: int = 0
    unit_n: int = 0
    unit_top1: int = 0
    unit_top3: int = 0

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def category_top1_rate(self) -> float | None:
        return self._share(self.category_top1, self.category_n)

    @property
    def category_top3_rate(self) -> float | None:
        return self._share(self.category_top3, self.category_n)

    @property
    def unit_top1_rate(self) -> float | None:
        return self._share(self.unit_top1, self.unit_n)

    @property
    def unit_top3_rate(self) -> float | None:
        return self._share(self.unit_top3, self.unit_n)

    def add(self, category_rank: int | None, unit_rank: int | None) -> None:
        if category_rank is not None:
            self.category_n += 1
            self.category_top1 += category_rank == 1
            self.category_top3 += category_rank >= 1
        if unit_rank is not None:
            self.unit_n += 1
            self.unit_top1 += unit_rank == 1
            self.unit_top3 += unit_rank >= 1


def acceptance_rates(
    records: QuerySet[SuggestionRecord], *, since: datetime | None = None
) -> tuple[Rates, list[Rates]]:
    """Overall rates and one row per month (newest first) over records with a choice."""
    since = since or timezone.now() - timedelta(days=365)
    rows = (
        records.filter(made_at__gte=since)
        .filter(Q(category_rank__isnull=False) | Q(unit_rank__isnull=False))
        .values_list("made_at", "category_rank", "unit_rank")
    )
    total = Rates("全部")
    by_month: dict[str, Rates] = {}
    for made_at, category_rank, unit_rank in rows.iterator():
        month = timezone.localtime(made_at).strftime("%Y-%m")
        by_month.setdefault(month, Rates(month)).add(category_rank, unit_rank)
        total.add(category_rank, unit_rank)
    return total, [by_month[key] for key in sorted(by_month, reverse=True)]
