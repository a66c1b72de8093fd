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
labels of the cases (keeping every area and day total); a replicate is only compared with the
reported clusters' LLRs, through integer critical counts (see ``_MonteCarlo``), which gives the same
p-values as evaluating every cylinder's LLR. The recurrence interval is
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
    # per replicate, the highest reported cluster LLR its maximum reaches (a lower bound of it), or 0
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

    # The reported clusters' LLRs are known before any replicate is drawn. A p-value only needs to
    # know which of these levels a replicate's maximum reaches, which integer critical counts tell.
    clusters = _report(llr, obs, exp, nn, np.zeros(0), scans_per_day, n_clusters)
    if not clusters:
        return ScanResult(status=NO_ALARM, n_cases=total, replicate_max=np.zeros(0))
    levels = np.array([c.llr for c in clusters])
    mc = _MonteCarlo.build(y, nn, cmin, a, b, f, max_window, levels - llr_tolerance(levels))
    rep_max, done = mc.run(rng, replicates, float(levels[0]), early_stop)
    clusters = _report(llr, obs, exp, nn, rep_max, scans_per_day, n_clusters, sequential=done < replicates)
    status = NO_ALARM
    if clusters and clusters[0].recurrence_days >= min_recurrence_days:
        status = ALARM_STATUS
    return ScanResult(status=status, clusters=clusters, n_cases=total, replicate_max=rep_max)


# Elements of one Monte Carlo chunk (replicates x cylinders), int16: about 8 MB.
CHUNK_CELLS = 4_000_000
EARLY_STOP_CHUNK = 32


def llr_tolerance(value: float | np.ndarray) -> float | np.ndarray:
    """Replicate maxima within this of an observed LLR count as reaching it (ties, rounding)."""
    return 1e-6 + 1e-9 * np.abs(value)


def critical_counts(cmin: np.ndarray, a: np.ndarray, b: np.ndarray, f: np.ndarray, level: float) -> np.ndarray:
    """Per cylinder, the least count c >= cmin whose LLR f[c] - c a - b reaches ``level`` (C + 1 if
    none): the LLR grows with c above the expectation, so a bisection finds it for all cells at once."""
    total = f.size - 1
    lo = np.minimum(cmin.astype(np.int64), total + 1)
    hi = np.full(lo.shape, total + 1, dtype=np.int64)
    if not np.isfinite(level):
        return hi
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        c = np.minimum(mid, total)
        reach = (f[c] - c * a - b >= level) & (mid <= total)
        hi = np.where(active & reach, mid, hi)
        lo = np.where(active & ~reach, mid + 1, lo)


def undominated(ccrit: np.ndarray, reachable: int) -> np.ndarray:
    """Mask of the cylinders (K, A, W) worth checking against their critical counts.

    Counts only grow with the neighbour rank k and the window w, so a cylinder is redundant when a
    larger one (k' >= k, w' >= w, same centre) needs no more cases: whenever it reaches its critical
    count, so does the larger one. Cylinders needing more than ``reachable`` cases (all the cases
    in the window) can never reach it either."""
    big = np.iinfo(np.int64).max
    suffix = ccrit.astype(np.int64)
    suffix = np.minimum.accumulate(suffix[::-1], axis=0)[::-1]  # over k' >= k
    suffix = np.minimum.accumulate(suffix[:, :, ::-1], axis=2)[:, :, ::-1]  # and w' >= w
    beyond = np.full(ccrit.shape, big)
    beyond[:-1] = suffix[1:]  # k' > k, w' >= w
    beyond[:, :, :-1] = np.minimum(beyond[:, :, :-1], suffix[:, :, 1:])  # or k' >= k, w' > w
    return (ccrit < beyond) & (ccrit <= reachable)


