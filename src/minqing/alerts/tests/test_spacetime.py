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


def _yiyang_like(seed: int, n: int = 120, days: int = 200, per_day: float = 2.0):
    rng = np.random.default_rng(seed)
    coords = rng.random((n, 2)) * 40
    rates = rng.gamma(2.0, 1.0, n)
    rates *= per_day / rates.sum()
    return rng, coords, rng.poisson(rates[:, None], size=(n, days))


def test_expected_counts_and_llr_follow_kulldorff_2005():
    _, coords, y = _county(11, n=40, days=30, rate=0.2)
    y[:3, -1] += 2
    res = space_time_permutation_scan(y, coords, seed=1, replicates=99, max_areas=5, max_fraction=0.2)
    best = res.most_likely
    nn, _ = neighbour_order(coords, max_areas=5, max_fraction=0.2)
    areas = best.areas
    assert areas == nn[best.centre, : len(areas)].tolist()
    total = y.sum()
    n_area = y[areas].sum()
    n_days = y[:, -best.window_days :].sum()
    mu = n_area * n_days / total  # expected = n_area · n_days / N
    c = y[areas, -best.window_days :].sum()
    assert best.expected == pytest.approx(mu)
    assert best.observed == c > mu
    assert best.llr == pytest.approx(c * np.log(c / mu) + (total - c) * np.log((total - c) / (total - mu)))


def test_deficit_cylinders_never_score():
    coords = np.array([[0, 0], [1, 0], [5, 5], [6, 5]], dtype=float)
    y = np.ones((4, 20), dtype=int)
    y[0, -1] = 0  # a deficit today in area 0: only excess counts
    res = space_time_permutation_scan(y, coords, seed=0, replicates=19, max_areas=2, max_fraction=1.0, min_cases=1)
    assert all(0 not in c.areas or c.observed > c.expected for c in res.clusters)
    assert all(c.llr > 0 for c in res.clusters)


def test_replicates_keep_the_margins_and_expectations():
    from minqing.alerts.detectors import spacetime as st

    _, coords, y = _county(12, n=30, days=40, rate=0.15)
    nn, _ = neighbour_order(coords, max_areas=3, max_fraction=1.0)
    total, w = int(y.sum()), 7
    exp = np.cumsum(y.sum(axis=1)[nn], axis=1)[:, :, None] * st.window_sums(y.sum(axis=0), w)[None, None, :] / total
    zeros = np.zeros_like(exp)
    mc = st._MonteCarlo.build(y, nn, np.ones(exp.shape, int), zeros, zeros, st._table_f(total), w, np.array([1.0]))
    cyl = mc.cylinder_counts(np.random.default_rng(3), 4000).reshape(4000, 3, 30, w).astype(float)
    window_total = y[:, -w:].sum()
    assert (cyl[:, 0, :, -1].sum(axis=1) == window_total).all()  # every replicate keeps the window's cases
    today_total = y[:, -1].sum()
    assert (cyl[:, 0, :, 0].sum(axis=1) == today_total).all()  # and each day's total
    expected = np.ascontiguousarray(exp.transpose(1, 0, 2))
    assert np.abs(cyl.mean(axis=0) - expected).max() < 0.1  # mean = C_z · C_d / C


def test_production_scan_finds_a_planted_two_day_cluster_with_its_villages_and_days():
    from minqing.alerts.scan import ScanConfig, scan_spacetime_block, signalled_clusters, spacetime_neighbours

    _, coords, y = _yiyang_like(21)
    config = ScanConfig(spacetime_days=200)
    neighbours = spacetime_neighbours(coords, config)
    villages = neighbours[0][17, :3]
    y[villages, -2] += [1, 1, 0]
    y[villages, -1] += [1, 1, 2]  # 6 cases in 3 neighbouring villages over 2 days
    signals = signalled_clusters(scan_spacetime_block(y, coords, neighbours, config, seed=1), config)
    assert len(signals) == 1
    found = signals[0]
    # the planted villages and both days, plus at most a few neighbours with a background case
    assert set(villages.tolist()) <= set(found.areas) and len(found.areas) <= 6
    assert 2 <= found.window_days <= 3
    assert found.observed >= 6 and found.recurrence_days >= 100
    assert found.observed == y[found.areas, -found.window_days :].sum()


