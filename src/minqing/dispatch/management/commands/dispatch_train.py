"""`minqing dispatch train`: train the category and unit classifiers from closed cases.

    minqing dispatch train [--min-cases 200] [--no-cv] [--if-enough]

Prints one JSON line (cases used, new versions, cross-validated figures). With too
few closed cases it stops with a clear message; `--if-enough` (used by the
scheduler) turns that into one log line and a normal exit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.dispatch.training import DEFAULT_MIN_CASES, TrainingRefused, train

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Train and activate the dispatch classifiers (category and lead unit) from the closed cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--min-cases", type=int, default=DEFAULT_MIN_CASES, help="refuse below this many cases")
        parser.add_argument("--no-cv", action="store_true", help="skip the cross-validated figures")
        parser.add_argument("--if-enough", action="store_true", help="too few cases: log and exit 0 (scheduler)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["min_cases"] < 2:
            raise CommandError("--min-cases must be at least 2")
        try:
            result = train(min_cases=options["min_cases"], with_cv=not options["no_cv"])
        except TrainingRefused as exc:
            if options["if_enough"]:
                logger.info("dispatch training skipped: %s", exc)
                return
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
