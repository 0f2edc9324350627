"""Perturb-and-Merge: the optimal merging coefficient, its bound, the FD regulariser and the perturbation.

Seed ``001_9d292d09fb11dca7.txt`` ("Train with Perturbation, Infer after Merging", Qiu et al.), §3.2–3.3 and
Appendix A.  Parameters are flat vectors of length ``d`` (a model's parameters concatenated in a fixed order).

The merged (inference) model after task ``t`` is (Eq. 3–4)

.. math::

    \\hat\\theta_t = \\hat\\theta_{t-1} + \\alpha_t\\,\\Delta\\theta_t^*,\\qquad
    \\theta_t^* = \\hat\\theta_{t-1} + \\Delta\\theta_t^*,

and the coefficient minimises the second-order model of the summed performance drop (Eq. 7)

.. math::

    J(\\alpha) = \\tfrac12\\sum_{i=1}^t (\\hat\\theta_{t-1} + \\alpha v - \\theta_i^*)^\\top H_i
    (\\hat\\theta_{t-1} + \\alpha v - \\theta_i^*),\\qquad v = \\Delta\\theta_t^*.

Corrections made here (see the docs page's errata): the minimiser of :math:`J` over :math:`\\mathbb R` (Eq. 8) can
leave the interval :math:`[0,1]` that Eq. 3 demands; the constrained optimum is :math:`\\mathrm{clip}(\\alpha^*,0,1)`
(``constrain=True``, the default).  Eq. 8 needs :math:`\\sum_i v^\\top H_i v > 0`, which is refused otherwise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .._validation import as_float_array, as_scalar
from ..errors import AssumptionError, InputError

__all__ = [
    "CurvatureWarning",
    "AlphaResult",
    "BoundTerms",
    "PerturbationSchedule",
    "optimal_alpha",
    "merge_objective",
    "bound_terms",
    "fisher_merge_point",
    "fd_quadratic_form",
    "perturbation_schedule",
    "regularised_loss",
    "expected_perturbed_loss",
    "perturbation_shrink_factor",
    "pm_sequence",
    "pm_linear_regression",
    "DENOMINATOR_RTOL",
    "PSD_TOL",
]

#: Eq. 8's denominator must exceed this fraction of its Cauchy–Schwarz scale ``sum_i ||H_i v|| ||v||``.
DENOMINATOR_RTOL = 1e-12
#: Relative tolerance below which a negative eigenvalue (or diagonal entry) counts as round-off, not curvature.
PSD_TOL = 1e-10


class CurvatureWarning(UserWarning):
    """A curvature given to :func:`optimal_alpha` is not positive semi-definite (Eq. 7 assumes it is)."""


@dataclass(frozen=True)
class AlphaResult:
    """What :func:`optimal_alpha` returns.

    Attributes
    ----------
    alpha : float
        The coefficient to use: ``clip(unconstrained, 0, 1)`` when ``constrain=True``, else ``unconstrained``.
    unconstrained : float
        Equation 8 as printed (the minimiser of the quadratic model over all real α).
    clipped : bool
        Whether ``alpha`` differs from ``unconstrained`` (α* left [0, 1] and ``constrain=True``).
    outside_unit_interval : bool
        Whether ``unconstrained`` lies outside [0, 1] (whatever ``constrain`` is).
    numerator : float
        :math:`-\\sum_i (\\hat\\theta_{t-1}-\\theta_i^*)^\\top H_i v`.
    denominator : float
        :math:`\\sum_i v^\\top H_i v` (> 0).
    objective : float
        :math:`J(\\alpha)` at the returned ``alpha`` (with the gradient terms
        :math:`\\sum_i g_i^\\top(\\hat\\theta_t-\\theta_i^*)` when ``grads`` are given).
    negative_mass : list of float
        Per task, the curvature's negative mass relative to its total absolute mass (0 for PSD input;
        ``nan`` for a Hessian-vector-product callable, whose spectrum is not inspected).
    """

    alpha: float
    unconstrained: float
    clipped: bool
    outside_unit_interval: bool
    numerator: float
    denominator: float
    objective: float
    negative_mass: list = field(default_factory=list)


@dataclass(frozen=True)
class BoundTerms:
    """The two terms of Eq. 11 and the bound of Eq. 12.

    ``value`` is :math:`J(\\alpha^*) = \\tfrac12 A - C^2/(2B)` with :math:`A=\\sum_i a_i^\\top H_i a_i`,
    :math:`C=\\sum_i a_i^\\top H_i v`, :math:`B=\\sum_i v^\\top H_i v`, :math:`a_i=\\hat\\theta_{t-1}-\\theta_i^*`;
    ``first`` = A/2 (the bound), ``second`` = C²/(2B), ``ratio`` = second/first ∈ [0, 1] (Cauchy–Schwarz).
    """

    first: float
    second: float
    value: float
    ratio: float


# --------------------------------------------------------------------------------------------- curvature input
def _curvature_operator(c, d: int, name: str) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """Turn a dense matrix, a diagonal or an HVP callable into ``v -> H v``; return it and the negative mass."""
    if callable(c):
        def hvp(v, _c=c):
            out = np.asarray(_c(v), dtype=np.float64)
            if out.shape != (d,):
                raise InputError(f"{name}(v) returned shape {out.shape}, expected ({d},)")
            if not np.all(np.isfinite(out)):
                raise InputError(f"{name}(v) returned non-finite entries")
            return out
        return hvp, float("nan")
    arr = as_float_array(c, name)
    if arr.ndim == 1:
        if arr.shape != (d,):
            raise InputError(f"{name} is a diagonal of length {arr.shape[0]}, but the parameters have length {d}")
        total = float(np.abs(arr).sum())
        neg = float(-arr[arr < 0].sum())
        mass = neg / total if total > 0 else 0.0
        return (lambda v, _a=arr: _a * v), (mass if mass > PSD_TOL else 0.0)
    if arr.ndim == 2:
        if arr.shape != (d, d):
            raise InputError(f"{name} has shape {arr.shape}, but the parameters have length {d} (expected ({d}, {d}))")
        asym = float(np.max(np.abs(arr - arr.T))) if d else 0.0
        scale = float(np.max(np.abs(arr))) if d else 0.0
        if asym > 1e-8 * max(scale, 1.0):
            raise InputError(f"{name} is not symmetric: max |H - Hᵀ| = {asym:.3g}")
        ev = np.linalg.eigvalsh(0.5 * (arr + arr.T))
        total = float(np.abs(ev).sum())
        neg = float(-ev[ev < 0].sum())
        mass = neg / total if total > 0 else 0.0
        return (lambda v, _a=arr: _a @ v), (mass if mass > PSD_TOL else 0.0)
    raise InputError(f"{name} must be a (d, d) matrix, a (d,) diagonal or a callable v -> H v; got shape {arr.shape}")


def _prepare(theta_prev, optima, curvatures, delta):
    theta_prev = as_float_array(theta_prev, "theta_prev", ndim=1)
    d = theta_prev.shape[0]
    delta = as_float_array(delta, "delta", ndim=1)
    if delta.shape != (d,):
        raise InputError(f"delta has length {delta.shape[0]}, theta_prev has length {d}")
    if isinstance(optima, np.ndarray) and optima.ndim == 2:
        optima = list(optima)
    if len(optima) == 0:
        raise InputError("optima is empty: pass the task optima theta_1*, ..., theta_t* (t >= 1)")
    if len(optima) != len(curvatures):
        raise InputError(f"{len(optima)} optima but {len(curvatures)} curvatures (one per task is needed)")
    opts = []
    for i, th in enumerate(optima):
        th = as_float_array(th, f"optima[{i}]", ndim=1)
        if th.shape != (d,):
            raise InputError(f"optima[{i}] has length {th.shape[0]}, theta_prev has length {d}")
        opts.append(th)
    ops, masses = [], []
    for i, c in enumerate(curvatures):
        op, m = _curvature_operator(c, d, f"curvatures[{i}]")
        ops.append(op)
        masses.append(m)
    return theta_prev, opts, ops, masses, delta


def _warn_negative(masses):
    bad = [(i, m) for i, m in enumerate(masses) if m == m and m > 0]
    if bad:
        desc = ", ".join(f"task {i + 1}: {m:.3g}" for i, m in bad)
        warnings.warn("curvature is not positive semi-definite (Eq. 7 assumes H_i ⪰ 0); negative mass "
                      f"|sum of negative eigenvalues| / sum |eigenvalues| = {desc}", CurvatureWarning,
                      stacklevel=3)


# --------------------------------------------------------------------------------------------- Eq. 8
def optimal_alpha(theta_prev, optima: Sequence, curvatures: Sequence, delta, *, constrain: bool = True,
                  grads: Sequence | None = None) -> AlphaResult:
    """The optimal merging coefficient of Eq. 8, optionally clipped to [0, 1] (Eq. 3).

    .. math::

        \\alpha_t^* = -\\frac{\\sum_{i=1}^t (\\hat\\theta_{t-1}-\\theta_i^*)^\\top H_i\\,\\Delta\\theta_t^*
                         + g_i^\\top\\Delta\\theta_t^*}
                        {\\sum_{i=1}^t \\Delta\\theta_t^{*\\top} H_i\\,\\Delta\\theta_t^*}

    with :math:`g_i = 0` (the paper: each :math:`\\theta_i^*` is stationary) unless ``grads`` are given (the
    gradient-corrected variant for early-stopped or perturbation-trained optima).  This minimises the quadratic
    model :math:`J(\\alpha)` of Eq. 7 over :math:`\\alpha\\in\\mathbb R`; since :math:`J` is a convex parabola,
    :math:`\\mathrm{clip}(\\alpha^*, 0, 1)` minimises it over [0, 1].

    Parameters
    ----------
    theta_prev : array of shape (d,)
        :math:`\\hat\\theta_{t-1}`, the merged model before task ``t`` (``theta_0`` for ``t = 1``).
    optima : sequence of t arrays of shape (d,)
        :math:`\\theta_1^*, \\dots, \\theta_t^*`; usually ``optima[-1] == theta_prev + delta``.
    curvatures : sequence of t curvatures
        :math:`H_i(\\theta_i^*)`, each a dense ``(d, d)`` symmetric matrix, a ``(d,)`` diagonal (the paper's
        diagonal empirical Fisher), or a callable ``v -> H v`` (Hessian-vector product, shape (d,) -> (d,)).
    delta : array of shape (d,)
        :math:`\\Delta\\theta_t^*`, the task vector of task ``t``.
    constrain : bool, default True
        Clip to [0, 1] as Eq. 3 requires.  ``False`` returns Eq. 8 as is in ``.alpha`` too.
    grads : sequence of t arrays of shape (d,), optional
        :math:`\\nabla\\mathcal L_i(\\theta_i^*)` for the gradient-corrected variant.

    Returns
    -------
    AlphaResult
        ``.alpha``, ``.unconstrained``, ``.clipped``, the numerator/denominator, :math:`J(\\alpha)` and the
        per-task negative curvature mass.

    Raises
    ------
    InputError
        Shapes disagree, entries are non-finite, a dense curvature is not symmetric, or no task is given.
    AssumptionError
        The denominator :math:`\\sum_i v^\\top H_i v` is not positive (zero task vector, zero curvature along it,
        e.g. an empirical Fisher at an interpolating optimum, or indefinite curvature): Eq. 8 then has no minimiser.

    Warns
    -----
    CurvatureWarning
        A dense or diagonal curvature has negative eigenvalues; the warning reports their relative mass.

    Notes
    -----
    Validity: exact minimiser of the summed loss when every task loss is quadratic with Hessian :math:`H_i`
    and minimiser :math:`\\theta_i^*` (linear regression); otherwise a second-order approximation, accurate while
    :math:`\\|\\hat\\theta_t-\\theta_i^*\\|` is small.  Paper: Eq. 8 (derivation Eq. 18–24).

    Examples
    --------
    >>> import numpy as np
    >>> r = optimal_alpha(np.zeros(2), [np.array([1.0, 0.0]), np.array([0.0, 1.0])],
    ...                   [np.eye(2), np.eye(2)], np.array([0.0, 1.0]))
    >>> round(r.alpha, 12), r.clipped
    (0.5, False)
    """
    theta_prev, opts, ops, masses, v = _prepare(theta_prev, optima, curvatures, delta)
    _warn_negative(masses)
    if grads is not None:
        if len(grads) != len(opts):
            raise InputError(f"{len(grads)} gradients but {len(opts)} tasks")
        gs = [as_float_array(g, f"grads[{i}]", ndim=1) for i, g in enumerate(grads)]
        for i, g in enumerate(gs):
            if g.shape != v.shape:
                raise InputError(f"grads[{i}] has length {g.shape[0]}, expected {v.shape[0]}")
    else:
        gs = None
    theta_prev, opts, ops, v, gs, e_unit = _rescale_extreme(theta_prev, opts, ops, v, gs, curvatures)

    def unit(x):                     # back to the caller's units (inf where the true value overflows)
        with np.errstate(over="ignore"):
            return float(np.ldexp(np.float64(x), e_unit))

    num = 0.0
    den = 0.0
    scale = 0.0
    A = 0.0  # sum_i a_i^T H_i a_i, for J(alpha)
    lin = 0.0  # coefficient of alpha in J
    nv = float(np.linalg.norm(v))
    for i, (th, op) in enumerate(zip(opts, ops)):
        Hv = op(v)
        ai = theta_prev - th
        c = float(ai @ Hv)
        if gs is not None:
            c += float(gs[i] @ v)
            A += 2.0 * float(gs[i] @ ai)
        num -= c
        lin += c
        A += float(ai @ op(ai))
        den += float(v @ Hv)
        scale += float(np.linalg.norm(Hv)) * nv
    if not den > DENOMINATOR_RTOL * scale or den <= 0.0:
        raise AssumptionError(
            "Eq. 8 needs positive total curvature along the task vector, sum_i v^T H_i v > 0 (relative to "
            "sum_i ||H_i v|| ||v||): sum_i v^T H_i v", violation=unit(den),
            tolerance=unit(DENOMINATOR_RTOL * scale), relation=">",
            hint=("the task vector is zero, the curvature vanishes along it (e.g. an empirical Fisher at an "
                  "interpolating optimum) or is negative (indefinite Hessian): the quadratic model has no minimiser"))
    raw = num / den
    alpha = min(max(raw, 0.0), 1.0) if constrain else raw
    obj = 0.5 * A + alpha * lin + 0.5 * alpha * alpha * den
    num, den, obj = unit(num), unit(den), unit(obj)
    return AlphaResult(alpha=float(alpha), unconstrained=float(raw), clipped=bool(alpha != raw),
                       outside_unit_interval=bool(raw < 0.0 or raw > 1.0), numerator=num,
                       denominator=den, objective=obj, negative_mass=masses)


#: positions or curvatures whose largest magnitude lies outside this range are rescaled before Eq. 8
_SAFE_MAGNITUDE = (1e-100, 1e100)


def _rescale_extreme(theta_prev, opts, ops, v, gs, curvatures):
    """Eq. 8 is a ratio: positions scaled by 2^-k and curvatures by 2^-m (exact in binary floating
    point) leave alpha* unchanged while v^T H v neither over- nor underflows.  Applied only when the
    magnitudes are extreme, so ordinary inputs are computed as given.  Returns the scaled inputs and
    the exponent m + 2k of the factor that brings numerator, denominator and J back to the caller's
    units."""
    xs = max([float(np.max(np.abs(x))) for x in [theta_prev, v, *opts]])
    hs = [float(np.max(np.abs(as_float_array(c, "curvature")))) for c in curvatures if not callable(c)]
    hs = max(hs) if hs and len(hs) == len(curvatures) else 1.0
    lo, hi = _SAFE_MAGNITUDE
    k = math.frexp(xs)[1] if xs > 0 and not lo <= xs <= hi else 0
    m = math.frexp(hs)[1] if hs > 0 and not lo <= hs <= hi else 0
    if k == 0 and m == 0:
        return theta_prev, opts, ops, v, gs, 0
    fx, fh = math.ldexp(1.0, -k), math.ldexp(1.0, -m)
    theta_prev, v, opts = theta_prev * fx, v * fx, [o * fx for o in opts]
    ops = [(lambda x, _op=op: _op(x) * fh) for op in ops]
    if gs is not None:
        gs = [g * (fx * fh) for g in gs]
    return theta_prev, opts, ops, v, gs, m + 2 * k


def merge_objective(alpha, theta_prev, optima, curvatures, delta):
    """The quadratic model of the summed performance drop, Eq. 7 / Eq. 21.

    .. math:: J(\\alpha) = \\tfrac12\\sum_{i=1}^t (\\hat\\theta_{t-1}+\\alpha v-\\theta_i^*)^\\top H_i
              (\\hat\\theta_{t-1}+\\alpha v-\\theta_i^*)

    Parameters
    ----------
    alpha : float or array of shape (m,)
    theta_prev, optima, curvatures, delta
        As in :func:`optimal_alpha`.

    Returns
    -------
    float or ndarray of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> float(merge_objective(0.5, np.zeros(1), [np.ones(1)], [np.ones(1)], np.ones(1)))
    0.125
    """
    tp, opts, ops, masses, v = _prepare(theta_prev, optima, curvatures, delta)
    a = np.asarray(alpha, dtype=np.float64)
    # J is a parabola in alpha: evaluate its three coefficients once.
    A = B = C = 0.0
    for th, op in zip(opts, ops):
        ai = tp - th
        Hv = op(v)
        A += float(ai @ op(ai))
        C += float(ai @ Hv)
        B += float(v @ Hv)
    out = 0.5 * A + a * C + 0.5 * a * a * B
    return float(out) if out.ndim == 0 else out


def bound_terms(theta_prev, optima, curvatures, delta) -> BoundTerms:
    """The decomposition of Eq. 11 and the bound of Eq. 12.

    .. math::

        J(\\alpha^*) = \\underbrace{\\tfrac12 A}_{\\text{first}} - \\underbrace{\\frac{C^2}{2B}}_{\\text{second}}
        \\le \\tfrac12 A

    Parameters
    ----------
    theta_prev, optima, curvatures, delta
        As in :func:`optimal_alpha` (``B > 0`` is required).

    Returns
    -------
    BoundTerms
        ``ratio = second / first`` lies in [0, 1] for PSD curvatures (Cauchy–Schwarz, Eq. 28–31); the paper's
        "first term dominates" would need the ratio to be small, which the lemma does not show.

    Examples
    --------
    >>> import numpy as np
    >>> b = bound_terms(np.zeros(1), [np.ones(1), np.ones(1)], [np.ones(1), np.ones(1)], np.ones(1))
    >>> round(b.value, 12), round(b.ratio, 12)
    (0.0, 1.0)
    """
    tp, opts, ops, masses, v = _prepare(theta_prev, optima, curvatures, delta)
    _warn_negative(masses)
    A = B = C = 0.0
    for th, op in zip(opts, ops):
        ai = tp - th
        Hv = op(v)
        A += float(ai @ op(ai))
        C += float(ai @ Hv)
        B += float(v @ Hv)
    if not B > 0:
        raise AssumptionError("Eq. 11 needs sum_i v^T H_i v > 0: sum_i v^T H_i v", violation=B, tolerance=0.0,
                              relation=">")
    first = 0.5 * A
    second = C * C / (2.0 * B)
    ratio = second / first if first > 0 else (0.0 if second == 0 else math.inf)
    return BoundTerms(first=first, second=second, value=first - second, ratio=ratio)


def fisher_merge_point(optima, curvatures) -> np.ndarray:
    """The full-space minimiser of the summed quadratic model (Fisher-weighted averaging).

    .. math:: \\bar\\theta = \\Big(\\sum_i H_i\\Big)^{-1}\\sum_i H_i\\theta_i^*

    P&M's merged model is the :math:`S`-metric projection of :math:`\\bar\\theta` onto the line through
    :math:`\\hat\\theta_{t-1}` along :math:`v` (:math:`S=\\sum_i H_i`), so :math:`J(\\alpha^*) \\ge J(\\bar\\theta)`.

    Parameters
    ----------
    optima : sequence of arrays of shape (d,)
    curvatures : sequence of (d, d) matrices or (d,) diagonals, PSD with a nonsingular sum

    Returns
    -------
    ndarray of shape (d,)

    Examples
    --------
    >>> import numpy as np
    >>> fisher_merge_point([np.zeros(1), np.ones(1)], [np.ones(1), 3 * np.ones(1)]).tolist()
    [0.75]
    """
    opts = [as_float_array(o, f"optima[{i}]", ndim=1, nonempty=True) for i, o in enumerate(optima)]
    curvatures = list(curvatures)
    if not opts:
        raise InputError("optima is empty: need at least one task")
    if len(curvatures) != len(opts):
        raise InputError(f"{len(opts)} optima but {len(curvatures)} curvatures")
    d = opts[0].shape[0]
    for i, o in enumerate(opts):
        if o.shape != (d,):
            raise InputError(f"optima[{i}] has shape {o.shape}, optima[0] has {(d,)}")
    S = np.zeros((d, d))
    r = np.zeros(d)
    for i, c in enumerate(curvatures):
        H = as_float_array(c, f"curvatures[{i}]")
        H = np.diag(H) if H.ndim == 1 else H
        if H.shape != (d, d):
            raise InputError(f"curvatures[{i}] has shape {H.shape}, expected ({d}, {d})")
        S += H
        r += H @ opts[i]
    try:
        return np.linalg.solve(S, r)
    except np.linalg.LinAlgError:
        raise AssumptionError("the summed curvature sum_i H_i is nonsingular (the merge point is unique): "
                              "smallest |eigenvalue|", float(np.min(np.abs(np.linalg.eigvalsh((S + S.T) / 2)))),
                              0.0, relation=">") from None


# --------------------------------------------------------------------------------------------- Eq. 13
def _check_eps(eps: float) -> float:
    try:
        eps = as_scalar(eps, "eps", low=0.0, high=1.0, low_open=True)
    except InputError:
        raise InputError(f"eps must lie in (0, 1] (Eq. 13: 'eps <= 1 is a small constant'), got {eps!r}") from None
    return eps


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _check_vectors(**named):
    """Validate same-shape 1-d parameter vectors that go to a user's ``loss_fn``.

    Tensors stay tensors (the loss may be differentiated through them); when one argument is a
    tensor the others become tensors of its dtype and device, otherwise all become float64
    arrays.  Refuses complex, non-finite, empty, non-1-d and mismatched vectors.
    """
    names = list(named)
    tensors = [named[k] for k in names if _is_tensor(named[k])]
    out = {}
    if tensors:
        import torch
        ref = tensors[0]
        for k in names:
            x = named[k]
            if not _is_tensor(x):
                x = torch.as_tensor(as_float_array(x, k), dtype=ref.dtype, device=ref.device)
            if x.is_complex():
                raise InputError(f"{k} has complex dtype {x.dtype}; lintheory works on real arrays")
            if x.ndim != 1:
                raise InputError(f"{k} must be 1-dimensional (a flat parameter vector), got shape "
                                 f"{tuple(x.shape)}")
            if x.numel() == 0:
                raise InputError(f"{k} is empty")
            bad = int((~torch.isfinite(x.detach())).sum())
            if bad:
                raise InputError(f"{k} has {bad} non-finite entries (NaN or inf)")
            out[k] = x
    else:
        for k in names:
            out[k] = as_float_array(named[k], k, ndim=1, nonempty=True)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    if len(set(shapes.values())) > 1:
        raise InputError("the parameter vectors must have one shape: " +
                         ", ".join(f"{k} {v}" for k, v in shapes.items()))
    return [out[k] for k in names]


def fd_quadratic_form(loss_fn: Callable, theta, v, eps: float):
    """The finite-difference curvature of Eq. 13.

    .. math::

        \\mathrm{FD}_\\epsilon = \\frac{\\mathcal L(\\theta+\\epsilon v)+\\mathcal L(\\theta-\\epsilon v)
        -2\\mathcal L(\\theta)}{\\epsilon^2}
        = v^\\top H(\\theta) v + \\frac{\\epsilon^2}{12}\\nabla^4\\mathcal L(\\theta)[v,v,v,v] + O(\\epsilon^4)

    Exact for quadratic losses for every ε; the error is :math:`O(\\epsilon^2)` otherwise.  Works with numpy
    arrays or torch tensors (it only adds, scales and calls ``loss_fn``), so gradients can flow through it.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(theta) -> scalar``.
    theta : array or tensor of shape (d,)
        The current iterate :math:`\\theta_t = \\hat\\theta_{t-1} + \\Delta\\theta_t`.
    v : array or tensor of shape (d,)
        The direction (the current task vector :math:`\\Delta\\theta_t`).
    eps : float in (0, 1]
        Step relative to ``v``.  In float64 keep ``eps >= 1e-4``; round-off grows like ``1e-16 / eps**2``.

    Returns
    -------
    scalar (float or 0-d tensor)

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> f = lambda th: 0.5 * th @ H @ th
    >>> round(float(fd_quadratic_form(f, np.array([0.3, -1.0]), np.array([1.0, 2.0]), 0.5)), 10)
    8.0
    """
    eps = _check_eps(eps)
    theta, v = _check_vectors(theta=theta, v=v)
    return (loss_fn(theta + eps * v) + loss_fn(theta - eps * v) - 2.0 * loss_fn(theta)) / (eps * eps)


# --------------------------------------------------------------------------------------------- Eq. 14–16
@dataclass(frozen=True)
class PerturbationSchedule:
    """The three-point perturbation of Eq. 15: ε̃ ∈ {0, +ε, −ε} with probabilities (p0, p+, p−).

    ``lam`` is the implied regularisation weight :math:`\\lambda = p_\\pm\\epsilon^2` of Eq. 14.
    """

    eps: float
    p0: float
    p_plus: float
    p_minus: float
    lam: float

    @property
    def values(self) -> np.ndarray:
        """The perturbation multipliers ``[0, +eps, -eps]``."""
        return np.array([0.0, self.eps, -self.eps])

    @property
    def probs(self) -> np.ndarray:
        """``[p0, p_plus, p_minus]``."""
        return np.array([self.p0, self.p_plus, self.p_minus])

    def sample(self, rng: np.random.Generator, size=None):
        """Draw ε̃ (one per training step in the paper's §3.3 reading)."""
        return rng.choice(self.values, size=size, p=self.probs)


def perturbation_schedule(eps: float, *, p0: float | None = None, lam: float | None = None) -> PerturbationSchedule:
    """The probabilities of Eq. 15 from ``(eps, p0)`` (the paper's experiments) or ``(eps, lam)`` (Eq. 14).

    .. math:: p_0 = 1 - \\frac{2\\lambda}{\\epsilon^2},\\qquad p_+ = p_- = \\frac{\\lambda}{\\epsilon^2},
              \\qquad \\lambda = \\frac{\\epsilon^2 (1-p_0)}{2}

    Give exactly one of ``p0`` and ``lam``.  The paper's defaults ``eps=0.5, p0=1/3`` imply ``lam = 1/12``.

    Parameters
    ----------
    eps : float in (0, 1]
    p0 : float in [0, 1], optional
    lam : float in [0, eps**2 / 2], optional

    Returns
    -------
    PerturbationSchedule

    Raises
    ------
    InputError
        ``eps`` outside (0, 1], ``p0`` outside [0, 1], ``lam < 0``, or both/neither of ``p0`` and ``lam``.
    AssumptionError
        ``lam > eps**2 / 2``: then :math:`p_0 < 0` and Eq. 15 is not a probability distribution (the paper never
        states this bound).

    Examples
    --------
    >>> s = perturbation_schedule(0.5, p0=1/3)
    >>> round(s.lam, 12), round(s.p_plus, 12)
    (0.083333333333, 0.333333333333)
    """
    eps = _check_eps(eps)
    if (p0 is None) == (lam is None):
        raise InputError("give exactly one of p0 and lam")
    if p0 is not None:
        p0 = float(p0)
        if not (math.isfinite(p0) and 0.0 <= p0 <= 1.0):
            raise InputError(f"p0 must lie in [0, 1], got {p0}")
        lam = eps * eps * (1.0 - p0) / 2.0
    else:
        lam = float(lam)
        if not (math.isfinite(lam) and lam >= 0.0):
            raise InputError(f"lam must be a finite number >= 0, got {lam}")
        if lam > eps * eps / 2.0 * (1 + 1e-12):
            raise AssumptionError("Eq. 15 probabilities need lam <= eps^2 / 2 (else p0 = 1 - 2 lam / eps^2 < 0)",
                                  violation=lam - eps * eps / 2.0, tolerance=0.0,
                                  hint=f"with eps = {eps} use lam <= {eps * eps / 2:.6g}, or a larger eps")
        p0 = max(0.0, 1.0 - 2.0 * lam / (eps * eps))
    pp = (1.0 - p0) / 2.0
    return PerturbationSchedule(eps=eps, p0=p0, p_plus=pp, p_minus=pp, lam=lam)


def regularised_loss(loss_fn: Callable, theta_prev, delta, sched: PerturbationSchedule):
    """Eq. 14: :math:`\\mathcal L^{ce}(\\theta) + \\lambda\\,\\mathrm{FD}_\\epsilon`, with
    :math:`\\theta = \\hat\\theta_{t-1} + \\Delta`.

    .. math:: (1-2\\lambda/\\epsilon^2)\\mathcal L(\\theta) + \\frac{\\lambda}{\\epsilon^2}
              \\big(\\mathcal L(\\theta+\\epsilon\\Delta) + \\mathcal L(\\theta-\\epsilon\\Delta)\\big)

    Parameters
    ----------
    loss_fn : callable ``theta -> scalar``
    theta_prev, delta : arrays or tensors of shape (d,)
        The start point :math:`\\hat\\theta_{t-1}` and the current task vector :math:`\\Delta\\theta_t`.
    sched : PerturbationSchedule

    Returns
    -------
    scalar (float or 0-d tensor; differentiable through ``delta`` in torch)

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda th: float(th @ th)
    >>> s = perturbation_schedule(0.5, lam=0.1)
    >>> round(regularised_loss(f, np.zeros(2), np.ones(2), s), 12)   # (1 + 2 * 0.1) * 2
    2.4
    """
    theta_prev, delta = _check_vectors(theta_prev=theta_prev, delta=delta)
    theta = theta_prev + delta
    e = sched.eps
    return sched.p0 * loss_fn(theta) + (sched.lam / (e * e)) * (
        loss_fn(theta + e * delta) + loss_fn(theta - e * delta))


def expected_perturbed_loss(loss_fn: Callable, theta_prev, delta, sched: PerturbationSchedule):
    """Eq. 16: :math:`\\mathbb E_{\\tilde\\epsilon}\\,\\mathcal L(\\hat\\theta_{t-1} + (1+\\tilde\\epsilon)\\Delta)`,
    by exact enumeration of the three outcomes (equals :func:`regularised_loss` when :math:`p_+ = p_-`).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda th: float(th @ th)
    >>> s = perturbation_schedule(0.5, p0=1/3)
    >>> round(float(expected_perturbed_loss(f, np.zeros(2), np.ones(2), s)), 12)   # = regularised_loss(...)
    2.333333333333
    """
    theta_prev, delta = _check_vectors(theta_prev=theta_prev, delta=delta)
    out = 0.0
    for val, p in zip(sched.values, sched.probs):
        out = out + p * loss_fn(theta_prev + (1.0 + val) * delta)
    return out


def perturbation_shrink_factor(lam: float) -> float:
    """For a quadratic task loss, perturbation training (gradient through Δθ) converges to
    :math:`\\Delta^{\\text{pert}} = \\Delta^{\\text{plain}}/(1+2\\lambda)` (on the range of :math:`H_t`).

    Derivation: :math:`\\nabla_\\Delta[\\tfrac12(\\Delta-D)^\\top H(\\Delta-D)+\\lambda\\Delta^\\top H\\Delta]
    = H((1+2\\lambda)\\Delta - D) = 0`.  The stop-gradient version has factor 1 (no effect).

    Examples
    --------
    >>> round(perturbation_shrink_factor(1 / 12), 12)
    0.857142857143
    """
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0):
        raise InputError(f"lam must be a finite number >= 0, got {lam}")
    return 1.0 / (1.0 + 2.0 * lam)


