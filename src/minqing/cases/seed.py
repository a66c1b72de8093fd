"""Reference data every installation starts with: categories and default SLA policies."""

from __future__ import annotations

import csv
from pathlib import Path

CATEGORIES_CSV = Path(__file__).resolve().parent / "data" / "categories.csv"

# Local policy stricter than the legal caps (accept ≤ 15 days, handle ≤ 60 days):
# (stage, urgency, amount, unit); an empty urgency applies to every urgency.
DEFAULT_POLICIES = [
    ("accept", "", 3, "working_days"),
    ("accept", "urgent", 1, "calendar_days"),
    ("accept", "critical", 1, "calendar_days"),
    ("handle", "", 15, "working_days"),
    ("handle", "urgent", 5, "working_days"),
    ("handle", "critical", 1, "calendar_days"),
]


def seed_reference_data(category_model, policy_model) -> None:
    """Idempotent; takes the models so the data migration can pass its historical ones."""
    with CATEGORIES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parents: dict[str, object] = {}
    for order, row in enumerate(rows):
        level1 = row["level1"]
        if level1 not in parents:
            parents[level1], _ = category_model.objects.get_or_create(
                parent=None, name=level1, defaults={"sort_order": len(parents)}
            )
        category_model.objects.get_or_create(parent=parents[level1], name=row["level2"], defaults={"sort_order": order})
    if not policy_model.objects.exists():
        policy_model.objects.bulk_create(
            policy_model(stage=stage, urgency=urgency, amount=amount, unit=unit)
            for stage, urgency, amount, unit in DEFAULT_POLICIES
        )
