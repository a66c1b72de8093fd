"""Noufaily-style quasi-Poisson GLM detector for weekly counts (surveillance::farringtonFlexible).

For each week t0 judged, a Poisson GLM with log link is fitted to the reference weeks before t0. The
steps are those of R's surveillance 1.20.3 ``farringtonFlexible`` and agree with it to about 1e-10
(bench/alerts_r_compare.py, docs/alerts_r_comparison.md):

- ``b`` years back, window half-width ``w``; the reference weeks are every week from
  ``t0 - 52*b - w`` to ``t0 - past_weeks_not_included - 1`` (Noufaily et al. 2013; R leaves out
  ``(t0 - pastWeeksNotIncluded):t0``), with a
  ``no_periods``-level seasonal factor: level 0 is the (2w+1)-week window around t0's week in each past
  year, the 52 - 2w - 1 weeks between two windows are cut into ``no_periods - 1`` blocks (R's
  ``blocks``: from the older window on, the first ``period mod (no_periods - 1)`` one week longer).
  With ``no_periods=1`` only the b windows of 2w+1 weeks are used, as in Farrington et al. (1996).
- a linear time trend, kept only if its p-value (t test of R's ``summary.glm``) is below
  ``p_threshold_trend``, the prediction does not exceed the largest reference count, and b >= 3;
  otherwise the model is refitted without trend. As in R, that t test (and the prediction's standard
  error) uses sum(omega ((y - mu)/mu)^2) / (n - p) as dispersion, because farringtonFlexible stores
  the reweighting weights omega in ``model$weights`` where summary.glm expects the working weights
  omega * mu. For counts well above 1 this dispersion is small, so trends are kept more readily.
- reweighting of past outbreaks: standardised Anscombe residuals s_i above ``weights_threshold`` get
  weight proportional to s_i^-2 (others a constant), the weights summing to n; the model is refitted.
- overdispersion phi = max(1, Pearson chi2 / (n - p)) of the weighted fit.
- threshold: ``"nbPlugin"`` — the (1 - alpha) quantile of a negative binomial with mean mu0 and
  variance phi*mu0 (Poisson when phi = 1); or ``"delta"`` — Farrington's 2/3-power transformation
  with the prediction's variance, U = (mu0^(2/3) + z * sqrt(4/9 mu0^(1/3) tau))^(3/2),
  tau = phi + Var(mu0_hat)/mu0. Both are one-sided (1 - alpha) bounds (R uses alpha, not alpha/2).
- ``limit54 = (5, 4)``: no alarm unless at least 5 cases were counted in the last 4 weeks (t0 included).

An alarm is raised when the observed count exceeds the bound.

Insufficient data: fewer than ``52*b + w`` weeks before t0, a missing (NaN) reference week, reference
weeks that are all zero, or an IRLS that does not converge in 25 iterations with nor without trend
(R: "The model could not converge"; all-zero references are such a case). Such cells have
``insufficient=True`` and never alarm. (R drops missing weeks and fits the rest; here they make the
cell insufficient.)

The GLMs are fitted in batches with a hand-written IRLS (``glm.fit_poisson_batch``, R's ``glm.fit``
step for step): the design is defined relative to t0, so every fit shares one design matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .base import DetectorResult, ParameterError, as_2d_counts
from .glm import PoissonFit, dispersion, fit_poisson_batch, hat_values

WEEKS_PER_YEAR = 52


def reference_lags(
    b: int, w: int, no_periods: int, past_weeks_not_included: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Lags (t0 - week) of the reference weeks and their seasonal factor level (0 = window), as R's
    ``blocks`` and ``algo.farrington.data.glm``."""
    # R: blocksID[(k - pastWeeksNotIncluded):k] <- NA, i.e. lags 0..pastWeeksNotIncluded are left out
    # (pastWeeksNotIncluded defaults to w when NULL).
    first = (w if past_weeks_not_included is None else past_weeks_not_included) + 1
    if no_periods == 1:
        # the current year's window (lags 0..w) is a reference block too, past the excluded weeks
        lags = np.array(
            [d for d in range(first, w + 1)]
            + [
                WEEKS_PER_YEAR * j + d
                for j in range(1, b + 1)
                for d in range(-w, w + 1)
                if WEEKS_PER_YEAR * j + d >= first
            ]
        )
        return lags, np.zeros(len(lags), dtype=int)
    lags = np.arange(first, WEEKS_PER_YEAR * b + w + 1)
    # Between two windows lie 52 - 2w - 1 weeks, cut into no_periods - 1 blocks starting from the
    # older window; R gives the first (period mod (no_periods - 1)) blocks one week more.
    u = (lags + w) % WEEKS_PER_YEAR  # 0..2w: a window; else offset from the older window is 51 - u
    period = WEEKS_PER_YEAR - (2 * w + 1)
    length, rest = divmod(period, no_periods - 1)
    sizes = np.full(no_periods - 1, length)
    sizes[:rest] += 1
    block = np.searchsorted(np.cumsum(sizes), WEEKS_PER_YEAR - 1 - u, side="right")
    # R numbers these blocks 1..p-1 from the older window on and the windows p; here the windows are
    # level 0 (the design's reference level) and the blocks keep R's order.
    level = np.where(u <= 2 * w, 0, 1 + block)
    return lags, level