# --------------------------------------------------------------------------------------------- recursion
def pm_sequence(hessians: Sequence, centres: Sequence, theta0, *, constrain: bool = True, shrink: float = 1.0):
    """P&M over quadratic tasks :math:`\\mathcal L_i(\\theta)=\\tfrac12(\\theta-c_i)^\\top H_i(\\theta-c_i)` with
    full-rank :math:`H_i`, where training task ``t`` from any start reaches :math:`\\theta_t^* = c_t`.

    With ``shrink = s`` the trained task vector is ``s (c_t - theta_prev)`` (``s = 1/(1+2λ)`` models perturbation
    training, :func:`perturbation_shrink_factor`), and Eq. 8 is applied with that vector and with
    :math:`\\theta_t^*=\\hat\\theta_{t-1}+s(c_t-\\hat\\theta_{t-1})` as the paper's Alg. 1 does.

    Parameters
    ----------
    hessians : sequence of T (d, d) matrices or (d,) diagonals, positive definite
    centres : sequence of T arrays of shape (d,)
    theta0 : array of shape (d,)
    constrain : bool
    shrink : float in (0, 1]

    Returns
    -------
    dict with ``alphas`` and ``unconstrained`` (lists of T floats), ``merged`` (list of T arrays (d,)) and
    ``total_loss`` (list of T floats, :math:`\\sum_{i\\le t}\\mathcal L_i(\\hat\\theta_t)`).

    Examples
    --------
    >>> import numpy as np
    >>> H = [np.eye(2)] * 3
    >>> out = pm_sequence(H, [np.array([1.0, 0]), np.array([0, 1.0]), np.array([1.0, 1])], np.zeros(2))
    >>> [round(a, 12) for a in out["alphas"]]          # a common Hessian gives 1, 1/2, 1/3
    [1.0, 0.5, 0.333333333333]
    """
    th = as_float_array(theta0, "theta0", ndim=1, nonempty=True)
    Hs = [as_float_array(H, f"hessians[{i}]") for i, H in enumerate(hessians)]
    cs = [as_float_array(c, f"centres[{i}]", shape=th.shape) for i, c in enumerate(centres)]
    if len(Hs) != len(cs):
        raise InputError(f"{len(Hs)} Hessians but {len(cs)} centres")
    shrink = as_scalar(shrink, "shrink", low=0.0, high=1.0, low_open=True)
    out = {"alphas": [], "unconstrained": [], "merged": [], "total_loss": []}
    optima = []
    for t in range(len(cs)):
        v = shrink * (cs[t] - th)
        optima.append(th + v)
        r = optimal_alpha(th, optima, Hs[:t + 1], v, constrain=constrain)
        th = th + r.alpha * v
        out["alphas"].append(r.alpha)
        out["unconstrained"].append(r.unconstrained)
        out["merged"].append(th.copy())
        tot = 0.0
        for H, c in zip(Hs[:t + 1], cs[:t + 1]):
            e = th - c
            tot += 0.5 * float(e @ (H * e if H.ndim == 1 else H @ e))
        out["total_loss"].append(tot)
    return out


