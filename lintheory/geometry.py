"""Simplex equiangular tight frames (ETF) and class templates.

References
----------
Definition 2.1 of ``002_caa97dd52c787aec.txt`` (LoRA margin theory); Papyan, Han and
Donoho, *Prevalence of neural collapse*, PNAS 2020.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array
from .errors import AssumptionError, InputError

__all__ = ["simplex_etf", "centering_matrix", "class_template"]


def centering_matrix(m: int) -> np.ndarray:
    r"""The centring projector :math:`I_m - \frac1m \mathbf 1\mathbf 1^\top` (m × m)."""
    if int(m) != m or m < 1:
        raise InputError(f"m must be a positive integer, got {m}")
    m = int(m)
    return np.eye(m) - np.full((m, m), 1.0 / m)


def simplex_etf(m: int, P=None, *, tol: float = 1e-10) -> np.ndarray:
    r"""The simplex ETF of Definition 2.1.

    .. math::

        M_m = \sqrt{\tfrac{m}{m-1}}\; P\,\big(I_m - \tfrac1m \mathbf 1_m\mathbf 1_m^\top\big),
        \qquad P^\top P = I_m .

    Its columns are unit vectors with pairwise inner products :math:`-1/(m-1)`; they
    sum to zero; :math:`\|M_m\|_F^2 = m`, :math:`\|M_m\|_* = \sqrt{m(m-1)}` and the
    rank is :math:`m-1`.

    Parameters
    ----------
    m : int
        Number of vertices, ``m >= 2``.
    P : ndarray of shape (d, m), optional
        A matrix with orthonormal columns; ``None`` means the identity (m × m), which is
        the choice the paper's Proposition 2.1 and Theorem 3.1 need.
    tol : float
        Tolerance on ``max |PᵀP - I|``.

    Returns
    -------
    M : ndarray of shape (d, m)
        ``(m, m)`` when ``P`` is ``None``.

    Raises
    ------
    InputError
        ``m < 2`` (the ETF divides by ``m - 1``).
    AssumptionError
        ``P`` does not have orthonormal columns.

    Examples
    --------
    >>> import numpy as np
    >>> M = simplex_etf(3)
    >>> np.allclose(np.linalg.norm(M, axis=0), 1.0)
    True
    >>> round(float(M[:, 0] @ M[:, 1]), 6)
    -0.5
    """
    if int(m) != m or m < 2:
        raise InputError(f"the simplex ETF needs m >= 2 vertices, got m = {m}")
    m = int(m)
    base = np.sqrt(m / (m - 1.0)) * centering_matrix(m)
    if P is None:
        return base
    P = as_float_array(P, "P", ndim=2)
    if P.shape[1] != m:
        raise InputError(f"P must have m = {m} columns, got shape {P.shape}")
    dev = float(np.max(np.abs(P.T @ P - np.eye(m))))
    if dev > tol:
        raise AssumptionError("P has orthonormal columns (Definition 2.1): max |PᵀP - I|", dev, tol)
    return P @ base


def class_template(K: int, Kb: int | None = None) -> np.ndarray:
    r"""The logit template :math:`(I_K - \frac1K \mathbf 1\mathbf 1^\top)_{:, :\bar K}` (K × K̄).

    Column ``c`` is the logit vector :math:`e_c - \frac1K\mathbf 1` that the K-class
    hard-margin SVM assigns to every sample of class ``c`` on orthonormal data.
    """
    Kb = K if Kb is None else Kb
    if not 1 <= Kb <= K:
        raise InputError(f"need 1 <= Kb <= K, got K = {K}, Kb = {Kb}")
    return centering_matrix(K)[:, :Kb]
