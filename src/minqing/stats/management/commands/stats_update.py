"""`minqing stats update`: fold new case events into the daily rollups and the search index."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from minqing.stats import rollups


class Command(BaseCommand):
    help = "Bring the statistics rollups and the search index up to date (idempotent; run every few minutes)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=rollups.BATCH_SIZE)

    def handle(self, *args, batch_size: int, **options) -> None:
        processed = rollups.update(batch_size=batch_size)
        self.stdout.write(f"stats update: {processed} events processed")
