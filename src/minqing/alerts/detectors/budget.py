"""False-alarm budget across all series.

Running thousands of series every day gives false alarms in proportion to their number. Two rules:

- ``"bh"`` (default): Benjamini–Hochberg across all series judged today, controlling the expected
  share of false alarms among the alarms (FDR) at ``q`` (default 0.05).
- ``"daily"``: a fixed daily budget — at most ``budget`` alarms a day, the smallest p-values first,
  each still below ``alpha``.

NaN p-values (insufficient data) are never rejected and do not count as tests.
"""

from __future__ import annotations

import numpy as np

from .base import ParameterError

DEFAULT_METHOD = "bh"
DEFAULT_Q = 0.05


def benjamini_hochberg(pvalues: np.ndarray, q: float = DEFAULT_Q) -> np.ndarray:
    """Boolean mask of rejected hypotheses (same shape as ``pvalues``) at FDR level ``q``."""
    if not 0 < q < 1:
        raise ParameterError("q must be in (0, 1)")
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    valid = np.flatnonzero(np.isfinite(flat))
    reject = np.zeros(flat.shape, dtype=bool)
    m = valid.size
    if m:
        order = valid[np.argsort(flat[valid], kind="stable")]
        below = flat[order] <= q * np.arange(1, m + 1) / m
        if below.any():
            k = np.flatnonzero(below).max()
            reject[order[: k + 1]] = True
    return reject.reshape(p.shape)


def daily_budget(pvalues: np.ndarray, budget: int = 10, alpha: float = 0.01) -> np.ndarray:
    """At most ``budget`` rejections, smallest p first, each with p <= alpha."""
    if budget < 0 or int(budget) != budget:
        raise ParameterError("budget must be a non-negative integer")
    if not 0 < alpha < 1:
        raise ParameterError("alpha must be in (0, 1)")
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    valid = np.flatnonzero(np.isfinite(flat) & (flat <= alpha))
    order = valid[np.argsort(flat[valid], kind="stable")][: int(budget)]
    reject = np.zeros(flat.shape, dtype=bool)
    reject[order] = True
    return reject.reshape(p.shape)


def apply_budget(pvalues: np.ndarray, method: str = DEFAULT_METHOD, **kwargs: float) -> np.ndarray:
    """Dispatch to ``benjamini_hochberg`` (method "bh") or ``daily_budget`` (method "daily")."""
    if method == "bh":
        return benjamini_hochberg(pvalues, **kwargs)
    if method == "daily":
        return daily_budget(pvalues, **kwargs)
    raise ParameterError("method must be 'bh' or 'daily'")
