"""`minqing stats rebuild`: empty the rollups and the search index and replay every case event."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from minqing.stats import rollups


class Command(BaseCommand):
    help = "Rebuild the statistics rollups and the search index from the case events (in chunks)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=20000)

    def handle(self, *args, batch_size: int, **options) -> None:
        started = time.perf_counter()

        def progress(done: int) -> None:
            self.stderr.write(f"  {done} events replayed ({time.perf_counter() - started:.0f} s)")

        processed = rollups.rebuild(batch_size=batch_size, progress=progress if options["verbosity"] > 1 else None)
        self.stdout.write(f"stats rebuild: {processed} events replayed in {time.perf_counter() - started:.1f} s")
