"""Exact expectations over all 2^L adapter masks (the enumeration route).

Seed ``004_bb9aedc7a8b2e8cb.txt`` §3.4 and Appendix D.  A *network with L adapters* is

.. math::

    f_\\delta(x) = G\\,\\sigma_L\\big((W_L+\\delta_L\\Delta W_L)\\cdots
                   \\sigma_1\\big((W_1+\\delta_1\\Delta W_1)\\,x\\big)\\big),

with :math:`W_i, \\Delta W_i` of shape ``(d_i, d_{i-1})`` (the paper's column convention
for the weights), σ the identity (deep linear) or ReLU between layers (none after the
last), and an optional fixed head ``G``.  Samples are rows: ``X`` is ``(n, d_0)`` and
predictions are ``(n, d_out)`` (``h ← h @ (W + δΔW).T``).

Masks are indexed by integers: row ``m`` of a table is the mask with
:math:`\\delta_i = (m \\gg i)\\,\\&\\,1` (bit ``i`` ↔ layer ``i+1``).  All ``2^L`` masks are
evaluated by a *tree*: after layer ``i`` the batch of hidden states doubles (adapter off
| on), so the cost is ``2^{L+1}`` batched matrix products rather than ``L·2^L``; for large
``L`` the top layers are enumerated in chunks to bound memory.  No Python loop runs per
mask.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._validation import as_count, as_float_array, as_labels
from ..errors import AssumptionError, InputError
from .schedules import check_probability

__all__ = [
    "TABLE_LIMIT",
    "all_masks",
    "mask_sizes",
    "mask_probabilities",
    "check_network",
    "forward",
    "forward_all_masks",
    "losses_all_masks",
    "loss_values",
    "size_averages",
    "binomial_weights",
    "expected_loss",
    "size_j_mean_predictions",
    "jensen_chain",
    "mse_jensen_gap",
]

#: largest L for which the vectorised routes enumerate all 2^L masks (a 2^26 float64
#: table is 512 MiB); beyond it use the Monte-Carlo estimators of :mod:`.shapley`.
TABLE_LIMIT = 26

LOSSES = ("mse", "ce")


def _check_L(L: int, limit: int = TABLE_LIMIT, name: str = "L") -> int:
    L = as_count(L, f"{name} (the number of adapters)")
    if L < 1:
        raise InputError(f"{name} (the number of adapters) must be >= 1, got {L}")
    if L > limit:
        raise AssumptionError(
            f"exact enumeration of all 2^L masks needs L <= {limit} (2^{limit} = {2 ** limit:,} "
            f"coalitions); got L = {L}", float(L), float(limit),
            hint="use the Monte-Carlo estimators lintheory.coto.shapley_permutation_mc / "
                 "shapley_owen_mc, or the polynomial-time multilinear route for deep linear MSE "
                 "(shapley_deep_linear_mse)")
    return L


def mask_sizes(L: int, *, limit: int = TABLE_LIMIT) -> np.ndarray:
    """``|m|`` (number of active adapters) for every mask index ``m = 0 .. 2^L - 1``.

    Examples
    --------
    >>> mask_sizes(3).tolist()
    [0, 1, 1, 2, 1, 2, 2, 3]
    """
    L = _check_L(L, limit)
    sizes = np.zeros(1, dtype=np.int64)
    for _ in range(L):  # doubling: masks with the new top bit set have one more active adapter
        sizes = np.concatenate([sizes, sizes + 1])
    return sizes


def all_masks(L: int, *, limit: int = 20) -> np.ndarray:
    """All ``2^L`` masks as a boolean array of shape ``(2^L, L)``; row ``m`` has bit ``i`` in column ``i``.

    Examples
    --------
    >>> all_masks(2).astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    L = _check_L(L, limit)
    idx = np.arange(2 ** L, dtype=np.int64)
    return ((idx[:, None] >> np.arange(L)[None, :]) & 1).astype(bool)


