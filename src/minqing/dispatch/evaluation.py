"""Measure the dispatch classifier on labelled CSV files (`minqing dispatch evaluate`).

A labelled file has the columns id,title,body,category (UTF-8, with or without BOM;
other columns are ignored). `evaluate_split` trains on one list and predicts another;
`cross_validate` reports stratified k-fold figures averaged over the folds.
"""

from __future__ import annotations

import csv
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from minqing.dispatch.classifier import TextClassifier, case_text

REQUIRED_COLUMNS = ("id", "title", "body", "category")
TOP_K = 3


class EvaluationInputError(ValueError):
    """The evaluation input cannot be used; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class LabelledCase:
    id: str
    title: str
    body: str
    category: str

    @property
    def text(self) -> str:
        return case_text(self.title, self.body)


def read_labelled_csv(path: str | os.PathLike[str]) -> list[LabelledCase]:
    """Read id,title,body,category rows; raise EvaluationInputError with a clear message."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return _parse_rows(path, csv.DictReader(stream))
    except FileNotFoundError as exc:
        raise EvaluationInputError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from exc
    except csv.Error as exc:
        raise EvaluationInputError(f"{path}: malformed CSV ({exc})") from exc
    except OSError as exc:
        raise EvaluationInputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _parse_rows(path: Path, reader: csv.DictReader) -> list[LabelledCase]:
    if not reader.fieldnames:
        raise EvaluationInputError(f"{path}: the file is empty (expected a header row: {','.join(REQUIRED_COLUMNS)})")
    found = [name.strip() for name in reader.fieldnames if name]
    missing = [column for column in REQUIRED_COLUMNS if column not in found]
    if missing:
        raise EvaluationInputError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(found) or 'none'}; "
            f"required: {','.join(REQUIRED_COLUMNS)})"
        )
    cases, unlabelled = [], []
    for line, row in enumerate(reader, start=2):
        row = {(key or "").strip(): value if isinstance(value, str) else "" for key, value in row.items()}
        if not row["category"].strip():
            unlabelled.append(line)
            continue
        cases.append(LabelledCase(row["id"].strip(), row["title"], row["body"], row["category"].strip()))
    if unlabelled:
        shown = ", ".join(map(str, unlabelled[:5])) + (" …" if len(unlabelled) > 5 else "")
        raise EvaluationInputError(f"{path}: empty category on line(s) {shown}")
    if not cases:
        raise EvaluationInputError(f"{path}: no data rows after the header")
    return cases


ClassifierFactory = Callable[[], TextClassifier]


def evaluate_split(
    train: Sequence[LabelledCase],
    test: Sequence[LabelledCase],
    *,
    classifier_factory: ClassifierFactory = TextClassifier,
) -> dict[str, Any]:
    """Train on `train`, predict `test` one text at a time, and report the figures."""
    if not test:
        raise EvaluationInputError("the test set is empty")
    classifier = _train(train, classifier_factory)
    truth, predicted, in_top, latencies = _predict_each(classifier, test)
    return {
        "n_train": len(train),
        "n_test": len(test),
        **_scores(truth, predicted, in_top),
        **_latency(latencies),
    }


def cross_validate(
    rows: Sequence[LabelledCase],
    folds: int = 5,
    seed: int = 0,
    *,
    classifier_factory: ClassifierFactory = TextClassifier,
) -> dict[str, Any]:
    """Stratified k-fold figures, averaged over folds. Latency is pooled over all predictions.

    n_train and n_test count the rows used (each row is predicted once, by the fold
    that did not train on it). A label rarer than `folds` is kept; the folds without
    it in training simply cannot predict it.
    """
    if folds < 2:
        raise EvaluationInputError("--cv needs at least 2 folds")
    if folds > len(rows):
        raise EvaluationInputError(f"--cv {folds} needs at least {folds} rows, the file has {len(rows)}")
    per_fold, latencies = [], []
    for train, test in _stratified_folds(rows, folds, seed):
        classifier = _train(train, classifier_factory)
        truth, predicted, in_top, fold_latencies = _predict_each(classifier, test)
        per_fold.append(_scores(truth, predicted, in_top))
        latencies += fold_latencies
    averaged = {key: round(float(np.mean([fold[key] for fold in per_fold])), 4) for key in per_fold[0]}
    return {"n_train": len(rows), "n_test": len(rows), **averaged, **_latency(latencies), "folds": folds, "seed": seed}


def _stratified_folds(
    rows: Sequence[LabelledCase], folds: int, seed: int
) -> list[tuple[list[LabelledCase], list[LabelledCase]]]:
    labels = [row.category for row in rows]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(np.zeros(len(rows)), labels))
    return [([rows[i] for i in train], [rows[i] for i in test]) for train, test in splits]


def _train(train: Sequence[LabelledCase], classifier_factory: ClassifierFactory) -> TextClassifier:
    try:
        return classifier_factory().fit([row.text for row in train], [row.category for row in train])
    except ValueError as exc:
        raise EvaluationInputError(f"cannot train on these rows: {exc}") from exc


def _predict_each(
    classifier: TextClassifier, test: Sequence[LabelledCase]
) -> tuple[list[str], list[str], list[bool], list[float]]:
    truth, predicted, in_top, latencies = [], [], [], []
    for row in test:
        started = time.perf_counter()
        suggestions = classifier.predict_top_k(row.text, k=TOP_K)
        latencies.append((time.perf_counter() - started) * 1000)
        truth.append(row.category)
        predicted.append(suggestions[0].label)
        in_top.append(row.category in {suggestion.label for suggestion in suggestions})
    return truth, predicted, in_top, latencies


def _scores(truth: list[str], predicted: list[str], in_top: list[bool]) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "top3_recall": round(float(np.mean(in_top)), 4),
    }


def _latency(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"ms_per_prediction": round(float(np.mean(ordered)), 3), "p95_ms": round(float(p95), 3)}
