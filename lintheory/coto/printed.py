r"""Theorem 3.1 of the CoTo paper exactly as printed (``004_bb9aedc7a8b2e8cb.txt``, §3.4).

    Let ℓ(·, y) be a convex loss function.  Then for any fixed p ∈ [0, 1],

    .. math::

        \min_{\{\Delta W_i\}}\mathbb E_\delta[\ell(\hat y, y)]\;\ge\;
        \min_{\{\Delta W_i\}}\sum_{j=1}^{L} w_j(p)\,\ell(\tilde y_j, y).

The printed sum starts at ``j = 1``; the proof (Appendix D, Eq. 8) sums over all ``j``
(``j = 0..L``), which the binomial expansion needs.  Dropping the ``j = 0`` term is a
valid weakening only for losses with ℓ ≥ 0 (CE, MSE); for a convex loss that can be
negative, e.g. :math:`\ell(u) = u^2 - 1`, the printed inequality fails
(:func:`theorem31_printed_counterexample`).  The corrected statement is
:func:`lintheory.coto.masks.jensen_chain` (``rhs_corrected``).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array
from ..errors import InputError
from .masks import binomial_weights, loss_values, size_averages

__all__ = ["theorem31_rhs_printed", "theorem31_printed_counterexample"]


def theorem31_rhs_printed(preds, Y, p, *, loss="mse") -> float:
    r"""The printed right-hand side :math:`\sum_{j=1}^L w_j(p)\,\ell(\tilde y_j, y)` at fixed adapters.

    Parameters
    ----------
    preds : ndarray of shape (2^L, n, d_out)
        Predictions of every masked network (:func:`~lintheory.coto.masks.forward_all_masks`).
    Y : targets; p : float in [0, 1]; loss : as in :func:`~lintheory.coto.masks.loss_values`.

    Examples
    --------
    >>> preds = np.array([[[0.0]], [[2.0]]])            # L = 1: base 0, adapted 2
    >>> theorem31_rhs_printed(preds, np.array([[2.0]]), 0.5)
    0.0
    """
    preds = as_float_array(preds, "preds", ndim=3, nonempty=True)
    L = int(round(np.log2(preds.shape[0])))
    if preds.shape[0] != 2 ** L:
        raise InputError(f"preds must hold 2^L masked networks along axis 0, got {preds.shape[0]}")
    w = binomial_weights(p, L)
    lj = loss_values(size_averages(preds), Y, loss)
    return float(w[1:] @ lj[1:])


def theorem31_printed_counterexample(p: float = 0.5, shift: float = 1.0) -> dict:
    r"""The analytic counterexample to the printed theorem: ``L = 1``, ``W = 0``, ``y = 0``, :math:`\ell(u)=u^2-c`.

    :math:`\mathbb E_\delta\ell = p(u^2-c) + (1-p)(-c)` has minimum ``-c`` (at ``u = 0``);
    :math:`w_1\ell(\tilde y_1) = p(u^2-c)` has minimum ``-pc``.  So min LHS < min RHS for
    every ``p < 1`` and ``c > 0``.

    Returns
    -------
    dict with ``min_lhs``, ``min_rhs_printed``, ``min_rhs_corrected`` (``= -c``).

    Examples
    --------
    >>> theorem31_printed_counterexample(0.25)
    {'min_lhs': -1.0, 'min_rhs_printed': -0.25, 'min_rhs_corrected': -1.0}
    """
    p = float(p)
    c = float(shift)
    return {"min_lhs": -c, "min_rhs_printed": -p * c, "min_rhs_corrected": -c}
