"""Generators for P&M: random merge instances (Eq. 7–8) and sequential task streams.

Every generator takes a numpy ``Generator`` (seeded by the caller), so the same seed gives the same tasks.
Samples are rows: ``X`` has shape ``(n, d)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_count, renamed_kwargs
from ..errors import InputError

__all__ = ["Task", "random_psd", "random_merge_instance", "quadratic_tasks", "linear_regression_tasks",
           "logistic_tasks", "rotated_classification_tasks"]


@dataclass(frozen=True)
class Task:
    """One task's training data: ``X`` (n, d) float64, ``y`` (n,) (float targets or int labels)."""

    X: np.ndarray
    y: np.ndarray


def random_psd(rng: np.random.Generator, d: int, *, rank: int | None = None, ridge: float = 1e-3) -> np.ndarray:
    """A random PSD ``(d, d)`` matrix ``G Gᵀ / d + ridge I`` with ``G`` of shape (d, rank)."""
    d = as_count(d, "d", minimum=1)
    r = d if rank is None else as_count(rank, "rank", minimum=1)
    G = rng.standard_normal((d, r))
    return G @ G.T / d + ridge * np.eye(d)


def random_merge_instance(rng: np.random.Generator, d: int, t: int, *, kind: str = "dense",
                          rank: int | None = None, start_at_previous_optimum: bool = False) -> dict:
    """A random instance of Eq. 8: ``theta_prev`` (d,), ``optima`` (t × (d,)), ``curvatures``, ``delta`` (d,).

    ``optima[-1] = theta_prev + delta`` as in P&M.  ``kind`` is ``"dense"`` (PSD (d, d)), ``"diag"`` (positive
    (d,)), or ``"rank"`` (PSD of random rank, plus 1e-3 I).  ``start_at_previous_optimum`` sets
    ``theta_prev = optima[0]`` (the t = 2 situation, where α₁ = 1 has been applied).
    """
    d, t = as_count(d, "d", minimum=1), as_count(t, "t (number of tasks)", minimum=1)
    optima = [rng.standard_normal(d) for _ in range(t - 1)]
    theta_prev = optima[0].copy() if (start_at_previous_optimum and t >= 2) else rng.standard_normal(d)
    delta = rng.standard_normal(d)
    optima.append(theta_prev + delta)
    if kind == "dense":
        curv = [random_psd(rng, d) for _ in range(t)]
    elif kind == "rank":
        curv = [random_psd(rng, d, rank=int(rng.integers(1, d + 1))) for _ in range(t)]
    elif kind == "diag":
        curv = [rng.lognormal(0.0, 1.0, d) for _ in range(t)]
    else:
        raise InputError(f"kind must be 'dense', 'rank' or 'diag', got {kind!r}")
    return {"theta_prev": theta_prev, "optima": optima, "curvatures": curv, "delta": delta}


def quadratic_tasks(rng: np.random.Generator, d: int, T: int, *, common_hessian: bool = False,
                    kind: str = "dense") -> tuple[list, list]:
    """``T`` abstract quadratic tasks :math:`\\mathcal L_i(\\theta)=\\tfrac12(\\theta-c_i)^\\top H_i(\\theta-c_i)`.

    Returns ``(hessians, centres)``; with full-rank ``H_i`` the task optimum reached from any start is ``c_i``.
    """
    d, T = as_count(d, "d", minimum=1), as_count(T, "T (number of tasks)", minimum=1)
    if common_hessian:
        H = random_psd(rng, d) if kind == "dense" else rng.lognormal(0.0, 1.0, d)
        Hs = [H] * T
    else:
        Hs = [random_psd(rng, d) if kind == "dense" else rng.lognormal(0.0, 1.0, d) for _ in range(T)]
    cs = [rng.standard_normal(d) for _ in range(T)]
    return Hs, cs


def linear_regression_tasks(rng: np.random.Generator, T: int, n: int, d: int, *, noise=0.5,
                            shared: float = 0.0, feature_spread: float = 1.0) -> list[Task]:
    """Sequential linear-regression tasks ``y = X w_t + noise``.

    Each task scales the features by its own log-normal factors (spread ``feature_spread``), so the Hessians
    :math:`X_t^\\top X_t/n` differ between tasks; ``w_t = shared * w_0 + (1 - shared) * u_t``.  ``noise`` is a
    float or a length-T sequence of per-task noise standard deviations (heterogeneous noise biases the Fisher).
    """
    T, n, d = as_count(T, "T", minimum=1), as_count(n, "n", minimum=1), as_count(d, "d", minimum=1)
    noise = np.broadcast_to(np.asarray(noise, float), (T,))
    w0 = rng.standard_normal(d)
    tasks = []
    for t in range(T):
        s = rng.lognormal(0.0, feature_spread, d) if feature_spread > 0 else np.ones(d)
        X = rng.standard_normal((n, d)) * s
        w = shared * w0 + (1.0 - shared) * rng.standard_normal(d)
        y = X @ w + noise[t] * rng.standard_normal(n)
        tasks.append(Task(X, y))
    return tasks


def logistic_tasks(rng: np.random.Generator, T: int, n: int, d: int, *, scale: float = 1.0) -> list[Task]:
    """Sequential binary logistic tasks: ``y ~ Bernoulli(sigmoid(X w_t))`` with ``||w_t||`` ~ ``scale * sqrt(d)``."""
    T, n, d = as_count(T, "T", minimum=1), as_count(n, "n", minimum=1), as_count(d, "d", minimum=1)
    tasks = []
    for _ in range(T):
        s = rng.lognormal(0.0, 0.5, d)
        X = rng.standard_normal((n, d)) * s
        w = scale * rng.standard_normal(d)
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        y = (rng.random(n) < p).astype(np.float64)
        tasks.append(Task(X, y))
    return tasks


@renamed_kwargs(n_classes="K")
def rotated_classification_tasks(rng: np.random.Generator, T: int, n: int, d: int, K: int = 3, *,
                                 separation: float = 2.0, angle: float = 0.6) -> list[Task]:
    """Domain-incremental tasks: one Gaussian-mixture problem, each task's inputs rotated by a random rotation
    ``exp(angle * A)`` (A skew-symmetric, unit spectral scale).  Labels are int64 in [0, K)
    (``n_classes`` is a deprecated alias of ``K``)."""
    from scipy.linalg import expm

    T, n, d = as_count(T, "T", minimum=1), as_count(n, "n", minimum=1), as_count(d, "d", minimum=1)
    n_classes = as_count(K, "K (number of classes)", minimum=2)
    means = separation * rng.standard_normal((n_classes, d))
    tasks = []
    for _ in range(T):
        A = rng.standard_normal((d, d))
        A = (A - A.T) / 2.0
        A /= max(np.linalg.norm(A, 2), 1e-12)
        R = expm(angle * A)
        y = rng.integers(0, n_classes, n)
        X = (means[y] + rng.standard_normal((n, d))) @ R.T
        tasks.append(Task(X, y.astype(np.int64)))
    return tasks
