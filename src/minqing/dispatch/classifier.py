"""The text classifier behind dispatch suggestions (category, unit).

It knows nothing about cases: it learns labels from texts. Features are jieba word
TF-IDF plus character 1–3-gram TF-IDF; the model is a linear SVM (class weights
balanced) with sigmoid-calibrated probabilities, so a suggestion carries a
confidence and the words that drove it. Below 20,000 texts the SVM is solved
exactly (liblinear) and calibrated on 3-fold cross-validated scores; above, the
same objective is solved by SGD and calibrated on a held-out tenth, which keeps
100,000 cases within two minutes and 2 GB.

Texts are normalised (Excel `_x000D_` escapes, full-width forms, letters and digits
folded to one placeholder so place codes and phone numbers do not become topics) and
cut to the first `max_chars` characters: the title and the opening of the body say
what a message is about, and the cut bounds training time on a large history.

A model file is `MAGIC | header length | JSON header | pickle`. The header holds the
format version and an HMAC-SHA256 over header and payload keyed with SECRET_KEY; the
pickle is only opened after the HMAC matches, so a corrupt, foreign or tampered file
raises `ModelUnavailable` and never runs code.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAGIC = b"MINQING-TEXT-CLASSIFIER\n"
HMAC_SALT = "minqing.dispatch.classifier"
HEADER_LENGTH_BYTES = 4
LOW_CONFIDENCE_THRESHOLD = 0.4
MIN_CJK_CHARS = 2
REASONS_PER_SUGGESTION = 5
LARGE_TRAINING_SET = 20_000  # from here on: SGD instead of liblinear, holdout calibration
CALIBRATION_HOLDOUT = 0.1

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_OR_DIGITS = re.compile(r"[a-z0-9]+")
_jieba_lock = threading.Lock()
_jieba_ready = False


class ModelUnavailable(Exception):
    """The model file is missing, corrupt, signed with another key or of another version."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    label: str
    confidence: float
    reasons: list[str] = field(default_factory=list)
    low_confidence: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def case_text(title: str, body: str = "") -> str:
    """The text a case is classified on: title, then body."""
    return f"{title or ''}\n{body or ''}".strip()


def normalize_text(text: str, max_chars: int) -> str:
    """Clean and cut a text the same way for training and prediction."""
    text = unicodedata.normalize("NFKC", (text or "").replace("_x000D_", "\n")).lower()
    text = _LATIN_OR_DIGITS.sub("0", text)
    return " ".join(text.split())[:max_chars]


def count_cjk(text: str) -> int:
    return len(_CJK.findall(text or ""))


def _readable(term: str) -> bool:
    """A reason worth showing: two or more Chinese characters and nothing else."""
    return len(term) >= 2 and count_cjk(term) == len(term)


