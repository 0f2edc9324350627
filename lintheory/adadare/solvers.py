"""Independent numerical routes for AdaDARE-γ (seed ``000_5a76694d997bb78d.txt``).

* :func:`cvxpy_drop_probabilities` -- Theorem 1's convex problem in the keep probabilities
  :math:`u_i = 1-p_i` solved by cvxpy (Clarabel), accepted only with status OPTIMAL and a
  KKT certificate;
* :func:`kkt_residuals` -- the KKT conditions of the problem, for any candidate ``P``;
* :func:`montecarlo_diag_loss`, :func:`montecarlo_layer_loss` -- seeded Monte Carlo over
  independent masks of the expected losses (A.5 and A.1);
* :func:`montecarlo_l1` -- Monte Carlo of Theorem 2's L1 norm;
* :func:`scipy_optimal_gamma` -- the loss-optimal γ at fixed ``P`` by ``minimize_scalar``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_float_array
from ..errors import InputError, SolverError
from .closed_form import _check_inputs, _check_probs, _check_sparsity, _gram, expected_diag_loss, expected_layer_loss  # noqa: F401
from .._interrupts import solver_interrupts_raise

__all__ = [
    "CvxpyDropResult",
    "cvxpy_drop_probabilities",
    "kkt_residuals",
    "montecarlo_diag_loss",
    "montecarlo_layer_loss",
    "montecarlo_l1",
    "scipy_optimal_gamma",
    "enumerate_l1",
    "dual_value",
]

#: Largest relative duality gap (and primal violation) accepted from Clarabel's solution.
#: Clarabel's default tolerances give a median gap of 1e-9 and at worst ~1e-4 on heavy-tailed
#: scores (tighter solver tolerances make it report OPTIMAL_INACCURATE instead).
CVXPY_KKT_TOL = 1e-3


@dataclass(frozen=True)
class CvxpyDropResult:
    """Result of :func:`cvxpy_drop_probabilities`.

    Attributes
    ----------
    probs : ndarray, input shape
    variance : float
        :math:`\\sum_i s_i^2p_i/(1-p_i)` at the solution (recomputed from ``probs``).
    objective : float
        The solver's objective :math:`\\sum_i s_i^2/u_i` (live entries).
    status : str
        ``"optimal"``.
    dual_budget : float
        The multiplier :math:`\\nu` of :math:`\\sum_i u_i\\le n(1-p)`.
    kkt : dict
        :func:`kkt_residuals` of the solution.
    """

    probs: np.ndarray
    variance: float
    objective: float
    status: str
    dual_budget: float
    kkt: dict


def dual_value(s, nu, p) -> float:
    """Lagrange dual function of Theorem 1's problem at :math:`\\nu\\ge0` (a lower bound on the optimum).

    :math:`g(\\nu)=\\sum_i\\min_{0<u\\le1}(s_i^2/u+\\nu u)-\\nu n(1-p)`, where the inner minimum is
    :math:`2s_i\\sqrt\\nu` if :math:`s_i\\le\\sqrt\\nu` and :math:`s_i^2+\\nu` otherwise.  By weak
    duality :math:`g(\\nu)\\le\\min\\sum_is_i^2/u_i` for every :math:`\\nu\\ge0`.

    Examples
    --------
    >>> dual_value([1.0, 3.0], 16.0, 0.5)   # optimum: 1/0.25 + 9/0.75 = 16
    16.0
    """
    s = np.asarray(s, dtype=np.float64).ravel()
    nu = max(float(nu), 0.0)
    r = np.sqrt(nu)
    inner = np.where(s <= r, 2 * s * r, s * s + nu)
    return float(inner.sum() - nu * s.size * (1 - p))


def kkt_residuals(s, probs, p, *, nu=None, free_tol: float = 1e-7) -> dict:
    """KKT residuals and duality gap of Theorem 1's problem at a candidate ``probs`` (in :math:`u=1-p`).

    Problem: :math:`\\min\\sum_i s_i^2/u_i` s.t. :math:`\\sum_iu_i\\le n(1-p)`, :math:`u_i\\le1`.
    Stationarity: :math:`s_i^2/u_i^2=\\nu+\\beta_i` with :math:`\\beta_i\\ge0`,
    :math:`\\beta_i(1-u_i)=0`, :math:`\\nu\\ge0`, :math:`\\nu(n(1-p)-\\sum u_i)=0`.  Only live
    entries (:math:`s_i>0`) enter.  Unless given, :math:`\\nu` is estimated as the median of
    :math:`s_i^2/u_i^2` over free entries: those dropped with probability above ``free_tol``
    times :math:`\\min(1, p)` (at least 16 ulp).  Relative to ``p``, because every drop
    probability is of the order of ``p``: with an absolute threshold, at ``p = 1e-7`` a free
    entry whose probability rounded a hair below ``1e-7`` was taken for a kept one, and the
    certificate reported a false gap of ``1e-7``.

    Returns
    -------
    dict
        ``stationarity`` (max relative spread of :math:`s_i^2/u_i^2` on free entries),
        ``dual_feasibility`` (max relative :math:`(\\nu - s_i^2)_+` on saturated entries, i.e.
        :math:`\\beta_i<0`), ``primal`` (budget and bound violations, per entry),
        ``slackness`` (:math:`|n(1-p)-\\sum u_i|/n` when :math:`\\nu>0`), ``gap`` (relative
        duality gap :math:`(f(u)-g(\\nu))/f(u)`, a certificate that does not depend on how
        well each :math:`u_i` is resolved), ``nu``, and ``max`` (the largest residual).

    Examples
    --------
    >>> r = kkt_residuals([1.0, 1.0, 1.0, 9.0], [2/3, 2/3, 2/3, 0.0], 0.5)
    >>> r["max"] < 1e-12
    True
    """
    s = as_float_array(s, "s", ndim=1, nonempty=True)
    q = as_float_array(probs, "probs", ndim=1, shape=s.shape)
    n = s.size
    u = 1 - q
    live = s > 0
    free = live & (q > max(free_tol * min(1.0, float(p)), 16 * np.finfo(float).eps))
    sat = live & ~free
    ratio = (s[free] / u[free]) ** 2 if free.any() else np.array([])
    if nu is None:
        # no free entry: every live entry is kept, the budget is slack, nu = 0 is optimal
        nu = float(np.median(ratio)) if ratio.size else 0.0
    nu = float(nu)
    stat = float(np.max(np.abs(ratio - nu)) / nu) if (ratio.size and nu > 0) else 0.0
    dual = float(np.max(np.maximum(0.0, nu - s[sat] ** 2)) / nu) if (sat.any() and nu > 0) else 0.0
    budget = n * (1 - p)
    primal = max(0.0, (u.sum() - budget) / n, float(np.max(np.maximum(0, -u))),
                 float(np.max(np.maximum(0, u - 1))))
    slack = abs(budget - u.sum()) / n if nu > 0 else 0.0
    with np.errstate(divide="ignore"):
        f = float(np.sum(s[live] ** 2 / u[live])) if live.any() else 0.0
    gap = (f - dual_value(s[live], nu, 1 - budget / max(int(live.sum()), 1))) / f if f > 0 else 0.0
    gap = max(gap, 0.0) if np.isfinite(gap) else np.inf
    return {"stationarity": stat, "dual_feasibility": dual, "primal": primal, "slackness": slack,
            "gap": gap, "nu": nu, "max": max(stat, dual, primal, slack, gap)}


#: Built cvxpy problems of :func:`cvxpy_drop_probabilities` by (live entries, zero-score
#: entries): built once with cp.Parameter for the scaled scores and the budget, re-solved
#: with new values (cvxpy skips its canonicalisation).
_PROBLEMS: dict = {}


def _drop_problem(n_pos: int, n_zero: int):
    """Theorem 1's problem in ``x = u / s`` for a shape: ``(prob, x, z, constraints, params)``."""
    key = (n_pos, n_zero)
    if key not in _PROBLEMS:
        import cvxpy as cp

        x = cp.Variable(n_pos)
        par = {"s": cp.Parameter(n_pos, nonneg=True, name="s"),
               "budget": cp.Parameter(nonneg=True, name="budget")}
        used = par["s"] @ x
        z = None
        if n_zero:
            z = cp.Variable(n_zero)
            used = used + cp.sum(z)
        cons = [used <= par["budget"], cp.multiply(par["s"], x) <= 1, x >= 0]
        if n_zero:
            cons += [z <= 1, z >= 0]
        obj = cp.sum(cp.multiply(par["s"], cp.inv_pos(x)))
        _PROBLEMS[key] = (cp.Problem(cp.Minimize(obj), cons), x, z, cons, par)
    return _PROBLEMS[key]


