"""Forecasts of daily counts per township and category, with 80 % and 95 % prediction intervals.

Model (``forecast``): a negative-binomial (NB2) GLM with log link fitted to the last
``history_days`` days of each series,

    log E[y_t] = b0 + b1 * (t / 365) + day-of-week (6 dummies) + b_h * holiday(t),

where ``holiday(t)`` is 1 on the given holidays (e.g. the Chinese statutory calendar's rest days).
Every series shares the dates, so all fits share one design matrix and are fitted together by the
batched IRLS of ``detectors.glm``: a Poisson fit, then the NB2 dispersion ``alpha`` of each series by
moments (sum((y - mu)^2 - mu) / sum(mu^2), floored at 0 = Poisson), then a refit with the NB working
weights mu / (1 + alpha mu) and a second moment step. The predictive distribution of a future day is
negative binomial with the fitted mean and the variance inflated for the uncertainty of the fitted
log-mean (var_eta = x' (X'WX)^-1 x): V = mu + mu^2 ((1 + alpha) exp(var_eta) - 1). The 80 % and 95 %
intervals are its 10/90 % and 2.5/97.5 % quantiles, so the 80 % interval always lies inside the 95 %.

Baseline (``seasonal_naive``): the same weekday of the last observed week; its intervals are the
empirical quantiles of past weekly differences y_t - y_{t-7} added to the point forecast (at least 0).

Evaluation (``rolling_origin_evaluation``): forecasts from several origins in the past, each using only
the data before it, scored against what happened: interval coverage, MASE (mean absolute error scaled
by the in-sample mean absolute weekly difference, so the seasonal naive scores about 1) and the ranked
probability score RPS = sum_k (F(k) - 1[y <= k])^2 (lower is better).

Insufficient data: a series (or a whole input) with fewer than ``min_days`` days of history, or with
no case in its fitting window, gets ``insufficient=True`` and NaN forecasts; ``status()`` says
``"insufficient_data"``. It is never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import stats

from .detectors.base import INSUFFICIENT_DATA, ParameterError
from .detectors.glm import fit_poisson_batch

HORIZONS = (7, 28)
DEFAULT_HISTORY_DAYS = 182
DEFAULT_MIN_DAYS = 28
LEVELS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}
MAX_ALPHA = 50.0


@dataclass
class Forecast:
    """Forecasts for ``horizon`` days from ``first_day`` for every series (arrays are (series, horizon))."""

    first_day: date
    mean: np.ndarray
    lower80: np.ndarray
    upper80: np.ndarray
    lower95: np.ndarray
    upper95: np.ndarray
    insufficient: np.ndarray  # (series,)
    method: str
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        return self.mean.shape[1]

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=h) for h in range(self.horizon)]

    def status(self) -> np.ndarray:
        """``"ok"`` or ``INSUFFICIENT_DATA`` per series."""
        return np.where(self.insufficient, INSUFFICIENT_DATA, "ok").astype(object)


def _check(counts: np.ndarray, horizon: int) -> np.ndarray:
    y = np.asarray(counts, dtype=float)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise ParameterError("counts must be a (series, days) array")
    if not (isinstance(horizon, int | np.integer) and 1 <= horizon <= 366):
        raise ParameterError("horizon must be a whole number of days from 1 to 366 (7 and 28 are the usual)")
    if np.any(~np.isfinite(y)) or np.any(y < 0):
        raise ParameterError("counts must be finite and non-negative")
    return y


def design(first_day: date, n_days: int, holidays: set[date], origin: int, with_holiday: bool) -> np.ndarray:
    """Columns: intercept, trend (years from ``origin``), 6 weekday dummies, [holiday]."""
    t = np.arange(n_days)
    weekday = (first_day.weekday() + t) % 7
    cols = [np.ones(n_days), (t - origin) / 365.0]
    cols.extend((weekday == d).astype(float) for d in range(1, 7))
    if with_holiday:
        cols.append(np.array([(first_day + timedelta(days=int(i))) in holidays for i in t], dtype=float))
    return np.column_stack(cols)


def _nb_alpha(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """NB2 dispersion by moments, 0 (Poisson) when the data are not over-dispersed."""
    denom = np.maximum(np.sum(mu * mu, axis=1), 1e-12)
    return np.clip(np.sum((y - mu) ** 2 - mu, axis=1) / denom, 0.0, MAX_ALPHA)


def _fit_nb(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, NB2 alpha and (X'WX)^-1 of every series (rows of y)."""
    fit = fit_poisson_batch(y, X)
    alpha = _nb_alpha(y, fit.mu)
    fit = fit_poisson_batch(y, X, 1.0 / (1.0 + alpha[:, None] * fit.mu), mu_start=fit.mu)
    alpha = _nb_alpha(y, fit.mu)
    return fit.beta, alpha, fit.cov_unscaled


