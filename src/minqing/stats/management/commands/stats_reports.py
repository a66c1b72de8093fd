"""`minqing stats reports`: make and push the reports of the periods that have just ended (idempotent)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from minqing.stats import reports, rollups


class Command(BaseCommand):
    help = "Generate the weekly, monthly and quarterly reports that are due and push them to managers once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="as if today were this date (YYYY-MM-DD)")
        parser.add_argument("--kinds", default="week,month,quarter")

    def handle(self, *args, **options) -> None:
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError("--date 格式应为 YYYY-MM-DD") from exc
        kinds = tuple(k for k in options["kinds"].split(",") if k in reports.KIND_LABELS)
        rollups.update()
        made = reports.generate_due_reports(today, kinds)
        self.stdout.write(f"stats reports: {len(made)} generated")
