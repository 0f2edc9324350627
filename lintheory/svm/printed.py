"""Proposition 2.1(i) and Theorem D.1 of ``002_caa97dd52c787aec.txt`` exactly as printed.

Kept so that the claims can show where the printed statements fail; use
:mod:`lintheory.svm.closed_form` for the corrected results.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, as_labels
from ..geometry import simplex_etf

__all__ = ["prop2_1_svm", "thm_d1_max_margin"]


def prop2_1_svm(X, y) -> np.ndarray:
    r"""Printed Proposition 2.1(i): :math:`\bar W^{SVM}_{ft} = (M_{\bar K}\otimes\mathbf 1_n^\top)X_{ft}^\top`.

    Samples as rows, rows of the result in sorted label order.  As printed the scale is
    off by :math:`\sqrt{\bar K/(\bar K-1)}` (its margin is that value, not 1).
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_labels(y, X.shape[0])
    classes = np.unique(y)
    M = simplex_etf(classes.size)
    return M[:, np.searchsorted(classes, y)] @ X


def thm_d1_max_margin(n: int, Kb: int) -> float:
    r"""Printed Theorem D.1, equation (18): :math:`\gamma^* = 1/\sqrt{n(\bar K-1)}`."""
    return float(1.0 / np.sqrt(n * (Kb - 1)))
