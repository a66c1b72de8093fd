"""`minqing dispatch evaluate`: measure the dispatch classifier on labelled CSV files.

    minqing dispatch evaluate --train TRAIN.csv --test TEST.csv
    minqing dispatch evaluate --train ALL.csv --cv 5 [--seed 0]

Prints one JSON line: n_train, n_test, accuracy, macro_f1, top3_recall,
ms_per_prediction, p95_ms (and folds, seed in cross-validation).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.dispatch.evaluation import EvaluationInputError, cross_validate, evaluate_split, read_labelled_csv


class Command(BaseCommand):
    help = "Train the dispatch classifier on a labelled CSV and report accuracy, macro-F1, top-3 recall and latency."
    # Works on files only: no database, so no system or migration checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", required=True, help="CSV with columns id,title,body,category")
        parser.add_argument("--test", help="CSV to predict (same columns)")
        parser.add_argument("--cv", type=int, metavar="N", help="N-fold cross-validation on --train instead of --test")
        parser.add_argument("--seed", type=int, default=0, help="seed for the cross-validation folds (default 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["test"] and options["cv"] is not None:
            raise CommandError("give either --test or --cv, not both")
        if not options["test"] and options["cv"] is None:
            raise CommandError("give --test TEST.csv, or --cv N to cross-validate on --train")
        try:
            result = self._evaluate(options)
        except EvaluationInputError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _evaluate(self, options: dict[str, Any]) -> dict[str, Any]:
        train = read_labelled_csv(options["train"])
        if options["cv"] is not None:
            return cross_validate(train, folds=options["cv"], seed=options["seed"])
        return evaluate_split(train, read_labelled_csv(options["test"]))