def _nb_quantiles(mean: np.ndarray, variance: np.ndarray, probs: list[float]) -> list[np.ndarray]:
    over = variance > mean * (1 + 1e-9)
    size = np.where(over, mean**2 / np.where(over, variance - mean, 1.0), 1.0)
    prob = size / (size + mean)
    out = []
    for q in probs:
        nb = stats.nbinom.ppf(q, size, prob)
        out.append(np.where(over, nb, stats.poisson.ppf(q, mean)))
    return out


def forecast(
    counts_by_day: np.ndarray,
    start_date: date,
    horizon: int = 7,
    holidays: set[date] | frozenset[date] = frozenset(),
    *,
    history_days: int = DEFAULT_HISTORY_DAYS,
    min_days: int = DEFAULT_MIN_DAYS,
) -> Forecast:
    """Forecast the ``horizon`` days after the data for every series.

    ``counts_by_day`` is (series, days); its first column is ``start_date``. The forecast covers the
    days right after the last column. ``extra`` holds ``alpha`` (NB2 dispersion) per series.
    """
    y = _check(counts_by_day, horizon)
    if history_days < min_days or min_days < 14:
        raise ParameterError("need min_days >= 14 and history_days >= min_days")
    n_series, n_days = y.shape
    first = start_date + timedelta(days=n_days)
    nan = np.full((n_series, horizon), np.nan)
    result = Forecast(first, nan, nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.ones(n_series, bool), "nb_glm")
    result.extra["alpha"] = np.full(n_series, np.nan)
    if n_days < min_days:
        return result
    window = min(history_days, n_days)
    fit_start = start_date + timedelta(days=n_days - window)
    hol = set(holidays)
    with_holiday = any(fit_start + timedelta(days=i) in hol for i in range(window))
    X_all = design(fit_start, window + horizon, hol, window, with_holiday)
    X, X_new = X_all[:window], X_all[window:]
    yw = y[:, -window:]
    ok = yw.sum(axis=1) > 0
    if not ok.any():
        return result
    beta, alpha, cov = _fit_nb(yw[ok], X)
    eta = beta @ X_new.T
    var_eta = np.einsum("hp,kpq,hq->kh", X_new, cov, X_new)
    mean = np.exp(np.minimum(eta, 30.0))
    variance = mean + mean**2 * ((1.0 + alpha[:, None]) * np.exp(np.minimum(var_eta, 5.0)) - 1.0)
    bounds = _nb_quantiles(mean, variance, [0.10, 0.90, 0.025, 0.975])
    for name, arr in zip(("mean", "lower80", "upper80", "lower95", "upper95"), (mean, *bounds), strict=True):
        getattr(result, name)[ok] = arr
    result.insufficient = ~ok
    result.extra["alpha"][ok] = alpha
    result.extra["variance"] = np.full((n_series, horizon), np.nan)
    result.extra["variance"][ok] = variance
    return result


