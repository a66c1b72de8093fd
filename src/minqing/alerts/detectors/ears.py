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
from scipy.special import ndtr

from .base import DetectorResult, ParameterError, as_2d_counts

BASELINE = 7
GUARD = {"C1": 0, "C2": 2, "C3": 2}
DEFAULT_THRESHOLD = {"C1": 3.0, "C2": 3.0, "C3": 2.0}
DEFAULT_MIN_SIGMA = 0.5


def _prefix_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of x and x² with a leading zero column (shared by C1, C2 and C3)."""
    n_series, n_time = x.shape
    c1 = np.zeros((n_series, n_time + 1))
    c2 = np.zeros((n_series, n_time + 1))
    np.cumsum(x, axis=1, out=c1[:, 1:])
    np.cumsum(x * x, axis=1, out=c2[:, 1:])
    return c1, c2


def _rolling_mean_sd(
    x: np.ndarray, lag: int, width: int, sums: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample SD (float32) of x[:, t-lag-width : t-lag] for each t (NaN where not available).

    The window sums are differences of float64 running sums, so there is no loss of precision
    before the (float32) mean and SD are formed."""
    n_time = x.shape[1]
    c1, c2 = _prefix_sums(x) if sums is None else sums
    mean = np.full(x.shape, np.nan, dtype=np.float32)
    sd = np.full(x.shape, np.nan, dtype=np.float32)
    first = lag + width
    if first < n_time:
        s1 = c1[:, first - lag : n_time - lag] - c1[:, : n_time - first]
        s2 = c2[:, first - lag : n_time - lag] - c2[:, : n_time - first]
        s1 /= width
        s2 -= width * s1 * s1
        np.maximum(s2, 0.0, out=s2)
        s2 /= width - 1
        mean[:, first:] = s1
        np.sqrt(s2, out=sd[:, first:], casting="same_kind")
    return mean, sd


def _validate(method: str, min_sigma: float, threshold: float | None) -> str:
    method = method.upper()
    if method not in GUARD:
        raise ParameterError(f"unknown EARS method {method!r}; use C1, C2 or C3")
    if min_sigma < 0 or not np.isfinite(min_sigma):
        raise ParameterError("min_sigma must be a finite number >= 0")
    if threshold is not None and not np.isfinite(threshold):
        raise ParameterError("threshold must be finite")
    return method


class _Shared:
    """Running sums and z-scores shared between methods (C2 and C3 use the same z)."""

    def __init__(self, y: np.ndarray, min_sigma: float) -> None:
        self.y = y
        self.min_sigma = min_sigma
        self.sums = _prefix_sums(y)
        self.seen_any = self.sums[0][:, 1:] > 0
        self._z: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def zscore(self, lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if lag not in self._z:
            mean, sd = _rolling_mean_sd(self.y, lag, BASELINE, self.sums)
            sigma = np.maximum(sd, np.float32(self.min_sigma))
            if self.min_sigma == 0:
                sigma[sigma == 0] = np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                z = self.y.astype(np.float32)
                z -= mean
                z /= sigma
            self._z[lag] = (z, mean, sigma)
        return self._z[lag]


def _ears(shared: _Shared, method: str, threshold: float | None) -> DetectorResult:
    thr = DEFAULT_THRESHOLD[method] if threshold is None else float(threshold)
    z, mean, sigma = shared.zscore(GUARD[method])
    shape = z.shape
    if method == "C3":
        part = np.maximum(z - 1.0, 0.0)
        stat = np.full(shape, np.nan, dtype=np.float32)
        prev = np.zeros(shape, dtype=np.float32)
        np.add(part[:, 1:-1], part[:, :-2], out=prev[:, 2:])
        np.add(part[:, 2:], prev[:, 2:], out=stat[:, 2:])
        upper = mean + sigma * (1.0 + np.maximum(thr - prev, 0.0))
        needed = BASELINE + GUARD[method] + 2
        pvalue = np.full(shape, np.nan, dtype=np.float32)
    else:
        stat = z.copy()
        upper = mean + thr * sigma
        needed = BASELINE + GUARD[method]
        pvalue = ndtr(-z)
    insufficient = ~shared.seen_any | ~np.isfinite(stat)
    insufficient[:, :needed] = True
    alarm = (stat > thr) & ~insufficient
    for arr in (stat, upper, pvalue):
        arr[insufficient] = np.nan
    return DetectorResult(statistic=stat, upper=upper, alarm=alarm, insufficient=insufficient, pvalue=pvalue)


def ears(
    counts: np.ndarray,
    method: str = "C1",
    *,
    min_sigma: float = DEFAULT_MIN_SIGMA,
    threshold: float | None = None,
) -> DetectorResult:
    """Run EARS ``method`` ("C1", "C2" or "C3") on every time point of every series.

    Returns a DetectorResult with arrays shaped like ``counts`` (2-D, float32 scores). ``upper`` is the
    count that would reach the threshold (for C3 the bound on today's count given the two previous C2
    values).
    """
    method = _validate(method, min_sigma, threshold)
    return _blockwise(as_2d_counts(counts), (method,), min_sigma, threshold)[method]


def ears_all(
    counts: np.ndarray,
    methods: tuple[str, ...] = ("C1", "C2", "C3"),
    *,
    min_sigma: float = DEFAULT_MIN_SIGMA,
) -> dict[str, DetectorResult]:
    """Several EARS methods at once (CDC thresholds): the same results as calling :func:`ears` for
    each, sharing the running sums and the C2 z-scores (C3 is built from them)."""
    methods = tuple(_validate(m, min_sigma, None) for m in methods)
    return _blockwise(as_2d_counts(counts), methods, min_sigma, None)


# Series per block: the temporaries of a block stay small enough to be reused by the allocator
# instead of being mapped (and page-faulted) afresh for every operation.
BLOCK_CELLS = 1_000_000


def _blockwise(
    y: np.ndarray, methods: tuple[str, ...], min_sigma: float, threshold: float | None
) -> dict[str, DetectorResult]:
    rows = max(1, BLOCK_CELLS // max(y.shape[1], 1))
    parts: dict[str, list[DetectorResult]] = {m: [] for m in methods}
    for start in range(0, max(y.shape[0], 1), rows):
        shared = _Shared(y[start : start + rows], min_sigma)
        for m in methods:
            parts[m].append(_ears(shared, m, threshold))
    return {m: _concat(parts[m]) for m in methods}


def _concat(parts: list[DetectorResult]) -> DetectorResult:
    if len(parts) == 1:
        return parts[0]
    names = ("statistic", "upper", "alarm", "insufficient", "pvalue")
    return DetectorResult(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


def ears_c1(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C1 (7-point baseline ending yesterday)."""
    return ears(counts, "C1", **kwargs)


def ears_c2(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C2 (7-point baseline with a 2-point guard band)."""
    return ears(counts, "C2", **kwargs)


def ears_c3(counts: np.ndarray, **kwargs: float) -> DetectorResult:
    """EARS C3 (sum of the last three C2 exceedances over 1)."""
    return ears(counts, "C3", **kwargs)