def _jieba():
    """jieba, initialised once and quietly from the dictionary it ships with."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def jieba_words(text: str) -> list[str]:
    """Word tokens (analyzer of the word vectorizer; module level so it pickles)."""
    return _jieba().lcut(text)


class TextClassifier:
    """Suggests labels for Chinese texts. Train with `fit`, then `predict_top_k`."""

    def __init__(
        self,
        *,
        c: float = 1.0,
        max_chars: int = 256,
        min_df: int = 2,
        calibration_folds: int = 3,
    ) -> None:
        self.c = c
        self.max_chars = max_chars
        self.min_df = min_df
        self.calibration_folds = calibration_folds
        self.labels: list[str] = []
        self.trained_at: str | None = None
        self.n_training_texts = 0
        self._words: TfidfVectorizer | None = None
        self._chars: TfidfVectorizer | None = None
        self._model: _CalibratedLinearModel | None = None
        self._feature_names: np.ndarray | None = None

    # --- training ---------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TextClassifier:
        """Learn from texts and their labels (at least two different labels)."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        labels = [str(label) for label in labels]
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two different labels")
        cleaned, labels = self._oversample_rare([self._clean(text) for text in texts], labels)
        if len(cleaned) < LARGE_TRAINING_SET:
            features = self._fit_features(cleaned)
            self._model = _CalibratedLinearModel.fit_cross_validated(
                features, labels, c=self.c, folds=self.calibration_folds
            )
        else:
            self._model = self._fit_large(cleaned, labels)
        self.labels = self._model.labels
        self.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.n_training_texts = len(texts)
        return self

    def _fit_large(self, cleaned: list[str], labels: list[str]) -> _CalibratedLinearModel:
        """Large histories: one SGD pass for the SVM, calibrated on a held-out tenth."""
        fit_rows, held_rows = _holdout_split(labels, CALIBRATION_HOLDOUT)
        features = self._fit_features([cleaned[i] for i in fit_rows])
        held_features = self._features([cleaned[i] for i in held_rows])
        return _CalibratedLinearModel.fit_with_holdout(
            features, [labels[i] for i in fit_rows], held_features, [labels[i] for i in held_rows], c=self.c
        )

    def _fit_features(self, cleaned: list[str]) -> sp.csr_matrix:
        min_df = self._min_df(len(cleaned))
        self._words = TfidfVectorizer(analyzer=jieba_words, sublinear_tf=True, min_df=min_df, dtype=np.float32)
        self._chars = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), lowercase=False, sublinear_tf=True, min_df=min_df, dtype=np.float32
        )
        words = self._words.fit_transform(cleaned)
        chars = self._chars.fit_transform(cleaned)
        self._feature_names = np.concatenate(
            [self._words.get_feature_names_out(), self._chars.get_feature_names_out()]
        ).astype(object)
        return sp.hstack([words, chars], format="csr")

    def _min_df(self, n_texts: int) -> int:
        # A term seen in one text of a small set still matters; on a large one it is noise.
        return self.min_df if n_texts >= 20 * self.min_df else 1

    def _oversample_rare(self, texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
        """Repeat the texts of labels rarer than the calibration folds so every fold sees each label."""
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        extra_texts, extra_labels = [], []
        for text, label in zip(texts, labels, strict=True):
            repeats = -(-self.calibration_folds // counts[label]) - 1 if counts[label] < self.calibration_folds else 0
            extra_texts += [text] * repeats
            extra_labels += [label] * repeats
        return texts + extra_texts, labels + extra_labels

    # --- prediction -------------------------------------------------------
    @property
    def is_trained(self) -> bool:
        return self._model is not None

    def _clean(self, text: str) -> str:
        return normalize_text(text, self.max_chars)

    def _vectorize(self, cleaned: Sequence[str]) -> sp.csr_matrix:
        if not self.is_trained:
            raise ModelUnavailable("the classifier has not been trained")
        return self._features(cleaned)

    def _features(self, cleaned: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self._words.transform(cleaned), self._chars.transform(cleaned)], format="csr")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per label in `self.labels` order."""
        return self._model.probabilities(self._vectorize([self._clean(text) for text in texts]))

    def predict_top_k(self, text: str, k: int = 3) -> list[Suggestion]:
        """The k most likely labels, most likely first, with confidence and reasons.

        Empty, non-Chinese or unfamiliar text gives suggestions flagged `low_confidence`.
        """
        cleaned = self._clean(text)
        features = self._vectorize([cleaned])
        probabilities = self._model.probabilities(features)[0]
        weak_input = count_cjk(cleaned) < MIN_CJK_CHARS or features.nnz == 0
        order = np.argsort(-probabilities, kind="stable")[: max(k, 0)]
        return [
            Suggestion(
                label=self.labels[index],
                confidence=round(float(probabilities[index]), 4),
                reasons=[] if weak_input else self._reasons(features, int(index)),
                low_confidence=bool(weak_input or probabilities[index] < LOW_CONFIDENCE_THRESHOLD),
            )
            for index in order
        ]

    def _reasons(self, features: sp.csr_matrix, label_index: int) -> list[str]:
        """Readable words and n-grams with the largest positive weight × tf-idf for the label."""
        contributions = features.data * self._model.coef[label_index, features.indices]
        chosen: list[str] = []
        for position in np.argsort(-contributions, kind="stable"):
            if contributions[position] <= 0 or len(chosen) == REASONS_PER_SUGGESTION:
                break
            term = str(self._feature_names[features.indices[position]]).strip()
            if _readable(term) and not any(term in other or other in term for other in chosen):
                chosen.append(term)
        return chosen

    # --- storage ----------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, secret: str | None = None) -> Path:
        """Write the model atomically, signed with `secret` (default settings.SECRET_KEY)."""
        if not self.is_trained:
            raise ValueError("cannot save an untrained classifier")
        payload = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        header = {
            "format": FORMAT_VERSION,
            "sklearn": sklearn.__version__,
            "labels": self.labels,
            "trained_at": self.trained_at,
            "n_training_texts": self.n_training_texts,
        }
        header["hmac"] = _signature(_canonical(header), payload, secret)
        header_bytes = _canonical(header)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        length = len(header_bytes).to_bytes(HEADER_LENGTH_BYTES, "big")
        _write_atomically(target, MAGIC + length + header_bytes + payload)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, secret: str | None = None) -> TextClassifier:
        """Read a model written by `save`; anything wrong raises `ModelUnavailable`."""
        _header, payload = _read_signed(Path(path), secret)
        try:
            model = pickle.loads(payload)  # the HMAC matched: this file was written by `save`
        except Exception as exc:
            raise ModelUnavailable(f"{path}: the model could not be unpickled ({exc})") from exc
        if not isinstance(model, cls) or not model.is_trained:
            raise ModelUnavailable(f"{path}: the file does not hold a trained classifier")
        return model


@dataclass(slots=True)
class _CalibratedLinearModel:
    """A linear SVM (one-vs-rest) with per-label sigmoid calibration, kept as plain arrays.

    Trained through scikit-learn's CalibratedClassifierCV (calibration on cross-validated
    decision values, final SVM on all texts), then reduced to float32 weights so that a
    single prediction is one sparse dot product and the file stays small.
    """

    labels: list[str]
    coef: np.ndarray  # labels × features (the weights behind reasons)
    intercept: np.ndarray
    slopes: np.ndarray  # sigmoid calibration: p = 1 / (1 + exp(slope * decision + offset))
    offsets: np.ndarray

    @classmethod
    def fit_cross_validated(
        cls, features: sp.csr_matrix, labels: list[str], *, c: float, folds: int
    ) -> _CalibratedLinearModel:
        """LinearSVC on all texts; sigmoids fitted on cross-validated decision values."""
        svm = LinearSVC(C=c, class_weight="balanced")
        return cls._reduce(
            CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False).fit(features, labels)
        )

    @classmethod
    def fit_with_holdout(
        cls,
        features: sp.csr_matrix,
        labels: list[str],
        held_features: sp.csr_matrix,
        held_labels: list[str],
        *,
        c: float,
    ) -> _CalibratedLinearModel:
        """The same hinge objective (alpha = 1 / (C·n)) by SGD; sigmoids fitted on held-out texts."""
        svm = SGDClassifier(
            loss="hinge", alpha=1.0 / (c * features.shape[0]), class_weight="balanced", tol=1e-3, max_iter=50,
            random_state=0,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(features, labels)
        return cls._reduce(
            CalibratedClassifierCV(FrozenEstimator(svm), method="sigmoid").fit(held_features, held_labels)
        )

    @classmethod
    def _reduce(cls, calibrated: CalibratedClassifierCV) -> _CalibratedLinearModel:
        (fitted,) = calibrated.calibrated_classifiers_
        coef, intercept = fitted.estimator.coef_, np.ravel(fitted.estimator.intercept_)
        if coef.shape[0] == 1:  # binary: sklearn keeps the positive label's row only
            coef, intercept = np.vstack([-coef[0], coef[0]]), np.array([-intercept[0], intercept[0]])
        return cls(
            labels=[str(label) for label in calibrated.classes_],
            coef=np.ascontiguousarray(coef, dtype=np.float32),
            intercept=intercept.astype(np.float64),
            slopes=np.array([calibrator.a_ for calibrator in fitted.calibrators], dtype=np.float64),
            offsets=np.array([calibrator.b_ for calibrator in fitted.calibrators], dtype=np.float64),
        )

    def probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        decisions = np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept
        if len(self.labels) == 2:
            positive = _sigmoid(self.slopes[0] * decisions[:, 1] + self.offsets[0])
            return np.column_stack([1.0 - positive, positive])
        scores = _sigmoid(self.slopes * decisions + self.offsets)
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / len(self.labels))
        return np.divide(scores, totals, out=uniform, where=totals > 0)


def _holdout_split(labels: list[str], fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Row numbers to fit on and to hold out, holding out at least one row of every label."""
    rows_by_label: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        rows_by_label.setdefault(label, []).append(row)
    rng = np.random.default_rng(seed)
    fit_rows, held_rows = [], []
    for rows in rows_by_label.values():
        shuffled = rng.permutation(rows).tolist()
        cut = max(1, round(len(rows) * fraction))
        held_rows += shuffled[:cut]
        fit_rows += shuffled[cut:]
    return sorted(fit_rows), sorted(held_rows)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(values)), as sklearn's sigmoid calibration computes it."""
    return 1.0 / (1.0 + np.exp(np.clip(values, -500, 500)))


