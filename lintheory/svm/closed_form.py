"""Closed forms of the hard-margin SVM on orthonormal class-major data (corrected).

Setting (Assumption 2.3(a) of ``002_caa97dd52c787aec.txt``): K̄ classes, ``n`` samples
per class, all samples unit-norm and pairwise orthogonal (``X Xᵀ = I``).  Since the
logits :math:`v_i = W x_i` can then be chosen freely and
:math:`\\|W\\|_F^2 \\ge \\sum_i \\|v_i\\|^2`, the SVM decouples per sample:
:math:`\\min \\|v\\|^2` s.t. :math:`v_c - v_k \\ge 1` gives :math:`v = e_c - \\tfrac1K\\mathbf 1`.
"""

from __future__ import annotations

import numpy as np

from .._validation import (as_class_labels, as_count, as_float_array, check_orthonormal_rows,
                           renamed_kwargs)
from ..errors import AssumptionError, InputError

__all__ = ["orthonormal_svm", "max_normalized_margin", "svm_frobenius_norm", "check_class_balance"]

#: tolerance on max |X Xᵀ - I| for the closed form to apply
ORTHONORMAL_TOL = 1e-8


def check_class_balance(y, classes=None) -> int:
    """Return ``n`` when every class present has exactly ``n`` samples, else raise."""
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() != counts.max():
        raise AssumptionError(
            "every class has the same number n of samples (Section 2.2): class sizes range "
            f"from {counts.min()} to {counts.max()} (max - min)", float(counts.max() - counts.min()), 0.0,
            relation="==")
    return int(counts[0])


@renamed_kwargs(n_classes="K")
def orthonormal_svm(X, y, K=None, *, tol: float = ORTHONORMAL_TOL, classes=None) -> np.ndarray:
    r"""The hard-margin SVM on orthonormal, class-balanced data, in closed form.

    With ``K=None`` (a K̄-row classifier over the classes present; Proposition
    2.1(i) corrected in scale):

    .. math::

        \bar W^{SVM} = \big((I_{\bar K} - \tfrac1{\bar K}\mathbf 1\mathbf 1^\top)
                       \otimes \mathbf 1_n^\top\big) X_{ft}^\top
                     = \sqrt{\tfrac{\bar K-1}{\bar K}}\,(M_{\bar K}\otimes\mathbf 1_n^\top) X_{ft}^\top,
        \qquad \|\bar W^{SVM}\|_F = \sqrt{n(\bar K-1)} .

    With ``K`` given (labels a subset of ``[0, K)``, or of ``classes``; all K rows compete):

    .. math::

        W^{SVM}_K = \sum_i \big(e_{y_i} - \tfrac1K \mathbf 1_K\big) x_i^\top,
        \qquad \|W^{SVM}_K\|_F = \sqrt{n\bar K (K-1)/K} .

    In both cases every sample has margin exactly 1 against every competitor.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Orthonormal rows (``X Xᵀ = I`` within ``tol``); any order of samples.
    y : array_like of shape (n_samples,)
        Labels, the same number ``n`` of samples per class present: any sortable values (ints such
        as ``y * 10``, strings), as scikit-learn accepts.
    K : int, optional
        See above (``n_classes`` is a deprecated alias).  Then the labels are row indices in
        ``[0, K)`` unless ``classes`` names the label of each row.
    tol : float
        Tolerance on ``max |X Xᵀ - I|``.
    classes : array_like of shape (K,), optional
        With ``K``: the label of each of the ``K`` rows.

    Returns
    -------
    W : ndarray of shape (K, n_features)
        ``(K̄, d)`` with rows in sorted label order when ``K`` is ``None``.

    Raises
    ------
    AssumptionError
        Rows not orthonormal, or unequal class sizes (the message gives the deviation).
        Use :func:`lintheory.svm.hard_margin_svm` for general data.

    Examples
    --------
    >>> import numpy as np
    >>> W = orthonormal_svm(np.eye(4), [0, 0, 1, 1])
    >>> W.shape, round(float(np.linalg.norm(W) ** 2), 12)
    ((2, 4), 2.0)
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise InputError("X has no samples")
    if K is not None:
        K = as_count(K, "K", minimum=2)
    elif classes is not None:
        raise InputError("classes needs K (the number of rows)")
    _, y = as_class_labels(y, X.shape[0], K=K, classes=classes)
    if X.shape[0] > X.shape[1]:
        raise AssumptionError(
            f"orthonormal samples need n_samples <= n_features (Assumption 2.3a): "
            f"{X.shape[0]} samples in dimension {X.shape[1]}")
    try:
        check_orthonormal_rows(X, "X", tol, "rows are orthonormal (Assumption 2.3a)")
    except AssumptionError as exc:
        raise AssumptionError(exc.assumption, exc.violation, exc.tolerance,
                              "The closed form does not apply; use lintheory.svm.hard_margin_svm, "
                              "which handles general separable data") from None
    present = np.unique(y)
    if present.size < 2:
        raise InputError(f"need at least 2 classes, got {present.size}")
    check_class_balance(y)
    if K is None:
        K, rows = present.size, y
    else:
        rows = y
    V = np.eye(K)[rows] - 1.0 / K          # logits of each sample, (n_samples, K)
    return V.T @ X


def svm_frobenius_norm(n: int, Kb: int, K: int | None = None) -> float:
    r""":math:`\|W^{SVM}\|_F`: :math:`\sqrt{n(\bar K-1)}` (K̄ rows) or :math:`\sqrt{n\bar K(K-1)/K}` (K rows)."""
    n, Kb, K = _check_nkk(n, Kb, K)
    return float(np.sqrt(n * Kb * (K - 1) / K))


def _check_nkk(n, Kb, K):
    n = as_count(n, "n (samples per class)", minimum=1)
    Kb = as_count(Kb, "Kb (classes present)", minimum=1)
    K = Kb if K is None else as_count(K, "K (rows of the classifier)", minimum=2)
    if K < 2 or Kb > K:
        raise InputError(f"need 1 <= Kb <= K and K >= 2; got Kb={Kb}, K={K}")
    return n, Kb, K


def max_normalized_margin(n: int, Kb: int, K: int | None = None) -> float:
    r"""The largest normalised margin on orthonormal data (Theorem D.1 and its K-row version).

    .. math::

        \gamma^*_{\bar K} = \frac{1}{\sqrt{n(\bar K-1)}}, \qquad
        \gamma^*_{K} = \sqrt{\frac{K}{n\bar K(K-1)}} .

    Parameters
    ----------
    n : int
        Samples per class.
    Kb : int
        Classes present, ``Kb >= 2`` (``Kb = 1`` is allowed with ``K > 1``).
    K : int, optional
        Rows of the classifier (``K >= Kb``); default ``Kb``.
    """
    n, Kb, K = _check_nkk(n, Kb, K)
    return float(1.0 / svm_frobenius_norm(n, Kb, K))
