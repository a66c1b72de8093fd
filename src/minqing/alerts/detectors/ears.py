"""EARS C1, C2 and C3 (CDC Early Aberration Reporting System), vectorised over (series, time).

- C1: baseline = the 7 time points before t; C1_t = (y_t - mean) / max(sd, min_sigma).
- C2: the same with a 2-point guard band: baseline = t-9 .. t-3.
- C3: sum over t-2 .. t of max(0, C2 - 1).
Alarms: C1 > 3, C2 > 3, C3 > 2 (the CDC thresholds), or ``threshold`` if given.
The sample SD uses ddof=1, as the CDC and the R package surveillance (``earsC``) do.
``min_sigma`` floors the SD so a flat baseline (e.g. all zeros) does not give division by zero or
alarms on a single case; the default 0.5 means one case over a zero baseline scores 2, not infinity.

Insufficient data: a time point with fewer than the needed baseline points (7 for C1, 9 for C2,
11 for C3), or where the series is all zero up to and including that point.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from .base import DetectorResult, ParameterError, as_2d_counts

BASELINE = 7
GUARD = {"C1": 0, "C2": 2, "C3": 2}
DEFAULT_THRESHOLD = {"C1": 3.0, "C2": 3.0, "C3": 2.0}
DEFAULT_MIN_SIGMA = 0.5


def _rolling_mean_sd(x: np.ndarray, lag: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample SD of x[:, t-lag-width : t-lag] for each t (NaN where not available)."""
    n_series, n_time = x.shape
    c1 = np.zeros((n_series, n_time + 1))
    c2 = np.zeros((n_series, n_time + 1))
    np.cumsum(x, axis=1, out=c1[:, 1:])
    np.cumsum(x * x, axis=1, out=c2[:, 1:])
    mean = np.full(x.shape, np.nan)
    sd = np.full(x.shape, np.nan)
    first = lag + width
    if first < n_time:
        hi = np.arange(first, n_time) - lag
        lo = hi - width
        s1 = c1[:, hi] - c1[:, lo]
        s2 = c2[:, hi] - c2[:, lo]
        m = s1 / width
        var = np.maximum(s2 - width * m * m, 0.0) / (width - 1)
        mean[:, first:] = m
        sd[:, first:] = np.sqrt(var)
    return mean, sd


def ears(
    counts: np.ndarray,
    method: str = "C1",
    *,
    min_sigma: float = DEFAULT_MIN_SIGMA,
    threshold: float | None = None,
) -> DetectorResult:
    """Run EARS ``method`` ("C1", "C2" or "C3") on every time point of every series.

    Returns a DetectorResult with arrays shaped like ``counts`` (2-D). ``upper`` is the count that
    would reach the threshold (for C3 the bound on today's count given the two previous C2 values).
    """
    method = method.upper()
    if method not in GUARD:
        raise ParameterError(f"unknown EARS method {method!r}; use C1, C2 or C3")
    if min_sigma < 0 or not np.isfinite(min_sigma):
        raise ParameterError("min_sigma must be a finite number >= 0")
    if threshold is not None and not np.isfinite(threshold):
        raise ParameterError("threshold must be finite")
    y = as_2d_counts(counts)
    thr = DEFAULT_THRESHOLD[method] if threshold is None else float(threshold)
    mean, sd = _rolling_mean_sd(y, GUARD[method], BASELINE)
    sigma = np.maximum(sd, min_sigma)
    if min_sigma == 0:
        sigma = np.where(sigma == 0, np.nan, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (y - mean) / sigma
    if method == "C3":
        part = np.maximum(z - 1.0, 0.0)
        stat = np.full(y.shape, np.nan)
        stat[:, 2:] = part[:, 2:] + part[:, 1:-1] + part[:, :-2]
        prev = np.zeros(y.shape)
        prev[:, 2:] = part[:, 1:-1] + part[:, :-2]
        upper = mean + sigma * (1.0 + np.maximum(thr - prev, 0.0))
        needed = BASELINE + GUARD[method] + 2
        pvalue = np.full(y.shape, np.nan)
    else:
        stat = z
        upper = mean + thr * sigma
        needed = BASELINE + GUARD[method]
        pvalue = norm.sf(z)
    seen_any = np.cumsum(y, axis=1) > 0
    insufficient = ~seen_any | ~np.isfinite(stat)
    insufficient[:, :needed] = True
    alarm = (stat > thr) & ~insufficient
    for arr in (stat, upper, pvalue):
        arr[insufficient] = np.nan
    return DetectorResult(statistic=stat, upper=upper, alarm=alarm, insufficient=insufficient, pvalue=pvalue)


def ears_c1(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C1 (7-point baseline ending yesterday)."""
    return ears(counts, "C1", **kwargs)


def ears_c2(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C2 (7-point baseline with a 2-point guard band)."""
    return ears(counts, "C2", **kwargs)


def ears_c3(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C3 (sum of the last three C2 exceedances over 1)."""
    return ears(counts, "C3", **kwargs)