@dataclass
class _MonteCarlo:
    """Replicates of the permutation null, vectorised over a chunk of replicates.

    A replicate permutes the day labels of all C cases (keeping the area and day totals). Only the m
    cases that land in the last ``max_window`` days matter: a replicate draws which m of the C cases
    they are (a uniform subset, i.e. per area a multivariate hypergeometric count) and gives them the
    window's day labels in random order. Its counts
    (areas x window days) are cumulated over days and over each circle's neighbour list (shared by
    all replicates).

    The LLR is never evaluated on every cylinder. For each reported cluster's LLR (``levels``,
    highest first) every cylinder has a critical count, the least count whose LLR reaches it; a
    replicate reaches a level when some cylinder holds its critical count (integer comparisons).
    Its recorded "maximum" is the highest level it reaches (a lower bound of its true maximum), or 0.
    That is all the p-values and the early stopping need: the count of replicates reaching each
    level is exact.
    """

    area_tot: np.ndarray  # (A,) cases of every area in the study period
    slot_day: np.ndarray  # (m,) the window's day labels (0 = today)
    nn_t: np.ndarray  # (K, A) neighbour lists, rank-major so the cumulative sum runs over whole rows
    cmin: np.ndarray  # (cells,) least count that can beat the expectation; cells ordered (K, A, W)
    ccrit: list[np.ndarray]  # per level, the critical counts of its undominated cylinders
    check: list[np.ndarray]  # per level, the indices (into cells) of those cylinders
    levels: np.ndarray  # (levels,) the reported clusters' LLRs (minus a tolerance), highest first
    max_window: int

    @classmethod
    def build(
        cls,
        y: np.ndarray,
        nn: np.ndarray,
        cmin: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        f: np.ndarray,
        w: int,
        levels: np.ndarray,
    ) -> _MonteCarlo:
        area_tot = y.sum(axis=1)
        recent_days = y.sum(axis=0)[::-1][:w]
        m = int(recent_days.sum())
        # a replicate's cylinder holds at most the m cases of the window (a year's total may not fit int16)
        small = np.int16 if m < 32000 else np.int32

        def rank_major(x: np.ndarray, dtype: type) -> np.ndarray:
            return np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype).ravel()

        cmin_r, a_r, b_r = rank_major(cmin, np.int64), rank_major(a, float), rank_major(b, float)
        shape = (nn.shape[1], nn.shape[0], w)
        ccrit, check = [], []
        for level in levels:
            cc = critical_counts(cmin_r, a_r, b_r, f, level)
            idx = np.flatnonzero(undominated(cc.reshape(shape), m))
            ccrit.append(cc[idx].astype(small))
            check.append(idx)
        return cls(
            area_tot=area_tot.astype(np.int64),
            slot_day=np.repeat(np.arange(w), recent_days),
            nn_t=np.ascontiguousarray(nn.T),
            cmin=np.minimum(cmin_r, m + 1).astype(small),  # above m is as unreachable as m + 1
            ccrit=ccrit,
            check=check,
            levels=np.asarray(levels, dtype=float),
            max_window=w,
        )

    def cylinder_counts(self, rng: np.random.Generator, r: int) -> np.ndarray:
        """(r, cells) cases of ``r`` replicates in every cylinder."""
        m = self.slot_day.size
        n_area, w = self.nn_t.shape[1], self.max_window
        # how many of each area's cases fall in the window: multivariate hypergeometric (a uniform
        # m-subset of the C cases); "count" draws in about O(m) per replicate, however long the period
        method = "count" if self.area_tot.sum() < 10**9 else "marginals"
        in_window = rng.multivariate_hypergeometric(self.area_tot, m, size=r, method=method).ravel()
        area = np.repeat(np.tile(np.arange(n_area), r), in_window).reshape(r, m)
        days = rng.permuted(np.broadcast_to(self.slot_day, (r, m)), axis=1)
        flat = (np.arange(r)[:, None] * n_area + area) * w + days
        sim = np.bincount(flat.ravel(), minlength=r * n_area * w).astype(self.cmin.dtype).reshape(r, n_area, w)
        for d in range(1, w):
            sim[:, :, d] += sim[:, :, d - 1]
        cyl = np.take(sim, self.nn_t, axis=1)  # (r, K, A, W), contiguous
        for k in range(1, cyl.shape[1]):  # whole (r, A, W) slabs: faster than cumsum on int16
            cyl[:, k] += cyl[:, k - 1]
        return cyl.reshape(r, -1)

    def replicate_max(self, rng: np.random.Generator, r: int) -> np.ndarray:
        """The highest level each of ``r`` replicates' maximum LLR reaches (0 if none; see the class)."""
        out = np.zeros(r)
        if self.slot_day.size == 0:
            return out
        cyl = self.cylinder_counts(rng, r)
        rows = np.arange(r)
        # lowest level first; a replicate that misses a level misses every higher one
        for level, ccrit, idx in zip(self.levels[::-1], self.ccrit[::-1], self.check[::-1], strict=True):
            sub = np.take(cyl if rows.size == r else cyl[rows], idx, axis=1)
            rows = rows[(sub >= ccrit).any(axis=1)]
            out[rows] = level
            if not rows.size:
                break
        return out

    def run(
        self, rng: np.random.Generator, replicates: int, observed_max: float, early_stop: int | None
    ) -> tuple[np.ndarray, int]:
        """Replicate maxima (drawn so far) and how many were drawn; stops early (Besag & Clifford)
        once ``early_stop`` maxima reach ``observed_max``."""
        cells = self.cmin.size
        chunk = int(max(1, min(replicates, CHUNK_CELLS // max(cells, 1))))
        if early_stop is not None:
            chunk = min(chunk, max(EARLY_STOP_CHUNK, early_stop))
        out = np.zeros(replicates)
        done = 0
        while done < replicates:
            r = min(chunk, replicates - done)
            out[done : done + r] = self.replicate_max(rng, r)
            done += r
            reached = np.sum(out[:done] >= observed_max - llr_tolerance(observed_max))
            if early_stop is not None and reached >= early_stop:
                break
        return out[:done], done


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
    # Ties (e.g. a circle grown by villages without a case in the study period has the same c and mu):
    # the fewest villages, then the shortest window, then the lowest centre.
    _, k_idx, w_idx = np.indices(llr.shape).reshape(3, -1)
    order = np.lexsort((w_idx, k_idx, -flat))
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
        exceed = int(np.sum(rep_max >= flat[idx] - llr_tolerance(flat[idx])))
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
