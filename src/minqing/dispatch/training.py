"""Train the dispatch classifiers from the installation's own closed cases.

`train` reads closed cases with a category and a lead unit (text = title + content),
fits one classifier for the category ("level1/level2") and one for the lead unit
(its code), writes them as versioned files under DATA_DIR/models/, records a
`ClassifierVersion` row for each and makes them the active ones. Too few cases, or
only one label, is refused with a message saying how many there are.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from minqing.cases.models import Case, CaseState
from minqing.dispatch.classifier import TextClassifier, case_text
from minqing.dispatch.evaluation import EvaluationInputError, LabelledCase, cross_validate
from minqing.dispatch.models import ClassifierVersion
from minqing.dispatch.suggest import clear_model_cache, models_dir

logger = logging.getLogger(__name__)

DEFAULT_MIN_CASES = 200
CV_FOLDS = 3
CV_MAX_CASES = 3000  # cross-validation figures only while they are cheap
MAX_TRAINING_CASES = 100_000  # the newest closed cases


class TrainingRefused(Exception):
    """Training cannot run on this data; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class TrainingRow:
    text: str
    category: str
    unit: str


@dataclass(slots=True)
class TrainingResult:
    n_cases: int
    versions: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"n_cases": self.n_cases, "versions": self.versions, "metrics": self.metrics, "seconds": self.seconds}


def training_rows(limit: int = MAX_TRAINING_CASES) -> list[TrainingRow]:
    """The newest closed cases that have a level-2 category and a lead unit."""
    cases = (
        Case.objects.filter(
            state=CaseState.CLOSED, category__isnull=False, category__parent__isnull=False, lead_unit__isnull=False
        )
        .order_by("-closed_at", "-id")
        .values_list("title", "content", "category__parent__name", "category__name", "lead_unit__code")[:limit]
    )
    return [
        TrainingRow(case_text(title, content), f"{level1}/{level2}", unit)
        for title, content, level1, level2, unit in cases
    ]


def train(*, min_cases: int = DEFAULT_MIN_CASES, with_cv: bool = True) -> TrainingResult:
    """Train, save and activate both classifiers; raise TrainingRefused when the data cannot."""
    started = time.monotonic()
    rows = training_rows()
    _check_enough(rows, min_cases)
    result = TrainingResult(n_cases=len(rows))
    texts = [row.text for row in rows]
    fitted = {}
    for target, labels in (
        (ClassifierVersion.Target.CATEGORY, [row.category for row in rows]),
        (ClassifierVersion.Target.UNIT, [row.unit for row in rows]),
    ):
        fitted[target] = (TextClassifier().fit(texts, labels), _metrics(texts, labels) if with_cv else {})
    result.versions = _save_and_activate(fitted, len(rows))
    result.metrics = {target: metrics for target, (_, metrics) in fitted.items()}
    result.seconds = round(time.monotonic() - started, 2)
    logger.info("dispatch classifiers trained on %s cases: %s", len(rows), result.versions)
    return result


def _check_enough(rows: list[TrainingRow], min_cases: int) -> None:
    if len(rows) < min_cases:
        raise TrainingRefused(
            f"只有 {len(rows)} 件已办结且有分类和主办单位的案件，至少需要 {min_cases} 件才能训练"
            f"（only {len(rows)} closed cases with a category and lead unit; at least {min_cases} needed）"
        )
    for name, labels in (("分类", [r.category for r in rows]), ("主办单位", [r.unit for r in rows])):
        if len(set(labels)) < 2:
            raise TrainingRefused(f"已办结案件的{name}只有一种，无法训练（need at least two different labels）")


def _metrics(texts: list[str], labels: list[str]) -> dict[str, Any]:
    """3-fold cross-validated accuracy, macro-F1 and top-3 recall, while that is cheap."""
    if len(texts) > CV_MAX_CASES:
        return {}
    rows = [LabelledCase(str(i), text, "", label) for i, (text, label) in enumerate(zip(texts, labels, strict=True))]
    try:
        figures = cross_validate(rows, folds=CV_FOLDS)
    except EvaluationInputError:
        return {}
    return {key: figures[key] for key in ("accuracy", "macro_f1", "top3_recall", "folds")}


def _save_and_activate(fitted: dict[str, tuple[TextClassifier, dict]], n_cases: int) -> dict[str, int]:
    directory = models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    versions: dict[str, int] = {}
    with transaction.atomic():
        # Lock the newest row so two trainings at once cannot take the same number.
        list(ClassifierVersion.objects.select_for_update().order_by("-version")[:1])
        next_version = (ClassifierVersion.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        for target, (model, metrics) in fitted.items():
            name = f"{target}-v{next_version}.model"
            model.save(directory / name)
            ClassifierVersion.objects.filter(target=target, active=True).update(active=False)
            ClassifierVersion.objects.create(
                version=next_version,
                target=target,
                path=name,
                trained_at=timezone.now(),
                n_training=n_cases,
                metrics=metrics,
                active=True,
            )
            versions[target] = next_version
            next_version += 1
    clear_model_cache()
    return versions
