"""Negative-binomial CUSUM for sustained shifts (likelihood-ratio CUSUM).

In control, y_t ~ NB(mean mu0_t, variance phi * mu0_t) (Poisson when phi = 1); out of control the
mean is ``shift`` * mu0_t with the same NB size r = mu0/(phi - 1). The CUSUM is
S_t = max(0, S_{t-1} + log f(y_t | shift*mu0_t) - log f(y_t | mu0_t)), and it alarms when S_t > h.
Default ``h = log(1/alpha)``: by Wald's bound the in-control run length is then at least about
1/alpha time points. After an alarm the sum restarts from 0 (``reset=True``).

``mu0`` and ``phi`` come from a baseline model, e.g. the Noufaily fit (``extra["expected"]``,
``extra["phi"]``). Cells where mu0 is NaN are insufficient data: the sum is held there.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .base import DetectorResult, ParameterError, as_2d_counts


def _nb_logpmf(y: np.ndarray, mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    return (
        gammaln(y + size)
        - gammaln(size)
        - gammaln(y + 1)
        + size * np.log(size / (size + mu))
        + y * np.log(mu / (size + mu))
    )


def nb_cusum(
    counts: np.ndarray,
    mu0: np.ndarray,
    phi: np.ndarray | float = 1.0,
    *,
    shift: float = 2.0,
    h: float | None = None,
    alpha: float = 0.01,
    reset: bool = True,
) -> DetectorResult:
    """Run the CUSUM along the time axis of ``counts`` (series, time) with in-control means ``mu0``."""
    if not shift > 1:
        raise ParameterError("shift must be > 1 (the out-of-control mean is shift * mu0)")
    if h is None:
        if not 0 < alpha < 1:
            raise ParameterError("alpha must be in (0, 1)")
        h = float(np.log(1.0 / alpha))
    if not h > 0:
        raise ParameterError("h must be positive")
    y = as_2d_counts(counts)
    m0 = np.broadcast_to(np.asarray(mu0, dtype=float), y.shape)
    ph = np.broadcast_to(np.asarray(phi, dtype=float), y.shape)
    insufficient = ~np.isfinite(m0) | ~np.isfinite(y) | ~np.isfinite(ph) | (np.nan_to_num(m0) <= 0)
    m0s = np.where(insufficient, 1.0, m0)
    ph = np.where(insufficient, 1.0, np.maximum(ph, 1.0))
    ys = np.where(insufficient, 0.0, y)
    pois = ph <= 1.0 + 1e-9
    size = np.where(pois, 1.0, m0s / np.where(pois, 1.0, ph - 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        llr_nb = _nb_logpmf(ys, shift * m0s, size) - _nb_logpmf(ys, m0s, size)
    llr_pois = ys * np.log(shift) - (shift - 1.0) * m0s
    llr = np.where(pois, llr_pois, llr_nb)
    llr[insufficient] = 0.0
    stat = np.zeros(y.shape)
    alarm = np.zeros(y.shape, dtype=bool)
    s = np.zeros(y.shape[0])
    for t in range(y.shape[1]):
        s = np.maximum(0.0, s + llr[:, t])
        stat[:, t] = s
        alarm[:, t] = (s > h) & ~insufficient[:, t]
        if reset:
            s = np.where(alarm[:, t], 0.0, s)
    stat[insufficient] = np.nan
    upper = np.full(y.shape, h)
    return DetectorResult(
        statistic=stat, upper=upper, alarm=alarm, insufficient=insufficient, pvalue=np.full(y.shape, np.nan)
    )