def mask_probabilities(p: float, L: int) -> np.ndarray:
    r""":math:`P_p(m) = p^{|m|}(1-p)^{L-|m|}` for every mask index, shape ``(2^L,)``.

    Examples
    --------
    >>> mask_probabilities(0.25, 2).tolist()
    [0.5625, 0.1875, 0.1875, 0.0625]
    """
    p = float(check_probability(p))
    L = _check_L(L)
    s = mask_sizes(L)
    return p ** s * (1.0 - p) ** (L - s)


def binomial_weights(p, L: int) -> np.ndarray:
    r"""The weights :math:`w_j(p) = \binom Lj p^j (1-p)^{L-j}`, ``j = 0..L`` (Eq. 6).

    Parameters
    ----------
    p : float
        In ``[0, 1]``.
    L : int
        Number of adapters, ``>= 1``.

    Returns
    -------
    ndarray of shape (L + 1,)
        Sums to 1; ``w[0] = (1-p)^L`` is the all-off probability.

    Examples
    --------
    >>> binomial_weights(0.5, 2).tolist()
    [0.25, 0.5, 0.25]
    """
    p = float(check_probability(p))
    L = as_count(L, "L (the number of adapters)", minimum=1)
    j = np.arange(L + 1)
    comb = np.array([math.comb(L, k) for k in j], dtype=np.float64)
    return comb * p ** j * (1.0 - p) ** (L - j)


def check_network(W: Sequence, dW: Sequence, X, head=None):
    """Validate a network; return float64 lists ``W``, ``dW``, array ``X`` and ``head`` (or None)."""
    if len(W) != len(dW) or len(W) == 0:
        raise InputError(f"W and dW must be non-empty lists of equal length, got {len(W)} and {len(dW)}")
    Ws = [as_float_array(w, f"W[{i}]", ndim=2) for i, w in enumerate(W)]
    dWs = [as_float_array(w, f"dW[{i}]", ndim=2) for i, w in enumerate(dW)]
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise InputError("X has no samples (shape (0, d))")
    d = X.shape[1]
    for i, (w, dw) in enumerate(zip(Ws, dWs)):
        if w.shape != dw.shape:
            raise InputError(f"W[{i}] has shape {w.shape} but dW[{i}] has shape {dw.shape}")
        if w.shape[1] != d:
            raise InputError(f"W[{i}] expects input width {w.shape[1]} but receives {d}")
        d = w.shape[0]
    if head is not None:
        head = as_float_array(head, "head", ndim=2)
        if head.shape[1] != d:
            raise InputError(f"head expects input width {head.shape[1]} but the last layer outputs {d}")
    return Ws, dWs, X, head


def _mm(H, M):
    """``H @ M.T`` for a stack H of shape (..., n, d) (numpy's batched matmul; measured faster here than
    one reshaped 2-D GEMM for these thin matrices)."""
    return H @ M.T


def _act(H, activation):
    if activation is None or activation == "linear":
        return H
    if activation == "relu":
        return np.maximum(H, 0.0)
    raise InputError(f"activation must be None, 'linear' or 'relu', got {activation!r}")


def forward(W, dW, X, mask, *, activation=None, head=None) -> np.ndarray:
    """Prediction of the network with one mask, shape ``(n, d_out)`` (the per-mask reference route).

    Examples
    --------
    >>> I = np.eye(2); forward([I], [I], np.ones((1, 2)), [True]).tolist()
    [[2.0, 2.0]]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    mask = _check_mask(mask)
    if mask.shape[0] != len(Ws):
        raise InputError(f"mask has {mask.shape[0]} entries for {len(Ws)} adapters")
    H = X
    for i, (w, dw) in enumerate(zip(Ws, dWs)):
        H = H @ (w + dw if mask[i] else w).T
        if i < len(Ws) - 1:
            H = _act(H, activation)
    return H if head is None else H @ head.T


def forward_all_masks(W, dW, X, *, activation=None, head=None) -> np.ndarray:
    """Predictions of all ``2^L`` masked networks, shape ``(2^L, n, d_out)``, by the doubling tree.

    Row ``m`` is the network with adapters ``{i : (m >> i) & 1}`` on.  Memory is
    ``2^L · n · max_i d_i`` floats; use :func:`losses_all_masks` (chunked) for large ``L``.

    Examples
    --------
    >>> I = np.eye(1); forward_all_masks([I, I], [I, 2 * I], np.ones((1, 1)))[:, 0, 0].tolist()
    [1.0, 2.0, 3.0, 6.0]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    _check_L(len(Ws))
    H = X[None]
    for i, (w, dw) in enumerate(zip(Ws, dWs)):
        # new bit i is the most significant so far: index m + 2^i*δ_i
        H = np.concatenate([_mm(H, w), _mm(H, w + dw)], axis=0)
        if i < len(Ws) - 1:
            H = _act(H, activation)
    return H if head is None else _mm(H, head)


