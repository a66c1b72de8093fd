"""The original Farrington et al. (1996) algorithm.

Reference values: the b=5 past years' windows of 2w+1=7 weeks around the current week (35 values), no
seasonal factor; a trend kept under the usual conditions; reweighting with Anscombe residuals above 1;
a one-sided (1 - alpha) bound from the 2/3-power transformation (the "delta" method); and the
5-cases-in-4-weeks rule. Runs on the same engine as the Noufaily detector, and agrees with R's
surveillance 1.20.3 ``farringtonFlexible(control = list(noPeriods = 1, weightsThreshold = 1,
thresholdMethod = "delta", ...))`` to about 1e-9 (bench/alerts_r_compare.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import DetectorResult
from .noufaily import farrington_flexible


def farrington(
    counts: np.ndarray,
    evaluate: Sequence[int] | np.ndarray | None = None,
    *,
    b: int = 5,
    w: int = 3,
    alpha: float = 0.01,
    **kwargs,
) -> DetectorResult:
    """Original Farrington (1996): noPeriods=1, weightsThreshold=1, 2/3-power threshold."""
    params = {
        "no_periods": 1,
        "past_weeks_not_included": None,
        "weights_threshold": 1.0,
        "threshold_method": "delta",
    }
    params.update(kwargs)
    return farrington_flexible(counts, evaluate, b=b, w=w, alpha=alpha, **params)
