"""Batched IRLS for weighted Poisson (log link) GLMs sharing one design matrix.

Many small GLMs — one per (series, time point) — have the same design because the covariates
(trend, seasonal factor) are defined relative to the week being judged. Only the responses and the
prior weights differ, so X'WX for all fits is one matrix product ``W @ Q`` where Q holds the distinct
columns of the products x_i x_j (dummy variables make most of them zero or repeated).

The iteration is R's ``glm.fit`` step for step (start, stopping rule, what is reported), so that the
Noufaily detector reproduces ``surveillance::farringtonFlexible`` to rounding (bench/alerts_r_compare.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ETA_CLIP = 30.0
MU_FLOOR = np.finfo(float).eps  # R: make.link("log")$linkinv is pmax(exp(eta), .Machine$double.eps)


@dataclass
class PoissonFit:
    beta: np.ndarray  # (N, p)
    mu: np.ndarray  # (N, n) fitted values
    cov_unscaled: np.ndarray  # (N, p, p) = (X' W X)^-1 with the working weights W of the last iteration
    converged: np.ndarray  # (N,)
    working_weights: np.ndarray  # (N, n) W = prior weight * mu at the start of the last iteration (R's $weights)


def _products(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns Q of the pairwise products x_i x_j and the map (p*p,) -> column of Q."""
    n_obs, p = X.shape
    xx = (X[:, :, None] * X[:, None, :]).reshape(n_obs, p * p)
    q, inverse = np.unique(xx, axis=1, return_inverse=True)
    return q, inverse.ravel()


def _xtwx(w: np.ndarray, q: np.ndarray, inverse: np.ndarray, p: int) -> np.ndarray:
    m = (w @ q)[:, inverse].reshape(-1, p, p)
    # a relative 1e-12 ridge: no effect on the solution, but no exactly singular matrix either
    idx = np.arange(p)
    m[:, idx, idx] *= 1.0 + 1e-12
    return m


def _deviance(y: np.ndarray, mu: np.ndarray, w_prior: np.ndarray, ylogy: np.ndarray) -> np.ndarray:
    """2 * sum(w (y log(y/mu) - (y - mu))); ``ylogy`` = sum(w y log y) is precomputed."""
    return 2.0 * (ylogy - np.einsum("kn,kn->k", w_prior * y, np.log(mu)) + np.einsum("kn,kn->k", w_prior, mu - y))


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

    As R's ``glm.fit`` with the (quasi)poisson family: starts from mu = y + 0.1 (or ``mu_start``); each
    fit stops on its own when its deviance changes by less than ``tol`` relative to |deviance| + 0.1,
    or after ``max_iter`` iterations (then ``converged`` is False). The covariance (X'WX)^-1 and the
    working weights are those of the last iteration, i.e. computed from the fitted values *before* the
    last update, as R reports them (summary.glm, hatvalues).
    """
    n_fit, _ = y.shape
    p = X.shape[1]
    w_prior = np.ones_like(y, dtype=float) if prior_weights is None else np.asarray(prior_weights, dtype=float)
    q, inverse = _products(X)
    mu = np.maximum(y + 0.1 if mu_start is None else mu_start, MU_FLOOR)
    eta = np.log(mu)
    beta = np.zeros((n_fit, p))
    w_work = w_prior * mu
    converged = np.zeros(n_fit, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.sum(w_prior * np.where(y > 0, y * np.log(y), 0.0), axis=1)
    dev_old = _deviance(y, mu, w_prior, ylogy)
    active = np.arange(n_fit)
    for _ in range(max_iter):
        ya, wp, eta_a, mu_a = y[active], w_prior[active], eta[active], mu[active]
        w = wp * mu_a
        wz = w * eta_a + wp * (y[active] - mu_a)  # w * z, z = eta + (y - mu) / mu
        b = np.linalg.solve(_xtwx(w, q, inverse, p), (wz @ X)[:, :, None])[:, :, 0]
        eta_new = np.clip(b @ X.T, -ETA_CLIP, ETA_CLIP)
        mu_new = np.maximum(np.exp(eta_new), MU_FLOOR)
        dev = _deviance(ya, mu_new, wp, ylogy[active])
        beta[active], eta[active], mu[active], w_work[active] = b, eta_new, mu_new, w
        done = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1) < tol
        dev_old[active] = dev
        converged[active[done]] = True
        active = active[~done]
        if not active.size:
            break
    cov = np.linalg.inv(_xtwx(w_work, q, inverse, p))
    return PoissonFit(beta=beta, mu=mu, cov_unscaled=cov, converged=converged, working_weights=w_work)


def hat_values(fit: PoissonFit, X: np.ndarray) -> np.ndarray:
    """Diagonal of the GLM hat matrix, h_i = W_i x_i' (X'WX)^-1 x_i with the working weights, for every fit."""
    p = X.shape[1]
    q, inverse = _products(X)
    onehot = np.zeros((p * p, q.shape[1]))
    onehot[np.arange(p * p), inverse] = 1.0
    quad = (fit.cov_unscaled.reshape(-1, p * p) @ onehot) @ q.T  # (N, n)
    return fit.working_weights * quad


def dispersion(y: np.ndarray, fit: PoissonFit, p: int) -> np.ndarray:
    """Pearson quasi-Poisson dispersion as R's summary.glm: sum(W ((y - mu) / mu)^2) / (n - p), W the
    working weights."""
    n = y.shape[1]
    return np.sum(fit.working_weights * ((y - fit.mu) / fit.mu) ** 2, axis=1) / max(n - p, 1)
