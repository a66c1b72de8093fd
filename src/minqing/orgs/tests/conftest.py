from __future__ import annotations

import csv
from pathlib import Path

import pytest

from minqing.orgs.loaders import load_yiyang
from minqing.orgs.models import OrgUnit

SHARED_TOWNSHIPS = Path(__file__).resolve().parents[5] / "shared" / "data" / "yiyang_townships.csv"


@pytest.fixture
def yiyang(db) -> OrgUnit:
    load_yiyang()
    return OrgUnit.objects.get(code="410327")


@pytest.fixture
def official_townships() -> dict[str, str]:
    """code -> name of the 16 official divisions, from ../shared/data (tests only)."""
    if not SHARED_TOWNSHIPS.exists():
        pytest.fail(f"{SHARED_TOWNSHIPS} is missing: tests expect ../shared beside the repository")
    with SHARED_TOWNSHIPS.open(encoding="utf-8-sig") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def snapshot() -> list[dict]:
    """Every column of every unit, to compare the table before and after an operation."""
    return list(OrgUnit.objects.order_by("code").values())
