r"""Closed forms for CoTo in linear and deep linear networks (corrected results; the main API).

Seed ``004_bb9aedc7a8b2e8cb.txt`` §3.4, Theorem 3.1 (corrected: sums from ``j = 0``) and §3.5.
Weights are ``(d_out, d_in)`` as in the paper (``h_i = W_i h_{i-1}``); samples are rows, so
in code ``H_i = H_{i-1} @ (W_i + δ_i ΔW_i).T``.

* Mean network: for a deep linear chain and independent masks,
  :math:`\mathbb E_\delta f_\delta(x) = G\prod_i (W_i + p_i\Delta W_i)\,x` (multilinearity).
* Size-j ensembles without enumeration: :math:`\tilde y_j = [z^j]\prod_i(W_i + z(W_i+\Delta W_i))x
  / \binom Lj` (polynomial dynamic programme, ``O(L^2)`` products).
* The multilinear extension of the deep-linear MSE game, in ``O(L d^3)`` (second moments
  propagate exactly through independent layers), hence exact Shapley values in polynomial
  time by Gauss–Legendre with ``ceil(L/2)`` nodes.
* Additive (parallel) adapters: :math:`\mathbb E\|r-\sum_i\delta_iu_i\|^2 = \|r-pU\|^2+p(1-p)\sum_i\|u_i\|^2`
  and its fixed-p minimiser :math:`u_i = r/(1+p(L-1))`.
* Quadratic game Shapley values :math:`\varphi_i = \langle u_i, U-2r\rangle`.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_count, as_float_array
from ..errors import InputError
from .masks import binomial_weights, check_network
from .schedules import check_probability
from .shapley import gauss_legendre_01

__all__ = [
    "expected_prediction_deep_linear",
    "size_j_predictions_dp",
    "multilinear_mse_deep_linear",
    "shapley_deep_linear_mse",
    "additive_expected_mse",
    "additive_fixed_p_optimum",
    "quadratic_game_shapley",
    "conditional_weights_require_active",
]


def _probs(p, L, name="p"):
    p = check_probability(p, name)
    if p.ndim == 0:
        return np.full(L, float(p))
    if p.shape != (L,):
        raise InputError(f"{name} must be a scalar or have shape ({L},), got {p.shape}")
    return p


def expected_prediction_deep_linear(W, dW, X, p, *, head=None) -> np.ndarray:
    r""":math:`\mathbb E_\delta f_\delta(X)` for a deep linear chain: every :math:`\Delta W_i` scaled by :math:`p_i`.

    .. math::  \mathbb E_\delta\Big[G\prod_{i=L}^{1}(W_i+\delta_i\Delta W_i)\Big]x
               = G\prod_{i=L}^{1}(W_i+p_i\Delta W_i)\,x

    Valid for independent masks and a *linear* chain only (false with ReLU).

    Parameters
    ----------
    W, dW : list of ndarray, shapes (d_i, d_{i-1})
    X : ndarray of shape (n, d_0)
    p : float or ndarray of shape (L,)
    head : ndarray of shape (d_out, d_L), optional

    Returns
    -------
    ndarray of shape (n, d_out)

    Examples
    --------
    >>> I = np.eye(1); expected_prediction_deep_linear([I, I], [I, I], np.ones((1, 1)), 0.5).tolist()
    [[2.25]]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    ps = _probs(p, len(Ws))
    H = X
    for w, dw, pi in zip(Ws, dWs, ps):
        H = H @ (w + pi * dw).T
    return H if head is None else H @ head.T


