"""CoTo activation schedules and mask sampling (Eqs. 1–2, Algorithm 1; official README).

Seed ``004_bb9aedc7a8b2e8cb.txt``.  At step ``t`` of ``T`` every layer's adapter is on
independently with probability ``p(t)`` (Eq. 1, :math:`\\delta_i\\sim\\mathrm{Bernoulli}(p(t))`);
active adapters are **not** rescaled by ``1/p``.

Schedules (``s = min(1, t / (ρT))`` with the stage-1 ratio ``ρ = 0.75``):

``"paper"``
    Eq. (2) / Algorithm 1: :math:`p(t) = \\min\\{1, 4t/(3T)\\}` (``= s``).
``"official"``
    the authors' README callback: ``p = p0 + (1 - p0) * min(1, t / ceil(ρT))`` with
    ``p0 = 0.1``; masks are redrawn until at least one adapter is active
    (``sample_masks(..., require_active=True)``).
``"exponential"``, ``"sine"``
    Appendix C.1 ablations; the paper only names them.  The shapes
    :math:`(e^s-1)/(e-1)` and :math:`\\sin(\\pi s/2)` are *inferred* by digitising the
    authors' rebuttal Figure r1 (max error 0.004 and 0.002), not printed anywhere.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_count, as_float_array, as_scalar
from ..errors import AssumptionError, InputError

__all__ = ["SCHEDULES", "activation_probability", "sample_masks", "check_probability",
           "expected_compute_fraction"]

SCHEDULES = ("paper", "official", "exponential", "sine")


def check_probability(p, name: str = "p") -> np.ndarray:
    """Return ``p`` as a float array after checking ``0 <= p <= 1`` (raise otherwise)."""
    arr = as_float_array(p, name)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        worst = float(max(-arr.min(), arr.max() - 1.0))
        raise AssumptionError(f"{name} is a probability in [0, 1] (Eq. 1, δ_i ~ Bernoulli(p)): "
                              f"distance outside [0, 1]", worst, 0.0)
    return arr


def activation_probability(t, T, *, schedule: str = "paper", stage1_ratio: float = 0.75,
                           initial_p: float = 0.1):
    r"""The activation probability :math:`p(t)` of CoTo at step ``t`` of ``T``.

    .. math::

        p_{\text{paper}}(t) = \min\Big\{1, \frac{t}{\rho T}\Big\}
        \;\overset{\rho=3/4}{=}\; \min\Big\{1, \frac{4t}{3T}\Big\}\quad\text{(Eq. 2)},\qquad
        p_{\text{official}}(t) = p_0 + (1-p_0)\min\Big\{1, \frac{t}{\lceil\rho T\rceil}\Big\}.

    Parameters
    ----------
    t : float or ndarray
        Step(s), ``0 <= t <= T`` (Algorithm 1 runs ``t = 1..T``; ``t = 0`` is allowed).
    T : float
        Total number of steps, ``T > 0``.
    schedule : {"paper", "official", "exponential", "sine"}
        ``"exponential"`` and ``"sine"`` are the App. C.1 ablations with *inferred* shapes
        (see the module docstring).
    stage1_ratio : float
        ρ in ``[0, 1]``: the fraction of training in the stochastic phase (Fig. 9 left).
        ``0`` gives vanilla LoRA (``p = 1`` throughout).
    initial_p : float
        ``p0`` of the official schedule, in ``[0, 1]``.

    Returns
    -------
    float or ndarray
        ``p(t)`` with the shape of ``t``, in ``[0, 1]``; non-decreasing in ``t`` and equal
        to 1 for ``t >= ρT``.

    Raises
    ------
    InputError
        ``T <= 0``, an unknown schedule, non-finite input.
    AssumptionError
        ``t`` outside ``[0, T]`` (the measured distance is reported), ``stage1_ratio`` or
        ``initial_p`` outside ``[0, 1]``.

    Examples
    --------
    >>> activation_probability(300, 1200)          # 4t/(3T) = 1/3
    0.3333333333333333
    >>> float(activation_probability(900, 1200))   # p = 1 from 3T/4 on
    1.0
    >>> round(float(activation_probability(0, 100, schedule="official")), 3)
    0.1
    """
    if schedule not in SCHEDULES:
        raise InputError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    T = as_scalar(T, "T (number of training steps)")
    if T <= 0:
        raise InputError(f"T (number of training steps) must be > 0, got {T}")
    tt = as_float_array(t, "t")
    if tt.size and (tt.min() < 0 or tt.max() > T):
        worst = float(max(-tt.min(), tt.max() - T))
        raise AssumptionError(f"step t lies in [0, T] = [0, {T:g}]: distance outside the interval",
                              worst, 0.0)
    rho = float(check_probability(stage1_ratio, "stage1_ratio"))
    p0 = float(check_probability(initial_p, "initial_p"))
    if rho == 0.0:
        s = np.ones_like(tt)
    elif schedule == "official":
        s = np.minimum(1.0, tt / math.ceil(rho * T))
    else:
        s = np.minimum(1.0, tt / (rho * T))
    if schedule == "paper":
        p = s
    elif schedule == "official":
        p = p0 + (1.0 - p0) * s
    elif schedule == "exponential":
        p = np.expm1(s) / math.expm1(1.0)
    else:
        p = np.sin(0.5 * math.pi * s)
    p = np.clip(p, 0.0, 1.0)
    return float(p) if np.ndim(t) == 0 else p


def sample_masks(p, n_players: int, n_masks: int, *, seed=None, require_active: bool = False,
                 max_redraws: int = 10_000) -> np.ndarray:
    r"""Draw CoTo masks :math:`\delta\in\{0,1\}^L`, :math:`\delta_i\sim\mathrm{Bernoulli}(p)` i.i.d.

    Parameters
    ----------
    p : float
        Activation probability in ``[0, 1]``.
    n_players : int
        ``L``, the number of adapters (layers), ``>= 1``.
    n_masks : int
        How many masks (rows) to draw.
    seed : int or numpy.random.Generator
        Source of randomness.
    require_active : bool
        The official callback's rule: redraw a mask until at least one adapter is on, i.e.
        :math:`\delta \mid \|\delta\|_1\ge 1`.  Impossible for ``p = 0`` (raises).
    max_redraws : int
        Rounds of redrawing before giving up.

    Returns
    -------
    ndarray of bool, shape (n_masks, n_players)

    Examples
    --------
    >>> m = sample_masks(0.5, 4, 3, seed=0)
    >>> m.shape, m.dtype
    ((3, 4), dtype('bool'))
    """
    p = float(check_probability(p))
    n_players = as_count(n_players, "n_players", minimum=1)
    n_masks = as_count(n_masks, "n_masks", minimum=0)
    max_redraws = as_count(max_redraws, "max_redraws", minimum=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    masks = rng.random((int(n_masks), int(n_players))) < p
    if require_active:
        if p == 0.0:
            raise AssumptionError("require_active needs p > 0 (no mask with an active adapter "
                                  "has positive probability otherwise): p", 0.0, 0.0, relation=">")
        for _ in range(max_redraws):
            empty = ~masks.any(axis=1)
            if not empty.any():
                break
            masks[empty] = rng.random((int(empty.sum()), int(n_players))) < p
        else:  # pragma: no cover - probability (1-p)^(L*max_redraws)
            raise InputError("could not draw masks with an active adapter; p is too small")
    return masks


def expected_compute_fraction(schedule: str = "paper", *, stage1_ratio: float = 0.75,
                              initial_p: float = 0.1, T: int = 400_000) -> float:
    r"""Expected fraction of adapter evaluations performed over ``T`` steps, :math:`\frac1T\sum_{t=1}^T p(t)`.

    As ``T → ∞`` this is :math:`\rho\int_0^1 p(s)\,ds + (1-\rho)`.  The paper schedule gives
    0.625, i.e. at most a 37.5 % saving of adapter compute (§3.3); the all-off redraw of
    the official callback is ignored.

    Examples
    --------
    >>> round(expected_compute_fraction("paper"), 5)
    0.625
    """
    T = as_count(T, "T (number of training steps)", minimum=1)
    t = np.arange(1, T + 1, dtype=np.float64)
    p = activation_probability(t, float(T), schedule=schedule, stage1_ratio=stage1_ratio,
                               initial_p=initial_p)
    return float(np.mean(p))
