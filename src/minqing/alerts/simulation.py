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

Daily space-time design (one production scan of one level-1 category in a Yiyang-sized county):
353 villages scattered over 40 km × 40 km, Poisson background of 5 cases a day in the category (village
rates gamma(2)-distributed; Yiyang's ~11,500 cases a year over ~15 level-1 categories average 2.1 a day
per category, so 5 is a large category), study periods of ``ScanConfig.spacetime_days`` days as in
production. A cluster of 6 cases falls on a village and its 2 nearest neighbours (each gets at least
one) on one day or spread over two (the issue: "3-village clusters of 6+ cases ... within 2 days").
The production scan (``scan.scan_spacetime_block`` with the same ``ScanConfig``) runs at the end of the
cluster's first day and at the end of its second day; the cluster is found when one of these scans
signals a cluster (recurrence interval >= 100 days) that shares a village with it. False clusters per
100 days come from independent days of pure background, one scan each. Binomial 95 % intervals
(Clopper–Pearson) are reported with both figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist

from .detectors import ears, farrington, nb_cusum, noufaily
from .scan import ScanConfig, scan_spacetime_block, signalled_clusters, spacetime_neighbours

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


# The space-time design mirrors one production scan of one level-1 category in Yiyang county (see the
# module docstring and docs/alerts.md, "Validation harness").
COUNTY_VILLAGES = 353
COUNTY_EXTENT_KM = 40.0  # villages scattered over 40 km × 40 km (Yiyang: about 1,600 km²)
CATEGORY_CASES_PER_DAY = 5.0  # 11,500 cases a year over ~15 categories is 2.1 a day: 5 is a large category
CLUSTER_VILLAGES = 3
CLUSTER_CASES = 6


@dataclass(frozen=True)
class SpacetimeDesign:
    villages: int = COUNTY_VILLAGES
    cases_per_day: float = CATEGORY_CASES_PER_DAY
    extent_km: float = COUNTY_EXTENT_KM
    cluster_villages: int = CLUSTER_VILLAGES
    cluster_cases: int = CLUSTER_CASES

    def __post_init__(self) -> None:
        if self.villages < 2 * self.cluster_villages or self.cases_per_day <= 0:
            raise ValueError("the design needs at least twice the cluster's villages and a positive background")
        if self.cluster_cases < self.cluster_villages:
            raise ValueError("a cluster needs at least one case in each of its villages")


def binomial_ci(k: int, n: int) -> tuple[float, float]:
    """Clopper–Pearson 95 % interval of a proportion k/n."""
    if n <= 0:
        return (float("nan"), float("nan"))
    lo = float(beta_dist.ppf(0.025, k, n - k + 1)) if k > 0 else 0.0
    hi = float(beta_dist.ppf(0.975, k + 1, n - k)) if k < n else 1.0
    return (lo, hi)


def _inject_cluster(
    rng: np.random.Generator, villages: np.ndarray, cases: int, shape: tuple[int, int], first_day: int
) -> tuple[np.ndarray, int]:
    """``cases`` extra cases over ``villages`` (each gets at least one) on ``first_day`` or spread over it
    and the next day (duration 1 or 2, half each; each of the days gets at least one)."""
    out = np.zeros(shape, dtype=np.int64)
    who = np.concatenate([villages, villages[rng.integers(0, villages.size, cases - villages.size)]])
    duration = int(rng.integers(1, 3))
    # a 2-day cluster has a case on each of its days (else it would be a 1-day cluster a day later)
    spread = np.concatenate([np.arange(duration), rng.integers(0, duration, cases - duration)])
    days = first_day + rng.permutation(spread)
    np.add.at(out, (who, days), 1)
    return out, duration


