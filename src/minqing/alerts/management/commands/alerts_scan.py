"""`minqing alerts scan [--date YYYY-MM-DD]`: the daily early-warning scan (idempotent)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.alerts.scan import ScanConfig, run_scan
from minqing.orgs.models import OrgUnit, UnitKind


class Command(BaseCommand):
    help = "预警扫描：规则、统计检测、时空聚集、重复信访、集体访、风险词、多次不满意（可重复运行）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="scan day, YYYY-MM-DD (default: today, local time)")
        parser.add_argument("--county", help="county code (default: MINQING_COUNTY_CODE; 'all' for every county)")
        parser.add_argument("--replicates", type=int, default=999, help="space-time scan Monte Carlo replicates")
        parser.add_argument(
            "--early-stop", type=int, default=10, help="sequential Monte Carlo: stop after h exceedances (0: off)"
        )
        parser.add_argument("--no-spacetime", action="store_true", help="skip the space-time scan")

    def handle(self, *args, **options) -> None:
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError("--date must be YYYY-MM-DD") from exc
        config = ScanConfig(
            replicates=options["replicates"],
            early_stop=options["early_stop"] or None,
            spacetime=not options["no_spacetime"],
        )
        for county in self._counties(options["county"]):
            try:
                summary = run_scan(day, county=county, config=config)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(summary.line())

    def _counties(self, code: str | None) -> list:
        if code == "all":
            return list(OrgUnit.objects.filter(kind=UnitKind.COUNTY, active=True))
        if code:
            county = OrgUnit.objects.filter(kind=UnitKind.COUNTY, code=code).first()
            if county is None:
                raise CommandError(f"no county with code {code}")
            return [county]
        return [None]