def cvxpy_drop_probabilities(h_diag, delta, p, *, solver: str = "CLARABEL", closed: bool = False,
                             kkt_tol: float = CVXPY_KKT_TOL, **solver_opts) -> CvxpyDropResult:
    """Theorem 1's problem solved by cvxpy, with status and KKT checks.

    In :math:`u_i = 1-p_i`: minimise :math:`\\sum_i s_i^2/u_i` subject to
    :math:`\\sum_i u_i\\le n(1-p)` and :math:`u_i\\le1` (the objective equals the variance
    :math:`\\sum_is_i^2p_i/(1-p_i)` plus the constant :math:`\\sum_is_i^2`).  It is posed in
    :math:`x_i=u_i/s_i` (``inv_pos``, Clarabel) for numerical scaling; nothing of the
    water-filling structure is used.

    Parameters
    ----------
    h_diag, delta : array_like, same shape
    p : float in [0, 1)
    solver : str
        A cvxpy solver name (``"CLARABEL"`` default, ``"SCS"``).
    closed : bool
        Zero-score entries (:math:`s_i=0`) do not enter the objective.  ``False``: they are
        left out of the solve and reported at :math:`p_i=1` (dropped).  ``True``: they are
        kept as free variables :math:`0\\le u_i\\le1` of the closed problem, and the solver
        places them (any placement is optimal).
    kkt_tol : float
        Largest accepted relative duality gap :math:`(f(u)-g(\\nu))/f(u)` (with the solver's
        multiplier :math:`\\nu`, see :func:`dual_value`) and primal violation.

    Returns
    -------
    CvxpyDropResult

    Raises
    ------
    SolverError
        Status not OPTIMAL, or the optimality certificate exceeds ``kkt_tol``.

    Examples
    --------
    >>> r = cvxpy_drop_probabilities([1.0, 1.0], [1.0, 3.0], 0.5)
    >>> r.probs.round(4).tolist(), r.status
    ([0.75, 0.25], 'optimal')
    """
    import cvxpy as cp

    h, d = _check_inputs(h_diag, delta)
    p = _check_sparsity(p)
    shape = d.shape
    s = (np.sqrt(h) * np.abs(d)).ravel()
    n = s.size
    live = s > 0
    budget = n * (1 - p)
    if closed:
        idx = np.arange(n)
    else:
        idx = np.flatnonzero(live)
    q = np.ones(n)
    if idx.size == 0:
        raise InputError("every score is zero: the objective is constant, every P is optimal")
    smax = float(s.max()) if s.max() > 0 else 1.0
    sl = s[idx] / smax                      # scale: the argmin is invariant
    pos = np.flatnonzero(sl > 0)
    zer = np.flatnonzero(sl == 0)
    # Diagonal change of variables u_i = s_i x_i for live entries: the optimum has x_i = kappa
    # on every free entry, which keeps the conic problem well scaled for heavy-tailed s.
    sp_ = sl[pos]
    prob, x, z, cons, par = _drop_problem(pos.size, zer.size)
    par["s"].value, par["budget"].value = sp_, budget
    solver_opts.setdefault("warm_start", False)   # a solution must not depend on the last solve
    try:
        with solver_interrupts_raise():  # SCS takes Ctrl-C for itself: give it back
            prob.solve(solver=solver, **solver_opts)
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy/{solver} failed on Theorem 1's problem: {exc}", "SolverError") from None
    if prob.status != cp.OPTIMAL:
        raise SolverError(f"cvxpy/{solver} did not solve Theorem 1's problem", str(prob.status))
    uv = np.ones(idx.size)
    uv[pos] = np.clip(sp_ * np.asarray(x.value, dtype=np.float64), 0.0, 1.0)
    if zer.size:
        uv[zer] = np.clip(np.asarray(z.value, dtype=np.float64), 0.0, 1.0)
    # Feasibility restoration: interior-point solutions may exceed the budget by ~1e-9; scaling u
    # down by that factor gives a feasible point, so the objective reported is an upper bound on
    # the optimum (the certificate below then bounds it from below).
    over = uv.sum() / budget if budget > 0 else 1.0
    if over > 1:
        uv = uv / over
    q[idx] = 1 - uv
    # Any nu >= 0 gives a valid lower bound g(nu) (weak duality): take the better of the solver's
    # multiplier and the one implied by its own primal solution (median s^2/u^2 on free entries).
    nu_solver = max(float(cons[0].dual_value), 0.0)
    nu_primal = kkt_residuals(s / smax, q, p)["nu"]
    nu = max((nu_solver, nu_primal), key=lambda v: dual_value(s / smax, v, p))
    kkt = kkt_residuals(s / smax, q, p, nu=nu)
    cert = max(kkt["gap"], kkt["primal"])
    if not cert <= kkt_tol:
        raise SolverError(f"cvxpy/{solver} solution fails the optimality certificate: duality gap "
                          f"{kkt['gap']:.2e}, primal violation {kkt['primal']:.2e} > {kkt_tol:.0e}", "KKT")
    qq = q[live]
    var = float(np.sum(s[live] ** 2 * qq / (1 - qq)))
    return CvxpyDropResult(probs=q.reshape(shape), variance=var, objective=float(prob.value),
                           status=str(prob.status), dual_budget=nu * smax ** 2, kkt=kkt)


