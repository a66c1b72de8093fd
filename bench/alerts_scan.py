"""Benchmark the daily early-warning scan of a county (or a province).

    .venv/bin/python bench/alerts_scan.py                      # county: 400 areas × 40 categories × 3 years
    .venv/bin/python bench/alerts_scan.py --townships 2500     # province: 2,500 townships

Synthetic Poisson counts (areas × categories × days; area and category weights gamma-distributed) are
generated first (not timed). The timed scan is what the daily job does for "today":
EARS C1/C2/C3 over every day of every series; the Noufaily detector on weekly aggregates for the last
week of every series (b=2: three years of history leave two full baseline years); the space-time
permutation scan of the last 365 days (production's study period, ``ScanConfig.spacetime_days``) for
every category through ``scan.scan_spacetime_block`` with 999 Monte Carlo replicates, once with all
replicates drawn and once with sequential early stopping (Besag & Clifford, h=10: a category stops
once 10 replicates reach its observed maximum, which decides "no cluster at RI >= 100 days"), the
categories spread over ``--workers`` threads (default 2). Prints wall times and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from minqing.alerts.detectors import ears_all, noufaily
from minqing.alerts.scan import ScanConfig, scan_spacetime_block, signalled_clusters, spacetime_neighbours


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--townships", type=int, default=None, help="province mode: number of townships")
    ap.add_argument("--areas", type=int, default=400)
    ap.add_argument("--categories", type=int, default=40)
    ap.add_argument("--days", type=int, default=3 * 365)
    ap.add_argument("--cases-per-day", type=float, default=None, help="default 40 (county), 9,000 (province)")
    ap.add_argument("--study-days", type=int, default=ScanConfig().spacetime_days, help="default: production's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="threads for the category scans")
    args = ap.parse_args()
    areas = args.townships or args.areas
    per_day = args.cases_per_day or (9000.0 if args.townships else 40.0)
    n_cat, n_days = args.categories, args.days
    n_weeks = n_days // 7
    rng = np.random.default_rng(args.seed)

    t = time.perf_counter()
    area_w = rng.gamma(2.0, 1.0, areas)
    cat_w = rng.gamma(1.0, 1.0, n_cat)
    lam = per_day * np.outer(cat_w / cat_w.sum(), area_w / area_w.sum())  # (cat, area)
    counts = rng.poisson(lam[:, :, None], size=(n_cat, areas, n_days)).astype(np.int16)
    coords = rng.random((areas, 2)) * np.sqrt(areas)
    print(
        f"# {areas} areas × {n_cat} categories × {n_days} days = {areas * n_cat:,} series, "
        f"{int(counts.sum(dtype=np.int64)):,} cases; generated in {time.perf_counter() - t:.1f} s"
    )

    timings: dict[str, float] = {}
    t = time.perf_counter()
    ears_alarms = 0
    for start in range(0, n_cat, 10):  # 10 categories (4,000 series at county scale) per call
        y = counts[start : start + 10].reshape(-1, n_days).astype(float)
        for res_ears in ears_all(y).values():
            ears_alarms += int(res_ears.alarm[:, -1].sum())
    timings["ears (all days, all series)"] = time.perf_counter() - t

    t = time.perf_counter()
    weekly = counts[:, :, n_days - 7 * n_weeks :].reshape(n_cat * areas, n_weeks, 7).sum(axis=2, dtype=np.int32)
    res = noufaily(weekly.astype(float), b=2, alpha=0.01)
    timings["noufaily (last week, all series)"] = time.perf_counter() - t
    insufficient = float(res.insufficient.mean())

    base = ScanConfig(spacetime_days=args.study_days)
    neighbours = spacetime_neighbours(coords, base)
    for label, early in (("space-time scan, 999 replicates", None), ("space-time scan, early stop h=10", 10)):
        t = time.perf_counter()
        config = replace(base, early_stop=early)

        def scan(c: int, config: ScanConfig = config) -> tuple[bool, int]:
            block = counts[c, :, -config.spacetime_days :]
            r = scan_spacetime_block(block, coords, neighbours, config, seed=c)
            return bool(signalled_clusters(r, config)), 0 if r.replicate_max is None else r.replicate_max.size

        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(scan, range(n_cat)))
        timings[f"{label} ({n_cat} categories)"] = time.perf_counter() - t
        signals = sum(sig for sig, _ in results)
        print(f"# {label}: {signals} signals, {sum(d for _, d in results):,} replicates drawn")

    print(
        f"# EARS alarms today: {ears_alarms}; Noufaily alarms: {int(res.alarm.sum())}, "
        f"insufficient: {100 * insufficient:.1f}%"
    )
    for k, v in timings.items():
        print(f"{k:55s} {v:8.2f} s")
    full = sum(v for k, v in timings.items() if "early stop" not in k)
    fast = sum(v for k, v in timings.items() if "999 replicates" not in k)
    print(f"{'TOTAL (full 999 replicates)':55s} {full:8.2f} s")
    print(f"{'TOTAL (early stopping)':55s} {fast:8.2f} s")
    print(f"peak memory (ru_maxrss): {peak_mb():.0f} MB; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