def _check_mask(mask, name="mask"):
    """A 1-d mask of booleans or 0/1 values, as bool."""
    m = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
    if m.ndim != 1:
        raise InputError(f"{name} must be 1-dimensional (one entry per adapter), got shape {m.shape}")
    if m.dtype.kind not in "biuf" or (m.size and not np.all((m == 0) | (m == 1))):
        raise InputError(f"{name} must hold booleans or 0/1 values")
    return m.astype(bool)


def _table_L(M: int, name: str) -> int:
    """``L`` for a table of ``M = 2^L`` rows (``L >= 1``)."""
    L = int(round(math.log2(M))) if M > 0 else -1
    if M < 2 or 2 ** L != M:
        raise InputError(f"{name} must have 2^L rows (one per mask, L >= 1), got {M}")
    return L


def loss_values(pred, Y, loss="mse") -> np.ndarray:
    r"""Mean per-sample loss of predictions, vectorised over leading axes.

    ``"mse"``: :math:`\frac1n\sum_k\|\hat y_k-y_k\|^2` (``Y`` of shape ``(n, d_out)``);
    ``"ce"``: mean softmax cross-entropy on logits (``Y`` integer labels ``(n,)``); or a
    callable ``loss(pred, Y) -> array`` over the leading axes.  Theorem 3.1 needs the
    per-sample loss to be convex in the prediction (MSE, CE on logits are).

    Parameters
    ----------
    pred : ndarray of shape (..., n, d_out)
    Y : ndarray of shape (n, d_out) or (n,)

    Returns
    -------
    ndarray of shape pred.shape[:-2]
    """
    pred = as_float_array(pred, "pred")
    if pred.ndim < 2 or pred.shape[-2] == 0:
        raise InputError(f"pred must have shape (..., n, d_out) with n >= 1, got {pred.shape}")
    if not callable(loss) and loss == "mse":
        Y = as_float_array(Y, "Y")
    return _loss_values(pred, Y, loss)


def _loss_values(pred, Y, loss):
    """:func:`loss_values` on validated inputs (the inner loop of :func:`losses_all_masks`)."""
    if callable(loss):
        return np.asarray(loss(pred, Y), dtype=np.float64)
    if loss == "mse":
        Y = np.asarray(Y, dtype=np.float64)
        if Y.shape != pred.shape[-2:]:
            raise InputError(f"Y has shape {Y.shape} but predictions have shape {pred.shape[-2:]}")
        return np.sum((pred - Y) ** 2, axis=(-1, -2)) / pred.shape[-2]
    if loss == "ce":
        y = as_labels(Y, pred.shape[-2], pred.shape[-1])
        mx = pred.max(axis=-1, keepdims=True)
        lse = (mx[..., 0] + np.log(np.exp(pred - mx).sum(axis=-1)))
        idx = np.broadcast_to(y[:, None], pred.shape[:-1] + (1,))
        picked = np.take_along_axis(pred, idx, axis=-1)[..., 0]
        return np.mean(lse - picked, axis=-1)
    raise InputError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")


