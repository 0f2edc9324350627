"""Multiclass margins :math:`C(W; D)` and :math:`\\gamma(W; D)` (Crammer–Singer)."""

from __future__ import annotations

import numpy as np

from .._validation import as_class_labels, as_float_array
from ..errors import InputError

__all__ = ["multiclass_margin", "normalized_margin", "sample_margins", "check_classifier_data",
           "check_certificate_inputs"]


def check_classifier_data(W, X, y, classes=None):
    """Validate ``W`` (K × d), ``X`` (n × d) and labels ``y`` (n,); return ``(W, X, row index of y)``.

    Labels follow :func:`lintheory._validation.as_class_labels`: row indices in ``[0, K)``, any
    sortable labels with exactly ``K`` distinct values (row ``k`` is the ``k``-th smallest label, as
    :attr:`SVMResult.classes <lintheory.svm.SVMResult>` orders them), or any labels with ``classes``
    naming the label of each row.
    """
    W = as_float_array(W, "W", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise InputError("X has no samples")
    if W.shape[1] != X.shape[1]:
        raise InputError(f"W has {W.shape[1]} features but X has {X.shape[1]}")
    if W.shape[0] < 2:
        raise InputError(f"W needs at least 2 rows (classes), got {W.shape[0]}")
    _, y = as_class_labels(y, X.shape[0], K=W.shape[0], classes=classes)
    return W, X, y


def check_certificate_inputs(W, X, y, dual, classes=None):
    """Validate a primal-dual pair: ``W`` (K × d), ``X`` (n × d), labels ``y`` (n,), ``dual`` (n × K)."""
    W, X, y = check_classifier_data(W, X, y, classes)
    dual = as_float_array(dual, "dual", shape=(X.shape[0], W.shape[0]))
    return W, X, y, dual


def sample_margins(W, X, y, *, classes=None) -> np.ndarray:
    r"""Per-sample margins :math:`\min_{k\ne y_i} (w_{y_i} - w_k)^\top x_i`, shape (n,).

    ``y`` and ``classes`` as in :func:`multiclass_margin`.
    """
    W, X, y = check_classifier_data(W, X, y, classes)
    # margins are bilinear in (W, X): compute them for W / s and X / t and scale back, so that
    # neither the logits nor the differences under- or overflow at extreme scales
    s = float(np.max(np.abs(W))) or 1.0
    t = float(np.max(np.abs(X))) or 1.0
    S = (X / t) @ (W / s).T
    true = S[np.arange(len(y)), y]
    S[np.arange(len(y)), y] = -np.inf
    return (true - S.max(axis=1)) * s * t


def multiclass_margin(W, X, y, *, classes=None) -> float:
    r"""The unnormalised multiclass margin.

    .. math::

        C(W; D) = \min_{(x, y)\in D}\ \min_{k \ne y}\ (w_y - w_k)^\top x ,

    where the competitors are **all** rows of ``W`` (classes absent from ``D`` too).

    Parameters
    ----------
    W : ndarray of shape (K, n_features)
    X : ndarray of shape (n_samples, n_features)
        Samples as rows (the paper stores them as columns).
    y : array_like of shape (n_samples,)
        Labels: row indices in ``[0, K)``, or any sortable labels (ints such as ``y * 10``,
        strings) with exactly ``K`` distinct values, row ``k`` being the ``k``-th smallest label
        (the order of :attr:`SVMResult.classes`), or any labels with ``classes``.
    classes : array_like of shape (K,), optional
        The label of each row of ``W`` (e.g. ``hard_margin_svm(X, y).classes``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> multiclass_margin(np.eye(2), np.eye(2), [0, 1])
    1.0
    """
    return float(sample_margins(W, X, y, classes=classes).min())


def normalized_margin(W, X, y, *, classes=None) -> float:
    r"""The normalised margin :math:`\gamma(W; D) = C(W; D) / \|W\|_F` (equation (4)).

    Scale invariant in ``W``: both are computed for ``W / max|W|`` so that ``W`` at any scale
    (``1e-200``, ``1e200``) gives the same answer.  ``y`` and ``classes`` as in
    :func:`multiclass_margin`.
    """
    W, X, y = check_classifier_data(W, X, y, classes)
    s = float(np.max(np.abs(W)))
    if s == 0.0:
        raise InputError("W is zero: the normalised margin is undefined")
    Ws = W / s
    t = float(np.max(np.abs(X))) or 1.0
    return float(sample_margins(Ws, X / t, y).min()) / float(np.linalg.norm(Ws)) * t
