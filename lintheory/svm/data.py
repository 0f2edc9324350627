"""Data generators that meet the SVM suite's assumptions (and near-misses)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["random_orthogonal", "orthonormal_class_data", "separable_gaussian", "pretraining_clusters"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def random_orthogonal(d: int, seed=None) -> np.ndarray:
    """A Haar-random orthogonal ``d × d`` matrix.

    The QR decomposition of a standard Gaussian matrix with the signs of ``diag(R)``
    moved into ``Q`` (Mezzadri 2007): the algorithm, and for the same generator the very
    numbers, of ``scipy.stats.ortho_group.rvs`` (scipy >= 1.10), without importing
    ``scipy.stats`` (half a second).
    """
    if d == 1:
        return np.array([[1.0 if _rng(seed).random() < 0.5 else -1.0]])
    z = _rng(seed).normal(size=(d, d))
    q, r = np.linalg.qr(z)
    diag = r.diagonal()
    q *= (diag / np.abs(diag))[np.newaxis, :]
    return q


def orthonormal_class_data(Kb: int, n: int, d: int, *, labels=None, seed=None,
                           offset: int = 0):
    """Orthonormal, class-major fine-tuning data (Assumption 2.3a).

    Parameters
    ----------
    Kb, n, d : int
        Classes, samples per class, dimension (``d >= offset + Kb n``).
    labels : sequence of int, optional
        The label of each class (default ``0..Kb-1``).
    seed : int or Generator
    offset : int
        Skip the first ``offset`` directions of the random basis (they can hold the
        pre-training data, which is then orthogonal to this data).

    Returns
    -------
    X : ndarray of shape (Kb n, d)
        Orthonormal rows, class-major.
    y : ndarray of shape (Kb n,)
    """
    if d < offset + Kb * n:
        raise InputError(f"need d >= offset + Kb*n = {offset + Kb * n} for orthonormal data, got d = {d}")
    Q = random_orthogonal(d, seed)
    X = Q[:, offset:offset + Kb * n].T.copy()
    labels = np.arange(Kb) if labels is None else np.asarray(labels, dtype=np.int64)
    return X, np.repeat(labels, n)


def separable_gaussian(n: int, d: int, K: int, *, seed=None, min_margin: float = 0.05):
    """Gaussian samples labelled by a random teacher ``W*`` (separable without bias).

    Samples whose teacher margin is below ``min_margin`` are redrawn, so the data are
    separable with a positive margin.
    """
    rng = _rng(seed)
    Wt = rng.standard_normal((K, d))
    X = np.empty((0, d))
    while X.shape[0] < n:
        Z = rng.standard_normal((2 * n, d))
        S = Z @ Wt.T
        top2 = np.sort(S, axis=1)[:, -2:]
        keep = (top2[:, 1] - top2[:, 0]) / np.sqrt(d) >= min_margin
        X = np.vstack([X, Z[keep]])
    X = X[:n]
    y = np.argmax(X @ Wt.T, axis=1)
    return X, y


def pretraining_clusters(K: int, n_per_class: int, d_pre: int, d: int, *, seed=None,
                         spread: float = 0.3):
    """Separable pre-training clusters living in the first ``d_pre`` directions of a random basis.

    Returns ``(X_pre, y_pre, Q)``; the remaining columns ``Q[:, d_pre:]`` span the
    orthogonal complement, where fine-tuning data can be placed.
    """
    rng = _rng(seed)
    if d_pre < 1 or d_pre > d:
        raise InputError(f"need 1 <= d_pre <= d, got d_pre={d_pre}, d={d}")
    Q = random_orthogonal(d, rng)
    centres = rng.standard_normal((K, d_pre))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    Z = np.repeat(centres, n_per_class, axis=0) + spread * rng.standard_normal((K * n_per_class, d_pre)) / np.sqrt(d_pre)
    y = np.repeat(np.arange(K), n_per_class)
    return Z @ Q[:, :d_pre].T, y, Q