def losses_all_masks(W, dW, X, Y, *, loss="mse", activation=None, head=None,
                     max_floats: int = 2 ** 25) -> np.ndarray:
    r"""The loss of every masked network, ``table[m] = ℓ(f_m(X), Y)``, shape ``(2^L,)``.

    The low layers are enumerated by the doubling tree once; the top ``k`` layers are
    enumerated in ``2^k`` chunks so that at most about ``max_floats`` hidden-state entries
    are held at a time.

    Parameters
    ----------
    W, dW : list of ndarray, shapes (d_i, d_{i-1})
        Frozen weights and adapter updates (e.g. ``s_i B_i A_i``), ``L <= TABLE_LIMIT``.
    X : ndarray of shape (n, d_0)
    Y : ndarray of shape (n, d_out) (MSE) or integer labels (n,) (CE)
    loss : {"mse", "ce"} or callable
    activation : None or "relu"
    head : ndarray of shape (d_out, d_L), optional
    max_floats : int
        Memory bound on the hidden states (default 2^25 floats = 256 MiB).

    Returns
    -------
    ndarray of shape (2^L,)

    Examples
    --------
    >>> I = np.eye(1); losses_all_masks([I], [I], np.ones((1, 1)), np.zeros((1, 1))).tolist()
    [1.0, 4.0]
    """
    Ws, dWs, X, head = check_network(W, dW, X, head)
    L = _check_L(len(Ws))
    if not callable(loss) and loss == "mse":
        Y = as_float_array(Y, "Y")
    max_floats = as_count(max_floats, "max_floats", minimum=1)
    n = X.shape[0]
    width = max([X.shape[1]] + [w.shape[0] for w in Ws])
    # largest prefix whose tree of hidden states fits in max_floats
    low = L
    while low > 1 and (2 ** low) * n * width > max_floats:
        low -= 1
    H = X[None]
    for i in range(low):
        H = np.concatenate([_mm(H, Ws[i]), _mm(H, Ws[i] + dWs[i])], axis=0)
        if i < L - 1:
            H = _act(H, activation)
    if low == L:
        out = H if head is None else _mm(H, head)
        return _loss_values(out, Y, loss)
    top = L - low
    table = np.empty(2 ** L)
    for c in range(2 ** top):
        G = H
        for k in range(top):
            i = low + k
            w = Ws[i] + dWs[i] if (c >> k) & 1 else Ws[i]
            G = _mm(G, w)
            if i < L - 1:
                G = _act(G, activation)
        out = G if head is None else _mm(G, head)
        table[c * 2 ** low:(c + 1) * 2 ** low] = _loss_values(out, Y, loss)
    return table


def size_averages(table) -> np.ndarray:
    r"""Average of a per-mask quantity over masks of each size: :math:`\binom Lj^{-1}\sum_{|S|=j} t_S`.

    Parameters
    ----------
    table : ndarray of shape (2^L, ...)

    Returns
    -------
    ndarray of shape (L + 1, ...)

    Examples
    --------
    >>> size_averages(np.array([0.0, 1.0, 3.0, 10.0])).tolist()
    [0.0, 2.0, 10.0]
    """
    return _size_averages(as_float_array(table, "table"), "table")


def _size_averages(table, name):
    if table.ndim == 0:
        raise InputError(f"{name} must have one row per mask (shape (2^L, ...)), got a scalar")
    M = table.shape[0]
    L = _table_L(M, name)
    s = mask_sizes(L)
    flat = table.reshape(M, -1)
    out = np.zeros((L + 1, flat.shape[1]))
    np.add.at(out, s, flat)
    out /= np.array([math.comb(L, j) for j in range(L + 1)], dtype=np.float64)[:, None]
    return out.reshape((L + 1,) + table.shape[1:])


def expected_loss(table, p) -> float:
    r"""The CoTo objective at fixed ``p``: :math:`\mathbb E_\delta\ell = \sum_m P_p(m)\,\ell_m`.

    Computed directly from the mask probabilities (the binomial decomposition
    :math:`\sum_j w_j(p)\,\overline{\ell}_j` is :func:`size_averages` + :func:`binomial_weights`).

    Examples
    --------
    >>> expected_loss(np.array([1.0, 3.0]), 0.5)
    2.0
    """
    table = as_float_array(table, "table", ndim=1)
    L = _table_L(table.shape[0], "table")
    return float(mask_probabilities(p, L) @ table)


