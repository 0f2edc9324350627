"""AdaDARE-γ: exact expected loss of drop-and-rescale, optimal drop probabilities, the γ bound.

Seed ``000_5a76694d997bb78d.txt`` (supplementary material, Theorems 1 and 2).  This module
holds the *corrected* results, which are the main API; the formulas exactly as printed are
in :mod:`lintheory.adadare.printed`.

Setting (inferred from the proofs; the main paper is not in the seed).  A layer's delta
``delta = Θ_sft − Θ_pre`` is flattened to ``n`` entries.  Drop-and-rescale with
per-entry drop probabilities ``p_i`` and rescale ``γ`` gives

.. math::

    \\Theta_{\\mathrm{fusion},i} = \\Theta_{\\mathrm{pre},i} + m_i\\,\\frac{\\gamma}{1-p_i}\\,\\delta_i,
    \\qquad m_i \\sim \\mathrm{Bernoulli}(1-p_i)\\ \\text{independent}.

**Independence of the masks is a precondition** of every expectation formula here: it is
what makes the cross terms of the layer loss independent of ``p`` (paper A.4 → A.5).

Conventions: samples are rows.  A layer weight is ``(d_out, d_in)``, its calibration
activations are ``X`` of shape ``(N, d_in)`` (the paper's :math:`\\mathcal X` has tokens as
columns, i.e. ``X = 𝒳ᵀ``), outputs are ``X @ W.T`` and the diagonal "Hessian" of the layer
loss A.1 for entry ``(r, c)`` is ``(XᵀX)_{cc}`` (the true Hessian has a factor 2, which
changes no argmin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import _to_numpy, as_count, as_float_array, as_scalar, refuse_complex
from ..errors import AssumptionError, InputError, LintheoryError

__all__ = [
    "DropProbabilities",
    "GammaBound",
    "scores",
    "coordinate_loss",
    "expected_diag_loss",
    "expected_layer_loss",
    "loss_parts",
    "drop_probabilities",
    "solve_drop_probabilities",
    "iter_drop_probabilities",
    "drop_and_rescale",
    "optimal_gamma",
    "expected_l1",
    "gamma_bound",
    "l1_exceedance_probability",
    "hessian_diag_from_activations",
]

#: Largest n for which :func:`l1_exceedance_probability` enumerates all 2^n masks.
EXACT_ENUMERATION_MAX_N = 20


# --------------------------------------------------------------------------- validation

def _check_inputs(h_diag, delta, name_h="h_diag", name_d="delta"):
    d = as_float_array(delta, name_d)
    h = as_float_array(h_diag, name_h)
    if h.shape != d.shape:
        raise InputError(f"{name_h} has shape {h.shape} but {name_d} has shape {d.shape}")
    if h.size and h.min() < 0:
        raise AssumptionError(
            f"{name_h} is a diagonal of a PSD curvature (H_ii >= 0, Theorem 1); "
            f"{int((h < 0).sum())} negative entries, most negative",
            float(-h.min()), 0.0,
            hint="use a Gram / Fisher diagonal; with H_ii < 0 the objective is unbounded below as p_i -> 1")
    return h, d


#: outside these magnitudes of max H_ii and max |delta_i| the scores (and A.18's H delta^2) can under-
#: or overflow; the probabilities are invariant to scaling h_diag and delta separately, so such inputs
#: are divided by their maxima first (ordinary inputs are left untouched, bit for bit)
_SAFE_H = (1e-100, 1e100)
_SAFE_D = (1e-50, 1e50)


def _rescale_extreme(h, d, large: bool):
    r"""Divide ``h`` / ``d`` by their maxima when those are tiny (scores would underflow to 0 and
    turn the optimum into a uniform ``p``, or A.18 into 0/0) or, with ``large``, huge (A.18's
    :math:`H\delta^2` overflows).  The water-filling route reports overflowing scores instead
    (an InputError that says to rescale)."""
    hm = float(h.max()) if h.size else 0.0
    dm = float(np.abs(d).max()) if d.size else 0.0
    if hm > 0 and (hm < _SAFE_H[0] or (large and hm > _SAFE_H[1])):
        h = h / hm
    if dm > 0 and (dm < _SAFE_D[0] or (large and dm > _SAFE_D[1])):
        d = d / dm
    return h, d


def _rescale_tiny(h_diag, delta):
    """The lean route's inputs, divided by their maxima when those are so small that the scores
    would underflow (two reductions, no copy of an ordinary input)."""
    try:
        h = np.asarray(h_diag, dtype=np.float64)
        d = np.asarray(delta, dtype=np.float64)
    except (TypeError, ValueError):
        return h_diag, delta           # the full route reports it
    if h.size == 0 or d.size == 0 or h.shape != d.shape:
        return h_diag, delta
    with np.errstate(invalid="ignore"):
        hm, dm = float(h.max()), float(max(d.max(), -d.min()))
    if not (np.isfinite(hm) and np.isfinite(dm)):
        return h_diag, delta
    if 0 < hm < _SAFE_H[0]:
        h = h / hm
    if 0 < dm < _SAFE_D[0]:
        d = d / dm
    return h, d


def _check_sparsity(p) -> float:
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise InputError(f"p must be a number in [0, 1), got {p!r}") from None
    if not np.isfinite(p):
        raise InputError(f"p must be a finite number in [0, 1), got {p}")
    if p < 0 or p >= 1:
        viol = -p if p < 0 else p - 1.0
        raise AssumptionError(f"the target sparsity p lies in [0, 1) (A.2); got p = {p:g}, distance outside "
                              "[0, 1)", float(viol), None,
                              hint="p = 1 would drop every entry; p < 0 is not a sparsity")
    return p


def _check_probs(probs, shape, name="probs"):
    q = as_float_array(probs, name)
    if q.shape != shape:
        raise InputError(f"{name} has shape {q.shape} but delta has shape {shape} (they must match)")
    if q.size and (q.min() < 0 or q.max() > 1):
        viol = max(-q.min(), q.max() - 1)
        raise AssumptionError(f"{name} are probabilities in [0, 1]", float(viol), 0.0)
    return q


def _check_gamma(gamma) -> float:
    return as_scalar(gamma, "gamma")


def scores(h_diag, delta) -> np.ndarray:
    """The scores :math:`s_i = \\sqrt{H_{ii}}\\,|\\delta_i|` that Theorem 1 ranks entries by.

    Parameters
    ----------
    h_diag, delta : array_like, same shape (any)
        Non-negative curvature diagonal and the delta parameters.

    Returns
    -------
    ndarray, same shape
        ``sqrt(h_diag) * |delta|``.

    Examples
    --------
    >>> scores([4.0, 1.0], [0.5, -3.0]).tolist()
    [1.0, 3.0]
    """
    h, d = _check_inputs(h_diag, delta)
    return np.sqrt(h) * np.abs(d)


# --------------------------------------------------------------------------- the loss

def coordinate_loss(p, gamma):
    """Per-coordinate factor of the expected loss: :math:`\\phi(p)=\\gamma^2\\frac{p}{1-p}+(1-\\gamma)^2`.

    Variance plus squared bias of :math:`e = \\delta - m\\gamma\\delta/(1-p)` in units of
    :math:`\\delta^2`.  Equal to the paper's :math:`\\frac{(\\alpha+p)^2}{1-p}+p` with
    :math:`\\alpha=\\gamma-1` (A.6).  Convex in ``p`` on ``[0, 1)``: :math:`\\phi'' = 2\\gamma^2/(1-p)^3`.
    ``p = 1`` gives ``inf`` unless ``gamma == 0``.

    Examples
    --------
    >>> float(coordinate_loss(0.5, 1.0))
    1.0
    """
    p = as_float_array(p, "p (drop probabilities)")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise AssumptionError("drop probabilities lie in [0, 1]: max distance outside",
                              float(max(-p.min(), p.max() - 1)), 0.0)
    g = _check_gamma(gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(p >= 1, np.inf if g != 0 else 0.0, g * g * p / np.where(p >= 1, 1.0, 1 - p))
    return var + (1 - g) ** 2


def loss_parts(h_diag, delta, probs, gamma):
    """Variance and squared-bias parts of the expected diagonal loss (A.5).

    Returns
    -------
    (variance, bias2) : tuple of float
        :math:`\\gamma^2\\sum_i H_{ii}\\delta_i^2 p_i/(1-p_i)` and
        :math:`(1-\\gamma)^2\\sum_i H_{ii}\\delta_i^2`.  Entries with :math:`H_{ii}\\delta_i^2 = 0`
        contribute 0 even at ``p_i = 1`` (they never affect the output).

    Examples
    --------
    >>> loss_parts([1.0, 1.0], [1.0, 2.0], [0.5, 0.0], 1.0)
    (1.0, 0.0)
    """
    h, d = _check_inputs(h_diag, delta)
    q = _check_probs(probs, d.shape)
    g = _check_gamma(gamma)
    w = h * d * d
    live = w > 0
    if np.any(q[live] >= 1) and g != 0:
        var = np.inf
    else:
        qq = q[live]
        var = float(g * g * np.sum(w[live] * qq / (1 - qq)))
    return var, float((1 - g) ** 2 * w.sum())


def expected_diag_loss(h_diag, delta, probs, gamma) -> float:
    """Expected diagonal-curvature loss of drop-and-rescale (paper A.5–A.6, corrected form).

    .. math::

        \\mathcal L(P,\\gamma)=\\mathbb E\\sum_i H_{ii}(\\Theta_{\\mathrm{sft},i}-\\Theta_{\\mathrm{fusion},i})^2
        =\\sum_i H_{ii}\\delta_i^2\\Big[\\gamma^2\\frac{p_i}{1-p_i}+(1-\\gamma)^2\\Big].

    Convex in ``probs`` (each term is convex in its own :math:`p_i`).

    Parameters
    ----------
    h_diag, delta, probs : array_like, same shape (any)
        :math:`H_{ii}\\ge 0`, :math:`\\delta_i`, drop probabilities :math:`p_i\\in[0,1]`.
    gamma : float
        Rescale factor.

    Returns
    -------
    float

    Examples
    --------
    >>> expected_diag_loss([1.0, 2.0], [1.0, 1.0], [0.5, 0.0], 0.5)
    1.0
    """
    var, bias = loss_parts(h_diag, delta, probs, gamma)
    return var + bias


def expected_layer_loss(delta, probs, gamma, X=None, *, gram=None) -> float:
    """Exact expected layer loss :math:`\\mathbb E\\|X(\\Theta_{\\mathrm{sft}}-\\Theta_{\\mathrm{fusion}})^\\top\\|_F^2` (A.1).

    With independent masks and :math:`G = X^\\top X`,

    .. math::

        \\mathbb E\\|X E^\\top\\|_F^2 = \\gamma^2\\sum_{r,c} G_{cc}\\,\\delta_{rc}^2\\frac{p_{rc}}{1-p_{rc}}
        + (1-\\gamma)^2\\sum_r \\delta_r^\\top G\\,\\delta_r,

    so off-diagonal curvature enters only the ``p``-independent bias term and Theorem 1's
    diagonal reduction (A.5) is exact (no Taylor step is needed: A.1 is quadratic).

    Parameters
    ----------
    delta, probs : array_like, shape (d_out, d_in)
        Delta weights (rows are output units) and drop probabilities.
    gamma : float
    X : array_like, shape (N, d_in), optional
        Calibration activations, samples as rows (the paper's :math:`\\mathcal X^\\top`).
    gram : array_like, shape (d_in, d_in), optional
        :math:`X^\\top X` instead of ``X``.

    Returns
    -------
    float

    Examples
    --------
    >>> expected_layer_loss([[1.0, 0.0]], [[0.5, 0.0]], 1.0, gram=[[1.0, 0.5], [0.5, 1.0]])
    1.0
    """
    d = as_float_array(delta, "delta", ndim=2)
    q = _check_probs(probs, d.shape)
    G = _gram(X, gram, d.shape[1])
    g = _check_gamma(gamma)
    h = np.broadcast_to(np.diag(G), d.shape)
    var, _ = loss_parts(h, d, q, g)
    bias = (1 - g) ** 2 * float(np.einsum("ri,ij,rj->", d, G, d))
    return var + bias


def _gram(X, gram, d_in):
    if (X is None) == (gram is None):
        raise InputError("give exactly one of X (N, d_in) and gram (d_in, d_in)")
    if gram is None:
        Xa = as_float_array(X, "X", ndim=2)
        if Xa.shape[1] != d_in:
            raise InputError(f"X has {Xa.shape[1]} features but delta has {d_in} input columns")
        return Xa.T @ Xa
    G = as_float_array(gram, "gram", ndim=2)
    if G.shape != (d_in, d_in):
        raise InputError(f"gram has shape {G.shape}, expected {(d_in, d_in)}")
    return G


def hessian_diag_from_activations(X, d_out: int) -> np.ndarray:
    """Diagonal of the layer-loss curvature per weight entry, :math:`H_{(r,c)} = (X^\\top X)_{cc}`.

    Parameters
    ----------
    X : array_like, shape (N, d_in)
        Calibration activations, samples as rows.
    d_out : int
        Number of output units.

    Returns
    -------
    ndarray, shape (d_out, d_in)
        (Half the exact Hessian diagonal of A.1; the factor changes no argmin.)

    Examples
    --------
    >>> hessian_diag_from_activations([[1.0, 2.0]], 2).tolist()
    [[1.0, 4.0], [1.0, 4.0]]
    """
    Xa = as_float_array(X, "X", ndim=2)
    d_out = as_count(d_out, "d_out", minimum=1)
    return np.tile(np.einsum("nc,nc->c", Xa, Xa), (d_out, 1))


# --------------------------------------------------------------------------- Theorem 1

@dataclass(frozen=True)
class DropProbabilities:
    """Result of :func:`solve_drop_probabilities`.

    Attributes
    ----------
    probs : ndarray, same shape as the input
        Drop probabilities :math:`p_i`.
    method : {"waterfill", "paper"}
    p : float
        Target sparsity.
    mean_sparsity : float
        Achieved :math:`\\frac1n\\sum_i p_i` (``== p`` up to round-off for ``"waterfill"``;
        ``> p`` when A.18 clips).
    clipping_active : bool
        ``"waterfill"``: some live entries sit at the bound :math:`p_i = 0` because
        :math:`\\kappa s_i \\ge 1` (the water level is capped there; at ``p = 0`` every live
        entry); ``"paper"``: the unclipped A.17 value was negative somewhere, so ``max(0, ·)``
        changed it (and A.18 is then not the optimum).
    n_clipped : int
        How many entries are clipped (in the sense above).
    kappa : float
        ``"waterfill"``: the level :math:`\\kappa` of :math:`1-p_i=\\min(1,\\kappa s_i)`
        (``inf`` when every entry is kept); ``"paper"``: :math:`n(1-p)/\\sum_j s_j`.
    n_zero_score : int
        Entries with :math:`s_i = 0` (they never affect the loss).
    n_infeasible : int
        Entries with :math:`p_i \\ge 1`, outside the paper's :math:`0 \\le p_i < 1` (only
        zero-score entries, which are then dropped deterministically).
    variance : float
        :math:`\\sum_i s_i^2 p_i/(1-p_i)`, the ``p``-dependent loss per unit :math:`\\gamma^2`.
    """

    probs: np.ndarray
    method: str
    p: float
    mean_sparsity: float
    clipping_active: bool
    n_clipped: int
    kappa: float
    n_zero_score: int
    n_infeasible: int
    variance: float


def _variance(s, q):
    if np.any((q >= 1) & (s > 0)):
        return np.inf
    # p/(1-p), with dropped zero-score entries (p = 1) contributing 0; no boolean-indexed copies
    r = np.divide(q, 1.0 - q, out=np.zeros_like(q), where=q < 1)
    return float(np.dot(s * s, r))


def _waterfill_keep(s: np.ndarray, m: float) -> tuple[np.ndarray, float]:
    """Keep probabilities :math:`u_i = \\min(1, \\kappa s_i)` with :math:`\\sum u_i = m`.

    ``s`` is flat, non-negative, ``0 < m <= n``.  Sort once (O(n log n)) and take cumulative
    sums; the number ``k`` of saturated entries (``u = 1``) is the smallest ``k`` with
    :math:`(m-k)\\,s_{(k+1)} \\le \\sum_{j>k} s_{(j)}` (scores descending), found by bisection
    (the condition is monotone in ``k``); then
    :math:`\\kappa = (m-k)/\\sum_{j>k}s_{(j)}`.  Zero scores get ``u = 0`` unless the positive
    entries cannot carry ``m`` on their own, in which case those are all kept and the zero
    entries share the rest equally (the objective does not depend on them).
    """
    n = s.size
    n_pos = int(np.count_nonzero(s))          # s >= 0
    if n_pos <= m:
        # Every live entry kept; zero-score entries share what is left of the budget.
        u = np.where(s > 0, 1.0, (m - n_pos) / (n - n_pos) if n > n_pos else 0.0)
        return u, np.inf
    asc = np.sort(s)                          # the one O(n log n) step
    cs = np.cumsum(asc)                       # cs[j] = sum of the j+1 smallest scores
    # k saturated entries (the k largest): valid iff (m - k) * s_(k) <= sum of the n - k smallest,
    # s_(k) the (k+1)-th largest.  f(k) = (m - k) s_(k) - tail(k) is non-increasing for k < m
    # (f(k+1) - f(k) = (m-k-1)(s_(k+1) - s_(k)) <= 0), so bisect for the smallest valid k.
    lo, hi = 0, int(np.ceil(m)) - 1           # hi is always valid: (m - hi) <= 1
    while lo < hi:
        mid = (lo + hi) // 2
        j = n - 1 - mid
        if (m - mid) * asc[j] <= cs[j] * (1 + 1e-15):
            hi = mid
        else:
            lo = mid + 1
    kk = lo
    tail_kk = cs[n - 1 - kk]
    kappa = (m - kk) / tail_kk
    u = kappa * s
    np.minimum(u, 1.0, out=u)
    return u, float(kappa)


def solve_drop_probabilities(h_diag, delta, p, method: str = "waterfill") -> DropProbabilities:
    """Theorem 1: drop probabilities minimising the expected layer loss at mean sparsity ``p``.

    The problem (A.1–A.2, diagonal form A.5) is

    .. math::

        \\min_{P}\\ \\sum_i s_i^2\\,\\frac{p_i}{1-p_i}\\quad\\text{s.t.}\\quad
        \\frac1n\\sum_i p_i \\ge p,\\ 0\\le p_i<1,\\qquad s_i=\\sqrt{H_{ii}}\\,|\\delta_i|,

    (the bias term and the factor :math:`\\gamma^2` do not depend on ``P``).  It is convex.

    ``method="waterfill"`` (default, corrected Theorem 1) returns the exact optimum

    .. math:: 1-p_i^* = \\min(1, \\kappa s_i),\\qquad \\sum_i \\min(1,\\kappa s_i) = n(1-p),

    so the sparsity constraint is met exactly.  ``method="paper"`` returns A.18 as printed,
    :math:`p_i=\\max(0, 1-n(1-p)s_i/\\sum_j s_j)`, which is the optimum only when no entry is
    clipped (:math:`\\max_i s_i \\le \\bar s/(1-p)`); otherwise it over-sparsifies.

    Explicit cases: ``p = 0`` gives :math:`p_i^*\\equiv0` (A.18 does not); entries with
    :math:`s_i=0` get :math:`p_i^* = 1` (dropped; they never change the output, and A.18
    gives the same) unless the live entries cannot carry the budget, in which case live
    entries are all kept and zero-score entries share the remaining sparsity equally; all
    :math:`s_i=0` gives the uniform :math:`p_i=p` for ``"waterfill"`` and raises for
    ``"paper"`` (0/0).  Tied scores get identical probabilities (the optimum is unique on
    live entries: the objective is strictly convex there).

    Parameters
    ----------
    h_diag : array_like, any shape
        Curvature diagonal, :math:`H_{ii}\\ge0` (a Gram or Fisher diagonal).
    delta : array_like, same shape
        Delta parameters, finite.
    p : float
        Target mean sparsity in ``[0, 1)``.
    method : {"waterfill", "paper"}

    Returns
    -------
    DropProbabilities

    Raises
    ------
    AssumptionError
        Negative :math:`H_{ii}`; ``p`` outside ``[0, 1)``; all scores zero with ``"paper"``.
    InputError
        Non-finite input or mismatched shapes.

    Examples
    --------
    >>> r = solve_drop_probabilities([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 9.0], 0.5)
    >>> r.probs.round(3).tolist(), r.mean_sparsity, r.clipping_active
    ([0.667, 0.667, 0.667, 0.0], 0.5, True)
    >>> solve_drop_probabilities([1.0] * 4, [1.0, 1.0, 1.0, 9.0], 0.5, method="paper").mean_sparsity
    0.625
    """
    h, d = _check_inputs(h_diag, delta)
    h, d = _rescale_extreme(h, d, large=method == "paper")
    p = _check_sparsity(p)
    if method not in ("waterfill", "paper"):
        raise InputError(f"method must be 'waterfill' or 'paper', got {method!r}")
    shape = d.shape
    with np.errstate(over="ignore"):
        s = (np.sqrt(h) * np.abs(d)).ravel()
    n = s.size
    if n == 0:
        raise InputError("delta is empty")
    if not np.isfinite(s).all():
        raise InputError("the scores sqrt(H_ii) |delta_i| overflow float64 for "
                         f"{int((~np.isfinite(s)).sum())} entries; rescale h_diag or delta "
                         "(the optimum is invariant to a common factor)")
    nz = int((s == 0).sum())
    if method == "paper":
        from .printed import a18_drop_probabilities
        tot = s.sum()
        if tot == 0:
            raise AssumptionError("A.18 needs sum_j sqrt(H_jj) |delta_j| > 0 (it is 0/0 otherwise)",
                                  0.0, None, hint="use method='waterfill', which returns p_i = p")
        raw = 1 - n * (1 - p) * s / tot
        q = a18_drop_probabilities(h.ravel(), d.ravel(), p)
        ncl = int((raw < 0).sum())
        kappa = n * (1 - p) / tot
    else:
        m = n * (1 - p)
        if nz == n:
            q = np.full(n, p)
            kappa = np.inf
        else:
            u, kappa = _waterfill_keep(s, m)
            q = np.subtract(1.0, u, out=u)      # exact 0 where u == 1
        # entries held at the bound p_i = 0 although the level kappa * s_i would exceed 1
        ncl = int(np.count_nonzero((q == 0) & (s > 0)))
    return DropProbabilities(
        probs=q.reshape(shape), method=method, p=p, mean_sparsity=float(q.mean()),
        clipping_active=bool(ncl > 0), n_clipped=ncl, kappa=float(kappa),
        n_zero_score=nz, n_infeasible=int((q >= 1).sum()), variance=_variance(s, q))


def drop_probabilities(h_diag, delta, p, method: str = "waterfill") -> np.ndarray:
    """Theorem 1's drop probabilities :math:`p_i` (array only); see :func:`solve_drop_probabilities`.

    ``method="waterfill"``: the exact optimum :math:`1-p_i=\\min(1,\\kappa\\sqrt{H_{ii}}|\\delta_i|)`
    with :math:`\\frac1n\\sum_ip_i=p`; ``method="paper"``: equation A.18 as printed.

    Parameters
    ----------
    h_diag, delta : array_like, same shape (any)
    p : float in [0, 1)
    method : {"waterfill", "paper"}

    Returns
    -------
    ndarray, same shape as ``delta``

    Examples
    --------
    >>> drop_probabilities([1.0, 1.0], [1.0, 3.0], 0.5).tolist()
    [0.75, 0.25]
    >>> drop_probabilities([1.0, 1.0], [1.0, 1.0], 0.0).tolist()
    [0.0, 0.0]

    Notes
    -----
    ``"waterfill"`` computes no diagnostics (those of :class:`DropProbabilities` cost as
    much again) and keeps two arrays of the input's size: the sorted scores (which become
    their cumulative sums) and the output, plus, at sparsity ``p >= 3/4``, a copy of the
    top :math:`\\lceil n(1-p)\\rceil` sorted scores, the only ones the search for
    :math:`\\kappa` reads.  The scores are formed in cache-sized blocks; at high sparsity
    they stay in the output buffer and are scaled there, otherwise they are formed again
    from ``h_diag`` and ``delta`` once :math:`\\kappa` is known.  The numbers are those of
    :func:`solve_drop_probabilities` bit for bit (the same operations in the same order);
    its cost is one ``np.sort`` of the scores plus a few passes over the arrays (the ratio
    to one sort is measured by ``benchmarks/bench_adadare.py``, see the docs' Benchmarks
    page).  For a whole model, layer by layer, see
    :func:`iter_drop_probabilities`.
    """
    refuse_complex(h_diag, "h_diag")
    refuse_complex(delta, "delta")
    h_diag, delta = _to_numpy(h_diag), _to_numpy(delta)     # tensors (any device, requires_grad)
    if method == "waterfill":
        h_diag, delta = _rescale_tiny(h_diag, delta)
        return _waterfill_probs(h_diag, delta, p)
    return solve_drop_probabilities(h_diag, delta, p, method=method).probs


#: Entries per block of the blocked passes of :func:`_waterfill_probs` (512 KiB of float64).
_BLOCK = 1 << 16


def _scores_into(h: np.ndarray, d: np.ndarray, out: np.ndarray, scale: float | None = None) -> None:
    """``out = sqrt(h) * |d|`` (times ``scale``, then ``1 - min(1, .)``) block by block.

    ``h``, ``d``, ``out`` flat float64 of one size.  With ``scale=None`` it writes the scores
    (NaN where ``h < 0`` or an input is NaN, inf where one is infinite or the product
    overflows: the caller checks); with a ``scale`` :math:`\\kappa` it writes the drop
    probabilities :math:`1-\\min(1,\\kappa s_i)`.  The arithmetic is that of
    ``np.sqrt(h) * np.abs(d)`` (and of ``_waterfill_keep``), element for element, so the
    results are identical bit for bit.
    """
    buf = np.empty(min(_BLOCK, out.size))
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(0, out.size, _BLOCK):
            j = min(i + _BLOCK, out.size)
            o, b = out[i:j], buf[:j - i]
            np.sqrt(h[i:j], out=o)
            np.abs(d[i:j], out=b)
            np.multiply(o, b, out=o)
            if scale is not None:
                np.multiply(o, scale, out=o)
                np.minimum(o, 1.0, out=o)
                np.subtract(1.0, o, out=o)


def _waterfill_probs(h_diag, delta, p) -> np.ndarray:
    """The water-filling drop probabilities of :func:`solve_drop_probabilities`, lean.

    The same algorithm and numbers as ``solve_drop_probabilities(..., "waterfill").probs``
    without its diagnostics and with two arrays of the input's size instead of about six;
    any input it does not handle itself (non-finite, negative curvature, mismatched or
    empty, overflowing scores) goes to the full route, which raises the same errors.
    """
    try:
        h = np.asarray(h_diag, dtype=np.float64)
        d = np.asarray(delta, dtype=np.float64)
    except (TypeError, ValueError):
        h = d = None
    if h is None or h.shape != d.shape or d.size == 0:
        return solve_drop_probabilities(h_diag, delta, p).probs
    shape, n = d.shape, d.size
    hf, df = h.reshape(-1), d.reshape(-1)
    try:
        m = n * (1 - float(p))
    except (TypeError, ValueError):
        m = float(n)
    # High sparsity (the bisection reads only the top ceil(m) <= n/4 sorted scores): keep the
    # scores in the output buffer, sort a copy, save the top it reads, take the cumulative sums
    # in place and scale the scores in place (no second pass over h and delta).  Otherwise sort
    # the scores in place, take the cumulative sums in the output buffer and form the
    # probabilities from h and delta again (two arrays of n, whatever p).
    keep_scores = np.isfinite(m) and 0 <= m <= n / 4
    out = np.empty(n)
    if keep_scores:
        _scores_into(hf, df, out)
        asc = np.sort(out)                # the one O(n log n) step
    else:
        asc = out
        _scores_into(hf, df, asc)
        asc.sort()                        # the one O(n log n) step
    if not np.isfinite(asc[-1]):          # scores are >= 0 or NaN/inf, and those sort last:
        del asc, out                      # bad input (raised there) or an overflow
        return solve_drop_probabilities(h_diag, delta, p).probs
    p = _check_sparsity(p)
    m = n * (1 - p)
    nz = int(np.searchsorted(asc, 0.0, side="right"))   # s >= 0: the zero scores
    n_pos = n - nz
    if nz == n:
        out.fill(p)                       # our own buffer in both layouts
        return out.reshape(shape)
    if n_pos <= m:
        # Every live entry kept; zero-score entries share what is left of the budget.
        if not keep_scores:
            _scores_into(hf, df, out)     # the scores again, in their order
        u = np.where(out > 0, 1.0, (m - n_pos) / (n - n_pos) if n > n_pos else 0.0)
        return np.subtract(1.0, u, out=u).reshape(shape)
    hi = int(np.ceil(m)) - 1              # the bisection of _waterfill_keep, step for step
    first = n - 1 - hi                    # it reads asc[j] for j >= first only
    if keep_scores:
        top = asc[first:].copy()
        cs = np.cumsum(asc, out=asc)      # in place: the same sequential sums
    else:
        top = asc[first:]
        cs = np.cumsum(asc, out=np.empty(n))
        out = None
    lo = 0
    while lo < hi:
        mid = (lo + hi) // 2
        j = n - 1 - mid
        if (m - mid) * top[j - first] <= cs[j] * (1 + 1e-15):
            hi = mid
        else:
            lo = mid + 1
    kappa = (m - lo) / cs[n - 1 - lo]
    if keep_scores:
        del asc, cs, top
        np.multiply(out, kappa, out=out)  # u = min(1, kappa s), p = 1 - u, as _waterfill_keep
        np.minimum(out, 1.0, out=out)
        np.subtract(1.0, out, out=out)
        return out.reshape(shape)
    del asc, top
    out = cs                              # the cumulative sums' buffer receives the result
    del cs
    _scores_into(hf, df, out, scale=kappa)
    return out.reshape(shape)


def _as_numpy(x, name: str):
    """A float64 ndarray of an array-like or a torch tensor (moved to the CPU), or of the
    zero-argument callable that loads it."""
    if callable(x) and not hasattr(x, "shape"):
        x = x()
    refuse_complex(x, name)
    if hasattr(x, "detach") and hasattr(x, "cpu"):      # a torch tensor, without importing torch
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def iter_drop_probabilities(layers, p, *, h_diag=None, method: str = "waterfill"):
    """Theorem 1's drop probabilities of a whole model, one layer at a time.

    Each layer is solved on its own (the setting of Theorem 1: one layer's delta,
    flattened, at mean sparsity ``p``) with :func:`drop_probabilities`, and its
    probabilities are yielded before the next layer is read, so that the memory held is
    that of one layer (its inputs, the sorted scores and the output) when ``layers`` is
    lazy: a generator, or a mapping whose values are zero-argument callables that load
    one tensor (e.g. from a safetensors file).  A state dict already in memory is read
    layer by layer and adds the work arrays of its largest layer.

    Parameters
    ----------
    layers : mapping or iterable
        The deltas :math:`\\Theta_{\\mathrm{sft}}-\\Theta_{\\mathrm{pre}}` by parameter name:
        a mapping ``name -> delta`` (a model's state dict of deltas), or an iterable of
        ``(name, delta)`` or ``(name, h_diag, delta)``.  A value may be an array, a torch
        tensor (any device and dtype; converted to float64 on the CPU) or a callable
        returning one.
    p : float in [0, 1)
        Target mean sparsity of every layer.
    h_diag : mapping, callable or None
        The curvature diagonal :math:`H_{ii}\\ge0` of each layer, same shape as its delta:
        a mapping ``name -> array`` (values as above), a function ``(name, delta) ->
        array``, or ``None`` when ``layers`` carries it as ``(name, h_diag, delta)``.
    method : {"waterfill", "paper"}
        As for :func:`drop_probabilities`.

    Yields
    ------
    (name, probs) : (str, ndarray of the delta's shape)
        The drop probabilities :math:`p_i` of the layer, float64; identical to
        ``drop_probabilities(h_diag[name], delta, p)``.

    Raises
    ------
    InputError, AssumptionError
        A layer without a curvature diagonal, or the errors of :func:`drop_probabilities`
        (with a note naming the layer).

    Examples
    --------
    >>> deltas = {"fc.weight": [[1.0, 3.0]], "fc.bias": [0.5, 0.5]}
    >>> curv = {"fc.weight": [[1.0, 1.0]], "fc.bias": [1.0, 1.0]}
    >>> [(k, v.tolist()) for k, v in iter_drop_probabilities(deltas, 0.5, h_diag=curv)]
    [('fc.weight', [[0.75, 0.25]]), ('fc.bias', [0.5, 0.5])]
    """
    items = layers.items() if hasattr(layers, "items") else layers
    for item in items:
        if len(item) not in (2, 3):
            raise InputError(f"layers must give (name, delta) or (name, h_diag, delta), got {len(item)} items")
        name = item[0]
        dn = _as_numpy(item[-1], f"{name} delta")
        if len(item) == 3:
            h = item[1]
        elif h_diag is None:
            raise InputError(f"layer {name!r}: no curvature diagonal (pass h_diag, or "
                             "(name, h_diag, delta) triples)")
        elif callable(h_diag) and not hasattr(h_diag, "keys"):
            h = h_diag(name, dn)
        else:
            h = h_diag[name]
        hn = _as_numpy(h, f"{name} h_diag")
        del item, h  # hold no reference to this layer's inputs past its solve
        try:
            q = drop_probabilities(hn, dn, p, method=method)
        except LintheoryError as exc:
            if hasattr(exc, "add_note"):  # Python >= 3.11
                exc.add_note(f"in layer {name!r} of iter_drop_probabilities")
            raise
        del hn, dn
        yield name, q


def drop_and_rescale(delta, probs, gamma, seed=None, *, rng=None, pre=None) -> np.ndarray:
    """One random realisation of drop-and-rescale with per-entry probabilities.

    .. math:: \\hat\\delta_i = m_i\\,\\frac{\\gamma}{1-p_i}\\,\\delta_i,\\qquad m_i\\sim\\mathrm{Bernoulli}(1-p_i),

    with **independent** masks :math:`m_i` (one uniform draw per entry; the expectation
    formulas of this module need independence).  Entries with ``p_i = 1`` are always dropped
    (their rescale is not evaluated).

    Parameters
    ----------
    delta, probs : array_like, same shape (any)
    gamma : float
    seed : int, optional
        Seed of a fresh ``numpy.random.default_rng``; or pass ``rng``.
    rng : numpy.random.Generator, optional
    pre : array_like, same shape, optional
        Pre-trained weights; when given, returns :math:`\\Theta_{\\mathrm{fusion}} = \\Theta_{\\mathrm{pre}} + \\hat\\delta`.

    Returns
    -------
    ndarray, same shape
        :math:`\\hat\\delta` (or :math:`\\Theta_{\\mathrm{fusion}}`).

    Examples
    --------
    >>> drop_and_rescale([1.0, 2.0], [0.0, 1.0], 0.5, seed=0).tolist()
    [0.5, 0.0]
    """
    d = as_float_array(delta, "delta")
    q = _check_probs(probs, d.shape)
    g = _check_gamma(gamma)
    if rng is None:
        if seed is None:
            raise InputError("drop_and_rescale needs a seed or an rng (every random draw is seeded)")
        rng = np.random.default_rng(seed)
    keep = rng.random(d.shape) >= q          # P(keep) = 1 - p_i
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(keep, g * d / np.where(keep, 1 - q, 1.0), 0.0)
    if pre is not None:
        pr = as_float_array(pre, "pre")
        if pr.shape != d.shape:
            raise InputError(f"pre has shape {pr.shape}, delta has {d.shape}")
        out = pr + out
    return out


def optimal_gamma(h_diag, delta, probs, *, bias_quad=None) -> float:
    """Loss-optimal rescale at fixed ``P`` (not in the paper): :math:`\\gamma^* = Q/(Q+V)`.

    The expected loss is :math:`\\gamma^2 V + (1-\\gamma)^2 Q` with
    :math:`V=\\sum_i H_{ii}\\delta_i^2 p_i/(1-p_i)` and :math:`Q` the bias quadratic form
    (:math:`\\sum_i H_{ii}\\delta_i^2` in the diagonal model A.5, or
    :math:`\\sum_r\\delta_r^\\top G\\delta_r` for the full layer: pass it as ``bias_quad``).
    So :math:`\\gamma^*\\le1`: DARE's unbiased :math:`\\gamma=1` is optimal only without dropping.

    Returns
    -------
    float
        ``1.0`` when ``V = 0`` and ``Q > 0``; raises when ``Q + V = 0`` (every γ is optimal).

    Examples
    --------
    >>> optimal_gamma([1.0, 1.0], [1.0, 1.0], [0.5, 0.5])
    0.5
    """
    h, d = _check_inputs(h_diag, delta)
    q = _check_probs(probs, d.shape)
    V, _ = loss_parts(h, d, q, 1.0)
    Q = float(np.sum(h * d * d)) if bias_quad is None else float(bias_quad)
    if not np.isfinite(V):
        return 0.0
    if Q + V <= 0:
        raise AssumptionError("gamma* = Q/(Q+V) needs Q + V > 0 (otherwise every gamma is optimal)",
                              0.0, None)
    return Q / (Q + V)


# --------------------------------------------------------------------------- Theorem 2

def expected_l1(delta, gamma) -> float:
    """Theorem 2 (corrected): :math:`\\mathbb E\\|\\Theta_{\\mathrm{fusion}}-\\Theta_{\\mathrm{pre}}\\|_1=|\\gamma|\\sum_i|\\delta_i|`.

    Holds for **any** drop probabilities :math:`p_i\\in[0,1)` (independent or not): each
    coordinate takes the values :math:`\\{0,\\gamma\\delta_i/(1-p_i)\\}`, which never change
    sign, so :math:`\\mathbb E|X_i|=|\\mathbb EX_i|=|\\gamma\\delta_i|`.

    Examples
    --------
    >>> expected_l1([1.0, -2.0], -0.5)
    1.5
    """
    d = as_float_array(delta, "delta")
    return abs(_check_gamma(gamma)) * float(np.abs(d).sum())


@dataclass(frozen=True)
class GammaBound:
    """Result of :func:`gamma_bound`.

    Attributes
    ----------
    bound : float
        :math:`\\eta/\\sum_i|\\delta_i|` (``inf`` when :math:`\\delta=0`).
    l1_delta : float
        :math:`\\sum_i|\\delta_i|`.
    eta : float
    """

    bound: float
    l1_delta: float
    eta: float

    def admits(self, gamma) -> bool:
        """Whether :math:`\\mathbb E\\|\\cdot\\|_1<\\eta`, i.e. :math:`|\\gamma|<` ``bound`` (iff)."""
        return abs(float(gamma)) * self.l1_delta < self.eta


def gamma_bound(delta, eta) -> GammaBound:
    """Theorem 2: the largest rescale compatible with an expected L1 budget ``eta``.

    :math:`\\mathbb E\\|\\Theta_{\\mathrm{fusion}}-\\Theta_{\\mathrm{pre}}\\|_1<\\eta \\iff
    |\\gamma| < \\eta/\\sum_i|\\delta_i|` (for :math:`\\sum|\\delta_i|>0`), independent of the
    drop probabilities.  The paper prints the weaker one-way ":math:`\\gamma\\le`" (A.19).
    The budget holds only **in expectation**: a single realisation at the bound exceeds
    ``eta`` with probability near 1/2 (see :func:`l1_exceedance_probability`).

    Parameters
    ----------
    delta : array_like, any shape
    eta : float > 0

    Returns
    -------
    GammaBound

    Examples
    --------
    >>> gb = gamma_bound([1.0, -3.0], 2.0)
    >>> gb.bound, gb.admits(0.4), gb.admits(-0.6)
    (0.5, True, False)
    """
    d = as_float_array(delta, "delta")
    try:
        e = float(eta)
    except (TypeError, ValueError):
        raise InputError(f"eta must be a number, got {eta!r}") from None
    if not np.isfinite(e):
        raise InputError(f"eta must be finite, got {eta}")
    if e <= 0:
        raise AssumptionError("the L1 budget eta is positive (Theorem 2): eta", e, 0.0, relation=">",
                              hint="with eta <= 0 no gamma satisfies E||.||_1 < eta")
    l1 = float(np.abs(d).sum())
    return GammaBound(bound=e / l1 if l1 > 0 else np.inf, l1_delta=l1, eta=e)


def l1_exceedance_probability(delta, probs, gamma, eta, *, method="auto", n_samples=100_000,
                              seed=None) -> float:
    """Probability that one realisation has :math:`\\|\\Theta_{\\mathrm{fusion}}-\\Theta_{\\mathrm{pre}}\\|_1>\\eta`.

    The realised L1 norm is :math:`\\sum_i m_i|\\gamma\\delta_i|/(1-p_i)` with independent
    :math:`m_i\\sim\\mathrm{Bernoulli}(1-p_i)`; mean :math:`|\\gamma|\\sum|\\delta_i|`, variance
    :math:`\\gamma^2\\sum_i\\delta_i^2p_i/(1-p_i)`.

    Parameters
    ----------
    delta, probs : array_like, same shape, ``probs`` in [0, 1)
    gamma, eta : float
    method : {"auto", "exact", "montecarlo"}
        ``"exact"`` enumerates the :math:`2^n` masks (``n <=`` :data:`EXACT_ENUMERATION_MAX_N`);
        ``"montecarlo"`` draws ``n_samples`` masks with ``seed``; ``"auto"`` picks exact when
        it can.

    Returns
    -------
    float

    Examples
    --------
    >>> l1_exceedance_probability([1.0, 1.0], [0.5, 0.5], 1.0, 2.0)   # L1 in {0, 2, 4}
    0.25
    """
    d0 = as_float_array(delta, "delta")
    q = _check_probs(probs, d0.shape).ravel()
    d = d0.ravel()
    g = _check_gamma(gamma)
    e = float(eta)
    if q.size and q.max() >= 1:
        raise AssumptionError("drop probabilities satisfy p_i < 1: max p_i", float(q.max()), 1.0, relation="<")
    w = np.abs(g * d) / (1 - q)
    if method == "auto":
        method = "exact" if d.size <= EXACT_ENUMERATION_MAX_N else "montecarlo"
    if method == "exact":
        n = d.size
        if n > EXACT_ENUMERATION_MAX_N:
            raise InputError(f"exact enumeration needs n <= {EXACT_ENUMERATION_MAX_N}, got {n}")
        masks = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)
        logp = np.where(masks, np.log1p(-q), np.log(np.where(q > 0, q, 1.0)))
        impossible = (~masks & (q == 0)).any(axis=1)
        prob = np.where(impossible, 0.0, np.exp(logp.sum(axis=1)))
        vals = masks.astype(np.float64) @ w
        return float(prob[vals > e].sum())
    if method != "montecarlo":
        raise InputError(f"method must be 'auto', 'exact' or 'montecarlo', got {method!r}")
    if seed is None:
        raise InputError("montecarlo needs a seed")
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    chunk = max(1, min(int(n_samples), int(4e6 // max(d.size, 1))))
    while done < n_samples:
        b = min(chunk, n_samples - done)
        keep = rng.random((b, d.size)) >= q
        hits += int(((keep.astype(np.float64) @ w) > e).sum())
        done += b
    return hits / n_samples
