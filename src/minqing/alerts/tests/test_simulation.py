"""The Noufaily (2013) simulation design and the harness command."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from minqing.alerts.scan import ScanConfig
from minqing.alerts.simulation import (
    N_WEEKS,
    PARAMETER_SETS,
    SpacetimeDesign,
    _inject_cluster,
    binomial_ci,
    noufaily_scenarios,
    run_spacetime_validation,
    simulate_weekly,
    weekly_metrics,
)


def test_scenarios_follow_the_published_design():
    sc = noufaily_scenarios()
    assert len(sc) == 42 == 7 * 2 * 3
    assert {s.m for s in sc} == {0, 1, 2} and {s.trend for s in sc} == {0, 1}
    assert sc[0].theta == PARAMETER_SETS[0][0] and sc[0].m == 0 and sc[0].trend == 0
    assert sc[5].m == 2 and sc[5].trend == 1 and sc[5].gamma1 == 0.6
    assert all(s.gamma1 == 0 for s in sc if s.m == 0)


def test_simulated_series_have_the_right_mean_and_outbreaks():
    rng = np.random.default_rng(0)
    sc = [noufaily_scenarios()[36]]  # theta = 5, phi = 1.2, no trend, no seasonality
    sim = simulate_weekly(40, rng, sc)
    assert sim.counts.shape == (40, N_WEEKS)
    baseline = sim.counts - sim.current - sim.past
    assert baseline.mean() == np.float64(baseline.mean())
    assert abs(baseline.mean() / np.exp(5.0) - 1) < 0.02
    assert (sim.start >= N_WEEKS - 49).all()
    assert sim.current.sum(axis=1).min() > 0
    assert sorted(set(sim.k.tolist())) == list(range(1, 11))


def test_weekly_metrics_definitions():
    rng = np.random.default_rng(1)
    sim = simulate_weekly(4, rng, [noufaily_scenarios()[0]])
    cur = sim.current[:, -49:] > 0
    perfect = cur.copy()
    m = weekly_metrics(perfect, sim)
    assert m["fpr"] == 0.0 and m["pod"] == 1.0 and m["ppv"] == 1.0
    none = weekly_metrics(np.zeros_like(perfect), sim)
    assert none["pod"] == 0.0 and none["ppv"] is None


def test_command_prints_one_json_line_per_detector_and_is_deterministic():
    def run() -> list[dict]:
        out = StringIO()
        call_command(
            "alerts_simulate",
            "--replicates",
            "1",
            "--alpha",
            "0.01",
            "--seed",
            "3",
            "--spacetime-replicates",
            "1",
            stdout=out,
        )
        return [json.loads(line) for line in out.getvalue().splitlines()]

    rows = run()
    names = [r["detector"] for r in rows]
    assert names == ["noufaily", "farrington", "ears_c1", "ears_c2", "ears_c3", "cusum", "spacetime_scan"]
    for r in rows[:-1]:
        assert {"fpr", "pod", "pod_by_k", "median_delay_weeks"} <= r.keys()
    assert {"detection_within_2_days", "false_clusters_per_100_days"} <= rows[-1].keys()
    assert run() == rows


def test_injected_cluster_covers_its_villages_within_two_days():
    rng = np.random.default_rng(4)
    villages = np.array([3, 7, 9])
    durations = set()
    for _ in range(40):
        out, duration = _inject_cluster(rng, villages, 6, (12, 30), 28)
        durations.add(duration)
        assert out.sum() == 6
        assert (out[villages].sum(axis=1) >= 1).all()  # every village gets a case
        assert out[np.setdiff1d(np.arange(12), villages)].sum() == 0
        assert out[:, :28].sum() == 0 and out[:, 28 + duration :].sum() == 0
        assert out[:, 28].sum() >= 1  # the first day has a case
    assert durations == {1, 2}


def test_binomial_interval():
    lo, hi = binomial_ci(5, 10)
    assert lo == pytest.approx(0.187, abs=1e-3) and hi == pytest.approx(0.813, abs=1e-3)
    assert binomial_ci(0, 400)[0] == 0.0 and binomial_ci(0, 400)[1] == pytest.approx(0.0092, abs=1e-4)
    assert binomial_ci(400, 400)[1] == 1.0


def test_spacetime_validation_uses_the_production_config_and_is_deterministic():
    design = SpacetimeDesign(villages=80, cases_per_day=2.0, extent_km=20.0)
    config = ScanConfig(spacetime_days=90, replicates=199)
    a = run_spacetime_validation(6, 5, null_days=4, design=design, config=config)
    assert a == run_spacetime_validation(6, 5, null_days=4, design=design, config=config)
    assert a["clusters"] == 6 and a["null_days"] == 4 and a["study_days"] == 90 and a["mc_replicates"] == 199
    assert a["max_areas"] == 8  # 10 % of 80 villages
    found = round(a["detection_within_2_days"] * 6)
    assert sum(a["found_on_day_1_2"]) == found >= 5  # clear clusters on a sparse background
    lo, hi = a["detection_ci95"]
    assert lo <= a["detection_within_2_days"] <= hi
    assert a["false_clusters_per_100_days"] == 0.0


def test_spacetime_design_refuses_impossible_clusters():
    with pytest.raises(ValueError):
        SpacetimeDesign(villages=5)
    with pytest.raises(ValueError):
        SpacetimeDesign(cluster_cases=2)
    with pytest.raises(ValueError):
        SpacetimeDesign(cases_per_day=0)