def test_production_scan_of_background_signals_nothing():
    from minqing.alerts.scan import ScanConfig, scan_spacetime_block, signalled_clusters, spacetime_neighbours

    _, coords, y = _yiyang_like(22)
    config = ScanConfig(spacetime_days=200)
    res = scan_spacetime_block(y, coords, spacetime_neighbours(coords, config), config, seed=2)
    assert res.status == "ok" and signalled_clusters(res, config) == []
    assert res.replicate_max.size < config.replicates  # early stopping: clearly not a cluster


def test_configured_circle_size_limits_the_clusters():
    from minqing.alerts.scan import ScanConfig, scan_spacetime_block, spacetime_neighbours

    _, coords, y = _yiyang_like(23)
    nn5 = spacetime_neighbours(coords, ScanConfig(spacetime_max_areas=5))[0]
    assert nn5.shape == (120, 5)
    y[nn5[3], -1] += 3  # 15 cases over 5 villages: a 3-village circle may hold only part of them
    config = ScanConfig(spacetime_max_areas=3)
    res = scan_spacetime_block(y, coords, spacetime_neighbours(coords, config), config, seed=3)
    assert all(len(c.areas) <= 3 for c in res.clusters)
    assert res.status == "cluster"


def test_scan_refuses_bad_windows_and_coordinates():
    coords = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ParameterError):
        space_time_permutation_scan(np.ones((10, 60)), coords, max_window=32)
    with pytest.raises(ParameterError):
        space_time_permutation_scan(np.ones((10, 60)), coords[:, :1])
    with pytest.raises(ParameterError):
        space_time_permutation_scan(-np.ones((10, 60)), coords)


def test_ties_report_the_smallest_circle_and_window():
    coords = np.column_stack([np.arange(12.0), np.zeros(12)])  # villages on a line, 1 km apart
    y = np.zeros((12, 40), dtype=int)
    y[[0, 1, 9, 10, 11], :] = 1  # background in the end villages only; 2..8 have no case at all
    y[6, -1] = 4  # today's cluster in village 6, whose neighbours 5 and 7 never have a case
    res = space_time_permutation_scan(y, coords, seed=0, replicates=99, max_areas=4, max_fraction=1.0)
    # circles around 4, 5, 6, 7, 8 that add empty villages tie with {6}; the single village is reported
    best = res.most_likely
    assert best.areas == [6] and best.window_days == 1 and best.observed == 4


def test_scans_per_day_divides_the_recurrence_interval():
    from minqing.alerts.scan import ScanConfig, scan_spacetime_block, spacetime_neighbours

    _, coords, y = _yiyang_like(24)
    y[spacetime_neighbours(coords)[0][9, :3], -1] += 3
    one = ScanConfig(spacetime_days=200, early_stop=None)
    per_county = ScanConfig(spacetime_days=200, early_stop=None, spacetime_scans_per_day=15)
    a = scan_spacetime_block(y, coords, spacetime_neighbours(coords, one), one, seed=4).most_likely
    b = scan_spacetime_block(y, coords, spacetime_neighbours(coords, per_county), per_county, seed=4).most_likely
    assert a.p_value == b.p_value and b.recurrence_days == pytest.approx(a.recurrence_days / 15)


def test_a_long_busy_study_period_keeps_exact_counts():
    from minqing.alerts.detectors import spacetime as st

    _, coords, y = _county(13, n=40, days=400, rate=2.2)  # ~35,000 cases: more than int16 holds
    total = int(y.sum())
    assert total > 32767
    nn, _ = neighbour_order(coords, max_areas=4, max_fraction=0.2)
    exp = np.cumsum(y.sum(axis=1)[nn], axis=1)[:, :, None] * st.window_sums(y.sum(axis=0), 7)[None, None, :] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(exp) - np.log(total - exp)
        b = total * np.log(total - exp)
    cmin = np.floor(exp).astype(int) + 1
    f = st._table_f(total)
    levels = np.array([12.0, 6.0])
    mc = st._MonteCarlo.build(y, nn, cmin, a, b, f, 7, levels)
    assert mc.cmin.dtype == np.int16  # the window's ~600 cases decide the width
    cyl = mc.cylinder_counts(np.random.default_rng(2), 200).astype(np.int64)
    full_cells = lambda x: np.ascontiguousarray(x.transpose(1, 0, 2)).ravel()  # noqa: E731
    ca, cb, cm = full_cells(a), full_cells(b), full_cells(cmin)
    best = np.where(cyl >= cm, f[cyl] - cyl * ca - cb, 0.0).max(axis=1)
    reached = mc.replicate_max(np.random.default_rng(2), 200)
    for level in levels:
        assert np.array_equal(best >= level, reached >= level)
    assert (best >= levels[-1]).any()  # the comparison is not vacuous