def design_matrix(lags: np.ndarray, levels: np.ndarray, no_periods: int, with_trend: bool) -> np.ndarray:
    """Columns: intercept, [time relative to t0], dummies for the factor levels 1..no_periods-1 present."""
    cols = [np.ones(len(lags))]
    if with_trend:
        cols.append(-lags.astype(float))
    # as R's as.factor(), only the levels present (short b with many excluded weeks can empty some)
    cols.extend((levels == k).astype(float) for k in range(1, no_periods) if (levels == k).any())
    return np.column_stack(cols)


def validate_parameters(
    *,
    b: int,
    w: int,
    no_periods: int,
    past_weeks_not_included: int | None,
    alpha: float,
    weights_threshold: float,
    p_threshold_trend: float,
    threshold_method: str,
    limit54: Sequence[int] | None,
) -> None:
    """Refuse impossible parameters with a message (raises ParameterError)."""
    if not (isinstance(b, int | np.integer) and 1 <= b <= 20):
        raise ParameterError("b (years of history) must be an integer from 1 to 20")
    if not (isinstance(w, int | np.integer) and 0 <= w <= 12):
        raise ParameterError("w (window half-width) must be an integer from 0 to 12")
    if not (isinstance(no_periods, int | np.integer) and 1 <= no_periods <= WEEKS_PER_YEAR - 2 * w):
        raise ParameterError(f"no_periods must be an integer from 1 to {WEEKS_PER_YEAR - 2 * w}")
    if past_weeks_not_included is not None and not (0 <= past_weeks_not_included < WEEKS_PER_YEAR * b - w):
        raise ParameterError("past_weeks_not_included must leave some reference weeks (0 <= it < 52*b - w)")
    if not (0 < alpha < 0.5):
        raise ParameterError("alpha must be in (0, 0.5)")
    if not weights_threshold > 0:
        raise ParameterError("weights_threshold must be positive")
    if not (0 < p_threshold_trend < 1):
        raise ParameterError("p_threshold_trend must be in (0, 1)")
    if threshold_method not in ("nbPlugin", "delta"):
        raise ParameterError("threshold_method must be 'nbPlugin' or 'delta'")
    if limit54 is not None and (len(limit54) != 2 or limit54[0] < 0 or limit54[1] < 1):
        raise ParameterError("limit54 must be (cases >= 0, weeks >= 1)")


def _flexible(
    ref: np.ndarray, X: np.ndarray, reweight: bool, weights_threshold: float
) -> tuple[PoissonFit, np.ndarray, np.ndarray, np.ndarray]:
    """Fit, reweight and refit as algo.farrington.fitGLM.flexible (every fit starts afresh, as R's glm).

    Returns the final fit; phi = max(1, Pearson dispersion); the dispersion R's summary.glm later uses
    for the trend's t test and predict.glm for se.fit; and whether the first, unweighted fit converged
    (R gives up when it did not; the reweighted fit's convergence is not checked).

    R stores the reweighting weights omega in ``model$weights`` after computing phi, so the later
    summary.glm reads omega where it expects the working weights omega * mu: that dispersion is
    sum(omega ((y - mu) / mu)^2) / (n - p). It is reproduced here."""
    p = X.shape[1]
    fit = fit_poisson_batch(ref, X)
    ok = fit.converged
    disp = dispersion(ref, fit, p)
    summary_disp = disp
    if reweight:
        phi = np.maximum(disp, 1.0)
        h = np.minimum(hat_values(fit, X), 1.0 - 1e-12)
        mu = fit.mu
        s = 1.5 * (ref ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu)) / np.sqrt(phi[:, None] * (1.0 - h))
        big = s > weights_threshold
        raw = np.where(big, 1.0 / np.where(big, s, 1.0) ** 2, 1.0)
        omega = raw * (ref.shape[1] / raw.sum(axis=1))[:, None]
        fit = fit_poisson_batch(ref, X, omega)
        disp = dispersion(ref, fit, p)
        summary_disp = np.sum(omega * ((ref - fit.mu) / fit.mu) ** 2, axis=1) / max(ref.shape[1] - p, 1)
    return fit, np.maximum(disp, 1.0), summary_disp, ok


