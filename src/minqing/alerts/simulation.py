"""Validation harness: the Noufaily et al. (2013) weekly design and a daily space-time design.

Weekly design (Noufaily A, Enki DG, Farrington P, et al. Stat Med 2013;32:1206-22):
- 42 scenarios = 7 parameter sets (theta, beta, gamma1, gamma2, phi) × trend (off/on) × seasonality
  (m = 0, 1 or 2 harmonics). Baseline counts are negative binomial with mean
  mu(t) = exp(theta + beta*t*trend + sum_{j<=m} gamma1 cos(2 pi j t/52) + gamma2 sin(2 pi j t/52))
  and variance phi * mu(t), t = 1..624 weeks.
- Four past outbreaks start in weeks 313..575 (the baseline weeks) with k drawn at random from
  {2, 3, 5, 10}; one current outbreak starts in the evaluation period (the last 49 weeks, 576..624)
  with k = 1, 2, ..., 10 (cycled over the replicates, so 100 replicates give 10 per k). An outbreak
  has Poisson(k × SD) cases, SD = sqrt(phi * mu(start)) the SD of the baseline count at the start
  week, each case placed floor(LogNormal(0, 0.5)) weeks after the start (cases after week 624 are
  lost). ``pod_by_k`` gives every k; ``pod_k_2_3_5_10`` pools only k in {2, 3, 5, 10}.
- Metrics over the 49 evaluation weeks, pooled over scenarios and replicates:
  FPR = alarms in weeks with no outbreak case / weeks with no outbreak case;
  POD = current outbreaks with an alarm in one of their weeks / current outbreaks with >= 1 case;
  median delay = weeks from the outbreak start to its first alarm (detected outbreaks);
  PPV = alarms in outbreak weeks / all alarms.

Daily space-time design: 100 villages scattered over a 10 km × 10 km county, 56-day study periods
with Poisson background (5 cases a day in total, village rates gamma-distributed). A cluster of 6 cases
falls on a village and its 2 nearest neighbours (each gets at least one case) within 1 or 2 days (the
issue: "clusters of 6+ cases ... within 2 days"); the scan runs at the end of the cluster's first and
second day, and counts as a detection when a signal's most likely cluster overlaps the 3 villages.
False clusters per 100 days come from one daily scan of pure background per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detectors import ears, farrington, nb_cusum, noufaily
from .detectors.spacetime import ALARM_STATUS, neighbour_order, space_time_permutation_scan

N_WEEKS = 624
EVAL_WEEKS = 49
K_VALUES = (2, 3, 5, 10)  # past (baseline) outbreaks
CURRENT_K_VALUES = tuple(range(1, 11))  # the current outbreak
BASELINE_OUTBREAK_WEEKS = (313, 575)  # 1-based, inclusive
# (theta, beta, gamma1, gamma2, phi) — Table I of Noufaily et al. (2013)
PARAMETER_SETS = (
    (0.1, 0.0025, 0.6, 0.6, 1.5),
    (-2.0, 0.005, 0.1, 0.3, 2.0),
    (1.5, 0.003, 0.2, -0.4, 1.0),
    (0.5, 0.002, 0.5, 0.5, 5.0),
    (2.5, 0.001, 1.0, 0.1, 3.0),
    (3.75, 0.001, 0.1, -0.1, 1.1),
    (5.0, 0.0001, 0.05, 0.01, 1.2),
)
WEEKLY_DETECTORS = ("noufaily", "farrington", "ears_c1", "ears_c2", "ears_c3", "cusum")


@dataclass(frozen=True)
class Scenario:
    number: int
    theta: float
    beta: float
    gamma1: float
    gamma2: float
    phi: float
    m: int
    trend: int

    def mean(self, t: np.ndarray) -> np.ndarray:
        eta = self.theta + self.beta * t * self.trend
        for j in range(1, self.m + 1):
            eta = eta + self.gamma1 * np.cos(2 * np.pi * j * t / 52) + self.gamma2 * np.sin(2 * np.pi * j * t / 52)
        return np.exp(eta)


def noufaily_scenarios() -> list[Scenario]:
    """The 42 scenarios, numbered as in the paper (set-major, then trend, then m)."""
    out = []
    for theta, beta, g1, g2, phi in PARAMETER_SETS:
        for trend in (0, 1):
            for m in (0, 1, 2):
                gam1, gam2 = (g1, g2) if m else (0.0, 0.0)
                out.append(Scenario(len(out) + 1, theta, beta, gam1, gam2, phi, m, trend))
    return out


def _nb(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    if phi <= 1.0:
        return rng.poisson(mu)
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu))


def _spread(rng: np.random.Generator, starts: np.ndarray, sizes: np.ndarray, n_weeks: int) -> np.ndarray:
    """(R, n_weeks) cases of one outbreak per row with a log-normal profile after ``starts``."""
    out = np.zeros((starts.size, n_weeks), dtype=np.int64)
    rows = np.repeat(np.arange(starts.size), sizes)
    weeks = np.repeat(starts, sizes) + np.floor(rng.lognormal(0.0, 0.5, rows.size)).astype(np.int64)
    keep = weeks < n_weeks
    np.add.at(out, (rows[keep], weeks[keep]), 1)
    return out


@dataclass
class WeeklySimulation:
    counts: np.ndarray  # (S*R, 624) observed = baseline + outbreaks
    current: np.ndarray  # (S*R, 624) cases of the current outbreak
    past: np.ndarray  # (S*R, 624) cases of past outbreaks
    k: np.ndarray  # (S*R,) k of the current outbreak
    start: np.ndarray  # (S*R,) start week (0-based) of the current outbreak
    scenario: np.ndarray  # (S*R,) scenario number


def simulate_weekly(
    replicates: int, rng: np.random.Generator, scenarios: list[Scenario] | None = None
) -> WeeklySimulation:
    """Simulate ``replicates`` series for each scenario."""
    scenarios = noufaily_scenarios() if scenarios is None else scenarios
    t = np.arange(1, N_WEEKS + 1, dtype=float)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("counts", "current", "past", "k", "start", "scenario")}
    k_cycle = np.array(CURRENT_K_VALUES)[np.arange(replicates) % len(CURRENT_K_VALUES)]
    first, last = BASELINE_OUTBREAK_WEEKS
    for sc in scenarios:
        mu = sc.mean(t)
        base = _nb(rng, np.broadcast_to(mu, (replicates, N_WEEKS)), sc.phi)
        past = np.zeros((replicates, N_WEEKS), dtype=np.int64)
        for _ in range(4):
            s = rng.integers(first - 1, last, replicates)
            kk = rng.choice(K_VALUES, replicates)
            past += _spread(rng, s, rng.poisson(kk * np.sqrt(sc.phi * mu[s])), N_WEEKS)
        s = rng.integers(N_WEEKS - EVAL_WEEKS, N_WEEKS, replicates)
        cur = _spread(rng, s, rng.poisson(k_cycle * np.sqrt(sc.phi * mu[s])), N_WEEKS)
        parts["counts"].append(base + past + cur)
        parts["current"].append(cur)
        parts["past"].append(past)
        parts["k"].append(k_cycle)
        parts["start"].append(s)
        parts["scenario"].append(np.full(replicates, sc.number))
    return WeeklySimulation(**{k: np.concatenate(v) for k, v in parts.items()})


def weekly_alarms(sim: WeeklySimulation, alpha: float) -> dict[str, np.ndarray]:
    """Alarms (series, 49 evaluation weeks) of every weekly detector."""
    ev = np.arange(N_WEEKS - EVAL_WEEKS, N_WEEKS)
    y = sim.counts.astype(float)
    out: dict[str, np.ndarray] = {}
    nou = noufaily(y, ev, alpha=alpha)
    out["noufaily"] = nou.alarm
    out["farrington"] = farrington(y, ev, alpha=alpha).alarm
    for method in ("C1", "C2", "C3"):
        out[f"ears_{method.lower()}"] = ears(y, method).alarm[:, ev]
    out["cusum"] = nb_cusum(y[:, ev], nou.extra["expected"], nou.extra["phi"], alpha=alpha).alarm
    return out


def weekly_metrics(alarm: np.ndarray, sim: WeeklySimulation) -> dict:
    """FPR, POD, POD by k, median delay (weeks) and PPV of one detector's alarms."""
    ev = slice(N_WEEKS - EVAL_WEEKS, N_WEEKS)
    cur = sim.current[:, ev] > 0
    outbreak_week = cur | (sim.past[:, ev] > 0)
    quiet = ~outbreak_week
    fpr = float((alarm & quiet).sum() / max(quiet.sum(), 1))
    has = cur.any(axis=1)
    hit = (alarm & cur).any(axis=1)
    pod = float(hit[has].mean()) if has.any() else float("nan")
    pod_by_k = {
        str(k): float(hit[has & (sim.k == k)].mean()) if (has & (sim.k == k)).any() else None for k in CURRENT_K_VALUES
    }
    sub = has & np.isin(sim.k, K_VALUES)
    first = np.where(alarm & cur, np.arange(EVAL_WEEKS)[None, :], EVAL_WEEKS).min(axis=1)
    delays = first[hit] - (sim.start[hit] - (N_WEEKS - EVAL_WEEKS))
    total_alarms = int(alarm.sum())
    ppv = float((alarm & outbreak_week).sum() / total_alarms) if total_alarms else None
    return {
        "fpr": round(fpr, 5),
        "pod": round(pod, 4),
        "pod_by_k": {k: (round(v, 4) if v is not None else None) for k, v in pod_by_k.items() if v is not None},
        "pod_k_2_3_5_10": round(float(hit[sub].mean()), 4) if sub.any() else None,
        "median_delay_weeks": float(np.median(delays)) if delays.size else None,
        "ppv": round(ppv, 4) if ppv is not None else None,
        "outbreaks": int(has.sum()),
        "quiet_weeks": int(quiet.sum()),
    }