def seasonal_naive(
    counts_by_day: np.ndarray,
    start_date: date,
    horizon: int = 7,
    *,
    history_days: int = DEFAULT_HISTORY_DAYS,
    min_days: int = DEFAULT_MIN_DAYS,
) -> Forecast:
    """Same weekday of the last observed week; intervals from past weekly differences."""
    y = _check(counts_by_day, horizon)
    n_series, n_days = y.shape
    first = start_date + timedelta(days=n_days)
    nan = np.full((n_series, horizon), np.nan)
    result = Forecast(first, nan, nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.ones(n_series, bool), "naive")
    if n_days < max(min_days, 14):
        return result
    window = min(history_days, n_days)
    yw = y[:, -window:]
    ok = yw.sum(axis=1) > 0
    point = yw[:, window - 7 + (np.arange(horizon) % 7)]
    diffs = yw[:, 7:] - yw[:, :-7]
    qs = np.quantile(diffs, [0.10, 0.90, 0.025, 0.975], axis=1).T  # (series, 4)
    result.mean = np.where(ok[:, None], point, np.nan)
    for i, name in enumerate(("lower80", "upper80", "lower95", "upper95")):
        bound = np.maximum(point + qs[:, i : i + 1], 0.0)
        bound = np.floor(bound) if name.startswith("lower") else np.ceil(bound)
        setattr(result, name, np.where(ok[:, None], bound, np.nan))
    result.insufficient = ~ok
    result.extra["errors"] = diffs
    return result