def _fit_batch(
    ref: np.ndarray,
    lags: np.ndarray,
    levels: np.ndarray,
    *,
    b: int,
    no_periods: int,
    trend: bool,
    reweight: bool,
    weights_threshold: float,
    p_threshold_trend: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return mu0, phi, Var(eta0_hat) (scaled by the raw dispersion), trend-kept flag for each row of ref.

    Follows algo.farrington.glm: fit with trend; keep it if significant, not extrapolating beyond the
    largest reference count and b >= 3, else refit without. A fit whose first IRLS does not converge
    falls back to no trend, and gives NaN (insufficient) when that does not converge either. With
    b < 3 the trend model is never kept, so it is not fitted."""
    n_fit, n_obs = ref.shape
    mu0 = np.full(n_fit, np.nan)
    phi = np.full(n_fit, np.nan)
    var0 = np.full(n_fit, np.nan)
    kept = np.zeros(n_fit, dtype=bool)
    if trend and b >= 3:
        x_trend = design_matrix(lags, levels, no_periods, True)
        fit, phi_t, raw, ok = _flexible(ref, x_trend, reweight, weights_threshold)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tval = fit.beta[:, 1] / np.sqrt(raw * fit.cov_unscaled[:, 1, 1])  # summary.glm's t test
            m0 = np.exp(fit.beta[:, 0])  # inf for a wild extrapolation: not kept, as in R
        pval = 2.0 * stats.t.sf(np.abs(tval), max(n_obs - x_trend.shape[1], 1))
        kept = ok & (pval < p_threshold_trend) & (m0 <= ref.max(axis=1))
        mu0[kept] = m0[kept]
        phi[kept] = phi_t[kept]
        var0[kept] = raw[kept] * fit.cov_unscaled[kept, 0, 0]
    redo = np.flatnonzero(~kept)
    if redo.size:
        x_plain = design_matrix(lags, levels, no_periods, False)
        fit, phi_r, raw, ok = _flexible(ref[redo], x_plain, reweight, weights_threshold)
        redo = redo[ok]
        mu0[redo] = np.exp(fit.beta[ok, 0])
        phi[redo] = phi_r[ok]
        var0[redo] = raw[ok] * fit.cov_unscaled[ok, 0, 0]
    return mu0, phi, var0, kept


def upper_bound(
    mu0: np.ndarray, phi: np.ndarray, var_eta0: np.ndarray, alpha: float, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return (upper bound, a function-free placeholder) — see module docstring for the formulas."""
    if method == "nbPlugin":
        nb = phi > 1.0
        size = mu0 / np.where(nb, phi - 1.0, 1.0)
        upper = np.where(
            nb,
            stats.nbinom.ppf(1 - alpha, size, size / (size + mu0)),
            stats.poisson.ppf(1 - alpha, mu0),
        )
        return upper, size
    z = stats.norm.ppf(1 - alpha)
    tau = phi + mu0 * var_eta0  # Var(mu0_hat)/mu0 = mu0 * Var(eta0_hat) (delta method)
    se = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
    return (mu0 ** (2.0 / 3.0) + z * se) ** 1.5, se


def _pvalue(y: np.ndarray, mu0: np.ndarray, phi: np.ndarray, aux: np.ndarray, method: str) -> np.ndarray:
    if method == "nbPlugin":
        nb = phi > 1.0
        size = aux
        return np.where(
            nb,
            stats.nbinom.sf(y - 1, size, size / (size + mu0)),
            stats.poisson.sf(y - 1, mu0),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y ** (2.0 / 3.0) - mu0 ** (2.0 / 3.0)) / aux
    # a zero-width bound (mu0 = 0): any case is beyond it, no case is not
    z = np.where(aux > 0, z, np.where(y > mu0, np.inf, -np.inf))
    return stats.norm.sf(z)


def farrington_flexible(
    counts: np.ndarray,
    evaluate: Sequence[int] | np.ndarray | None = None,
    *,
    b: int = 5,
    w: int = 3,
    no_periods: int = 10,
    past_weeks_not_included: int | None = 26,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    alpha: float = 0.01,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    threshold_method: str = "nbPlugin",
    limit54: Sequence[int] | None = (5, 4),
    batch_size: int = 20000,
) -> DetectorResult:
    """Judge weeks ``evaluate`` (indices into the time axis; default: the last week) of every series.

    ``counts`` is (series, weeks) or a single series. Output arrays are (series, len(evaluate)).
    ``extra`` holds ``expected`` (mu0), ``phi`` and ``trend`` (whether a trend was kept).
    """
    validate_parameters(
        b=b,
        w=w,
        no_periods=no_periods,
        past_weeks_not_included=past_weeks_not_included,
        alpha=alpha,
        weights_threshold=weights_threshold,
        p_threshold_trend=p_threshold_trend,
        threshold_method=threshold_method,
        limit54=limit54,
    )
    y = as_2d_counts(counts)
    n_series, n_time = y.shape
    ev = np.array([n_time - 1] if evaluate is None else evaluate, dtype=int).ravel()
    ev = np.where(ev < 0, ev + n_time, ev)
    if ev.size and (ev.min() < 0 or ev.max() >= n_time):
        raise ParameterError("evaluate indices are outside the series")
    lags, levels = reference_lags(b, w, no_periods, past_weeks_not_included)
    shape = (n_series, ev.size)
    expected = np.full(shape, np.nan)
    phi_out = np.full(shape, np.nan)
    var_out = np.full(shape, np.nan)
    trend_out = np.zeros(shape, dtype=bool)
    observed = y[:, ev] if ev.size else np.zeros(shape)

    s_idx, e_idx = np.divmod(np.arange(n_series * ev.size), max(ev.size, 1))
    t0 = ev[e_idx] if ev.size else np.zeros(0, dtype=int)
    long_enough = t0 - lags.max() >= 0
    cand = np.flatnonzero(long_enough)
    for start in range(0, cand.size, batch_size):
        sel = cand[start : start + batch_size]
        ref = y[s_idx[sel, None], t0[sel, None] - lags[None, :]]
        ok = np.isfinite(ref).all(axis=1) & (np.nansum(ref, axis=1) > 0)
        sel, ref = sel[ok], ref[ok]
        if not sel.size:
            continue
        mu0, phi, var0, kept = _fit_batch(
            ref,
            lags,
            levels,
            b=b,
            no_periods=no_periods,
            trend=trend,
            reweight=reweight,
            weights_threshold=weights_threshold,
            p_threshold_trend=p_threshold_trend,
        )
        expected[s_idx[sel], e_idx[sel]] = mu0
        phi_out[s_idx[sel], e_idx[sel]] = phi
        var_out[s_idx[sel], e_idx[sel]] = var0
        trend_out[s_idx[sel], e_idx[sel]] = kept

    insufficient = ~np.isfinite(expected) | ~np.isfinite(observed)
    mu0 = np.where(insufficient, 1.0, expected)
    phi = np.where(insufficient, 1.0, phi_out)
    var0 = np.where(insufficient, 0.0, var_out)
    upper, aux = upper_bound(mu0, phi, var0, alpha, threshold_method)
    obs = np.where(insufficient, 0.0, observed)
    pvalue = _pvalue(obs, mu0, phi, aux, threshold_method)
    alarm = (obs > upper) & ~insufficient
    if limit54 is not None and limit54[0] > 0:
        cum = np.zeros((n_series, n_time + 1))
        np.cumsum(np.nan_to_num(y), axis=1, out=cum[:, 1:])
        recent = cum[:, ev + 1] - cum[:, np.maximum(ev + 1 - limit54[1], 0)]
        alarm &= recent >= limit54[0]
    for arr in (upper, pvalue):
        arr[insufficient] = np.nan
    stat = np.where(insufficient, np.nan, observed)
    return DetectorResult(
        statistic=stat,
        upper=upper,
        alarm=alarm,
        insufficient=insufficient,
        pvalue=pvalue,
        extra={"expected": expected, "phi": phi_out, "trend": trend_out},
    )


def noufaily(counts: np.ndarray, evaluate: Sequence[int] | np.ndarray | None = None, **kwargs) -> DetectorResult:
    """The improved Farrington algorithm (Noufaily et al. 2013) with the farringtonFlexible defaults
    named in the issue: b=5, w=3, noPeriods=10, pastWeeksNotIncluded=26, weightsThreshold=2.58,
    thresholdMethod="nbPlugin", limit54=(5, 4)."""
    return farrington_flexible(counts, evaluate, **kwargs)
