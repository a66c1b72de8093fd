"""Detectors: EARS by hand, minSigma, insufficient data, the Noufaily GLM, CUSUM, budget, pooling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minqing.alerts.detectors import (
    INSUFFICIENT_DATA,
    ParameterError,
    benjamini_hochberg,
    daily_budget,
    ears,
    farrington,
    nb_cusum,
    noufaily,
    pooled_expectation,
)
from minqing.alerts.detectors.glm import fit_poisson_batch
from minqing.alerts.detectors.noufaily import reference_lags

SERIES = np.array([2, 4, 3, 5, 1, 2, 4, 3, 6, 2, 9], dtype=float)


def test_ears_c1_matches_hand_computation():
    res = ears(SERIES, "C1")
    base = SERIES[3:10]  # the 7 values before the last
    expected = (SERIES[10] - base.mean()) / base.std(ddof=1)
    assert res.statistic[0, 10] == pytest.approx(expected)
    assert res.upper[0, 10] == pytest.approx(base.mean() + 3 * base.std(ddof=1))
    assert bool(res.alarm[0, 10]) == (expected > 3)


def test_ears_c2_uses_two_day_guard_band():
    res = ears(SERIES, "C2")
    base = SERIES[1:8]  # t-9 .. t-3 for t = 10
    assert res.statistic[0, 10] == pytest.approx((SERIES[10] - base.mean()) / base.std(ddof=1))


def test_ears_c3_sums_last_three_c2_exceedances():
    y = np.array([3, 1, 2, 4, 2, 3, 1, 2, 3, 5, 2, 6, 9], dtype=float)
    c2 = ears(y, "C2").statistic[0]
    res = ears(y, "C3")
    expected = sum(max(0.0, c2[t] - 1) for t in (10, 11, 12))
    assert res.statistic[0, 12] == pytest.approx(expected)


def test_ears_min_sigma_floors_flat_baseline():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    res = ears(y, "C1", min_sigma=0.5)
    base = y[8:15]
    assert base.std(ddof=1) == 0
    assert res.statistic[0, 15] == pytest.approx(2.0)  # (1 - 0) / 0.5
    assert not res.alarm[0, 15]
    assert ears(y, "C1", min_sigma=0.2).alarm[0, 15]


def test_ears_too_short_or_all_zero_is_insufficient_not_alarm():
    short = ears(np.array([1.0, 5.0, 9.0]), "C1")
    assert short.insufficient.all() and not short.alarm.any()
    zeros = ears(np.zeros((2, 30)), "C3")
    assert zeros.insufficient.all() and not zeros.alarm.any()
    assert set(zeros.status().ravel()) == {INSUFFICIENT_DATA}


def test_ears_refuses_impossible_parameters():
    with pytest.raises(ParameterError):
        ears(SERIES, "C4")
    with pytest.raises(ParameterError):
        ears(SERIES, "C1", min_sigma=-1)
    with pytest.raises(ParameterError):
        ears(-SERIES, "C1")


def test_noufaily_stationary_poisson_alarms_near_alpha():
    rng = np.random.default_rng(7)
    y = rng.poisson(8.0, size=(300, 320)).astype(float)
    res = noufaily(y, np.arange(300, 320), alpha=0.01)
    assert not res.insufficient.any()
    rate = res.alarm.mean()
    assert 0.002 <= rate <= 0.02
    assert np.nanmedian(res.extra["expected"]) == pytest.approx(8.0, rel=0.05)


def test_noufaily_catches_large_outbreak():
    rng = np.random.default_rng(8)
    y = rng.poisson(5.0, size=(20, 320)).astype(float)
    y[:, -1] += 25
    res = noufaily(y)
    assert res.alarm[:, -1].all()
    assert (res.pvalue[:, -1] < 1e-4).all()


def test_reweighting_downweights_past_outbreak():
    rng = np.random.default_rng(9)
    y = rng.poisson(4.0, size=(30, 320)).astype(float)
    # a big outbreak one year before the judged week, inside the reference window
    y[:, 319 - 52 - 1 : 319 - 52 + 2] += 40
    with_rw = noufaily(y, reweight=True)
    without = noufaily(y, reweight=False)
    assert np.nanmean(with_rw.upper) < np.nanmean(without.upper)
    assert np.nanmedian(with_rw.extra["expected"]) == pytest.approx(4.0, rel=0.15)


def test_noufaily_limit54_suppresses_small_counts():
    y = np.zeros((1, 320))
    y[0, 319 - 60] = 1
    y[0, -1] = 3  # unusual for a near-zero baseline but fewer than 5 cases in 4 weeks
    res = noufaily(y)
    assert not res.insufficient[0, 0]
    assert not res.alarm[0, 0]


def test_noufaily_insufficient_for_short_or_zero_series():
    res = noufaily(np.ones((2, 100)))
    assert res.insufficient.all() and not res.alarm.any()
    res = noufaily(np.zeros((2, 400)))
    assert res.insufficient.all() and not res.alarm.any()
    assert res.status()[0, 0] == INSUFFICIENT_DATA


def _r_reference_series() -> np.ndarray:
    """Two deterministic weekly series: seasonal with a past outbreak, and one with a trend."""
    t = np.arange(1, 321)
    a = np.maximum(np.round(6 + 3 * np.sin(2 * np.pi * t / 52) + 2.5 * np.sin(t * 1.7) + ((t * 37) % 7 - 3)), 0)
    a[149:153] += [8, 15, 10, 4]
    b = np.maximum(np.round(np.exp(1.5 + 0.003 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 52)) + ((t * 13) % 7 - 3)), 0)
    b[-1] += 12
    return np.vstack([a, b])


def test_noufaily_reproduces_r_farrington_flexible():
    # R 1.20.3: farringtonFlexible(sts(t(y), frequency=52), control=list(range=318:320, b=5, w=3,
    # noPeriods=10, pastWeeksNotIncluded=26, weightsThreshold=2.58, thresholdMethod="nbPlugin",
    # alpha=0.01, limit54=c(5,4), trend=TRUE, pThresholdTrend=0.05)) — mu0Vector, phiVector, trend,
    # upperbound, alarm (bench/alerts_r_compare.R)
    res = noufaily(_r_reference_series(), [317, 318, 319])
    r_mu0 = [
        [8.0285714285714196, 8.1714285714285815, 8.3999999999999329],
        [14.049839551061883, 14.277081314599865, 14.441665212415836],
    ]
    r_phi = [[1.3136826436897679, 1.2956867204112754, 1.2779535767455916], [1.0, 1.0, 1.0]]
    assert res.extra["expected"] == pytest.approx(np.array(r_mu0), rel=1e-8)
    assert res.extra["phi"] == pytest.approx(np.array(r_phi), rel=1e-8)
    assert res.extra["trend"].tolist() == [[False, False, False], [True, True, True]]
    assert res.upper.tolist() == [[17, 17, 17], [23, 24, 24]]
    assert res.alarm.tolist() == [[False, False, False], [False, False, True]]
    assert res.pvalue[1, 2] == pytest.approx(0.0038756256855795308, rel=1e-6)


def test_farrington_reproduces_r_delta_bound():
    # R 1.20.3 as above with noPeriods=1, pastWeeksNotIncluded=3, weightsThreshold=1, thresholdMethod="delta"
    res = farrington(_r_reference_series(), [317, 318, 319])
    r_upper = [
        [15.118809456523811, 15.359270344860898, 15.562426381036902],
        [23.464310772903911, 23.903872683654281, 24.280888345408624],
    ]
    r_expected = [
        [7.7850638681812434, 7.9549215272462765, 8.0980018035447756],
        [13.883654852584236, 14.218621317042906, 14.513104729513316],
    ]
    assert res.upper == pytest.approx(np.array(r_upper), rel=1e-8)
    assert res.extra["expected"] == pytest.approx(np.array(r_expected), rel=1e-8)
    assert res.extra["trend"].tolist() == [[False, False, False], [True, True, True]]
    assert res.alarm.tolist() == [[False, False, False], [False, False, True]]
    assert res.pvalue[1, 2] == pytest.approx(0.0034658962827570274, rel=1e-6)


def test_noufaily_blocks_follow_r_for_unequal_lengths():
    # w=2: 47 weeks between two windows in 7 blocks -> R's blocks(): 7,7,7,7,7,6,6 from the older window on
    lags, levels = reference_lags(b=1, w=2, no_periods=8, past_weeks_not_included=2)
    year = levels[(lags > 2) & (lags < 50)]
    assert np.bincount(year).tolist() == [0, 7, 7, 7, 7, 7, 6, 6]
    assert levels[lags == 49].tolist() == [1] and levels[lags == 3].tolist() == [7]  # oldest block first
    assert np.flatnonzero(levels == 0).size == 5  # the window 52 +- 2


def test_noufaily_original_farrington_keeps_current_window_after_exclusion():
    # R with noPeriods=1: the current year's window (lags <= w) is a block too, minus the excluded weeks
    lags, levels = reference_lags(b=2, w=3, no_periods=1, past_weeks_not_included=1)
    assert lags.tolist() == [2, 3, *range(49, 56), *range(101, 108)] and not levels.any()


def test_irls_stops_as_r_and_flags_non_convergence():
    rng = np.random.default_rng(12)
    X = np.column_stack([np.ones(60), np.arange(60) / 60.0])
    y = rng.poisson(np.exp(1 + X[:, 1]), size=(3, 60)).astype(float)
    fit = fit_poisson_batch(y, X)
    assert fit.converged.all()
    assert np.abs((y - fit.mu) @ X).max() < 1e-6  # score equations at the MLE
    assert not fit_poisson_batch(y, X, max_iter=1).converged.any()
    # all zeros, as R's glm(): 60 weeks converge at iteration 24 (intercept -26.30259), 237 weeks (the
    # Noufaily reference) do not converge in 25, so R and the detector give no result
    zero = fit_poisson_batch(np.zeros((1, 60)), X)
    assert zero.converged.all() and zero.beta[0, 0] == pytest.approx(-26.30259, abs=1e-5)
    X237 = np.column_stack([np.ones(237), np.arange(1, 238)])
    assert not fit_poisson_batch(np.zeros((1, 237)), X237).converged.any()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"b": 0},
        {"w": -1},
        {"no_periods": 60},
        {"alpha": 0.0},
        {"alpha": 0.7},
        {"threshold_method": "magic"},
        {"limit54": (5, 0)},
        {"past_weeks_not_included": 400},
    ],
)
def test_noufaily_refuses_impossible_parameters(kwargs):
    with pytest.raises(ParameterError):
        noufaily(np.ones((1, 400)), **kwargs)


def test_farrington_original_runs_and_detects():
    rng = np.random.default_rng(10)
    y = rng.poisson(6.0, size=(50, 300)).astype(float)
    y[:, -1] += 30
    res = farrington(y)
    assert res.alarm[:, -1].all()


def test_cusum_signals_sustained_shift_and_not_flat():
    rng = np.random.default_rng(11)
    mu0 = np.full((200, 40), 5.0)
    flat = rng.poisson(mu0).astype(float)
    shifted = flat.copy()
    shifted[:, 20:] = rng.poisson(10.0, size=(200, 20))
    assert nb_cusum(flat, mu0, 1.0, alpha=0.01).alarm.mean() < 0.02
    assert nb_cusum(shifted, mu0, 1.0, alpha=0.01).alarm[:, 20:].any(axis=1).mean() > 0.95
    res = nb_cusum(flat, np.full((200, 40), np.nan))
    assert res.insufficient.all() and not res.alarm.any()
    with pytest.raises(ParameterError):
        nb_cusum(flat, mu0, shift=0.5)


def test_bh_known_example():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    rej = benjamini_hochberg(p, q=0.05)
    assert rej.tolist() == [True, True, False, False, False, False, False, False, False]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40),
    st.floats(0.001, 0.5),
    st.floats(0.001, 0.5),
)
def test_bh_rejections_monotone_in_alpha(pvals, q1, q2):
    lo, hi = sorted((q1, q2))
    p = np.array(pvals)
    r_lo, r_hi = benjamini_hochberg(p, lo), benjamini_hochberg(p, hi)
    assert r_lo.sum() <= r_hi.sum()
    assert not (r_lo & ~r_hi).any()


def test_daily_budget_caps_alarms():
    p = np.array([0.0001, 0.002, 0.003, 0.02, np.nan, 0.0005])
    assert daily_budget(p, budget=2, alpha=0.01).tolist() == [True, False, False, False, False, True]
    assert daily_budget(p, budget=10, alpha=0.01).sum() == 4


def test_pooled_expectation_borrows_parent_rate():
    counts = np.array([[1, 0, 1, 0], [5, 6, 4, 5], [0, 0, 0, 0]], dtype=float)
    parent = np.array([7, 7, 7])
    exp = pooled_expectation(counts, parent, slice(0, 4), prior=0.5)
    parent_rate = counts.sum() / 4
    assert exp.sum() == pytest.approx(parent_rate)
    assert exp[2] > 0 and exp[1] > exp[0] > exp[2]
