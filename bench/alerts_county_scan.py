"""Benchmark the full daily early-warning scan of a county through `alerts.scan.scan_arrays`.

    .venv/bin/python bench/alerts_county_scan.py
    .venv/bin/python bench/alerts_county_scan.py --villages 400 --townships 20 --categories 40 --days 1095

Synthetic county (no database): 400 villages in 20 townships, 40 level-2 categories under 8 level-1
categories, 3 years of days, about 40 cases a day (village and category weights gamma-distributed).
Not timed: generating the counts. Timed, end to end:

1. the cube build: ~44,000 synthetic case rows → `cube.records_from_rows` → the village × level-2,
   township × level-1 and the other cubes the scan asks for (`CaseRecords.cube`, one bincount each);
2. `scan_arrays` with the production configuration: 10 rules, EARS C2 (daily) and Noufaily (weekly)
   on every township × level-1 series with the Benjamini–Hochberg budget, and the space-time
   permutation scan of the last 365 days (`ScanConfig.spacetime_days`) over the 400 villages for each
   level-1 category, 999
   replicates with sequential early stopping (h=10, the default) — and once with all replicates drawn;
3. a heavier variant: the detectors on all 16,000 village × level-2 series instead.

`--db` also runs the real thing on a throw-away SQLite database (Yiyang tree, 3 years of synthetic
cases bulk-inserted at ~40 a day over its villages): `run_scan` end to end (query, cubes, scan,
person-level signals, raising alerts), twice (the second run shows the idempotent cost).

Prints the wall time of each part and the peak resident memory. The target is 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")

from minqing.alerts.cube import AreaIndex, CategoryIndex, records_from_rows
from minqing.alerts.rules import RuleSpec
from minqing.alerts.scan import CubeSource, ScanConfig, scan_arrays
from minqing.core.deadlines import LOCAL_TZ


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_county(args, rng):
    villages, townships, n_l2, n_l1 = args.villages, args.townships, args.categories, args.level1
    parent = np.repeat(np.arange(townships), int(np.ceil(villages / townships)))[:villages]
    l2_to_l1 = np.repeat(np.arange(n_l1), int(np.ceil(n_l2 / n_l1)))[:n_l2]
    centres = rng.random((townships, 2)) * 0.5 + np.array([34.3, 111.9])
    coords = centres[parent] + rng.normal(0, 0.03, (villages, 2))
    v_ids = list(range(1000, 1000 + villages))
    t_ids = list(range(100, 100 + townships))
    areas = AreaIndex(
        units={"village": v_ids, "township": t_ids, "county": [1]},
        paths={
            "village": [f"/1/{t_ids[parent[i]]}/{v}/" for i, v in enumerate(v_ids)],
            "township": [f"/1/{t}/" for t in t_ids],
            "county": ["/1/"],
        },
        names={"village": [str(v) for v in v_ids], "township": [str(t) for t in t_ids], "county": ["县"]},
        coords=coords,
        unit_to={
            "village": {v: i for i, v in enumerate(v_ids)},
            "township": {t: i for i, t in enumerate(t_ids)},
            "county": {1: 0},
        },
        parent_township=parent,
    )
    l1_ids = list(range(10, 10 + n_l1))
    l2_ids = list(range(500, 500 + n_l2))
    categories = CategoryIndex(level2=l2_ids, level1=l1_ids, level2_to_level1=l2_to_l1)
    area_w = rng.gamma(2.0, 1.0, villages)
    cat_w = rng.gamma(1.0, 1.0, n_l2)
    lam = args.cases_per_day * np.outer(area_w / area_w.sum(), cat_w / cat_w.sum())  # (village, l2)
    counts = rng.poisson(lam[:, :, None], size=(villages, n_l2, args.days))
    return areas, categories, counts


def case_rows(counts: np.ndarray, areas: AreaIndex, categories: CategoryIndex, start: date, rng) -> list[tuple]:
    """One (id, unit, parent, category, submitted_at, accepted_at) row per case in `counts`."""
    v, c, d = np.nonzero(counts)
    reps = counts[v, c, d]
    v, c, d = np.repeat(v, reps), np.repeat(c, reps), np.repeat(d, reps)
    base = datetime.combine(start, datetime.min.time(), tzinfo=LOCAL_TZ)
    hours = rng.integers(8, 18, v.size)
    lag = rng.integers(0, 4, v.size)
    v_ids, t_ids = areas.units["village"], areas.units["township"]
    return [
        (
            i,
            v_ids[v[i]],
            t_ids[areas.parent_township[v[i]]],
            categories.level2[c[i]],
            base + timedelta(days=int(d[i]), hours=int(hours[i])),
            base + timedelta(days=int(d[i] + lag[i]), hours=int(hours[i])),
        )
        for i in range(v.size)
    ]


def rules_for(areas: AreaIndex, n_l1: int) -> list[RuleSpec]:
    specs = []
    for k in range(10):
        level = ("township", "village", "county")[k % 3]
        specs.append(RuleSpec(k, level, 1 if k % 2 else 2, k % n_l1, None, 5 + k, 7 + k, "medium"))
    return specs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--villages", type=int, default=400)
    ap.add_argument("--townships", type=int, default=20)
    ap.add_argument("--categories", type=int, default=40)
    ap.add_argument("--level1", type=int, default=8)
    ap.add_argument("--days", type=int, default=3 * 365)
    ap.add_argument("--cases-per-day", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", action="store_true", help="also time run_scan on a temporary SQLite database")
    args = ap.parse_args()
    if args.db:
        db_scan(args)
        return
    rng = np.random.default_rng(args.seed)
    start = date(2023, 1, 1)
    end = start + timedelta(days=args.days - 1)

    t = time.perf_counter()
    areas, categories, counts = synthetic_county(args, rng)
    rows = case_rows(counts, areas, categories, start, rng)
    del counts
    print(
        f"# {args.villages} villages / {args.townships} townships × {args.categories} categories "
        f"({args.level1} level 1) × {args.days} days; {len(rows):,} cases; generated in {time.perf_counter() - t:.1f} s"
    )
    print(f"# peak memory after generation: {peak_mb():.0f} MB")

    runs = [
        ("production config (999 replicates, early stop h=10)", ScanConfig()),
        ("all 999 replicates drawn (no early stop)", ScanConfig(early_stop=None)),
        (
            "heavy: detectors on all village × level-2 series instead, early stop",
            ScanConfig(detector_level="village", detector_category_levels=(2,), early_stop=10),
        ),
    ]
    for label, config in runs:
        t0 = time.perf_counter()
        records = records_from_rows(rows, areas, categories)
        source = CubeSource(
            lambda level, cat_level, r=records: r.cube(level, cat_level, start, end).counts,
            areas.coords,
            lambda cat_level: len(categories.level2 if cat_level == 2 else categories.level1),
        )
        for key in (("village", 2), ("village", 1), ("township", 1), ("township", 2), ("county", 1), ("county", 2)):
            source.get(*key)
        cube_s = time.perf_counter() - t0
        result = scan_arrays(source, rules_for(areas, args.level1), args.days - 1, config, seed=7)
        total = time.perf_counter() - t0
        kinds: dict[str, int] = {}
        for s in result.signals:
            name = s.kind if s.kind == "rule" else s.detector
            kinds[name] = kinds.get(name, 0) + 1
        insufficient = ", ".join(f"{k} {v}/{result.judged[k]}" for k, v in sorted(result.insufficient.items()))
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
        print(f"\n{label}")
        print(f"  cube build (rows → 6 cubes)   {cube_s:7.2f} s")
        print(f"  scan_arrays                   {total - cube_s:7.2f} s   ({parts})")
        print(f"  TOTAL                         {total:7.2f} s   {'PASS' if total <= 10 else 'FAIL'} (target ≤ 10 s)")
        print(f"  signals: {kinds}; alarms before budget {result.alarms_before_budget}; insufficient: {insufficient}")
        print(f"  peak memory so far (ru_maxrss): {peak_mb():.0f} MB; load average {_load()}")


def db_scan(args) -> None:
    """run_scan on a fresh SQLite database with three years of bulk-inserted synthetic cases."""
    import tempfile

    os.environ["MINQING_DATA_DIR"] = tempfile.mkdtemp(prefix="alerts_bench_")
    os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    from minqing.alerts.scan import run_scan
    from minqing.cases.models import Case, Category
    from minqing.orgs.models import OrgUnit
    from minqing.orgs.selectors import default_county

    for step in (("migrate", "--noinput", "-v0"), ("orgs_load", "yiyang"), ("calendar_seed",)):
        call_command(*step)
    county = default_county()
    villages = list(OrgUnit.objects.filter(kind="village"))
    categories = list(Category.objects.filter(parent__isnull=False))
    rng = np.random.default_rng(args.seed)
    today = date(2025, 6, 30)
    first = today - timedelta(days=args.days - 1)
    n = int(args.cases_per_day * args.days)
    days = rng.integers(0, args.days, n)
    v = rng.integers(0, len(villages), n)
    c = rng.integers(0, len(categories), n)
    t = time.perf_counter()
    base = datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ)
    rows = [
        Case(
            reference=f"BENCH-{i:07d}",
            query_code="000000",
            channel="walk_in",
            title="道路破损",
            content="村口道路破损严重。",
            location_unit=villages[v[i]],
            location_path=villages[v[i]].path,
            category=categories[c[i]],
            submitted_at=base + timedelta(days=int(days[i]), hours=10),
            accepted_at=base + timedelta(days=int(days[i]) + 1, hours=10),
            state="closed",
        )
        for i in range(n)
    ]
    Case.objects.bulk_create(rows, batch_size=2000)
    print(f"# SQLite: {n:,} cases over {len(villages)} villages inserted in {time.perf_counter() - t:.1f} s")
    for label in ("first run", "second run (idempotent)"):
        summary = run_scan(today, county=county, config=ScanConfig())
        print(f"run_scan {label}: {summary.seconds:.2f} s  ({summary.line()})")
    print(f"peak memory (ru_maxrss): {peak_mb():.0f} MB; load average {_load()}")


if __name__ == "__main__":
    main()
