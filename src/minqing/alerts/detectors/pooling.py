"""Pooled baselines for sparse cells.

A cell (e.g. village × category) with too little history cannot support its own model. Its
expectation is borrowed from its parent (township or county): the parent's baseline rate, scaled by
the cell's share of the parent's cases over the baseline window. The share is shrunk towards an even
split with ``prior`` pseudo-cases per cell, so a cell with no history still gets a small expectation.
"""

from __future__ import annotations

import numpy as np

from .base import ParameterError, as_2d_counts


def sparse_cells(counts: np.ndarray, baseline: slice, *, min_cases: int = 10) -> np.ndarray:
    """Cells whose baseline window holds fewer than ``min_cases`` cases."""
    y = as_2d_counts(counts)
    return np.nansum(y[:, baseline], axis=1) < min_cases


def pooled_expectation(
    counts: np.ndarray,
    parent: np.ndarray,
    baseline: slice,
    *,
    prior: float = 0.5,
) -> np.ndarray:
    """Expected count per time point for every cell from its parent's baseline rate.

    ``counts`` (cells, time); ``parent`` (cells,) integer parent ids. Returns (cells,) expected counts
    per time point: parent mean over ``baseline`` × (cell cases + prior) / (parent cases + prior × n_children).
    """
    y = as_2d_counts(counts)
    par = np.asarray(parent)
    if par.shape != (y.shape[0],):
        raise ParameterError("parent must give one parent id per cell")
    if prior <= 0:
        raise ParameterError("prior must be positive")
    _, par_idx = np.unique(par, return_inverse=True)
    cell_total = np.nansum(y[:, baseline], axis=1)
    n_time = y[:, baseline].shape[1]
    if n_time == 0:
        raise ParameterError("baseline window is empty")
    parent_total = np.bincount(par_idx, weights=cell_total)
    children = np.bincount(par_idx)
    share = (cell_total + prior) / (parent_total[par_idx] + prior * children[par_idx])
    return parent_total[par_idx] / n_time * share


def blended_expectation(
    own: np.ndarray, counts: np.ndarray, parent: np.ndarray, baseline: slice, *, min_cases: int = 10
) -> np.ndarray:
    """``own`` (cells,) expectations where the cell has enough history, pooled ones elsewhere."""
    pooled = pooled_expectation(counts, parent, baseline)
    sparse = sparse_cells(counts, baseline, min_cases=min_cases)
    own = np.asarray(own, dtype=float)
    return np.where(sparse | ~np.isfinite(own), pooled, own)
