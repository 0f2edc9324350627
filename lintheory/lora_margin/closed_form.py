r"""The global optimum of the LoRA problem (6) in closed form, in every regime (corrected).

Seed ``002_caa97dd52c787aec.txt`` (LoRA margin theory), Theorems 3.1–3.3 and
Appendices E–H, corrected.  Setting (samples as **rows**; the paper stores them as
columns, so its :math:`X_{ft}` is our ``X_ft.T``):

* classifier :math:`W\in\mathbb R^{K\times d}`, logits ``X @ W.T``;
* fine-tuning data: :math:`\bar K\le K` of the K classes, ``n`` samples per class, all
  :math:`\bar K n` rows orthonormal and orthogonal to the pre-training inputs
  (Assumption 2.3); ``W_pre X_ftᵀ = 0`` (Assumption 2.4 / Proposition 2.1(ii));
* LoRA problem (6): :math:`\min_{B,A}\ \mathrm{CE}(W_{pre}+BA) + \tfrac\lambda2(\|B\|_F^2+\|A\|_F^2)`,
  which equals :math:`\min_Z \mathrm{CE}(W_{pre}+Z) + \lambda\|Z\|_*` (Lemma C.2).

With ``reduction="mean"`` (the appendix's loss, and torch's default) write
:math:`g = \lambda\sqrt n`, :math:`s=\sqrt{(K-\bar K)/K}`, :math:`\sigma = 1/s`.  The
optimum is :math:`Z^* = \sum_i v_{y_i} x_i^\top` with the logit template

.. math::

    V = \begin{pmatrix}(a+b) I_{\bar K} - b\mathbf 1\mathbf 1^\top\\
        -c\,\mathbf 1_{K-\bar K}\mathbf 1_{\bar K}^\top\end{pmatrix},\qquad
    p = a+b,\quad q = a+c,\quad a = \frac{(\bar K-1)p + (K-\bar K)q}{K},

where ``p`` is the gap to seen competitors and ``q`` the gap to unseen classes:

* **high** (:math:`g \ge 1/\bar K`, i.e. :math:`\lambda\ge\lambda_0 = 1/(\bar K\sqrt n)`): ``Z* = 0``;
* **low** (:math:`\bar K<K`, :math:`g\le g_{crit} = 1/(\bar K-1+s+(1-s)(1+\sigma)^{\bar K})`):
  :math:`p = \log\frac{1-g(\bar K-1+s)}{g(1-s)}`, :math:`q = p - \log(1+\sigma)`;
* **intermediate** (otherwise): :math:`q = \frac{\bar K-1}{\bar K}p` (``c = 0``, aligned with the
  K̄-class SVM/ETF) and ``p`` the unique root of
  :math:`g = \frac{e^{-p} + \frac{K-\bar K}{\bar K}e^{-(\bar K-1)p/\bar K}}{1+(\bar K-1)e^{-p}+(K-\bar K)e^{-(\bar K-1)p/\bar K}}`
  (:math:`p = \log(1/g-K+1)` when :math:`\bar K = K`).

``reduction="sum"`` (the main text's equations (1), (6)) is the same with
:math:`\lambda_{mean} = \lambda_{sum}/(\bar K n)`.  ``K̄ = 1`` (excluded by the paper) is
handled: then only ``q`` exists, :math:`\lambda_0 = \sqrt{(K-1)/K}/\sqrt n` and the
nonzero regime is labelled ``low``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_class_labels, as_count, as_float_array, as_scalar, renamed_kwargs
from ..errors import AssumptionError, InputError

__all__ = [
    "REDUCTIONS",
    "ORTHONORMAL_TOL",
    "ORTHOGONAL_TOL",
    "LoRAOptimum",
    "Thresholds",
    "OptimalLambda",
    "MergeOptimum",
    "optimum",
    "thresholds",
    "intermediate_lambda",
    "template",
    "adapter",
    "check_problem",
    "forgetting_margins",
    "optimal_lambda",
    "merge_coefficients",
    "merged_margins",
    "rank_of_optimum",
    "check_lora_rank",
]

REDUCTIONS = ("mean", "sum")
#: tolerance on max |X_ft X_ftᵀ - I| (Assumption 2.3a)
ORTHONORMAL_TOL = 1e-8
#: tolerance on max |X_pre X_ftᵀ| and max |X_ft W_preᵀ| (Assumption 2.3b / Proposition 2.1(ii))
ORTHOGONAL_TOL = 1e-8
#: bisection steps of the vectorised intermediate-regime root (2^-80 < machine epsilon)
_BISECT_STEPS = 80


def _check_sizes(K, Kb, n):
    K = as_count(K, "K (number of output classes)")
    Kb = as_count(Kb, "Kb (fine-tuning classes)")
    n = as_count(n, "n (samples per class)")
    if K < 2:
        raise InputError(f"K (number of output classes) must be >= 2, got {K}")
    if Kb < 1:
        raise InputError(f"Kb (fine-tuning classes) must be >= 1, got {Kb}")
    if Kb > K:
        raise InputError(f"Kb = {Kb} > K = {K}: the fine-tuning labels must be a subset of the K classes")
    if n < 1:
        raise InputError(f"n (samples per class) must be >= 1, got {n}")
    return K, Kb, n


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise InputError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _as_lam(lam):
    arr = as_float_array(lam, "lam")
    if np.any(arr <= 0):
        raise InputError(f"lam must be > 0 (at lam = 0 separable data have no minimiser), got min {arr.min():.3g}")
    return arr


def _consts(K, Kb):
    s = math.sqrt((K - Kb) / K)
    sigma = math.inf if s == 0 else 1.0 / s
    return s, sigma


def _g_crit(K, Kb):
    """g = λ√n at the low/intermediate boundary (mean CE); 0 when K̄ = K; g_0 when K̄ = 1."""
    if Kb == K:
        return 0.0
    s, sigma = _consts(K, Kb)
    return 1.0 / (Kb - 1 + s + (1 - s) * (1 + sigma) ** Kb)


def _g_zero(K, Kb):
    if Kb == 1:
        return math.sqrt((K - 1) / K)
    return 1.0 / Kb


def _intermediate_rhs(u, K, Kb):
    """g as a function of u = exp(-p/K̄) on the intermediate branch (q = (K̄-1)p/K̄)."""
    num = u ** Kb + (K - Kb) / Kb * u ** (Kb - 1)
    den = 1 + (Kb - 1) * u ** Kb + (K - Kb) * u ** (Kb - 1)
    return num / den


def _intermediate_p(g, K, Kb):
    """Vectorised root p of the intermediate equation for g in (g_crit, 1/K̄)."""
    if Kb == K:
        return np.log(1.0 / g - (K - 1))
    s, sigma = _consts(K, Kb)
    lo = np.full_like(g, 1.0 / (1.0 + sigma))   # u at g_crit
    hi = np.ones_like(g)                          # u at g_0 (p = 0)
    # rhs is increasing in u (decreasing in p): bisection is safe and vectorises
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        up = _intermediate_rhs(mid, K, Kb) < g
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    u = 0.5 * (lo + hi)
    return -Kb * np.log(u)


@dataclass
class LoRAOptimum:
    r"""The global optimum :math:`Z^* = B^*A^*` of problem (6), through its logit template.

    Scalars when ``lam`` was a scalar, else arrays of ``lam``'s shape.

    Attributes
    ----------
    K, Kb, n : int
    lam : float or ndarray
        The penalty as given (in the units of ``reduction``).
    reduction : {"mean", "sum"}
    regime : str or ndarray of str
        ``"high"`` (Z* = 0), ``"intermediate"`` (c = 0: the K̄-class SVM/ETF direction) or
        ``"low"`` (c > 0).
    a, b, c : float or ndarray
        True logit ``a``, seen-competitor logit ``-b``, unseen logit ``-c`` of every
        fine-tuning sample under ``Z*`` (the parametrisation of equation (7)).
        ``K̄ = K``: ``c = 0`` (no unseen class); ``K̄ = 1``: ``b = 0`` (no seen competitor).
    p, q : float or ndarray
        ``p = a + b`` (gap to seen competitors), ``q = a + c`` (gap to unseen classes).
    theta : float or ndarray
        :math:`\Theta_\lambda = \|B^*A^*\|_F`.
    nuclear : float or ndarray
        :math:`\rho_\lambda = \|B^*A^*\|_*` (= ``‖B*‖²_F = ‖A*‖²_F`` at a balanced optimum).
    rank : int or ndarray
        0 (high), K̄ − 1 (intermediate), K̄ (low).
    margin : float or ndarray
        :math:`C(B^*A^*; D_{ft})` against all K classes: ``min(p, q)`` over the
        competitor kinds that exist.
    normalized_margin : float or ndarray
        :math:`\gamma_{ft,\lambda} = C/\Theta_\lambda` (0 in the high regime, as Theorem 3.2(i) says).
    """

    K: int
    Kb: int
    n: int
    lam: object
    reduction: str
    regime: object
    a: object
    b: object
    c: object
    p: object
    q: object
    theta: object
    nuclear: object
    rank: object
    margin: object
    normalized_margin: object
    _scalar: bool = field(default=False, repr=False)

    def template(self) -> np.ndarray:
        """The logit template V (K × K̄); column ``j`` is the logit vector of class ``j``.

        Only for a scalar ``lam``.
        """
        if not self._scalar:
            raise InputError("template() needs a scalar lam; index the arrays instead")
        return template(self.K, self.Kb, self.a, self.b, self.c)

    def logits(self) -> np.ndarray:
        r"""The fine-tuning logit matrix :math:`\hat Z = V\otimes\mathbf 1_n^\top` (K × K̄n, class-major)."""
        return np.repeat(self.template(), self.n, axis=1)


def template(K: int, Kb: int, a: float, b: float, c: float) -> np.ndarray:
    r"""The 3-parameter logit template of equation (7) (K × K̄).

    .. math::

        V = \begin{pmatrix}(a+b) I_{\bar K} - b\mathbf 1\mathbf 1^\top\\
            -c\,\mathbf 1_{K-\bar K}\mathbf 1_{\bar K}^\top\end{pmatrix}

    Examples
    --------
    >>> template(3, 2, 1.0, 0.5, 0.25)
    array([[ 1.  , -0.5 ],
           [-0.5 ,  1.  ],
           [-0.25, -0.25]])
    """
    K, Kb, _ = _check_sizes(K, Kb, 1)
    a, b, c = (as_scalar(v, nm) for v, nm in ((a, "a"), (b, "b"), (c, "c")))
    V = np.empty((K, Kb))
    V[:Kb] = (a + b) * np.eye(Kb) - b
    V[Kb:] = -c
    return V


def optimum(K: int, Kb: int, n: int, lam, *, reduction: str = "mean") -> LoRAOptimum:
    r"""The global optimum of the LoRA problem (6) in every regime (Theorem 3.1, corrected).

    See the module docstring for the formulas.  Fine-tuning labels are ``0..K̄-1``
    (any other subset is a permutation of rows; :func:`adapter` handles it).

    Parameters
    ----------
    K : int
        Output classes, ``K >= 2``.
    Kb : int
        Fine-tuning classes, ``1 <= Kb <= K``.
    n : int
        Samples per fine-tuning class.
    lam : float or array_like
        Penalty λ > 0; any shape (vectorised: 10⁵ values take milliseconds).
    reduction : {"mean", "sum"}
        ``"mean"``: mean CE (Appendix E onward, torch's default).  ``"sum"``: summed CE
        (equations (1), (6)); equivalent to mean CE with ``lam / (Kb n)``.

    Returns
    -------
    LoRAOptimum
        ``regime, a, b, c, p, q, theta, nuclear, rank, margin, normalized_margin``.

    Raises
    ------
    InputError
        ``Kb > K``, ``K < 2``, ``n < 1``, ``lam <= 0`` or non-finite.

    Notes
    -----
    Validity: Assumptions 2.3–2.4 (orthonormal fine-tuning data orthogonal to the
    pre-training data, ``W_pre X_ftᵀ = 0``) and LoRA rank ``r >= rank(Z*)`` (see
    :func:`check_lora_rank`).  Then :math:`B^*A^* = Z^*` for every global minimiser
    (the product is unique; the factors are unique up to ``B R, Rᵀ A``).

    Examples
    --------
    >>> opt = optimum(6, 3, 2, 0.15)
    >>> opt.regime, round(opt.theta, 6), opt.rank
    ('intermediate', 3.513063, 2)
    >>> optimum(6, 3, 2, [0.3, 0.08, 0.001]).regime.tolist()
    ['high', 'low', 'low']
    """
    K, Kb, n = _check_sizes(K, Kb, n)
    _check_reduction(reduction)
    lam_in = _as_lam(lam)
    scalar = lam_in.ndim == 0
    lam_arr = np.atleast_1d(lam_in).astype(np.float64)
    lam_mean = lam_arr / (Kb * n) if reduction == "sum" else lam_arr
    g = lam_mean * math.sqrt(n)
    s, sigma = _consts(K, Kb)
    g0, gc = _g_zero(K, Kb), _g_crit(K, Kb)

    # λ0 computed as g0/√n and multiplied back can lose an ulp: treat it as the threshold
    high = g >= g0 * (1 - 8 * np.finfo(float).eps)
    low = (~high) & (g <= gc) & (Kb < K)
    mid = ~high & ~low
    p = np.zeros_like(g)
    q = np.zeros_like(g)
    if low.any():
        gl = g[low]
        # in logs: g (1 - s) underflows for subnormal lam (1e-310), and the quotient would be inf
        pl = np.log1p(-gl * (Kb - 1 + s)) - np.log(gl) - math.log1p(-s)
        p[low] = pl
        q[low] = pl - math.log1p(sigma)
    if mid.any():
        pm = _intermediate_p(g[mid], K, Kb)
        p[mid] = pm
        q[mid] = (Kb - 1) * pm / Kb
    if Kb == 1:
        a = (K - 1) * q / K
        b = np.zeros_like(g)
        p = a.copy()          # formal: no seen competitor
    else:
        a = ((Kb - 1) * p + (K - Kb) * q) / K
        b = p - a
    c = q - a if Kb < K else np.zeros_like(g)
    if Kb == K:
        q = a.copy()          # formal: no unseen class (q = a + c with c = 0)
    theta = np.sqrt(n * (Kb * a ** 2 + Kb * (Kb - 1) * b ** 2 + Kb * (K - Kb) * c ** 2))
    if Kb == 1:
        nuclear = math.sqrt(n) * s * q
        margin = q.copy()
    else:
        nuclear = math.sqrt(n) * ((Kb - 1) * p + s * (Kb * q - (Kb - 1) * p))
        margin = p.copy() if Kb == K else np.minimum(p, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = np.where(theta > 0, margin / np.where(theta > 0, theta, 1.0), 0.0)
    regime = np.where(high, "high", np.where(low, "low", "intermediate"))
    if Kb == 1:
        regime = np.where(high, "high", "low")
    rank = np.where(high, 0, np.where(low | (Kb == 1), Kb, Kb - 1)).astype(int)
    for arr in (a, b, c, p, q, theta, nuclear, margin, gamma):
        arr[high] = 0.0

    def out(x):
        x = x.reshape(lam_in.shape)
        return x.item() if scalar else x

    return LoRAOptimum(K=K, Kb=Kb, n=n, lam=lam_in.item() if scalar else lam_in, reduction=reduction,
                       regime=out(regime), a=out(a), b=out(b), c=out(c), p=out(p), q=out(q),
                       theta=out(theta), nuclear=out(nuclear), rank=out(rank), margin=out(margin),
                       normalized_margin=out(gamma), _scalar=scalar)


@dataclass
class Thresholds:
    r"""The regime boundaries of Theorem 3.1 (corrected).

    Attributes
    ----------
    lambda_zero : float
        :math:`\lambda_0`: ``Z* = 0`` iff ``lam >= lambda_zero``
        (mean CE: :math:`1/(\bar K\sqrt n)`; sum CE: :math:`\sqrt n`; K̄ = 1: :math:`\sqrt{(K-1)/K}/\sqrt n`).
    lambda_crit : float
        :math:`\lambda_{crit}`: the low regime (c > 0) is ``lam <= lambda_crit``;
        0 when K̄ = K (no low regime), ``lambda_zero`` when K̄ = 1.
    rho_crit : float
        :math:`\rho_{crit} = \|Z^*\|_*` at :math:`\lambda_{crit}`:
        :math:`\sqrt n\,\bar K(\bar K-1)\log(1+\sigma)` (``inf`` when K̄ = K).
    theta_crit : float
        :math:`\Theta` at :math:`\lambda_{crit}`: :math:`\sqrt n\,\bar K\sqrt{\bar K-1}\log(1+\sigma)`.
    """

    K: int
    Kb: int
    n: int
    reduction: str
    lambda_zero: float
    lambda_crit: float
    rho_crit: float
    theta_crit: float


def thresholds(K: int, Kb: int, n: int, *, reduction: str = "mean") -> Thresholds:
    r"""The zero threshold :math:`\lambda_0` and the low/intermediate boundary :math:`\lambda_{crit}`.

    .. math::

        \lambda_0 = \frac{1}{\bar K\sqrt n},\qquad
        \lambda_{crit} = \frac{1}{\sqrt n\,\big(\bar K-1+s+(1-s)(1+\sigma)^{\bar K}\big)},\qquad
        \rho_{crit} = \sqrt n\,\bar K(\bar K-1)\log(1+\sigma)

    (mean CE; times ``Kb n`` for ``reduction="sum"``).  The paper prints
    :math:`1/(K\sqrt n)` for :math:`\lambda_0` and an upper bound :math:`\lambda_{crit} < 1/(K\sqrt n)`;
    both are wrong when K̄ < K (see :mod:`lintheory.lora_margin.printed`).

    Parameters
    ----------
    K, Kb, n : int
    reduction : {"mean", "sum"}

    Returns
    -------
    Thresholds

    Examples
    --------
    >>> t = thresholds(6, 3, 2)
    >>> round(t.lambda_zero, 8), round(t.lambda_crit, 8), round(t.rho_crit, 4)
    (0.23570226, 0.10355339, 7.4787)
    """
    K, Kb, n = _check_sizes(K, Kb, n)
    _check_reduction(reduction)
    scale = Kb * n if reduction == "sum" else 1.0
    rn = math.sqrt(n)
    lam0 = _g_zero(K, Kb) / rn * scale
    if Kb == K:
        lc, rho_c, th_c = 0.0, math.inf, math.inf
    elif Kb == 1:
        lc, rho_c, th_c = lam0, 0.0, 0.0
    else:
        _, sigma = _consts(K, Kb)
        lc = _g_crit(K, Kb) / rn * scale
        rho_c = rn * Kb * (Kb - 1) * math.log1p(sigma)
        th_c = rn * Kb * math.sqrt(Kb - 1) * math.log1p(sigma)
    return Thresholds(K=K, Kb=Kb, n=n, reduction=reduction, lambda_zero=lam0, lambda_crit=lc,
                      rho_crit=rho_c, theta_crit=th_c)


def intermediate_lambda(K: int, Kb: int, n: int, p, *, reduction: str = "mean"):
    r"""The explicit inverse map ``p -> lam`` of the intermediate regime (and of K̄ = K).

    .. math::

        \lambda\sqrt n = \frac{e^{-p} + \frac{K-\bar K}{\bar K}e^{-(\bar K-1)p/\bar K}}
                              {1+(\bar K-1)e^{-p}+(K-\bar K)e^{-(\bar K-1)p/\bar K}}

    Valid for :math:`0 < p \le \bar K\log(1+\sigma)` (any ``p > 0`` when K̄ = K).

    Examples
    --------
    >>> lam = intermediate_lambda(6, 3, 2, 1.5)
    >>> round(float(optimum(6, 3, 2, lam).p), 10)
    1.5
    """
    K, Kb, n = _check_sizes(K, Kb, n)
    if Kb < 2:
        raise InputError("the intermediate regime needs Kb >= 2")
    p = as_float_array(p, "p")
    if np.any(p <= 0):
        raise InputError(f"p must be > 0, got min {p.min():.3g}")
    if Kb < K:
        _, sigma = _consts(K, Kb)
        pmax = Kb * math.log1p(sigma)
        if np.any(p > pmax * (1 + 1e-12)):
            raise InputError(f"p = {p.max():.4g} is beyond the intermediate regime (p <= {pmax:.4g})")
    g = _intermediate_rhs(np.exp(-p / Kb), K, Kb)
    lam = g / math.sqrt(n) * (Kb * n if reduction == "sum" else 1.0)
    return lam.item() if lam.ndim == 0 else lam


def rank_of_optimum(K: int, Kb: int, n: int, lam, *, reduction: str = "mean"):
    """``rank(Z*)``: 0, K̄ − 1 or K̄ (see :class:`LoRAOptimum`).

    Examples
    --------
    >>> rank_of_optimum(6, 3, 2, 0.01)
    3
    """
    return optimum(K, Kb, n, lam, reduction=reduction).rank


def check_lora_rank(r: int, K: int, Kb: int, n: int, lam, *, reduction: str = "mean") -> bool:
    """Warn (``UserWarning``) and return ``False`` when LoRA rank ``r`` < ``rank(Z*)``.

    Then LoRA is rank-constrained (a non-convex problem different from the
    nuclear-norm problem) and the closed form does not describe its minimiser.

    Examples
    --------
    >>> check_lora_rank(3, 6, 3, 2, 0.01)
    True
    """
    r = as_count(r, "r (LoRA rank)", minimum=1)
    need = int(np.max(rank_of_optimum(K, Kb, n, lam, reduction=reduction)))
    if r < need:
        warnings.warn(f"LoRA rank r = {r} < rank(Z*) = {need} (Assumption 2.2 asks r >= Kb = {Kb}): "
                      "LoRA is then rank-constrained and the closed form does not apply", UserWarning,
                      stacklevel=2)
        return False
    return True


@renamed_kwargs(n_classes="K")
def check_problem(X_ft, y_ft, K: int, *, W_pre=None, X_pre=None,
                  tol: float = ORTHONORMAL_TOL, orth_tol: float = ORTHOGONAL_TOL, classes=None):
    r"""Check Assumptions 2.3–2.4 on actual data and return ``(X_ft, y_ft, seen, n)``.

    Parameters
    ----------
    X_ft : ndarray of shape (Kb n, d)
        Fine-tuning samples as rows.
    y_ft : array_like of shape (Kb n,)
        Labels, the same number ``n`` of samples per class: row indices in ``[0, K)``, or any sortable
        labels (ints such as ``y * 10``, strings) together with ``classes``.
    K : int
        Output classes (rows of the classifier); ``n_classes`` is a deprecated alias.
    W_pre : ndarray of shape (K, d), optional
        Checked: :math:`\max|X_{ft}W_{pre}^\top|` ≤ ``orth_tol``.
    X_pre : ndarray of shape (m, d), optional
        Checked: :math:`\max|X_{pre}X_{ft}^\top|` ≤ ``orth_tol`` and ``d >= Kb n + rank(X_pre)``.
    classes : array_like of shape (K,), optional
        The label of each of the ``K`` rows, when ``y_ft`` are not row indices.

    Returns
    -------
    X_ft : ndarray
    y_ft : ndarray of int
        The row index of each sample's label.
    seen : ndarray of shape (Kb,)
        The sorted row indices of the fine-tuning classes.
    n : int

    Raises
    ------
    InputError
        NaN, shapes, labels outside ``[0, K)``.
    AssumptionError
        Unequal class sizes, ``d`` too small, non-orthonormal ``X_ft``, ``X_pre`` or
        ``W_pre`` not orthogonal to ``X_ft`` (the message gives the deviation and points
        to :func:`lintheory.lora_margin.solvers.solve_full_space`).

    Examples
    --------
    >>> import numpy as np
    >>> X, y, seen, n = check_problem(np.eye(5)[:4], [1, 1, 3, 3], 4)
    >>> seen.tolist(), n
    ([1, 3], 2)
    """
    hint = ("The closed form does not apply; lintheory.lora_margin.solvers.solve_full_space "
            "solves the nuclear-norm problem for general data")
    X = as_float_array(X_ft, "X_ft", ndim=2)
    K = as_count(K, "K (number of output classes)", minimum=2)
    if X.shape[0] == 0:
        raise InputError("X_ft has no samples")
    _, y = as_class_labels(y_ft, X.shape[0], K=K, classes=classes, name="y_ft")
    seen, counts = np.unique(y, return_counts=True)
    if counts.min() != counts.max():
        raise AssumptionError(f"every fine-tuning class has the same number n of samples (Section 2.2): "
                              f"class sizes range from {counts.min()} to {counts.max()} (max - min)",
                              float(counts.max() - counts.min()), 0.0, relation="==")
    n = int(counts[0])
    N, d = X.shape
    if N > d:
        raise AssumptionError(f"d >= Kb n (Assumption 2.3a needs Kb n = {N} orthonormal samples in "
                              "dimension d): d", float(d), float(N), hint, relation=">=")
    dev = float(np.max(np.abs(X @ X.T - np.eye(N))))
    if dev > tol:
        raise AssumptionError("fine-tuning samples are orthonormal (Assumption 2.3a): max |X_ft X_ftᵀ - I|",
                              dev, tol, hint)
    if X_pre is not None:
        Xp = as_float_array(X_pre, "X_pre", ndim=2)
        if Xp.shape[1] != d:
            raise InputError(f"X_pre has {Xp.shape[1]} features but X_ft has {d}")
        rk = int(np.linalg.matrix_rank(Xp)) if Xp.size else 0
        if d < N + rk:
            raise AssumptionError("d >= Kb n + rank(X_pre) (Assumption 2.3 cannot hold otherwise): d",
                                  float(d), float(N + rk), relation=">=")
        ov = float(np.max(np.abs(Xp @ X.T))) if Xp.size else 0.0
        if ov > orth_tol:
            raise AssumptionError("fine-tuning samples are orthogonal to pre-training samples (Assumption 2.3b): "
                                  "max |X_pre X_ftᵀ|", ov, orth_tol, hint)
    if W_pre is not None:
        Wp = as_float_array(W_pre, "W_pre", ndim=2)
        if Wp.shape != (K, d):
            raise InputError(f"W_pre must have shape (K, d) = {(K, d)}, got {Wp.shape}")
        ov = float(np.max(np.abs(X @ Wp.T)))
        if ov > orth_tol:
            raise AssumptionError("W_pre is orthogonal to the fine-tuning data (Proposition 2.1(ii)): "
                                  "max |X_ft W_preᵀ|", ov, orth_tol, hint)
    return X, y, seen, n


@renamed_kwargs(n_classes="K")
def adapter(X_ft, y_ft, K: int, lam: float, *, W_pre=None, X_pre=None,
            reduction: str = "mean", tol: float = ORTHONORMAL_TOL, classes=None) -> np.ndarray:
    r"""The optimal LoRA product :math:`B^*A^*` (K × d) for actual data.

    .. math::

        B^*A^* = \sum_i v_{y_i}\, x_i^\top \qquad(= (V\otimes\mathbf 1_n^\top)X_{ft}^\top
        \text{ in the paper's column convention}),

    where :math:`v_c` is the template column of class ``c`` with rows permuted so that
    the seen labels may be any subset of ``[0, K)``.

    Parameters
    ----------
    X_ft : ndarray of shape (Kb n, d)
        Orthonormal fine-tuning samples as rows (any order).
    y_ft : array_like of shape (Kb n,)
        Labels, ``n`` per class: row indices in ``[0, K)``, or any sortable labels with ``classes``.
    K : int
        Output classes; ``n_classes`` is a deprecated alias.
    lam : float
        λ > 0.
    W_pre, X_pre : ndarray, optional
        Checked for orthogonality to ``X_ft`` when given (see :func:`check_problem`).
    reduction : {"mean", "sum"}
    classes : array_like of shape (K,), optional
        The label of each row of ``Z`` (see :func:`check_problem`).

    Returns
    -------
    Z : ndarray of shape (K, d)

    Raises
    ------
    InputError, AssumptionError
        See :func:`check_problem`.

    Examples
    --------
    >>> import numpy as np
    >>> Z = adapter(np.eye(6)[:4], [0, 0, 2, 2], 3, 0.05)
    >>> Z.shape, np.allclose(Z.sum(axis=0), 0)
    ((3, 6), True)
    """
    X, y, seen, n = check_problem(X_ft, y_ft, K, W_pre=W_pre, X_pre=X_pre, tol=tol, classes=classes)
    K, Kb = as_count(K, "K"), seen.size
    lam = as_scalar(lam, "lam (adapter needs a scalar lam)")
    opt = optimum(K, Kb, n, lam, reduction=reduction)
    V = opt.template()                           # rows: seen 0..Kb-1, then unseen
    order = np.concatenate([seen, np.setdiff1d(np.arange(K), seen)])
    Vk = np.empty_like(V)
    Vk[order] = V                                # rows back to label order
    L = Vk[:, np.searchsorted(seen, y)]          # (K, N): logits of each sample
    return L @ X


@renamed_kwargs(gamma_pre="normalized_margin_pre")
def forgetting_margins(K: int, Kb: int, n: int, lam, *, rho_pre: float, normalized_margin_pre: float,
                       reduction: str = "mean") -> dict:
    r"""Theorem 3.2 / equation (12): normalised margins of :math:`W_{pre} + B^*A^*`.

    .. math::

        \gamma_{pre}(\lambda) = \frac{C_{pre}}{\sqrt{\rho_{pre}^2+\Theta_\lambda^2}},\quad
        \gamma_{ft}(\lambda) = \frac{C_{ft,\lambda}}{\sqrt{\rho_{pre}^2+\Theta_\lambda^2}},\quad
        \gamma_{\cup}(\lambda) = \min(\gamma_{pre},\gamma_{ft}),

    with :math:`C_{pre} = \rho_{pre}\gamma_{pre}` and :math:`C_{ft,\lambda} = \gamma_{ft,\lambda}\Theta_\lambda`
    (exact for every λ > 0 and every K̄, since :math:`W_{pre}\perp B^*A^*`).

    Naming (``docs/conventions.md``): ``margin`` is the unnormalised :math:`C(W;D)`,
    ``normalized_margin`` is :math:`\gamma(W;D) = C/\|W\|_F`.

    Parameters
    ----------
    K, Kb, n : int
    lam : float or array_like
    rho_pre : float
        :math:`\|W_{pre}\|_F > 0`.
    normalized_margin_pre : float
        :math:`\gamma_{pre} = \gamma(W_{pre}; D_{pre})`, the **normalised** pre-training margin; must be
        > 0 (separable pre-training data).  ``gamma_pre`` is a deprecated alias.

    Returns
    -------
    dict
        ``pre``, ``ft``, ``union`` (same shape as ``lam``), plus ``theta`` and ``margin_ft``.

    Examples
    --------
    >>> m = forgetting_margins(4, 4, 2, 0.08, rho_pre=2.0, normalized_margin_pre=0.5)
    >>> round(float(m["pre"]), 6), round(float(m["ft"]), 6)
    (0.209974, 0.370505)
    """
    rho_pre = as_scalar(rho_pre, "rho_pre", low=0.0, low_open=True)
    gamma_pre = as_scalar(normalized_margin_pre, "normalized_margin_pre")
    if not gamma_pre > 0:
        raise AssumptionError("the pre-training data are separable by W_pre (normalized_margin_pre > 0, "
                              "Assumption 2.3): normalized_margin_pre", gamma_pre, 0.0, relation=">")
    opt = optimum(K, Kb, n, lam, reduction=reduction)
    norm = np.hypot(rho_pre, np.asarray(opt.theta))
    pre = rho_pre * gamma_pre / norm
    ft = np.asarray(opt.margin) / norm
    return {"pre": pre, "ft": ft, "union": np.minimum(pre, ft), "theta": opt.theta, "margin_ft": opt.margin}


@dataclass
class OptimalLambda:
    r"""The λ* that maximises the union margin of :math:`W_{pre}+B^*_\lambda A^*_\lambda`.

    Attributes
    ----------
    lam : float
        λ* (in the units of ``reduction``).
    regime : str
        Regime of the optimum at λ*.
    theta : float
        :math:`\Theta_{\lambda^*}`.
    value : float or None
        :math:`\max_\lambda\gamma_\cup = C_{pre}/\sqrt{\rho_{pre}^2+\Theta_{\lambda^*}^2}`
        (``None`` when ``rho_pre`` was not given).
    """

    lam: float
    regime: str
    theta: float
    value: float | None


@renamed_kwargs(C_pre="margin_pre")
def optimal_lambda(K: int, Kb: int, n: int, margin_pre: float, *, rho_pre: float | None = None,
                   reduction: str = "mean") -> OptimalLambda:
    r"""The union-margin-maximising λ* (Theorem 3.2 corrected: the equal-margin rule).

    λ* is the λ at which the unnormalised fine-tuning margin of :math:`B^*A^*` equals
    :math:`C_{pre} = \rho_{pre}\gamma_{pre}`.  Mean CE:

    * K̄ = K: :math:`\lambda^* = 1/\big(\sqrt n(K-1+e^{C_{pre}})\big)`;
    * K̄ < K and :math:`C_{pre}\le(\bar K-1)\log(1+\sigma)` (intermediate):
      :math:`u = e^{-C_{pre}/(\bar K-1)}`,
      :math:`\lambda^*\sqrt n = \frac{u^{\bar K}+\frac{K-\bar K}{\bar K}u^{\bar K-1}}{1+(\bar K-1)u^{\bar K}+(K-\bar K)u^{\bar K-1}}`;
    * otherwise (low): :math:`p^* = C_{pre}+\log(1+\sigma)`,
      :math:`\lambda^*\sqrt n = 1/(\bar K-1+s+(1-s)e^{p^*})`.

    The union margin is :math:`C_{pre}/\sqrt{\rho^2+\Theta^2}`
    (decreasing as λ ↓) below λ* and :math:`C_{ft}/\sqrt{\rho^2+\Theta^2}` (increasing as λ ↓)
    above, so λ* is the unique maximiser.

    Parameters
    ----------
    K, Kb, n : int
    margin_pre : float
        :math:`C_{pre} = C(W_{pre}; D_{pre}) > 0`, the **unnormalised** pre-training margin
        (``= rho_pre * normalized_margin_pre``).  ``C_pre`` is a deprecated alias.
    rho_pre : float, optional
        :math:`\|W_{pre}\|_F`, for the optimal value.
    reduction : {"mean", "sum"}

    Returns
    -------
    OptimalLambda

    Raises
    ------
    AssumptionError
        ``margin_pre <= 0`` (non-separable pre-training data: the trade-off is undefined).
    InputError
        λ* below the smallest positive float64 (``margin_pre`` beyond about 700).

    Examples
    --------
    >>> r = optimal_lambda(4, 4, 2, 1.0, rho_pre=2.0)
    >>> round(r.lam, 8), round(r.value, 6)
    (0.12365721, 0.316228)
    """
    K, Kb, n = _check_sizes(K, Kb, n)
    _check_reduction(reduction)
    C_pre = as_scalar(margin_pre, "margin_pre")
    if not C_pre > 0:
        raise AssumptionError("the pre-training data are separable by W_pre (margin_pre = C_pre > 0; "
                              "λ* is undefined otherwise): margin_pre", C_pre, 0.0, relation=">")
    if rho_pre is not None:
        rho_pre = as_scalar(rho_pre, "rho_pre", low=0.0, low_open=True)
    s, sigma = _consts(K, Kb)
    with np.errstate(over="ignore"):
        if Kb == K:
            g = 1.0 / (K - 1 + np.exp(C_pre))
        elif Kb >= 2 and C_pre <= (Kb - 1) * math.log1p(sigma):
            u = math.exp(-C_pre / (Kb - 1))
            g = float(_intermediate_rhs(u, K, Kb))
        else:
            pstar = C_pre + math.log1p(sigma)
            g = 1.0 / (Kb - 1 + s + (1 - s) * np.exp(pstar))
    lam = float(g) / math.sqrt(n) * (Kb * n if reduction == "sum" else 1.0)
    if not lam > 0:
        raise InputError(f"λ* = exp(-{C_pre:.4g})/... is below the smallest positive float64: margin_pre = "
                         f"{C_pre:.4g} is too large for the closed form in double precision (λ* ≈ 0)")
    opt = optimum(K, Kb, n, lam, reduction=reduction)
    value = None if rho_pre is None else C_pre / math.hypot(rho_pre, opt.theta)
    return OptimalLambda(lam=lam, regime=opt.regime, theta=opt.theta, value=value)


@dataclass
class MergeOptimum:
    r"""Theorem 3.3: the optimal merging coefficients and union margin.

    Attributes
    ----------
    alpha : ndarray of shape (T,)
        :math:`\alpha_i^* = C_{pre}/C_i`.
    value : float or None
        :math:`\big(\gamma_{pre}^{-2}+\sum_i\gamma_i^{-2}\big)^{-1/2}` (needs ``rho_pre`` and ``task_thetas``).
    """

    alpha: np.ndarray
    value: float | None


def _check_tasks(task_margins, task_thetas=None):
    C = as_float_array(task_margins, "task_margins", ndim=1)
    if C.size == 0:
        raise InputError("task_margins is empty: need at least one task")
    if np.any(C <= 0):
        i = int(np.argmin(C))
        raise AssumptionError(f"every adapter has a positive unnormalised margin C_i > 0 (a high-regime adapter "
                              f"is zero, so alpha_i* is undefined): task_margins[{i}]", float(C[i]), 0.0,
                              relation=">")
    th = None
    if task_thetas is not None:
        th = as_float_array(task_thetas, "task_thetas", ndim=1)
        if th.shape != C.shape:
            raise InputError(f"task_thetas has shape {th.shape}, task_margins {C.shape}")
        if np.any(th <= 0):
            i = int(np.argmin(th))
            raise AssumptionError(f"every adapter is nonzero (Theta_i > 0; high regime excluded): "
                                  f"task_thetas[{i}]", float(th[i]), 0.0, relation=">")
    return C, th


def _check_margin_pre(C_pre, name="margin_pre"):
    C_pre = as_scalar(C_pre, name)
    if not C_pre > 0:
        raise AssumptionError(f"the pre-training data are separable by W_pre ({name} = C_pre > 0): {name}",
                              C_pre, 0.0, relation=">")
    return C_pre


@renamed_kwargs(C_pre="margin_pre")
def merge_coefficients(margin_pre: float, task_margins, *, rho_pre: float | None = None,
                       task_thetas=None) -> MergeOptimum:
    r"""Theorem 3.3: :math:`\alpha_i^* = C_{pre}/C_i` and the optimal union margin.

    Equivalent to the printed :math:`\alpha_i^* = \rho_{pre}\gamma_{pre}/(\gamma_i\Theta_{\lambda,i})`.

    Parameters
    ----------
    margin_pre : float
        :math:`C_{pre} = C(W_{pre}; D_{pre}) = \rho_{pre}\gamma_{pre} > 0`, **unnormalised**
        (``C_pre`` is a deprecated alias).
    task_margins : array_like of shape (T,)
        :math:`C_i = C(B_i^*A_i^*; D_i) > 0` (**unnormalised**; zero for a high-regime adapter, an error).
    rho_pre : float, optional
    task_thetas : array_like of shape (T,), optional
        :math:`\Theta_i = \|B_i^*A_i^*\|_F`; with ``rho_pre`` gives the optimal value
        :math:`(\gamma_{pre}^{-2}+\sum_i\gamma_i^{-2})^{-1/2}`, :math:`\gamma_i = C_i/\Theta_i`.

    Returns
    -------
    MergeOptimum

    Examples
    --------
    >>> r = merge_coefficients(1.0, [2.0, 0.5], rho_pre=1.0, task_thetas=[2.0, 1.0])
    >>> r.alpha.tolist(), round(r.value, 6)
    ([0.5, 2.0], 0.408248)
    """
    C_pre = _check_margin_pre(margin_pre)
    C, th = _check_tasks(task_margins, task_thetas)
    alpha = C_pre / C
    value = None
    if rho_pre is not None and th is not None:
        rho_pre = as_scalar(rho_pre, "rho_pre", low=0.0, low_open=True)
        # (1/gamma_pre^2 + sum_i 1/gamma_i^2)^(-1/2) as 1 / ||(1/gamma)||_2: no overflow at 1e±150
        inv = np.concatenate([[rho_pre / C_pre], th / C])
        value = float(1.0 / np.linalg.norm(inv))
    return MergeOptimum(alpha=alpha, value=value)


@renamed_kwargs(C_pre="margin_pre")
def merged_margins(alpha, *, margin_pre: float, rho_pre: float, task_margins, task_thetas) -> dict:
    r"""Theorem 3.3: normalised margins of :math:`W_{pre}+\sum_i\alpha_iB_i^*A_i^*` for α ≥ 0.

    .. math::

        \gamma_{pre}(\alpha) = \frac{C_{pre}}{\sqrt{\rho_{pre}^2+\sum_j\alpha_j^2\Theta_j^2}},\qquad
        \gamma_i(\alpha) = \frac{\alpha_i C_i}{\sqrt{\rho_{pre}^2+\sum_j\alpha_j^2\Theta_j^2}} .

    Valid for α ≥ 0 (mutually orthogonal tasks, each orthogonal to the pre-training
    data); for :math:`\alpha_i<0` a ``UserWarning`` is issued (the margin is then
    :math:`\alpha_i\max(\cdot)`, which equals the formula only when all competitor gaps are equal).

    Parameters
    ----------
    alpha : array_like of shape (T,) or (..., T)
    margin_pre : float
        :math:`C_{pre}`, the **unnormalised** pre-training margin (``C_pre`` is a deprecated alias).
    rho_pre : float
        :math:`\|W_{pre}\|_F`.
    task_margins : array_like of shape (T,)
        **Unnormalised** :math:`C_i`.
    task_thetas : array_like of shape (T,)
        :math:`\Theta_i`.

    Returns
    -------
    dict
        ``pre`` (shape ``alpha.shape[:-1]``), ``tasks`` (shape ``alpha.shape``), ``union``.

    Examples
    --------
    >>> m = merged_margins([0.5, 2.0], margin_pre=1.0, rho_pre=1.0, task_margins=[2.0, 0.5], task_thetas=[2.0, 1.0])
    >>> round(float(m["union"]), 6)
    0.408248
    """
    C_pre = _check_margin_pre(margin_pre)
    rho_pre = as_scalar(rho_pre, "rho_pre", low=0.0, low_open=True)
    C, th = _check_tasks(task_margins, task_thetas)
    if th is None:
        raise InputError("task_thetas is required")
    a = as_float_array(alpha, "alpha")
    if a.ndim == 0 or a.shape[-1:] != C.shape:
        raise InputError(f"alpha must end in T = {C.size} coefficients, got shape {a.shape}")
    if np.any(a < 0):
        warnings.warn("alpha has negative entries: Theorem 3.3's margin formula assumes alpha >= 0",
                      UserWarning, stacklevel=2)
    # sqrt(rho^2 + sum_j (alpha_j Theta_j)^2) without overflow or underflow at extreme scales
    parts = np.concatenate([np.broadcast_to(rho_pre, a.shape[:-1] + (1,)), a * th], axis=-1)
    big = np.max(np.abs(parts), axis=-1, keepdims=True)
    norm = (big * np.sqrt(np.sum((parts / big) ** 2, axis=-1, keepdims=True)))[..., 0]
    pre = C_pre / norm
    tasks = a * C / norm[..., None]
    union = np.minimum(pre, tasks.min(axis=-1))
    return {"pre": pre, "tasks": tasks, "union": union}