def _rps_nb(y: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """RPS of NB(mean, variance) predictive distributions for the observed counts y (same shape)."""
    k_max = int(min(max(np.nanmax(y), np.nanmax(mean + 10 * np.sqrt(variance))), 5000)) + 1
    k = np.arange(k_max + 1)
    over = variance > mean * (1 + 1e-9)
    size = np.where(over, mean**2 / np.where(over, variance - mean, 1.0), 1.0)
    cdf = np.where(
        over[..., None],
        stats.nbinom.cdf(k, size[..., None], (size / (size + mean))[..., None]),
        stats.poisson.cdf(k, mean[..., None]),
    )
    return np.sum((cdf - (y[..., None] <= k)) ** 2, axis=-1)


def _rps_sample(y: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """RPS of the empirical distribution of integer ``samples`` (..., n) for counts y (...).

    For integer-valued forecasts the RPS equals the CRPS, E|X - y| - E|X - X'| / 2, and for a sample
    E|X - X'| = 2 / n^2 * sum_i (2i - n - 1) x_(i) over the sorted sample."""
    n = samples.shape[-1]
    x = np.sort(samples, axis=-1)
    spread = 2.0 / n**2 * np.sum((2 * np.arange(1, n + 1) - n - 1) * x, axis=-1)
    return np.mean(np.abs(x - y[..., None]), axis=-1) - spread / 2.0


def _scores(fc: Forecast, actual: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    ok = ~fc.insufficient & (scale > 0)
    a, m = actual[ok], fc.mean[ok]
    return {
        "in80": ((a >= fc.lower80[ok]) & (a <= fc.upper80[ok])).ravel(),
        "in95": ((a >= fc.lower95[ok]) & (a <= fc.upper95[ok])).ravel(),
        "scaled_error": (np.abs(a - m) / scale[ok, None]).ravel(),
    }


def rolling_origin_evaluation(
    counts_by_day: np.ndarray,
    start_date: date,
    holidays: set[date] | frozenset[date] = frozenset(),
    *,
    horizon: int = 7,
    origins: int = 8,
    step: int = 7,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> dict:
    """Forecast from ``origins`` past origins ``step`` days apart (the last ends with the data) and
    score both methods: coverage of the 80/95 % intervals, MASE and RPS (lower is better)."""
    y = _check(counts_by_day, horizon)
    n_days = y.shape[1]
    first_origin = n_days - horizon - (origins - 1) * step
    if origins < 1 or step < 1 or first_origin < DEFAULT_MIN_DAYS:
        raise ParameterError("not enough days for these origins: need 28 days before the first origin")
    acc: dict[str, dict[str, list[np.ndarray]]] = {"nb_glm": {}, "seasonal_naive": {}}
    for o in range(first_origin, n_days - horizon + 1, step):
        train, actual = y[:, :o], y[:, o : o + horizon]
        window = train[:, -min(history_days, o) :]
        scale = np.abs(window[:, 7:] - window[:, :-7]).mean(axis=1)
        nb = forecast(train, start_date, horizon, holidays, history_days=history_days)
        naive = seasonal_naive(train, start_date, horizon, history_days=history_days)
        for name, fc in (("nb_glm", nb), ("seasonal_naive", naive)):
            sc = _scores(fc, actual, scale)
            ok = ~fc.insufficient & (scale > 0)
            if name == "nb_glm":
                sc["rps"] = _rps_nb(actual[ok], fc.mean[ok], fc.extra["variance"][ok]).ravel()
            else:
                samples = np.maximum(fc.mean[ok][..., None] + fc.extra["errors"][ok][:, None, :], 0.0)
                samples = np.floor(samples)  # integer-valued, like the counts
                sc["rps"] = _rps_sample(actual[ok], samples).ravel()
            for key, val in sc.items():
                acc[name].setdefault(key, []).append(val)
    out: dict = {"horizon": horizon, "origins": origins, "step_days": step, "series": int(y.shape[0])}
    for name, parts in acc.items():
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        out[name] = {
            "coverage80": round(float(cat["in80"].mean()), 4),
            "coverage95": round(float(cat["in95"].mean()), 4),
            "mase": round(float(cat["scaled_error"].mean()), 4),
            "rps": round(float(cat["rps"].mean()), 4),
            "forecasts": int(cat["in80"].size),
        }
    out["mase_ratio_nb_to_naive"] = round(out["nb_glm"]["mase"] / out["seasonal_naive"]["mase"], 4)
    return out


def synthetic_holidays(years: range) -> set[date]:
    """A synthetic holiday calendar shaped like China's (New Year, a 7-day Spring Festival, Qingming,
    Labour Day 5 days, Dragon Boat, National Day 7 days). For simulations only: real forecasts take
    the statutory calendar that administrators maintain."""
    out: set[date] = set()
    for y in years:
        spring = date(y, 1, 21) + timedelta(days=(y * 11) % 25)  # moves like the lunar new year
        blocks = [(date(y, 1, 1), 1), (spring, 7), (date(y, 4, 4), 3), (date(y, 5, 1), 5)]
        blocks += [(date(y, 6, 10) + timedelta(days=(y * 7) % 14), 3), (date(y, 10, 1), 7)]
        for first, n in blocks:
            out.update(first + timedelta(days=i) for i in range(n))
    return out


def simulate_daily(
    n_series: int,
    n_days: int,
    start_date: date,
    rng: np.random.Generator,
    *,
    size: float = 5.0,
) -> tuple[np.ndarray, set[date]]:
    """NB daily counts with a weekly pattern (weekends low), a trend, holiday dips and mild annual
    seasonality; returns the counts (series, days) and the holidays used."""
    holidays = synthetic_holidays(range(start_date.year, start_date.year + n_days // 365 + 2))
    t = np.arange(n_days)
    dates = [start_date + timedelta(days=int(i)) for i in t]
    weekday = np.array([d.weekday() for d in dates])
    holiday = np.array([d in holidays for d in dates], dtype=float)
    level = np.log(rng.gamma(2.0, 1.5, n_series))
    trend = rng.normal(0.0, 0.3, n_series)  # per year on the log scale
    dow = np.array([0.15, 0.1, 0.1, 0.05, 0.0, -0.6, -0.8])
    season = 0.15 * np.sin(2 * np.pi * (t / 365.25 + rng.random(n_series)[:, None]))
    eta = level[:, None] + trend[:, None] * t / 365.0 + dow[weekday] - 0.9 * holiday + season
    mu = np.exp(eta)
    counts = rng.negative_binomial(size, size / (size + mu))
    return counts.astype(float), holidays
