"""The Noufaily (2013) simulation design and the harness command."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
from django.core.management import call_command

from minqing.alerts.simulation import (
    N_WEEKS,
    PARAMETER_SETS,
    noufaily_scenarios,
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
