"""`minqing demo year`: about one year of synthetic Yiyang cases, through the real actions.

Safe to run again: when cases already exist it says so and does nothing (exit code 0), so
`scripts/dev.py start` can call it every time. `--force` adds a demo year on top of the
existing cases anyway (reference numbers simply continue). It always refuses in production.
"""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.demo.generator import DAYS, DEFAULT_CASES, DemoYearError, generate_demo_year

BAR_WIDTH = 30


class ProgressBar:
    """`[#####.....] 45% 5175/11500 cases, 12.3 s`: in place on a terminal, one line per 10% otherwise."""

    def __init__(self, stream, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.last_decile = -1
        self.last_width = 0

    def line(self, done: int, total: int, seconds: float) -> str:
        share = done / total if total else 1.0
        filled = int(share * BAR_WIDTH)
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} {done}/{total} cases, {seconds:.1f} s"

    def __call__(self, done: int, total: int, seconds: float) -> None:
        text = self.line(done, total, seconds)
        if self.tty:
            self.stream.write("\r" + text.ljust(self.last_width))
            self.last_width = len(text)
            if done >= total:
                self.stream.write("\n")
        else:
            decile = int(10 * done / total) if total else 10
            if decile > self.last_decile:
                self.last_decile = decile
                self.stream.write(text + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Generate about one year of synthetic demo cases for Yiyang, through the real case actions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cases", type=int, default=DEFAULT_CASES, help=f"number of cases (default {DEFAULT_CASES})"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--end-date", type=date.fromisoformat, default=None, help="last day of the year, YYYY-MM-DD (default today)"
        )
        parser.add_argument("--days", type=int, default=DAYS, help=f"length of the period in days (default {DAYS})")
        parser.add_argument("--force", action="store_true", help="add a demo year even when cases already exist")

    def handle(self, *args, **options) -> None:
        if options["cases"] < 1 or options["days"] < 1:
            raise CommandError("--cases and --days must be at least 1")
        stream = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        bar = ProgressBar(stream) if options["verbosity"] > 0 else None
        try:
            result = generate_demo_year(
                cases=options["cases"],
                seed=options["seed"],
                end_date=options["end_date"],
                days=options["days"],
                force=options["force"],
                progress=bar,
            )
        except DemoYearError as error:
            raise CommandError(str(error)) from error
        if result.skipped:
            self.stdout.write(result.message)
            return
        states = ", ".join(f"{state} {count}" for state, count in sorted(result.states.items(), key=lambda x: -x[1]))
        self.stdout.write(
            f"演示年度已生成 / demo year generated: {result.cases} cases, {result.events} events "
            f"in {result.seconds:.1f} s\n"
            f"  states: {states}\n"
            f"  closed {result.closed_share:.1%} (closed, declined or merged {result.done_share:.1%}); "
            f"rated {result.rated}, satisfied {result.satisfied_share:.1%}"
            + (f"; {result.step_errors} steps refused" if result.step_errors else "")
            + "\n  所有人名、电话、身份证号和村名均为虚构演示数据。 All people and village names are synthetic."
        )
