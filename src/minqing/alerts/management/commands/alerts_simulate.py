"""``minqing alerts simulate --replicates N --alpha A --seed S``: the detector validation harness.

Prints one JSON line per detector (noufaily, farrington, ears_c1, ears_c2, ears_c3, cusum,
spacetime_scan). Deterministic for a given seed. See minqing.alerts.simulation for the design.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from minqing.alerts.simulation import run_all


class Command(BaseCommand):
    help = "Simulate the Noufaily (2013) design and injected space-time clusters; print detector metrics."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--replicates", type=int, default=20, help="replicates per scenario (paper: 100)")
        parser.add_argument("--alpha", type=float, default=0.01, help="one-sided level of the GLM detectors")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--spacetime-replicates", type=int, default=None, help="injected clusters / null days (default N)"
        )

    def handle(self, *args, **options) -> None:
        n, alpha = options["replicates"], options["alpha"]
        if n < 1:
            raise CommandError("--replicates must be at least 1")
        if not 0 < alpha < 0.5:
            raise CommandError("--alpha must be in (0, 0.5)")
        for row in run_all(n, alpha, options["seed"], spacetime_replicates=options["spacetime_replicates"]):
            self.stdout.write(json.dumps(row, ensure_ascii=False))