def run_spacetime_validation(
    clusters: int,
    seed: int,
    *,
    null_days: int | None = None,
    design: SpacetimeDesign = SpacetimeDesign(),
    config: ScanConfig | None = None,
) -> dict:
    """Detection of injected clusters within 2 days and false clusters per 100 days, with the production
    scan (``scan.scan_spacetime_block``, ``config``'s study period, circles, windows, replicates, early
    stopping and recurrence threshold).

    Each injected cluster starts on day s, the last day of a study period of ``config.spacetime_days``
    days of background; the scan runs as production would at the end of day s and at the end of day
    s + 1 (on the study period ending that day), and the cluster counts as found when one of the two
    scans signals a cluster (recurrence interval >= ``min_recurrence_days``) that shares a village with
    it. Signals that share no village are counted as spurious. False clusters come from ``null_days``
    (default: as many as clusters) independent days of background only, one scan each."""
    null_days = clusters if null_days is None else null_days
    config = config or ScanConfig()
    rng = np.random.default_rng([seed, 2])
    n, days = design.villages, config.spacetime_days
    coords = rng.random((n, 2)) * design.extent_km
    rates = rng.gamma(2.0, 1.0, n)
    rates *= design.cases_per_day / rates.sum()
    neighbours = spacetime_neighbours(coords, config)
    nn = neighbours[0]
    found = {1: 0, 2: 0}
    injected = {1: 0, 2: 0}
    found_on = [0, 0]  # found by the scan at the end of the cluster's first / second day
    spurious = 0
    for _ in range(clusters):
        base = rng.poisson(rates[:, None], size=(n, days + 1))
        villages = nn[rng.integers(n), : design.cluster_villages]
        cluster, duration = _inject_cluster(rng, villages, design.cluster_cases, base.shape, days - 1)
        y = base + cluster
        injected[duration] += 1
        for scan_day in (0, 1):
            end = days + scan_day
            res = scan_spacetime_block(y[:, end - days : end], coords, neighbours, config, seed=rng)
            signals = signalled_clusters(res, config)
            hits = [bool(set(c.areas) & set(villages.tolist())) for c in signals]
            spurious += hits.count(False)
            if any(hits):
                found[duration] += 1
                found_on[scan_day] += 1
                break
    false_days = 0
    false_clusters = 0
    for _ in range(null_days):
        null = rng.poisson(rates[:, None], size=(n, days))
        signals = signalled_clusters(scan_spacetime_block(null, coords, neighbours, config, seed=rng), config)
        false_days += bool(signals)
        false_clusters += len(signals)
    detected = found[1] + found[2]
    det_ci = binomial_ci(detected, clusters)
    false_ci = binomial_ci(false_days, null_days)
    return {
        "detector": "spacetime_scan",
        "detection_within_2_days": round(detected / max(clusters, 1), 4),
        "detection_ci95": [round(det_ci[0], 4), round(det_ci[1], 4)],
        "detection_1_day_clusters": round(found[1] / injected[1], 4) if injected[1] else None,
        "detection_2_day_clusters": round(found[2] / injected[2], 4) if injected[2] else None,
        "found_on_day_1_2": found_on,
        "false_clusters_per_100_days": round(100.0 * false_clusters / max(null_days, 1), 3),
        "false_days_per_100_ci95": [round(100 * false_ci[0], 3), round(100 * false_ci[1], 3)],
        "spurious_signals_in_cluster_scans": spurious,
        "clusters": clusters,
        "null_days": null_days,
        "villages": design.villages,
        "cases_per_day": design.cases_per_day,
        "cluster_villages": design.cluster_villages,
        "cluster_cases": design.cluster_cases,
        "study_days": days,
        "max_areas": int(nn.shape[1]),
        "max_window": config.spacetime_max_window,
        "mc_replicates": config.replicates,
        "early_stop": config.early_stop,
        "min_recurrence_days": config.min_recurrence_days,
        "criterion": "a signal at the end of the cluster's first or second day shares a village with it",
    }


def run_all(replicates: int, alpha: float, seed: int, *, spacetime_replicates: int | None = None) -> list[dict]:
    """Every detector's metrics: the weekly detectors then the space-time scan."""
    results = run_weekly_validation(replicates, alpha, seed)
    results.append(run_spacetime_validation(spacetime_replicates or replicates, seed))
    return results
