r"""Merging two LoRA adapters (fusion vs ensemble), loss barriers, and structured pruning.

Seed ``004_bb9aedc7a8b2e8cb.txt`` §4.2 (footnote 3), §4.3 and Figures 3–5, 7, 12.  A LoRA
adapter is a pair ``(B, A)`` with ``B`` of shape ``(m, r)`` and ``A`` of shape ``(r, n)``, so
:math:`\Delta W = BA` is ``(m, n)`` as in the paper.

* linear **fusion** (rank-preserving): :math:`\Delta W_f = (\lambda B_1+(1-\lambda)B_2)(\lambda A_1+(1-\lambda)A_2)`;
* linear **ensemble**: :math:`\Delta W_e = \lambda B_1A_1 + (1-\lambda)B_2A_2`;
* identity: :math:`\Delta W_f - \Delta W_e = -\lambda(1-\lambda)(B_1-B_2)(A_1-A_2)`.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_count, as_float_array, as_scalar
from ..errors import AssumptionError, InputError

__all__ = [
    "fuse_lora",
    "ensemble_lora",
    "fusion_minus_ensemble",
    "loss_barrier",
    "pruning_patterns",
    "keep_mask",
    "mask_index",
]


def _check_pair(B1, A1, B2, A2):
    B1, A1, B2, A2 = (as_float_array(a, nm, ndim=2) for a, nm in
                      ((B1, "B1"), (A1, "A1"), (B2, "B2"), (A2, "A2")))
    if B1.shape != B2.shape or A1.shape != A2.shape or B1.shape[1] != A1.shape[0]:
        raise InputError(f"adapters must have matching shapes B (m, r), A (r, n); got B1 {B1.shape}, "
                         f"A1 {A1.shape}, B2 {B2.shape}, A2 {A2.shape}")
    return B1, A1, B2, A2


def _check_lam(lam) -> float:
    return as_scalar(lam, "lam (interpolation weight lambda)")


def fuse_lora(B1, A1, B2, A2, lam) -> np.ndarray:
    r"""Linear weight fusion :math:`(\lambda B_1+(1-\lambda)B_2)(\lambda A_1+(1-\lambda)A_2)`, shape ``(m, n)``.

    Examples
    --------
    >>> o = np.ones((1, 1)); fuse_lora(o, o, -o, -o, 0.5).tolist()
    [[0.0]]
    """
    B1, A1, B2, A2 = _check_pair(B1, A1, B2, A2)
    lam = _check_lam(lam)
    return (lam * B1 + (1 - lam) * B2) @ (lam * A1 + (1 - lam) * A2)


def ensemble_lora(B1, A1, B2, A2, lam) -> np.ndarray:
    r"""Linear model ensemble :math:`\lambda B_1A_1 + (1-\lambda)B_2A_2`, shape ``(m, n)``.

    Invariant under the gauge :math:`(B_2, A_2)\to(B_2P, P^{-1}A_2)`.

    Examples
    --------
    >>> o = np.ones((1, 1)); ensemble_lora(o, o, -o, -o, 0.5).tolist()
    [[1.0]]
    """
    B1, A1, B2, A2 = _check_pair(B1, A1, B2, A2)
    lam = _check_lam(lam)
    return lam * (B1 @ A1) + (1 - lam) * (B2 @ A2)


def fusion_minus_ensemble(B1, A1, B2, A2, lam) -> np.ndarray:
    r"""Closed form of :math:`\Delta W_f-\Delta W_e = -\lambda(1-\lambda)(B_1-B_2)(A_1-A_2)`.

    Consequences: the alignment objective :math:`\min_P\|\Delta W_f-\Delta W_e\|` has a
    λ-independent minimiser; the gap is largest at λ = ½.

    Examples
    --------
    >>> o = np.ones((1, 1)); fusion_minus_ensemble(o, o, -o, -o, 0.5).tolist()
    [[-1.0]]
    """
    B1, A1, B2, A2 = _check_pair(B1, A1, B2, A2)
    lam = _check_lam(lam)
    return -lam * (1 - lam) * (B1 - B2) @ (A1 - A2)


def loss_barrier(lams, losses) -> float:
    r"""Loss barrier along a path: :math:`\max_\lambda\,[\mathcal L(\lambda) - ((1-\lambda)\mathcal L(0)+\lambda\mathcal L(1))]`.

    Parameters
    ----------
    lams : ndarray of shape (k,)
        Increasing, starting at 0 and ending at 1.
    losses : ndarray of shape (k,)

    Returns
    -------
    float
        ``>= 0`` (the endpoints contribute 0); ``0`` for a path along which the loss is convex.

    Examples
    --------
    >>> loss_barrier([0, 0.5, 1], [1.0, 3.0, 1.0])
    2.0
    """
    lams = as_float_array(lams, "lams", ndim=1)
    losses = as_float_array(losses, "losses", ndim=1)
    if lams.shape != losses.shape or lams.size < 2:
        raise InputError(f"lams and losses need equal length >= 2, got {lams.shape}, {losses.shape}")
    if abs(lams[0]) > 1e-12 or abs(lams[-1] - 1) > 1e-12:
        raise AssumptionError("the path grid runs from lambda = 0 to lambda = 1: endpoint distance",
                              float(max(abs(lams[0]), abs(lams[-1] - 1))), 1e-12)
    if np.any(np.diff(lams) <= 0):
        raise AssumptionError("the path grid lams is strictly increasing: smallest step",
                              float(np.min(np.diff(lams))), 0.0, relation=">")
    chord = (1 - lams) * losses[0] + lams * losses[-1]
    return float(np.max(losses - chord))


def pruning_patterns(L: int) -> dict[str, np.ndarray]:
    r"""Structured pruning patterns (Figs. 7, 12) as sets of *removed* layers (0-based).

    ``all``: nothing removed; ``every_other_odd``: layers 1, 3, 5, … (1-based odd) removed;
    ``every_other_even``: 1-based even layers removed (the paper does not say which parity);
    ``low`` / ``middle`` / ``high``: the first / middle / last ``floor(L/3)`` layers removed.

    Examples
    --------
    >>> {k: v.tolist() for k, v in pruning_patterns(6).items()}["middle"]
    [2, 3]
    """
    L = as_count(L, "L (number of layers)")
    if L < 3:
        raise InputError(f"pruning patterns need L >= 3 layers, got {L}")
    k = L // 3
    start_mid = (L - k) // 2
    return {
        "all": np.array([], dtype=int),
        "every_other_odd": np.arange(0, L, 2),
        "every_other_even": np.arange(1, L, 2),
        "low": np.arange(k),
        "middle": np.arange(start_mid, start_mid + k),
        "high": np.arange(L - k, L),
    }


def keep_mask(L: int, removed) -> np.ndarray:
    """Boolean mask of shape ``(L,)`` with the ``removed`` layers off.

    Examples
    --------
    >>> keep_mask(3, [1]).tolist()
    [True, False, True]
    """
    L = as_count(L, "L (number of layers)", minimum=1)
    m = np.ones(L, dtype=bool)
    raw = np.asarray(removed)
    if raw.ndim > 1 or (raw.size and raw.dtype.kind not in "iu"):
        raise InputError(f"removed must be a 1-d list of integer layer indices, got {removed!r}")
    removed = raw.astype(int).reshape(-1)
    if removed.size and (removed.min() < 0 or removed.max() >= L):
        raise InputError(f"removed layers must lie in [0, {L}), got {removed.tolist()}")
    m[removed] = False
    return m


def mask_index(mask) -> int:
    """The table index of a boolean mask (bit ``i`` ↔ entry ``i``)."""
    from .masks import _check_mask
    mask = _check_mask(mask)
    return int(np.sum(mask.astype(np.int64) << np.arange(mask.size)))