def size_j_predictions_dp(W, dW, X, *, head=None) -> np.ndarray:
    r"""Size-j ensemble predictions :math:`\tilde y_j` of a deep linear chain without enumeration.

    .. math::  \tilde y_j = \binom Lj^{-1}[z^j]\;G\prod_{i=L}^{1}\big(W_i + z\,(W_i+\Delta W_i)\big)\,x

    (the adapter-off factor is :math:`W_i`, the on factor :math:`W_i+\Delta W_i`).  Cost
    ``O(L^2)`` matrix products instead of ``2^L``.

    Returns
    -------
    ndarray of shape (L + 1, n, d_out)

    Examples
    --------
    >>> I = np.eye(1); size_j_predictions_dp([I, I], [I, I], np.ones((1, 1)))[:, 0, 0].tolist()
    [1.0, 2.0, 4.0]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    L = len(Ws)
    poly = [X]
    for w, dw in zip(Ws, dWs):
        on = w + dw
        new = [poly[0] @ w.T] + [poly[k] @ w.T + poly[k - 1] @ on.T for k in range(1, len(poly))] \
            + [poly[-1] @ on.T]
        poly = new
    out = np.stack([c / math.comb(L, j) for j, c in enumerate(poly)])
    return out if head is None else out @ head.T


def multilinear_mse_deep_linear(W, dW, X, Y, x, *, head=None) -> float:
    r"""The multilinear extension of the MSE game of a deep linear chain, in closed form.

    .. math::

        \tilde v(x) = \mathbb E_{\delta_i\sim\mathrm{Bern}(x_i)}\,\tfrac1n\|f_\delta(X)-Y\|_F^2
        = \tfrac1n\big[\mathrm{tr}(G\Sigma_LG^\top) - 2\langle Y, M_LG^\top\rangle + \|Y\|_F^2\big],

    with :math:`\Sigma_0 = X^\top X`, :math:`\Sigma_i = (1-x_i)W_i\Sigma_{i-1}W_i^\top +
    x_i(W_i+\Delta W_i)\Sigma_{i-1}(W_i+\Delta W_i)^\top` (exact because δ_i is independent
    of the layer's input) and :math:`M_L` the mean prediction.  ``O(L d^3)``, no enumeration.

    Parameters
    ----------
    W, dW, X, head : as in :func:`expected_prediction_deep_linear`
    Y : ndarray of shape (n, d_out)
    x : float or ndarray of shape (L,), entries in [0, 1]

    Returns
    -------
    float
        At a vertex ``x ∈ {0,1}^L`` this is the loss of that coalition.
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    Y = as_float_array(Y, "Y", ndim=2)
    ps = _probs(x, len(Ws), "x")
    S = X.T @ X
    M = X
    for w, dw, pi in zip(Ws, dWs, ps):
        on = w + dw
        S = (1.0 - pi) * (w @ S @ w.T) + pi * (on @ S @ on.T)
        M = M @ (w + pi * dw).T
    if head is not None:
        S = head @ S @ head.T
        M = M @ head.T
    if Y.shape != M.shape:
        raise InputError(f"Y has shape {Y.shape} but predictions have shape {M.shape}")
    return float((np.trace(S) - 2.0 * np.sum(Y * M) + np.sum(Y * Y)) / X.shape[0])


def shapley_deep_linear_mse(W, dW, X, Y, *, head=None, n_nodes: int | None = None) -> np.ndarray:
    r"""Exact Shapley values of the deep-linear MSE game (``v`` = loss) in polynomial time.

    :math:`\varphi_i = \int_0^1 c_i(p)\,dp` with :math:`c_i(p) = \tilde v(p\mathbf 1 + (1-p)e_i)
    - \tilde v(p\mathbf 1 - p\,e_i)` (the multilinear extension is affine in each
    coordinate), integrated by Gauss–Legendre with ``ceil(L/2)`` nodes (exact: degree
    ``L-1``).  Cost ``O(L^2 d^3)`` instead of ``2^L`` forward passes.  Loss convention: a
    helpful adapter has φ < 0.

    Returns
    -------
    ndarray of shape (L,)

    Examples
    --------
    >>> I = np.eye(1); X = np.ones((1, 1))
    >>> np.round(shapley_deep_linear_mse([I, I], [I, I], X, 4 * X), 12).tolist()   # both halve the loss 9
    [-4.5, -4.5]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    L = len(Ws)
    n_nodes = math.ceil(L / 2) if n_nodes is None else as_count(n_nodes, "n_nodes", minimum=1)
    ps, ws = gauss_legendre_01(n_nodes)
    phi = np.zeros(L)
    for p, wk in zip(ps, ws):
        for i in range(L):
            x = np.full(L, p)
            x[i] = 1.0
            hi = multilinear_mse_deep_linear(Ws, dWs, X, Y, x, head=head)
            x[i] = 0.0
            lo = multilinear_mse_deep_linear(Ws, dWs, X, Y, x, head=head)
            phi[i] += wk * (hi - lo)
    return phi


def _check_ru(r, u):
    if u.ndim != r.ndim + 1 or u.shape[1:] != r.shape or u.shape[0] == 0:
        raise InputError(f"u must have shape (L,) + r.shape = (L,) + {r.shape} with L >= 1 (r and u must "
                         f"match), got u {u.shape}")


def additive_expected_mse(r, u, p) -> float:
    r"""Exact fixed-p CoTo loss of additive adapters :math:`\hat y = W_0x + \sum_i\delta_iu_i`.

    .. math::  \mathbb E_\delta\|r-\textstyle\sum_i\delta_iu_i\|^2 = \|r-pU\|^2 + p(1-p)\sum_i\|u_i\|^2,
               \quad U=\sum_iu_i,\; r = y - W_0x.

    Parameters
    ----------
    r : ndarray of shape (n, d)
        Residual target (rows are samples); the loss is summed over rows and columns.
    u : ndarray of shape (L, n, d)
        Adapter outputs.
    p : float in [0, 1]

    Examples
    --------
    >>> additive_expected_mse(np.ones((1, 1)), np.ones((2, 1, 1)), 0.5)
    0.5
    """
    r = as_float_array(r, "r", nonempty=True)
    u = as_float_array(u, "u")
    _check_ru(r, u)
    p = float(check_probability(p))
    U = u.sum(axis=0)
    return float(np.sum((r - p * U) ** 2) + p * (1 - p) * np.sum(u ** 2))


def additive_fixed_p_optimum(r, L: int, p) -> np.ndarray:
    r"""Minimiser of :func:`additive_expected_mse` over unconstrained ``u``: :math:`u_i = r/(1+p(L-1))`.

    Valid for ``p ∈ (0, 1]`` (at ``p = 0`` every ``u`` is optimal).  The all-on model then
    outputs :math:`L/(1+p(L-1))\,r`, which overshoots ``r`` for ``p < 1``.

    Returns
    -------
    ndarray of shape (L,) + r.shape

    Examples
    --------
    >>> additive_fixed_p_optimum(np.ones(1), 3, 0.5)[:, 0].tolist()
    [0.5, 0.5, 0.5]
    """
    r = as_float_array(r, "r", nonempty=True)
    L = as_count(L, "L (the number of adapters)", minimum=1)
    p = float(check_probability(p))
    if p == 0:
        raise InputError("at p = 0 the adapters never act: every u is a minimiser")
    return np.broadcast_to(r / (1.0 + p * (L - 1)), (L,) + r.shape).copy()


def quadratic_game_shapley(r, u) -> np.ndarray:
    r"""Shapley values of the additive MSE game :math:`v(R) = \|r-\sum_{i\in R}u_i\|^2` (loss).

    .. math::  \varphi_i = \langle u_i,\, U - 2r\rangle

    (each pairwise term :math:`2\langle u_i,u_k\rangle` is split equally).

    Examples
    --------
    >>> quadratic_game_shapley(np.ones(1), np.ones((2, 1))).tolist()    # v: 1 -> 0 -> 1
    [0.0, 0.0]
    """
    r = as_float_array(r, "r", nonempty=True)
    u = as_float_array(u, "u")
    _check_ru(r, u)
    U = u.sum(axis=0)
    return np.array([float(np.sum(ui * (U - 2.0 * r))) for ui in u])


def conditional_weights_require_active(p, L: int) -> np.ndarray:
    r"""Size weights under the official callback's rule (redraw until an adapter is on).

    :math:`\bar w_j = w_j(p)/(1-(1-p)^L)` for ``j >= 1`` and :math:`\bar w_0 = 0`; the
    corrected Jensen bound then holds with the sum from ``j = 1`` and these weights.
    Needs ``p > 0``.

    Examples
    --------
    >>> conditional_weights_require_active(0.5, 2).round(4).tolist()
    [0.0, 0.6667, 0.3333]
    """
    w = binomial_weights(p, L)
    if w[0] >= 1.0:
        raise InputError("p = 0: no mask with an active adapter")
    out = w.copy()
    out[0] = 0.0
    return out / (1.0 - w[0])