def run_weekly_validation(replicates: int, alpha: float, seed: int) -> list[dict]:
    rng = np.random.default_rng([seed, 1])
    sim = simulate_weekly(replicates, rng)
    alarms = weekly_alarms(sim, alpha)
    return [{"detector": name, **weekly_metrics(alarms[name], sim)} for name in WEEKLY_DETECTORS]


def _inject_cluster(
    rng: np.random.Generator, villages: np.ndarray, cases: int, n_villages: int, study_days: int
) -> tuple[np.ndarray, int]:
    """``cases`` extra cases over ``villages`` (each gets at least one) on the last 1 or 2 days."""
    out = np.zeros((n_villages, study_days), dtype=np.int64)
    who = np.concatenate([villages, villages[rng.integers(0, villages.size, cases - villages.size)]])
    duration = int(rng.integers(1, 3))
    days = study_days - duration + rng.integers(0, duration, cases)
    np.add.at(out, (who, days), 1)
    return out, duration


def run_spacetime_validation(
    replicates: int,
    seed: int,
    *,
    n_villages: int = 100,
    cases_per_day: float = 5.0,
    study_days: int = 56,
    cluster_cases: int = 6,
    mc_replicates: int = 999,
    min_recurrence_days: float = 100.0,
) -> dict:
    """Detection of injected 3-village clusters within 2 days and false clusters per 100 days."""
    rng = np.random.default_rng([seed, 2])
    coords = rng.random((n_villages, 2)) * 10.0
    rates = rng.gamma(2.0, 1.0, n_villages)
    rates *= cases_per_day / rates.sum()
    neighbours = neighbour_order(coords, max_areas=25, max_fraction=0.1)
    nn = neighbours[0]
    scan_kwargs = {
        "replicates": mc_replicates,
        "min_recurrence_days": min_recurrence_days,
        "neighbours": neighbours,
    }
    detected = 0
    false_signals = 0
    for _ in range(replicates):
        base = rng.poisson(rates[:, None], size=(n_villages, study_days))
        villages = nn[rng.integers(n_villages), :3]
        cluster, duration = _inject_cluster(rng, villages, cluster_cases, n_villages, study_days)
        y = base + cluster
        # the cluster occupies the last 1 or 2 days; scan at the end of each of its days
        hit = False
        for end in range(study_days - duration + 1, study_days + 1):
            res = space_time_permutation_scan(y[:, :end], coords, seed=rng, **scan_kwargs)
            if res.status == ALARM_STATUS and set(res.clusters[0].areas) & set(villages.tolist()):
                hit = True
                break
        detected += hit
        null = rng.poisson(rates[:, None], size=(n_villages, study_days))
        res = space_time_permutation_scan(null, coords, seed=rng, **scan_kwargs)
        false_signals += res.status == ALARM_STATUS
    return {
        "detector": "spacetime_scan",
        "detection_within_2_days": round(detected / max(replicates, 1), 4),
        "false_clusters_per_100_days": round(100.0 * false_signals / max(replicates, 1), 3),
        "clusters": replicates,
        "null_days": replicates,
        "cluster_cases": cluster_cases,
        "mc_replicates": mc_replicates,
        "min_recurrence_days": min_recurrence_days,
    }


def run_all(replicates: int, alpha: float, seed: int, *, spacetime_replicates: int | None = None) -> list[dict]:
    """Every detector's metrics: the weekly detectors then the space-time scan."""
    results = run_weekly_validation(replicates, alpha, seed)
    results.append(run_spacetime_validation(spacetime_replicates or replicates, seed))
    return results
