"""Batched IRLS for weighted Poisson (log link) GLMs sharing one design matrix.

Many small GLMs — one per (series, time point) — have the same design because the covariates
(trend, seasonal factor) are defined relative to the week being judged. Only the responses and the
prior weights differ, so X'WX for all fits is one matrix product ``W @ Q`` where Q holds the distinct
columns of the products x_i x_j (dummy variables make most of them zero or repeated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ETA_CLIP = 30.0


@dataclass
class PoissonFit:
    beta: np.ndarray  # (N, p)
    mu: np.ndarray  # (N, n)
    cov_unscaled: np.ndarray  # (N, p, p) = (X' W X)^-1, W = prior weight * mu
    converged: np.ndarray  # (N,)


def _products(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns Q of the pairwise products x_i x_j and the map (p*p,) -> column of Q."""
    n_obs, p = X.shape
    xx = (X[:, :, None] * X[:, None, :]).reshape(n_obs, p * p)
    q, inverse = np.unique(xx, axis=1, return_inverse=True)
    return q, inverse.ravel()


def _xtwx(w: np.ndarray, q: np.ndarray, inverse: np.ndarray, p: int) -> np.ndarray:
    return (w @ q)[:, inverse].reshape(-1, p, p)


def fit_poisson_batch(
    y: np.ndarray,
    X: np.ndarray,
    prior_weights: np.ndarray | None = None,
    *,
    max_iter: int = 25,
    tol: float = 1e-8,
    mu_start: np.ndarray | None = None,
) -> PoissonFit:
    """Fit ``log E[y_k] = X beta_k`` for every row k of ``y`` (N, n) by IRLS; X is (n, p).

    Starts from mu = y + 0.1 as R's poisson family does; stops, as R's glm.fit, when the deviance of
    every fit changes by less than ``tol`` (relative), or after ``max_iter`` iterations.
    Coefficients of factor levels with no cases drift towards -inf; the linear predictor is clipped
    at +-30 so such fits stay finite.
    """
    n_fit, _ = y.shape
    p = X.shape[1]
    w_prior = np.ones_like(y) if prior_weights is None else prior_weights
    q, inverse = _products(X)
    ridge = 1e-10 * np.eye(p)
    mu = y + 0.1 if mu_start is None else mu_start
    eta = np.log(mu)
    beta = np.zeros((n_fit, p))
    converged = np.zeros(n_fit, dtype=bool)
    # deviance = 2 * sum(w (y log(y/mu) - (y - mu))); the y log y part is constant across iterations
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.sum(w_prior * np.where(y > 0, y * np.log(y), 0.0), axis=1)
    wy = w_prior * y
    wy_sum = wy.sum(axis=1)
    dev_old = np.full(n_fit, np.inf)
    for _ in range(max_iter):
        w = w_prior * mu
        wz = w * eta + w_prior * (y - mu)
        xtwx = _xtwx(w, q, inverse, p) + ridge
        beta = np.linalg.solve(xtwx, (wz @ X)[:, :, None])[:, :, 0]
        eta = beta @ X.T
        np.minimum(eta, ETA_CLIP, out=eta)
        np.maximum(eta, -ETA_CLIP, out=eta)
        mu = np.exp(eta)
        dev = 2.0 * (ylogy - np.einsum("kn,kn->k", wy, eta) - wy_sum + np.einsum("kn,kn->k", w_prior, mu))
        converged = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < tol
        dev_old = dev
        if converged.all():
            break
    w = w_prior * mu
    cov = np.linalg.inv(_xtwx(w, q, inverse, p) + ridge)
    return PoissonFit(beta=beta, mu=mu, cov_unscaled=cov, converged=converged)


def hat_values(fit: PoissonFit, X: np.ndarray, prior_weights: np.ndarray | None = None) -> np.ndarray:
    """Diagonal of the GLM hat matrix, h_i = w_i x_i' (X'WX)^-1 x_i, for every fit."""
    p = X.shape[1]
    q, inverse = _products(X)
    onehot = np.zeros((p * p, q.shape[1]))
    onehot[np.arange(p * p), inverse] = 1.0
    quad = (fit.cov_unscaled.reshape(-1, p * p) @ onehot) @ q.T  # (N, n)
    w = fit.mu if prior_weights is None else prior_weights * fit.mu
    return w * quad


def dispersion(y: np.ndarray, mu: np.ndarray, prior_weights: np.ndarray | None, p: int) -> np.ndarray:
    """Pearson quasi-Poisson dispersion sum(w (y-mu)^2 / mu) / (n - p), as R's summary.glm."""
    w = 1.0 if prior_weights is None else prior_weights
    n = y.shape[1]
    return np.sum(w * (y - mu) ** 2 / mu, axis=1) / max(n - p, 1)
