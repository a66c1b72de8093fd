"""Expectation-based Poisson scan (Neill et al. 2005) against baseline expectations.

The permutation scan conditions on the day totals, so it cannot see a rise that lifts every area at
once. This scan compares ``counts[area, day]`` for the last 1..``max_window`` days with expected counts
from a baseline model (e.g. the Noufaily fit or ``pooling.pooled_expectation``). Regions are the same
circles as the permutation scan plus the whole county (all areas). The statistic of a region with c
cases and expectation b > 0 is c log(c/b) - (c - b) for c > b, else 0. Monte Carlo p-values come from
``replicates`` Poisson(expected) data sets. The county-wide region gets its own p-value too
(``county``), so a county-wide rise is reported even when a small cluster scores higher.

Insufficient data: no positive expectation in the last ``max_window`` days (status INSUFFICIENT_DATA).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import INSUFFICIENT_DATA, NO_ALARM, ParameterError
from .spacetime import ALARM_STATUS, Cluster, neighbour_order, window_sums


@dataclass
class ExpectationScanResult:
    status: str
    most_likely: Cluster | None
    county: Cluster | None


def _ebp(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        v = c * np.log(c / b) - (c - b)
    return np.where((c > b) & (b > 0), v, 0.0)


def expectation_scan(
    counts: np.ndarray,
    expected: np.ndarray,
    coords: np.ndarray,
    *,
    max_window: int = 7,
    max_areas: int = 25,
    max_fraction: float = 0.1,
    replicates: int = 999,
    seed: int | np.random.Generator | None = 0,
    scans_per_day: float = 1.0,
    min_recurrence_days: float = 100.0,
) -> ExpectationScanResult:
    """Scan the recent ``counts`` (areas × days, last = today) against ``expected`` (same shape)."""
    y = np.asarray(counts, dtype=float)
    e = np.asarray(expected, dtype=float)
    if y.shape != e.shape or y.ndim != 2:
        raise ParameterError("counts and expected must be (areas, days) arrays of the same shape")
    if not (1 <= max_window <= y.shape[1]):
        raise ParameterError("max_window must be from 1 to the number of days given")
    if replicates < 9:
        raise ParameterError("replicates must be at least 9")
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise ParameterError("expected counts must be finite and non-negative")
    if e[:, -max_window:].sum() <= 0:
        return ExpectationScanResult(status=INSUFFICIENT_DATA, most_likely=None, county=None)
    rng = np.random.default_rng(seed)
    nn, allowed = neighbour_order(coords, max_areas=max_areas, max_fraction=max_fraction)
    ew = window_sums(e, max_window)  # (A, W)
    exp_cyl = np.cumsum(ew[nn], axis=1)
    exp_cyl = np.where(allowed[:, :, None], exp_cyl, 0.0)
    exp_county = ew.sum(axis=0)

    def stats_of(yw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cyl = np.cumsum(yw[..., nn, :], axis=-2)
        return _ebp(cyl, exp_cyl), _ebp(yw.sum(axis=-2), exp_county)

    obs_w = window_sums(y, max_window)
    llr, llr_county = stats_of(obs_w)
    lam = e[:, ::-1][:, :max_window]
    rep_max = np.empty(replicates)
    rep_county = np.empty(replicates)
    chunk = max(1, 4_000_000 // max(nn.size * max_window, 1))
    for start in range(0, replicates, chunk):
        r = min(chunk, replicates - start)
        sim = np.cumsum(rng.poisson(lam, size=(r, *lam.shape)), axis=2)
        s_cyl, s_county = stats_of(sim.astype(float))
        rep_county[start : start + r] = s_county.max(axis=1)
        rep_max[start : start + r] = np.maximum(s_cyl.reshape(r, -1).max(axis=1), rep_county[start : start + r])

    def make(areas: list[int], centre: int, w: int, obs: float, ex: float, stat: float, ref: np.ndarray):
        p = (1 + int(np.sum(ref >= stat - 1e-9))) / (ref.size + 1)
        return Cluster(areas, centre, w + 1, int(obs), float(ex), float(stat), p, 1.0 / (p * scans_per_day))

    wc = int(np.argmax(llr_county))
    county = make(list(range(y.shape[0])), -1, wc, obs_w[:, wc].sum(), exp_county[wc], llr_county[wc], rep_county)
    idx = int(np.argmax(llr))
    c, k, w = np.unravel_index(idx, llr.shape)
    local = make(
        [int(a) for a in nn[c, : k + 1]],
        int(c),
        int(w),
        np.cumsum(obs_w[nn], axis=1)[c, k, w],
        exp_cyl[c, k, w],
        llr[c, k, w],
        rep_max,
    )
    best = county if llr_county[wc] >= llr[c, k, w] else local
    best.p_value = min(best.p_value, 1.0)
    status = ALARM_STATUS if min(local.recurrence_days, county.recurrence_days) >= min_recurrence_days else NO_ALARM
    return ExpectationScanResult(status=status, most_likely=best, county=county)