def pm_linear_regression(tasks, theta0, *, constrain: bool = True, shrink: float = 1.0):
    """P&M on least-squares tasks in closed form: task ``t`` trained from :math:`\\hat\\theta_{t-1}` reaches
    :math:`\\hat\\theta_{t-1} + s\\,X_t^+(y_t - X_t\\hat\\theta_{t-1})` (gradient descent's limit, ``s = 1`` without
    perturbation), with the exact Hessians :math:`H_t = X_t^\\top X_t / n_t` of the loss
    :math:`\\frac1{2n_t}\\|X_t\\theta-y_t\\|^2`.

    Parameters
    ----------
    tasks : sequence of objects with ``X`` (n_t, d) and ``y`` (n_t,)
    theta0 : array of shape (d,)
    constrain : bool
    shrink : float in (0, 1]

    Returns
    -------
    dict with ``alphas``, ``unconstrained``, ``merged``, ``total_loss`` (lists of length T), as :func:`pm_sequence`.
    """
    th = as_float_array(theta0, "theta0", ndim=1)
    out = {"alphas": [], "unconstrained": [], "merged": [], "total_loss": []}
    optima, Hs, data = [], [], []
    for i, task in enumerate(tasks):
        X = as_float_array(task.X, f"tasks[{i}].X", ndim=2)
        y = as_float_array(task.y, f"tasks[{i}].y", ndim=1)
        data.append((X, y))
        v = shrink * (np.linalg.pinv(X) @ (y - X @ th))
        optima.append(th + v)
        Hs.append(X.T @ X / X.shape[0])
        r = optimal_alpha(th, optima, Hs, v, constrain=constrain)
        th = th + r.alpha * v
        out["alphas"].append(r.alpha)
        out["unconstrained"].append(r.unconstrained)
        out["merged"].append(th.copy())
        out["total_loss"].append(sum(0.5 * float(np.mean((Xi @ th - yi) ** 2)) for Xi, yi in data))
    return out
