"""Shared result type for the detectors.

Every detector returns a :class:`DetectorResult` of 2-D arrays shaped (series, time points evaluated).
A cell the detector cannot judge carries ``insufficient=True``: its ``alarm`` is always False and its
``statistic``, ``upper`` and ``pvalue`` are NaN. :data:`INSUFFICIENT_DATA` is the status string used
for such cells (see ``DetectorResult.status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSUFFICIENT_DATA = "insufficient_data"
ALARM = "alarm"
NO_ALARM = "ok"


class ParameterError(ValueError):
    """A detector or rule was given parameters it cannot work with (e.g. a negative window)."""


@dataclass
class DetectorResult:
    """Per-series, per-time-point output of a detector.

    statistic: the detector's score (z-like for EARS, observed count for the GLM detectors, the CUSUM sum).
    upper: the alarm threshold on the count scale (NaN when the detector has none).
    alarm: True where the detector signals (never where insufficient).
    insufficient: True where the history is too short, all zero, or the model cannot be fitted.
    pvalue: one-sided upper-tail p-value of the observation under the baseline (NaN if unavailable).
    """

    statistic: np.ndarray
    upper: np.ndarray
    alarm: np.ndarray
    insufficient: np.ndarray
    pvalue: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def status(self) -> np.ndarray:
        """Array of ``"alarm"``, ``"ok"`` or ``INSUFFICIENT_DATA`` strings, same shape as ``alarm``."""
        out = np.full(self.alarm.shape, NO_ALARM, dtype=object)
        out[self.alarm] = ALARM
        out[self.insufficient] = INSUFFICIENT_DATA
        return out


def as_2d_counts(counts: np.ndarray) -> np.ndarray:
    """Return counts as a float 2-D (series, time) array; a 1-D series becomes one row."""
    arr = np.asarray(counts, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ParameterError("counts must be a 1-D series or a 2-D (series, time) array")
    if np.any(arr[np.isfinite(arr)] < 0):
        raise ParameterError("counts must be non-negative")
    return arr