def size_j_mean_predictions(preds) -> np.ndarray:
    r"""The size-j ensemble predictions :math:`\tilde y_j = \binom Lj^{-1}\sum_{|S|=j} f_S(X)` (Eq. 5).

    Under i.i.d. Bernoulli(p) masks the law of δ given :math:`\|\delta\|_1 = j` is uniform
    over the size-j subsets for every ``p ∈ (0, 1)``, so :math:`\tilde y_j` does not depend
    on ``p``; it is defined here as the uniform average (also at ``p ∈ {0, 1}``).

    Parameters
    ----------
    preds : ndarray of shape (2^L, n, d_out)
        From :func:`forward_all_masks`.

    Returns
    -------
    ndarray of shape (L + 1, n, d_out)
    """
    return _size_averages(_check_preds(preds), "preds")


def _check_preds(preds):
    preds = as_float_array(preds, "preds", ndim=3)
    _table_L(preds.shape[0], "preds")
    if preds.shape[1] == 0:
        raise InputError(f"preds has no samples (shape {preds.shape})")
    return preds


def jensen_chain(preds, Y, p, *, loss="mse") -> dict:
    r"""All terms of the (corrected) chain of Theorem 3.1 at fixed ``p``.

    .. math::

        \mathbb E_\delta\ell(\hat y)
        = \sum_{j=0}^L w_j(p)\,\overline{\ell}_j
        \;\ge\; \sum_{j=0}^L w_j(p)\,\ell(\tilde y_j)
        \;\ge\; \ell(\mathbb E_\delta \hat y),

    where :math:`\overline\ell_j` is the average loss of the size-j subnetworks.  The
    printed theorem sums from ``j = 1`` (``rhs_printed``), which is a valid lower bound only
    when ℓ ≥ 0.

    Parameters
    ----------
    preds : ndarray of shape (2^L, n, d_out)
    Y : targets for :func:`loss_values`
    p : float in [0, 1]
    loss : {"mse", "ce"} or callable (convex in the prediction)

    Returns
    -------
    dict
        ``expected_loss`` (direct sum over masks), ``binomial_sum`` (Σ_j w_j ℓ̄_j),
        ``rhs_corrected`` (Σ_{j≥0} w_j ℓ(ỹ_j)), ``rhs_printed`` (Σ_{j≥1}),
        ``loss_of_mean`` (ℓ(E_δ ŷ)), ``weights`` (w_j), ``size_losses`` (ℓ̄_j).
    """
    preds = _check_preds(preds)
    L = _table_L(preds.shape[0], "preds")
    w = binomial_weights(p, L)
    table = loss_values(preds, Y, loss)
    ybar = _size_averages(preds, "preds")
    lj = loss_values(ybar, Y, loss)
    mean_pred = np.tensordot(w, ybar, axes=1)
    size_losses = size_averages(table)
    return {
        "expected_loss": expected_loss(table, p),
        "binomial_sum": float(w @ size_losses),
        "rhs_corrected": float(w @ lj),
        "rhs_printed": float(w[1:] @ lj[1:]),
        "loss_of_mean": float(loss_values(mean_pred, Y, loss)),
        "weights": w,
        "size_losses": size_losses,
    }


def mse_jensen_gap(preds, p) -> float:
    r"""The MSE Jensen gap :math:`\sum_j w_j\binom Lj^{-1}\sum_{|S|=j}\frac1n\|f_S-\tilde y_j\|_F^2`.

    Equals ``expected_loss - rhs_corrected`` for ``loss="mse"`` (within-size variance);
    zero at ``p ∈ {0, 1}``.
    """
    preds = _check_preds(preds)
    L = _table_L(preds.shape[0], "preds")
    ybar = _size_averages(preds, "preds")
    s = mask_sizes(L)
    dev = np.sum((preds - ybar[s]) ** 2, axis=(-1, -2)) / preds.shape[-2]
    return float(binomial_weights(p, L) @ size_averages(dev))
