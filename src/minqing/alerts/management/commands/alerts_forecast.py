"""``minqing alerts_forecast --simulate``: evaluate the daily forecasts on simulated series.

Simulates NB daily counts with a weekly pattern, a trend, holiday dips and mild annual seasonality
(``minqing.alerts.forecast.simulate_daily``), then prints one JSON line per horizon (7 and 28 days)
with the rolling-origin evaluation of the NB GLM and the seasonal-naive baseline: coverage of the
80 % and 95 % intervals, MASE and RPS. Deterministic for a given seed.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from minqing.alerts.forecast import HORIZONS, rolling_origin_evaluation, simulate_daily


class Command(BaseCommand):
    help = "Evaluate the NB GLM forecasts against a seasonal-naive baseline on simulated daily series."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--simulate", action="store_true", help="evaluate on simulated series (required)")
        parser.add_argument("--series", type=int, default=200, help="township × category series")
        parser.add_argument("--days", type=int, default=3 * 365)
        parser.add_argument("--origins", type=int, default=8, help="forecast origins, a week apart")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options) -> None:
        if not options["simulate"]:
            raise CommandError("only --simulate is available: forecasts of live data come from the alerts scan")
        n, days, origins = options["series"], options["days"], options["origins"]
        if n < 1 or origins < 1:
            raise CommandError("--series and --origins must be at least 1")
        if days < 28 + max(HORIZONS) + 7 * (origins - 1):
            raise CommandError("--days is too short for these origins and a 28-day horizon")
        start = date(2022, 1, 1)
        counts, holidays = simulate_daily(n, days, start, np.random.default_rng(options["seed"]))
        for horizon in HORIZONS:
            row = rolling_origin_evaluation(counts, start, holidays, horizon=horizon, origins=origins)
            self.stdout.write(json.dumps(row, ensure_ascii=False))