def _rng(seed, rng):
    if rng is not None:
        return rng
    if seed is None:
        raise InputError("Monte Carlo needs a seed or an rng")
    return np.random.default_rng(seed)


def montecarlo_diag_loss(h_diag, delta, probs, gamma, *, n_samples: int = 20000, seed=None,
                         rng=None) -> tuple[float, float]:
    """Monte Carlo of :math:`\\mathbb E\\sum_iH_{ii}(\\delta_i-m_i\\gamma\\delta_i/(1-p_i))^2` (A.5).

    Draws independent masks, computes the loss of each realisation directly (no formula).

    Returns
    -------
    (mean, standard_error) : tuple of float

    Examples
    --------
    >>> m, se = montecarlo_diag_loss([1.0], [1.0], [0.5], 0.5, n_samples=4000, seed=0)
    >>> abs(m - 0.5) < 5 * se
    True
    """
    h, d = _check_inputs(h_diag, delta)
    h, d = h.ravel(), d.ravel()
    q = _check_probs(probs, np.shape(delta)).ravel()
    r = _rng(seed, rng)
    vals = np.empty(n_samples)
    chunk = max(1, min(n_samples, int(2e6 // max(d.size, 1))))
    for a in range(0, n_samples, chunk):
        b = min(chunk, n_samples - a)
        keep = r.random((b, d.size)) >= q
        with np.errstate(divide="ignore", invalid="ignore"):
            fused = np.where(keep, gamma * d / np.where(keep, 1 - q, 1.0), 0.0)
        vals[a:a + b] = ((d - fused) ** 2) @ h
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(n_samples))


def montecarlo_layer_loss(delta, probs, gamma, X=None, *, gram=None, n_samples: int = 5000, seed=None,
                          rng=None) -> tuple[float, float]:
    """Monte Carlo of the layer loss A.1, :math:`\\mathbb E\\|X(\\Theta_{\\mathrm{sft}}-\\Theta_{\\mathrm{fusion}})^\\top\\|_F^2`.

    Parameters
    ----------
    delta, probs : array_like, shape (d_out, d_in)
    gamma : float
    X : array_like, shape (N, d_in), or ``gram`` (d_in, d_in)

    Returns
    -------
    (mean, standard_error)

    Examples
    --------
    >>> m, se = montecarlo_layer_loss([[1.0, 1.0]], [[0.5, 0.0]], 0.5, gram=[[1.0, 0.5], [0.5, 1.0]],
    ...                               n_samples=4000, seed=1)
    >>> abs(m - 1.0) < 5 * se
    True
    >>> expected_layer_loss([[1.0, 1.0]], [[0.5, 0.0]], 0.5, gram=[[1.0, 0.5], [0.5, 1.0]])
    1.0
    """
    d = as_float_array(delta, "delta", ndim=2)
    q = _check_probs(probs, d.shape)
    G = _gram(X, gram, d.shape[1])
    r = _rng(seed, rng)
    vals = np.empty(n_samples)
    chunk = max(1, min(n_samples, int(2e6 // max(d.size, 1))))
    for a in range(0, n_samples, chunk):
        b = min(chunk, n_samples - a)
        keep = r.random((b,) + d.shape) >= q
        with np.errstate(divide="ignore", invalid="ignore"):
            E = d - np.where(keep, gamma * d / np.where(keep, 1 - q, 1.0), 0.0)
        vals[a:a + b] = np.einsum("kri,ij,krj->k", E, G, E)
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(n_samples))


def montecarlo_l1(delta, probs, gamma, *, eta=None, n_samples: int = 20000, seed=None, rng=None) -> dict:
    """Monte Carlo of Theorem 2's :math:`\\|\\Theta_{\\mathrm{fusion}}-\\Theta_{\\mathrm{pre}}\\|_1` over independent masks.

    Returns
    -------
    dict
        ``mean``, ``se`` (standard error of the mean), ``var`` (sample variance) and, when
        ``eta`` is given, ``exceed`` (fraction of realisations with L1 > ``eta``) and
        ``exceed_se``.

    Examples
    --------
    >>> r = montecarlo_l1([1.0, -1.0], [0.5, 0.0], 2.0, n_samples=4000, seed=0)
    >>> abs(r["mean"] - 4.0) < 5 * r["se"]
    True
    """
    d0 = as_float_array(delta, "delta")
    q = _check_probs(probs, d0.shape).ravel()
    d = d0.ravel()
    r = _rng(seed, rng)
    vals = np.empty(n_samples)
    chunk = max(1, min(n_samples, int(2e6 // max(d.size, 1))))
    for a in range(0, n_samples, chunk):
        b = min(chunk, n_samples - a)
        keep = r.random((b, d.size)) >= q
        with np.errstate(divide="ignore", invalid="ignore"):
            fused = np.where(keep, gamma * d / np.where(keep, 1 - q, 1.0), 0.0)
        vals[a:a + b] = np.abs(fused).sum(axis=1)
    out = {"mean": float(vals.mean()), "se": float(vals.std(ddof=1) / np.sqrt(n_samples)),
           "var": float(vals.var(ddof=1))}
    if eta is not None:
        f = float(np.mean(vals > eta))
        out["exceed"] = f
        out["exceed_se"] = float(np.sqrt(max(f * (1 - f), 1e-12) / n_samples))
    return out


def enumerate_l1(delta, probs, gamma, *, eta=None, max_n: int = 20) -> dict:
    """Exact distribution of the realised :math:`\\|\\Theta_{\\mathrm{fusion}}-\\Theta_{\\mathrm{pre}}\\|_1` by enumerating all :math:`2^n` masks.

    Each mask :math:`m\\in\\{0,1\\}^n` has probability :math:`\\prod_i(1-p_i)^{m_i}p_i^{1-m_i}` and
    L1 norm :math:`\\sum_i m_i|\\gamma\\delta_i/(1-p_i)|`; nothing else is assumed.

    Returns
    -------
    dict
        ``mean`` (:math:`\\mathbb E\\|\\cdot\\|_1`), ``var`` and, with ``eta``, ``exceed`` (:math:`P(\\|\\cdot\\|_1>\\eta)`).

    Examples
    --------
    >>> enumerate_l1([1.0, -1.0], [0.5, 0.0], 2.0, eta=3.0)
    {'mean': 4.0, 'var': 4.0, 'exceed': 0.5}
    """
    d0 = as_float_array(delta, "delta")
    q = _check_probs(probs, d0.shape).ravel()
    d = d0.ravel()
    n = d.size
    if n > max_n:
        raise InputError(f"enumeration needs n <= {max_n}, got {n}")
    masks = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)
    pm = np.where(masks, 1 - q, q).prod(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = np.where(masks, np.abs(gamma * d / np.where(q < 1, 1 - q, 1.0)), 0.0).sum(axis=1)
    mean = float(pm @ vals)
    out = {"mean": mean, "var": float(pm @ (vals - mean) ** 2)}
    if eta is not None:
        out["exceed"] = float(pm[vals > eta].sum())
    return out


def scipy_optimal_gamma(h_diag, delta, probs, *, bias_quad=None, bracket=(-10.0, 10.0)) -> float:
    """The γ minimising the expected loss at fixed ``P``, by ``scipy.optimize.minimize_scalar``.

    Minimises :math:`\\gamma\\mapsto` :func:`~lintheory.adadare.closed_form.expected_diag_loss`
    (plus ``(1-γ)^2 (bias_quad - Σ H δ²)`` when a full-layer bias quadratic form is given).

    Examples
    --------
    >>> round(scipy_optimal_gamma([1.0, 1.0], [1.0, 1.0], [0.5, 0.5]), 6)
    0.5
    """
    from scipy.optimize import minimize_scalar

    h, d = _check_inputs(h_diag, delta)
    extra = 0.0 if bias_quad is None else float(bias_quad) - float(np.sum(h * d * d))

    def f(g):
        return expected_diag_loss(h, d, probs, g) + (1 - g) ** 2 * extra

    res = minimize_scalar(f, bounds=bracket, method="bounded", options={"xatol": 1e-12})
    if not res.success:
        raise SolverError("minimize_scalar did not converge for the optimal gamma", str(res.message))
    return float(res.x)
