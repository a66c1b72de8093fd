"""Space-time permutation scan and expectation-based scan."""

from __future__ import annotations

import numpy as np
import pytest

from minqing.alerts.detectors import (
    INSUFFICIENT_DATA,
    ParameterError,
    expectation_scan,
    neighbour_order,
    space_time_permutation_scan,
)


def _county(seed: int, n: int = 60, days: int = 42, rate: float = 0.08):
    rng = np.random.default_rng(seed)
    coords = rng.random((n, 2)) * 10
    y = rng.poisson(rate, size=(n, days))
    return rng, coords, y


def test_neighbour_order_starts_with_self_and_is_sorted():
    coords = np.array([[0, 0], [1, 0], [3, 0], [10, 0]], dtype=float)
    nn, allowed = neighbour_order(coords, max_areas=3, max_fraction=1.0)
    assert nn[0].tolist() == [0, 1, 2]
    assert nn[3].tolist() == [3, 2, 1]
    _, allowed = neighbour_order(coords, max_areas=3, max_fraction=1.0, max_radius=1.5)
    assert allowed[0].tolist() == [True, True, False]


def test_scan_finds_planted_cluster():
    _, coords, y = _county(1)
    nn, _ = neighbour_order(coords, max_areas=6, max_fraction=0.1)
    villages = nn[5, :3]
    y[villages, -1] += 3
    res = space_time_permutation_scan(y, coords, seed=1, replicates=199)
    best = res.most_likely
    assert best.p_value < 0.05
    assert set(best.areas) & set(villages.tolist())
    assert best.window_days <= 2
    assert best.observed > best.expected
    assert best.recurrence_days == pytest.approx(1 / best.p_value)


def test_scan_null_data_is_not_significant():
    _, coords, y = _county(2)
    res = space_time_permutation_scan(y, coords, seed=2, replicates=199)
    assert res.most_likely.p_value > 0.1
    assert res.status == "ok"


def test_scan_is_deterministic_for_a_seed():
    _, coords, y = _county(3)
    a = space_time_permutation_scan(y, coords, seed=5, replicates=99)
    b = space_time_permutation_scan(y, coords, seed=5, replicates=99)
    assert a.most_likely == b.most_likely


def test_scan_insufficient_data():
    coords = np.random.default_rng(0).random((10, 2))
    assert space_time_permutation_scan(np.zeros((10, 30)), coords).status == INSUFFICIENT_DATA
    assert space_time_permutation_scan(np.ones((10, 5)), coords).status == INSUFFICIENT_DATA


def test_scan_refuses_impossible_parameters():
    coords = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ParameterError):
        space_time_permutation_scan(np.ones((10, 30)), coords, max_window=0)
    with pytest.raises(ParameterError):
        space_time_permutation_scan(np.ones((10, 30)), coords, replicates=3)
    with pytest.raises(ParameterError):
        space_time_permutation_scan(np.ones((10, 30)), coords[:5])


def test_early_stop_gives_large_p_on_null_data():
    _, coords, y = _county(4)
    res = space_time_permutation_scan(y, coords, seed=4, early_stop=10)
    assert res.replicate_max.size < 999
    assert res.most_likely.p_value > 0.05


def test_expectation_scan_sees_county_wide_rise():
    rng = np.random.default_rng(6)
    n, days = 40, 7
    coords = rng.random((n, 2))
    expected = np.full((n, days), 0.5)
    y = rng.poisson(expected * 2.0)  # every area doubles: invisible to the permutation scan
    res = expectation_scan(y, expected, coords, replicates=199, seed=1)
    assert res.county.p_value < 0.01
    assert res.status == "cluster"
    calm = expectation_scan(rng.poisson(expected), expected, coords, replicates=199, seed=1)
    assert calm.county.p_value > 0.05
    assert expectation_scan(y, np.zeros_like(expected), coords).status == INSUFFICIENT_DATA


def test_critical_counts_give_the_same_exceedances_as_every_llr():
    from minqing.alerts.detectors import spacetime as st

    _, coords, y = _county(7, n=50, days=30, rate=0.15)
    nn, _ = neighbour_order(coords, max_areas=6, max_fraction=0.2)
    total = int(y.sum())
    exp = np.cumsum(y.sum(axis=1)[nn], axis=1)[:, :, None] * st.window_sums(y.sum(axis=0), 7)[None, None, :] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(exp) - np.log(total - exp)
        b = total * np.log(total - exp)
    a, b = np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(b), b, 0.0)
    cmin = np.floor(exp).astype(int) + 1
    f = st._table_f(total)
    levels = np.array([6.0, 4.0, 2.5])
    mc = st._MonteCarlo.build(y, nn, cmin, a, b, f, 7, levels)
    cyl = mc.cylinder_counts(np.random.default_rng(1), 300).astype(np.int64)
    full_cells = lambda x: np.ascontiguousarray(x.transpose(1, 0, 2)).ravel()  # noqa: E731
    ca, cb, cm = full_cells(a), full_cells(b), full_cells(cmin)
    best = np.where(cyl >= cm, f[cyl] - cyl * ca - cb, 0.0).max(axis=1)
    reached = mc.replicate_max(np.random.default_rng(1), 300)
    for level in levels:
        assert np.array_equal(best >= level, reached >= level)
