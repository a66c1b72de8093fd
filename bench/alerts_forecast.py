"""Benchmark and evaluate the daily forecasts (7 and 28 days, 80 % and 95 % intervals).

    .venv/bin/python bench/alerts_forecast.py [--series 2000] [--days 1095] [--origins 12] [--seed 1]

Simulated NB daily series per township × category (weekly pattern, trend, holiday dips, mild annual
seasonality; ``minqing.alerts.forecast.simulate_daily``). Prints the rolling-origin evaluation of the
NB GLM and of the seasonal-naive baseline (coverage, MASE, RPS), the time of one forecast of every
series for both horizons, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from minqing.alerts.forecast import HORIZONS, forecast, rolling_origin_evaluation, simulate_daily


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--days", type=int, default=3 * 365)
    ap.add_argument("--origins", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    start = date(2022, 1, 1)
    t = time.perf_counter()
    counts, holidays = simulate_daily(args.series, args.days, start, np.random.default_rng(args.seed))
    took = time.perf_counter() - t
    print(f"# {args.series:,} series × {args.days} days, {int(counts.sum()):,} cases; simulated in {took:.1f} s")
    for horizon in HORIZONS:
        t = time.perf_counter()
        fc = forecast(counts, start, horizon, holidays)
        took = time.perf_counter() - t
        ok = ~fc.insufficient
        nested = bool(np.all((fc.lower95[ok] <= fc.lower80[ok]) & (fc.upper80[ok] <= fc.upper95[ok])))
        print(
            f"# forecast of every series, {horizon} days: {took:.2f} s; intervals nested: {nested}; "
            f"insufficient data: {int(fc.insufficient.sum())} series"
        )
    for horizon in HORIZONS:
        t = time.perf_counter()
        row = rolling_origin_evaluation(counts, start, holidays, horizon=horizon, origins=args.origins)
        print(json.dumps(row))
        print(f"# rolling origin, {horizon} days: {time.perf_counter() - t:.1f} s")
    print(f"peak memory (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
