"""Multiclass margins :math:`C(W; D)` and :math:`\\gamma(W; D)` (Crammer–Singer)."""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, as_labels
from ..errors import InputError

__all__ = ["multiclass_margin", "normalized_margin", "sample_margins", "check_classifier_data"]


def check_classifier_data(W, X, y):
    """Validate ``W`` (K × d), ``X`` (n × d), ``y`` (n,) with labels in ``[0, K)``."""
    W = as_float_array(W, "W", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    if W.shape[1] != X.shape[1]:
        raise InputError(f"W has {W.shape[1]} features but X has {X.shape[1]}")
    if W.shape[0] < 2:
        raise InputError(f"W needs at least 2 rows (classes), got {W.shape[0]}")
    y = as_labels(y, X.shape[0], W.shape[0])
    if X.shape[0] == 0:
        raise InputError("X has no samples")
    return W, X, y


def sample_margins(W, X, y) -> np.ndarray:
    r"""Per-sample margins :math:`\min_{k\ne y_i} (w_{y_i} - w_k)^\top x_i`, shape (n,)."""
    W, X, y = check_classifier_data(W, X, y)
    S = X @ W.T
    true = S[np.arange(len(y)), y]
    S[np.arange(len(y)), y] = -np.inf
    return true - S.max(axis=1)


def multiclass_margin(W, X, y) -> float:
    r"""The unnormalised multiclass margin.

    .. math::

        C(W; D) = \min_{(x, y)\in D}\ \min_{k \ne y}\ (w_y - w_k)^\top x ,

    where the competitors are **all** rows of ``W`` (classes absent from ``D`` too).

    Parameters
    ----------
    W : ndarray of shape (n_classes, n_features)
    X : ndarray of shape (n_samples, n_features)
        Samples as rows (the paper stores them as columns).
    y : ndarray of shape (n_samples,)
        Integer labels in ``[0, n_classes)``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> multiclass_margin(np.eye(2), np.eye(2), [0, 1])
    1.0
    """
    return float(sample_margins(W, X, y).min())


def normalized_margin(W, X, y) -> float:
    r"""The normalised margin :math:`\gamma(W; D) = C(W; D) / \|W\|_F` (equation (4))."""
    W, X, y = check_classifier_data(W, X, y)
    norm = float(np.linalg.norm(W))
    if norm == 0.0:
        raise InputError("W is zero: the normalised margin is undefined")
    return multiclass_margin(W, X, y) / norm
