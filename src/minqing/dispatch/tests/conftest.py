"""Dispatch test fixtures: the 457 labelled public messages, and a model trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.model_selection import train_test_split

from minqing.dispatch.classifier import TextClassifier
from minqing.dispatch.evaluation import LabelledCase, read_labelled_csv

REPO_ROOT = Path(__file__).resolve().parents[4]  # tests < dispatch < minqing < src < repo
LABELLED_457 = REPO_ROOT.parent / "shared" / "data" / "public_messages_labelled_457.csv"


@pytest.fixture(scope="session")
def labelled_rows() -> list[LabelledCase]:
    if not LABELLED_457.exists():
        pytest.fail(f"{LABELLED_457} is missing: tests expect ../shared beside the repository")
    return read_labelled_csv(LABELLED_457)


@pytest.fixture(scope="session")
def split_rows(labelled_rows) -> tuple[list[LabelledCase], list[LabelledCase]]:
    """One fixed stratified split: three quarters to train, one quarter held out."""
    labels = [row.category for row in labelled_rows]
    train, test = train_test_split(labelled_rows, test_size=0.25, stratify=labels, random_state=0)
    return list(train), list(test)


@pytest.fixture(scope="session")
def trained(split_rows) -> TextClassifier:
    train, _ = split_rows
    return TextClassifier().fit([row.text for row in train], [row.category for row in train])


@pytest.fixture(scope="session")
def tiny_models():
    """A category and a unit classifier on synthetic texts, trained once per session."""
    from minqing.dispatch.tests.factories import train_tiny

    return train_tiny()


@pytest.fixture
def models_dir(settings, tmp_path):
    from minqing.dispatch.suggest import clear_model_cache

    settings.MINQING_MODELS_DIR = tmp_path / "models"
    clear_model_cache()
    yield settings.MINQING_MODELS_DIR
    clear_model_cache()


@pytest.fixture
def active_models(yiyang, models_dir, tiny_models):
    from minqing.dispatch.tests.factories import install_models

    install_models(models_dir, *tiny_models)
    return models_dir


@pytest.fixture(autouse=True)
def _fresh_dispatch_caches():
    """Cached lookups hold row ids; a rolled-back test database may give the same rows new ids."""
    from minqing.dispatch.related import clear_text_cache
    from minqing.dispatch.suggest import clear_model_cache

    clear_model_cache()
    clear_text_cache()
    yield
    clear_model_cache()
    clear_text_cache()
