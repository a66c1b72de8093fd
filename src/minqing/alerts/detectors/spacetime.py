"""Prospective space-time permutation scan (Kulldorff et al. 2005), vectorised with numpy.

Input: ``counts[area, day]`` for the study period (the last column is today) and area coordinates.
Candidate clusters are cylinders: a circle (an area and its nearest neighbours, up to ``max_areas``,
``max_fraction`` of all areas and ``max_radius``) times a window of the last 1..``max_window`` days
(always ending today: prospective). Expected counts come from the permutation null,
mu_zd = C_z * C_d / C (area total × day total / grand total), so no population data are needed and
purely temporal rises across the whole county are invisible by design (see ``expectation_scan``).

The statistic is the Poisson generalised likelihood ratio of the cylinder with observed c > expected
mu: c log(c/mu) + (C - c) log((C - c)/(C - mu)). Its Monte Carlo p-value compares the most likely
cluster with the maxima of ``replicates`` (default 999) data sets made by randomly permuting the day
labels of the cases (keeping every area and day total). The recurrence interval is
1 / (p × scans per day), in days: a cluster this unusual would arise by chance once in that many days
of daily scanning.

Insufficient data: fewer than ``max_window + 1`` days, or fewer than ``min_cases`` cases in the
study period. The result then has ``status == INSUFFICIENT_DATA`` and no clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import INSUFFICIENT_DATA, NO_ALARM, ParameterError

ALARM_STATUS = "cluster"


@dataclass
class Cluster:
    areas: list[int]
    centre: int
    window_days: int
    observed: int
    expected: float
    llr: float
    p_value: float
    recurrence_days: float


@dataclass
class ScanResult:
    status: str  # "cluster", "ok" or INSUFFICIENT_DATA
    clusters: list[Cluster] = field(default_factory=list)
    n_cases: int = 0
    replicate_max: np.ndarray | None = None

    @property
    def most_likely(self) -> Cluster | None:
        return self.clusters[0] if self.clusters else None


def neighbour_order(
    coords: np.ndarray, *, max_areas: int = 25, max_fraction: float = 0.1, max_radius: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For every area its nearest areas (itself first), (A, K), and a mask of allowed circle sizes."""
    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ParameterError("coords must be an (areas, 2) array")
    n = xy.shape[0]
    k = int(max(1, min(max_areas, np.floor(max_fraction * n), n)))
    nn = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k))
    for start in range(0, n, 512):
        d2 = ((xy[start : start + 512, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (d2.shape[0], 1))
        dd = np.take_along_axis(d2, idx, axis=1)
        order = np.lexsort((idx, dd), axis=1)
        nn[start : start + 512] = np.take_along_axis(idx, order, axis=1)
        dist[start : start + 512] = np.sqrt(np.take_along_axis(dd, order, axis=1))
    allowed = np.ones((n, k), dtype=bool) if max_radius is None else dist <= max_radius
    allowed[:, 0] = True
    return nn, allowed


def window_sums(counts: np.ndarray, max_window: int) -> np.ndarray:
    """(..., A, W): cases in the last 1..W days for every area."""
    recent = counts[..., ::-1][..., :max_window]
    return np.cumsum(recent, axis=-1)


def _validate(counts: np.ndarray, max_window: int, replicates: int) -> None:
    if counts.ndim != 2:
        raise ParameterError("counts must be an (areas, days) array")
    if not (1 <= max_window <= 31):
        raise ParameterError("max_window must be from 1 to 31 days")
    if replicates < 9:
        raise ParameterError("replicates must be at least 9 (999 is the default)")
    if np.any(counts < 0):
        raise ParameterError("counts must be non-negative")


def _table_f(total: int) -> np.ndarray:
    c = np.arange(total + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(c > 0, c * np.log(c), 0.0) + np.where(total - c > 0, (total - c) * np.log(total - c), 0.0)
    return f


def space_time_permutation_scan(
    counts: np.ndarray,
    coords: np.ndarray,
    *,
    max_window: int = 7,
    max_areas: int = 25,
    max_fraction: float = 0.1,
    max_radius: float | None = None,
    replicates: int = 999,
    seed: int | np.random.Generator | None = 0,
    scans_per_day: float = 1.0,
    min_recurrence_days: float = 100.0,
    n_clusters: int = 3,
    min_cases: int = 5,
    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
    early_stop: int | None = None,
) -> ScanResult:
    """Scan ``counts`` (areas × days, last day = today). Status "cluster" when the most likely
    cluster's recurrence interval is at least ``min_recurrence_days``.

    ``early_stop=h`` turns on sequential Monte Carlo (Besag & Clifford 1991): replicates are drawn in
    batches and the simulation stops once h replicate maxima reach the observed statistic; the
    p-value is then h / (replicates drawn). Off (None) by default: all ``replicates`` are drawn.
    ``neighbours`` lets a caller reuse one ``neighbour_order`` result across many scans."""
    y = np.asarray(counts)
    _validate(y, max_window, replicates)
    if y.shape[0] != np.asarray(coords).shape[0]:
        raise ParameterError("coords must have one row per area")
    y = np.rint(y).astype(np.int64)
    total = int(y.sum())
    if y.shape[1] <= max_window or total < min_cases:
        return ScanResult(status=INSUFFICIENT_DATA, n_cases=total)
    rng = np.random.default_rng(seed)
    nn, allowed = (
        neighbours
        if neighbours is not None
        else neighbour_order(coords, max_areas=max_areas, max_fraction=max_fraction, max_radius=max_radius)
    )
    area_tot = y.sum(axis=1)
    day_tot_w = window_sums(y.sum(axis=0), max_window)  # (W,)
    exp = np.cumsum(area_tot[nn], axis=1)[:, :, None] * day_tot_w[None, None, :] / total  # (A, K, W)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(exp) - np.log(total - exp)
        b = total * np.log(total - exp)
    a = np.where(np.isfinite(a), a, 0.0)
    b = np.where(np.isfinite(b), b, 0.0)
    f = _table_f(total)
    exp = np.where(allowed[:, :, None], exp, np.inf)
    # a cylinder can only be a cluster if it holds at least floor(expected) + 1 cases
    cmin = np.minimum(np.floor(exp) + 1, total + 1).astype(np.int32)

    obs = np.cumsum(window_sums(y, max_window)[nn], axis=1)  # (A, K, W)
    llr = np.where(obs >= cmin, f[obs] - obs * a - b, 0.0)

    # Monte Carlo: permute day labels; only cases landing in the last max_window days matter.
    case_area = np.repeat(np.arange(y.shape[0]), area_tot)
    recent_days = y.sum(axis=0)[::-1][:max_window]
    slot_day = np.repeat(np.arange(max_window), recent_days)
    m = slot_day.size
    n_area = y.shape[0]
    cells = n_area * nn.shape[1] * max_window
    small = np.int16 if m < 32000 else np.int32
    cmin_s = cmin.astype(small) if m < 32000 else cmin
    a_flat, b_flat = a.ravel(), b.ravel()
    chunk = int(max(1, min(replicates, 8_000_000 // max(cells, 1))))
    if early_stop is not None:
        chunk = min(chunk, max(10 * early_stop, 50))
    rep_max = np.zeros(replicates)
    observed_max = float(llr.max())
    done = replicates
    for start in range(0, replicates, chunk):
        if early_stop is not None and np.sum(rep_max[:start] >= observed_max - 1e-9) >= early_stop:
            done = start
            break
        r = min(chunk, replicates - start)
        keys = rng.random((r, total))
        pick = np.argpartition(keys, m - 1, axis=1)[:, :m] if 0 < m < total else np.argsort(keys, axis=1)[:, :m]
        # argpartition's order inside the first m is not random: shuffle the day labels instead
        days = rng.permuted(np.broadcast_to(slot_day, (r, m)), axis=1)
        areas = case_area[pick]
        flat = (np.arange(r)[:, None] * n_area + areas) * max_window + days
        sim = np.bincount(flat.ravel(), minlength=r * n_area * max_window).astype(small)
        sim = np.cumsum(sim.reshape(r, n_area, max_window), axis=2, dtype=small)
        cyl = np.cumsum(sim[:, nn, :], axis=2, dtype=small).reshape(r, -1)
        ridx, cidx = np.nonzero(cyl >= cmin_s.ravel())
        if ridx.size:
            c = cyl[ridx, cidx].astype(np.int64)
            val = f[c] - c * a_flat[cidx] - b_flat[cidx]
            np.maximum.at(rep_max, start + ridx, val)

    rep_max = rep_max[:done]
    clusters = _report(llr, obs, exp, nn, rep_max, scans_per_day, n_clusters, sequential=done < replicates)
    status = NO_ALARM
    if clusters and clusters[0].recurrence_days >= min_recurrence_days:
        status = ALARM_STATUS
    return ScanResult(status=status, clusters=clusters, n_cases=total, replicate_max=rep_max)


def _report(
    llr: np.ndarray,
    obs: np.ndarray,
    exp: np.ndarray,
    nn: np.ndarray,
    rep_max: np.ndarray,
    scans_per_day: float,
    n_clusters: int,
    sequential: bool = False,
) -> list[Cluster]:
    """Most likely cluster, then the next best whose areas do not overlap the ones already reported."""
    flat = llr.ravel()
    order = np.argsort(-flat, kind="stable")
    taken: set[int] = set()
    out: list[Cluster] = []
    for idx in order[: 50 * n_clusters + 50]:
        if flat[idx] <= 0 or len(out) >= n_clusters:
            break
        centre, k, w = np.unravel_index(idx, llr.shape)
        areas = [int(x) for x in nn[centre, : k + 1]]
        if taken.intersection(areas):
            continue
        taken.update(areas)
        exceed = int(np.sum(rep_max >= flat[idx] - 1e-9))
        p = exceed / rep_max.size if sequential and exceed else (1 + exceed) / (rep_max.size + 1)
        out.append(
            Cluster(
                areas=areas,
                centre=int(centre),
                window_days=int(w) + 1,
                observed=int(obs[centre, k, w]),
                expected=float(exp[centre, k, w]),
                llr=float(flat[idx]),
                p_value=p,
                recurrence_days=1.0 / (p * scans_per_day),
            )
        )
    return out
