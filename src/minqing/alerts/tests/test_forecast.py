"""Daily forecasts: NB GLM intervals, insufficient data, rolling-origin evaluation, the command."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from minqing.alerts.detectors import INSUFFICIENT_DATA, ParameterError
from minqing.alerts.forecast import (
    forecast,
    rolling_origin_evaluation,
    seasonal_naive,
    simulate_daily,
    synthetic_holidays,
)

START = date(2023, 1, 2)  # a Monday


def _weekly_nb(rng: np.random.Generator, n: int, days: int, trend: float = 0.0, size: float = 4.0) -> np.ndarray:
    t = np.arange(days)
    dow = np.array([0.3, 0.2, 0.2, 0.1, 0.0, -0.7, -0.9])[(START.weekday() + t) % 7]
    mu = np.exp(np.log(6.0) + trend * t / 365.0 + dow)
    return rng.negative_binomial(size, size / (size + mu), size=(n, days)).astype(float)


def test_forecast_intervals_nest_and_cover_the_mean():
    y = _weekly_nb(np.random.default_rng(1), 40, 200)
    for horizon in (7, 28):
        fc = forecast(y, START, horizon)
        assert fc.mean.shape == (40, horizon) and not fc.insufficient.any()
        assert np.all(fc.lower95 <= fc.lower80) and np.all(fc.lower80 <= fc.upper80)
        assert np.all(fc.upper80 <= fc.upper95)
        assert np.all((fc.lower95 <= fc.mean) & (fc.mean <= fc.upper95))
        assert fc.days()[0] == START + timedelta(days=200)


def test_forecast_learns_weekday_and_holiday_effects():
    rng = np.random.default_rng(2)
    y = _weekly_nb(rng, 60, 364)
    holidays = {START + timedelta(days=d) for d in range(30, 364, 30)}
    for d in range(30, 364, 30):
        y[:, d] = rng.poisson(1.0, 60)  # holidays are quiet
    holidays.add(START + timedelta(days=364))  # the first forecast day is a Monday holiday
    fc = forecast(y, START, 7, holidays)
    monday_holiday, tuesday, sunday = fc.mean[:, 0], fc.mean[:, 1], fc.mean[:, 6]
    assert np.all(monday_holiday < tuesday) and np.all(sunday < tuesday)


def test_coverage_near_nominal_on_nb_data():
    y = _weekly_nb(np.random.default_rng(3), 150, 320)
    ev = rolling_origin_evaluation(y, START, horizon=7, origins=6)
    nb = ev["nb_glm"]
    assert 0.72 <= nb["coverage80"] <= 0.92
    assert 0.90 <= nb["coverage95"] <= 0.99
    assert nb["forecasts"] == 150 * 7 * 6


def test_nb_glm_beats_seasonal_naive_on_trending_weekly_series():
    y = _weekly_nb(np.random.default_rng(4), 100, 400, trend=0.8)
    ev = rolling_origin_evaluation(y, START, horizon=28, origins=4, step=14)
    assert ev["nb_glm"]["mase"] < ev["seasonal_naive"]["mase"]
    assert ev["nb_glm"]["rps"] < ev["seasonal_naive"]["rps"]
    assert ev["mase_ratio_nb_to_naive"] < 0.9


def test_short_or_all_zero_series_are_insufficient_not_errors():
    short = forecast(np.ones((3, 20)), START, 7)
    assert short.insufficient.all() and np.isnan(short.mean).all()
    assert set(short.status()) == {INSUFFICIENT_DATA}
    y = _weekly_nb(np.random.default_rng(5), 2, 100)
    y[1] = 0
    fc = forecast(y, START, 28)
    assert fc.status().tolist() == ["ok", INSUFFICIENT_DATA]
    assert np.isnan(fc.upper95[1]).all() and np.isfinite(fc.upper95[0]).all()
    naive = seasonal_naive(y, START, 7)
    assert naive.insufficient.tolist() == [False, True]


@pytest.mark.parametrize("kwargs", [{"horizon": 0}, {"horizon": 400}, {"horizon": 7, "min_days": 5}])
def test_forecast_refuses_impossible_parameters(kwargs):
    with pytest.raises(ParameterError):
        forecast(np.ones((1, 60)), START, **kwargs)


def test_forecast_refuses_negative_counts():
    with pytest.raises(ParameterError):
        forecast(-np.ones((1, 60)), START, 7)


def test_seasonal_naive_repeats_last_week():
    y = np.tile(np.arange(1.0, 8.0), 8)[None, :]
    fc = seasonal_naive(y, START, 10)
    assert fc.mean[0].tolist() == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3]


def test_simulated_series_have_holidays_and_weekends_low():
    y, holidays = simulate_daily(50, 400, START, np.random.default_rng(6))
    assert y.shape == (50, 400) and holidays == synthetic_holidays(range(2023, 2026))
    days = [START + timedelta(days=i) for i in range(400)]
    weekend = np.array([d.weekday() >= 5 for d in days])
    hol = np.array([d in holidays for d in days])
    assert y[:, weekend].mean() < y[:, ~weekend & ~hol].mean()
    assert y[:, hol].mean() < y[:, ~weekend & ~hol].mean()


def test_command_prints_evaluation_json():
    out = StringIO()
    call_command("alerts_forecast", "--simulate", "--series", "20", "--days", "200", "--origins", "3", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["horizon"] for r in rows] == [7, 28]
    for r in rows:
        assert {"coverage80", "coverage95", "mase", "rps"} <= r["nb_glm"].keys()
        assert {"coverage80", "coverage95", "mase", "rps"} <= r["seasonal_naive"].keys()