def read_header(path: str | os.PathLike[str], *, secret: str | None = None) -> dict[str, Any]:
    """The verified header of a model file (labels, training time) without unpickling it."""
    return _read_signed(Path(path), secret)[0]


_unavailable_logged: set[tuple[str, str]] = set()


def load_or_none(path: str | os.PathLike[str], *, secret: str | None = None) -> TextClassifier | None:
    """The classifier, or None (callers fall back to routing rules); logs each failure once."""
    try:
        return TextClassifier.load(path, secret=secret)
    except ModelUnavailable as exc:
        key = (str(path), str(exc))
        if key not in _unavailable_logged:
            _unavailable_logged.add(key)
            logger.warning("dispatch classifier unavailable, using routing rules: %s", exc)
        return None


def _canonical(header: dict[str, Any]) -> bytes:
    return json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _signature(header_bytes: bytes, payload: bytes, secret: str | None) -> str:
    from django.utils.crypto import salted_hmac

    if secret is None:
        from django.conf import settings

        secret = settings.SECRET_KEY
    return salted_hmac(HMAC_SALT, header_bytes + payload, secret=secret, algorithm="sha256").hexdigest()


def _read_signed(path: Path, secret: str | None) -> tuple[dict[str, Any], bytes]:
    import hmac

    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"{path}: cannot read the model file ({exc.strerror or exc})") from exc
    if not blob.startswith(MAGIC):
        raise ModelUnavailable(f"{path}: not a Minqing classifier file")
    header, payload = _split(blob, path)
    if header.get("format") != FORMAT_VERSION:
        raise ModelUnavailable(f"{path}: model format {header.get('format')!r}, this version reads {FORMAT_VERSION}")
    claimed = str(header.pop("hmac", ""))
    if not hmac.compare_digest(claimed, _signature(_canonical(header), payload, secret)):
        raise ModelUnavailable(f"{path}: checksum mismatch (file corrupt, or signed with another SECRET_KEY)")
    if _minor(header.get("sklearn", "")) != _minor(sklearn.__version__):
        raise ModelUnavailable(
            f"{path}: trained with scikit-learn {header.get('sklearn')}, running {sklearn.__version__}; retrain it"
        )
    return header, payload


def _split(blob: bytes, path: Path) -> tuple[dict[str, Any], bytes]:
    start = len(MAGIC) + HEADER_LENGTH_BYTES
    length = int.from_bytes(blob[len(MAGIC) : start], "big")
    try:
        header = json.loads(blob[start : start + length].decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelUnavailable(f"{path}: corrupt model header") from exc
    if not isinstance(header, dict):
        raise ModelUnavailable(f"{path}: corrupt model header")
    return header, blob[start + length :]


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _write_atomically(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
