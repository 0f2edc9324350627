r"""Independent numerical routes to the optimum of the LoRA problem (6).

Seed ``002_caa97dd52c787aec.txt``, Lemma C.2 / E.2 and Appendix F.  By Lemma C.2,
:math:`\min_{BA=Z}\frac\lambda2(\|B\|_F^2+\|A\|_F^2) = \lambda\|Z\|_*` (inner dimension
≥ rank Z), so problem (6) is the convex "Problem three"

.. math::

    \min_{Z\in\mathbb R^{K\times d}}\ \frac1N\sum_i \mathrm{CE}\big(y_i, (W_{pre}+Z)x_i\big) + \lambda\|Z\|_* .

Routes:

* :func:`solve_logit_space` -- cvxpy on the logits :math:`\hat Z\in\mathbb R^{K\times N}` (exact
  reduction when the fine-tuning rows are orthonormal and :math:`X_{ft}W_{pre}^\top = 0`:
  :math:`Z^* = \hat Z^* X_{ft}`, samples as rows);
* :func:`solve_full_space` -- cvxpy on :math:`Z\in\mathbb R^{K\times d}` for general data;
* :func:`reduced_2d` -- the strictly convex 2-D problem in the gaps (p, q) with scipy;
* :func:`verify_optimality` -- the solver-independent KKT certificate
  :math:`-\nabla\mathrm{CE}(Z)\in\lambda\,\partial\|Z\|_*`.

Solutions are accepted only with solver status ``optimal``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import softmax

from .._threads import single_threaded
from .._validation import as_float_array, as_labels
from ..errors import InputError, SolverError
from .closed_form import _as_lam, _check_reduction, _check_sizes, _consts
from .._interrupts import solver_interrupts_raise

__all__ = ["SCS_EPS", "KKT_TOL", "NuclearResult", "solve_logit_space", "solve_full_space",
           "solve_problem", "reduced_2d", "Reduced2D", "verify_optimality", "mean_ce_grad",
           "objective"]

#: SCS accuracy (eps_abs = eps_rel) for the nuclear-norm problem
SCS_EPS = 1e-9
#: default relative tolerance of the KKT certificate
KKT_TOL = 1e-5


@dataclass
class NuclearResult:
    """A solution of the nuclear-norm problem.

    Attributes
    ----------
    Z : ndarray
        ``(K, N)`` logits (logit space) or ``(K, d)`` (full space).
    objective : float
    status : str
        ``"optimal"`` (anything else raises).
    solver : str
    kkt : dict
        :func:`verify_optimality` of ``Z``.
    """

    Z: np.ndarray
    objective: float
    status: str
    solver: str
    kkt: dict


#: Built cvxpy problems by (route, shape): each is built once with cp.Parameter for the
#: data and lambda, and re-solved with new values (cvxpy then skips its canonicalisation,
#: which was 80 % of a solve).  Cold-started every time (``warm_start=False``), so that a
#: solution does not depend on what was solved before in this process.
_PROBLEMS: dict = {}


def _logit_problem(K: int, N: int):
    """Problem three in logit space for a (K, N) shape: ``(prob, Zh, Y, lm)``."""
    key = ("logit", K, N)
    if key not in _PROBLEMS:
        import cvxpy as cp

        Zh = cp.Variable((K, N))
        Y = cp.Parameter((K, N), name="Y")
        lm = cp.Parameter(nonneg=True, name="lam")
        ce = cp.sum(cp.log_sum_exp(Zh, axis=0)) - cp.sum(cp.multiply(Y, Zh))
        _PROBLEMS[key] = (cp.Problem(cp.Minimize(ce / N + lm * cp.normNuc(Zh))), Zh, Y, lm)
    return _PROBLEMS[key]


def _full_problem(K: int, N: int, d: int):
    r"""Problem three on general data for (K, N, d): ``(prob, Z, params)``.

    The parameters are ``X``, ``C = X W_preᵀ``, ``G = YᵀX`` and ``c0 = Σ Y∘C`` (the
    label term :math:`\sum Y\circ(C + XZ^\top) = c_0 + \sum G\circ Z`, written so that
    no parameter multiplies another: the problem is DPP), and ``lam``.
    """
    key = ("full", K, N, d)
    if key not in _PROBLEMS:
        import cvxpy as cp

        Z = cp.Variable((K, d))
        par = {"X": cp.Parameter((N, d), name="X"), "C": cp.Parameter((N, K), name="XWpre"),
               "G": cp.Parameter((K, d), name="YtX"), "c0": cp.Parameter(name="YC"),
               "lam": cp.Parameter(nonneg=True, name="lam")}
        ce = (cp.sum(cp.log_sum_exp(par["C"] + par["X"] @ Z.T, axis=1))
              - par["c0"] - cp.sum(cp.multiply(par["G"], Z)))
        _PROBLEMS[key] = (cp.Problem(cp.Minimize(ce / N + par["lam"] * cp.normNuc(Z))), Z, par)
    return _PROBLEMS[key]


def _solve(prob, solver, eps):
    import cvxpy as cp

    try:
        if solver == "SCS":
            with solver_interrupts_raise():  # SCS takes Ctrl-C for itself: give it back
                prob.solve(solver=cp.SCS, eps_abs=eps, eps_rel=eps, max_iters=500000, warm_start=False)
        elif solver == "CLARABEL":
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10,
                       warm_start=False)
        else:
            raise InputError(f"solver must be 'SCS' or 'CLARABEL', got {solver!r}")
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy/{solver} failed: {exc}", status="SOLVER_ERROR") from None
    if prob.status != cp.OPTIMAL:
        raise SolverError(f"cvxpy/{solver} did not solve the nuclear-norm problem", status=str(prob.status))


def _lam_mean(lam, N, reduction):
    _check_reduction(reduction)
    lam = float(_as_lam(lam))
    return lam / N if reduction == "sum" else lam


def solve_logit_space(y, n_classes: int, lam: float, *, reduction: str = "mean", solver: str = "SCS",
                      eps: float = SCS_EPS, kkt_tol: float | None = None) -> NuclearResult:
    r"""Problem three in logit space with cvxpy (nuclear norm + log-sum-exp: exp and PSD cones).

    .. math::

        \min_{\hat Z\in\mathbb R^{K\times N}}\ \frac1N\Big[\sum_j \mathrm{lse}(\hat Z_{:,j})
        - \sum_j\hat Z_{y_j,j}\Big] + \lambda\|\hat Z\|_*

    Parameters
    ----------
    y : array_like of shape (N,)
        Labels of the fine-tuning samples (in the order of the rows of ``X_ft``).
    n_classes : int
        K.
    lam : float
    reduction : {"mean", "sum"}
    solver : {"SCS", "CLARABEL"}
    eps : float
        SCS accuracy.
    kkt_tol : float, optional
        If given, raise :class:`SolverError` unless the KKT certificate passes at this tolerance.

    Returns
    -------
    NuclearResult
        ``Z`` has shape (K, N): column ``j`` is the logit vector of sample ``j``.

    Examples
    --------
    >>> res = solve_logit_space([0, 0, 1, 1], 3, 0.05)
    >>> res.status, res.Z.shape
    ('optimal', (3, 4))
    """
    K = int(n_classes)
    y = as_labels(y, len(np.asarray(y)), K)
    N = y.size
    lm = _lam_mean(lam, N, reduction)
    Y = np.zeros((K, N))
    Y[y, np.arange(N)] = 1.0
    prob, Zh, Y_par, lm_par = _logit_problem(K, N)
    Y_par.value, lm_par.value = Y, lm
    _solve(prob, solver, eps)
    Z = np.asarray(Zh.value)
    kkt = verify_optimality(Z, lm, y=y, n_classes=K)
    if kkt_tol is not None and not kkt["max"] <= kkt_tol:
        raise SolverError(f"KKT certificate failed: {kkt}", status="KKT_FAILED")
    return NuclearResult(Z=Z, objective=float(prob.value), status="optimal", solver=solver, kkt=kkt)


def solve_full_space(X, y, n_classes: int, lam: float, *, W_pre=None, reduction: str = "mean",
                     solver: str = "SCS", eps: float = SCS_EPS) -> NuclearResult:
    r"""Problem three on general data (no orthogonality needed): :math:`Z\in\mathbb R^{K\times d}`.

    .. math::

        \min_Z\ \mathrm{CE}\big(X(W_{pre}+Z)^\top, y\big) + \lambda\|Z\|_*

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Fine-tuning samples as rows.
    y : ndarray of shape (N,)
    n_classes : int
    lam : float
    W_pre : ndarray of shape (K, d), optional (default 0)

    Returns
    -------
    NuclearResult
        ``Z`` of shape (K, d).

    Examples
    --------
    >>> import numpy as np
    >>> res = solve_full_space(np.eye(4)[:2] + 0.1, [0, 1], 2, 0.1)
    >>> res.Z.shape
    (2, 4)
    """
    X = as_float_array(X, "X", ndim=2)
    K = int(n_classes)
    y = as_labels(y, X.shape[0], K)
    N, d = X.shape
    lm = _lam_mean(lam, N, reduction)
    Wp = np.zeros((K, d)) if W_pre is None else as_float_array(W_pre, "W_pre", ndim=2)
    if Wp.shape != (K, d):
        raise InputError(f"W_pre must have shape {(K, d)}, got {Wp.shape}")
    Y = np.zeros((N, K))
    Y[np.arange(N), y] = 1.0
    prob, Z, par = _full_problem(K, N, d)
    C = X @ Wp.T
    par["X"].value, par["C"].value, par["lam"].value = X, C, lm
    par["G"].value, par["c0"].value = Y.T @ X, float(np.sum(Y * C))
    _solve(prob, solver, eps)
    Zv = np.asarray(Z.value)
    kkt = verify_optimality(Zv, lm, y=y, n_classes=K, X=X, W_pre=Wp)
    return NuclearResult(Z=Zv, objective=float(prob.value), status="optimal", solver=solver, kkt=kkt)


def solve_problem(X_ft, y_ft, n_classes: int, lam: float, **kw) -> np.ndarray:
    """``B*A*`` (K × d) for orthonormal data via :func:`solve_logit_space`: :math:`Z^* = \\hat Z^* X_{ft}`.

    Examples
    --------
    >>> import numpy as np
    >>> solve_problem(np.eye(5)[:2], [0, 1], 3, 0.2).shape
    (3, 5)
    """
    X = as_float_array(X_ft, "X_ft", ndim=2)
    res = solve_logit_space(y_ft, n_classes, lam, **kw)
    return res.Z @ X


def mean_ce_grad(Z, *, y, n_classes: int, X=None, W_pre=None) -> np.ndarray:
    r"""Gradient of the mean CE with respect to ``Z``: :math:`\frac1N(\mathrm{softmax}(L)-Y)^\top X` (shape of ``Z``).

    ``X=None``: ``Z`` is the (K, N) logit matrix (logits :math:`L = \hat Z^\top`).

    Examples
    --------
    >>> import numpy as np
    >>> mean_ce_grad(np.zeros((2, 2)), y=[0, 1], n_classes=2).tolist()
    [[-0.25, 0.25], [0.25, -0.25]]
    """
    K = int(n_classes)
    Z = as_float_array(Z, "Z", ndim=2)
    y = np.asarray(y)
    N = y.size
    if X is None:
        L = Z.T
    else:
        L = X @ (Z if W_pre is None else (W_pre + Z)).T
    P = softmax(L, axis=1)
    P[np.arange(N), y] -= 1.0
    G = P.T / N
    return G if X is None else G @ X


def objective(Z, lam: float, *, y, n_classes: int, X=None, W_pre=None) -> float:
    r"""Mean CE + :math:`\lambda\|Z\|_*` (logit space when ``X`` is ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> round(objective(np.zeros((2, 2)), 0.1, y=[0, 1], n_classes=2), 6)    # log 2
    0.693147
    """
    Z = as_float_array(Z, "Z", ndim=2)
    y = np.asarray(y)
    L = Z.T if X is None else X @ (Z if W_pre is None else (W_pre + Z)).T
    m = L.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(L - m).sum(axis=1)))
    ce = float(np.mean(lse - L[np.arange(y.size), y]))
    return ce + lam * float(np.linalg.svd(Z, compute_uv=False).sum())


def verify_optimality(Z, lam: float, *, y, n_classes: int, X=None, W_pre=None,
                      rank_tol: float = 1e-6, zero_tol: float = 1e-7, reduction: str = "mean",
                      N: int | None = None) -> dict:
    r"""Solver-independent KKT certificate of :math:`\min \mathrm{CE}(Z) + \lambda\|Z\|_*`.

    With :math:`G = \nabla\mathrm{CE}(Z)` and the compact SVD :math:`Z = U\Sigma V^\top`
    (singular values above ``rank_tol`` times the largest; ``Z`` counts as zero when its
    spectral norm is below ``zero_tol``), optimality is
    :math:`-G = \lambda(UV^\top + W')`, :math:`U^\top W' = 0`, :math:`W'V = 0`,
    :math:`\|W'\|_2\le1`; for ``Z = 0``: :math:`\|G(0)\|_2 \le \lambda`.  Residuals are
    relative to λ:

    * ``aligned``: :math:`\|U^\top(-G)V - \lambda I\|_{max}/\lambda`;
    * ``cross``: :math:`\max(\|U^\top G(I-VV^\top)\|, \|(I-UU^\top)GV\|)/\lambda`;
    * ``spectral``: :math:`\max(0, \|(I-UU^\top)G(I-VV^\top)\|_2/\lambda - 1)`.

    Parameters
    ----------
    Z : ndarray of shape (K, N) or (K, d)
        Logits (``X=None``) or the adapter.
    lam : float
        λ in the units of ``reduction`` (``"sum"`` is converted with ``N``).
    y : array_like of shape (N,)
    n_classes : int
    X, W_pre : ndarray, optional
        Full-space data (N × d) and pre-trained weights.

    Returns
    -------
    dict
        ``aligned``, ``cross``, ``spectral``, ``rank``, ``max``.

    Examples
    --------
    >>> from lintheory.lora_margin import optimum
    >>> Zh = optimum(6, 3, 2, 0.08).logits()
    >>> verify_optimality(Zh, 0.08, y=[0, 0, 1, 1, 2, 2], n_classes=6)["max"] < 1e-10
    True
    """
    y = np.asarray(y)
    Nn = y.size if N is None else N
    lm = float(lam) / Nn if reduction == "sum" else float(lam)
    G = mean_ce_grad(Z, y=y, n_classes=n_classes, X=X, W_pre=W_pre)
    U, S, Vt = np.linalg.svd(np.asarray(Z, float), full_matrices=False)
    r = int(np.sum(S > rank_tol * S[0])) if S.size and S[0] > zero_tol else 0
    if r == 0:
        spec = float(np.linalg.norm(G, 2)) / lm - 1.0
        res = {"aligned": 0.0, "cross": 0.0, "spectral": max(0.0, spec), "rank": 0}
    else:
        U, V = U[:, :r], Vt[:r].T
        mG = -G
        aligned = float(np.max(np.abs(U.T @ mG @ V - lm * np.eye(r)))) / lm
        PU = np.eye(U.shape[0]) - U @ U.T
        PV = np.eye(V.shape[0]) - V @ V.T
        cross = max(float(np.max(np.abs(U.T @ mG @ PV))), float(np.max(np.abs(PU @ mG @ V)))) / lm
        rest = PU @ mG @ PV
        spec = float(np.linalg.norm(rest, 2)) / lm - 1.0 if rest.size else -1.0
        res = {"aligned": aligned, "cross": cross, "spectral": max(0.0, spec), "rank": r}
    res["max"] = max(res["aligned"], res["cross"], res["spectral"])
    return res


@dataclass
class Reduced2D:
    """Solution of the 2-D reduced problem: gaps ``p`` (seen), ``q`` (unseen), the objective, and success."""

    p: float
    q: float
    objective: float
    success: bool


def _reduced_obj(x, K, Kb, g, s, sp, st):
    p, t = x
    q = ((Kb - 1) * p + t) / Kb
    e1 = (Kb - 1) * np.exp(-p)
    e2 = (K - Kb) * np.exp(-q)
    D = 1 + e1 + e2
    f = math.log(D) + g * ((Kb - 1) * sp * p + s * st * t)
    dp = (-e1 - e2 * (Kb - 1) / Kb) / D + g * (Kb - 1) * sp
    dt = (-e2 / Kb) / D + g * s * st
    return f, np.array([dp, dt])


def reduced_2d(K: int, Kb: int, n: int, lam: float, *, reduction: str = "mean") -> Reduced2D:
    r"""The strictly convex 2-D reduction of problem (6) (mean CE, :math:`g=\lambda\sqrt n`).

    .. math::

        \min_{p,q}\ \log\big(1+(\bar K-1)e^{-p}+(K-\bar K)e^{-q}\big)
        + g\Big[(\bar K-1)|p| + s\,\big|\bar Kq-(\bar K-1)p\big|\Big]

    (:math:`\|Z\|_* = \sqrt n\|V\|_*` for the symmetric template ``V``; the shift ``a`` is
    minimised out).  Solved with L-BFGS-B on each of the four sign-quadrants of
    :math:`(p,\ t = \bar Kq-(\bar K-1)p)`, where the objective is smooth; the best is kept.

    Returns
    -------
    Reduced2D

    Examples
    --------
    >>> r = reduced_2d(6, 3, 2, 0.15)
    >>> round(r.p, 5), round(r.q, 5)
    (1.75653, 1.17102)
    """
    K, Kb, n = _check_sizes(K, Kb, n)
    _check_reduction(reduction)
    lam = float(_as_lam(lam))
    lm = lam / (Kb * n) if reduction == "sum" else lam
    g = lm * math.sqrt(n)
    s, _ = _consts(K, Kb)
    best = None
    with single_threaded(torch=False):   # tiny problem: BLAS threads only add contention
        best = _reduced_quadrants(K, Kb, g, s)
    p, t = best.x
    q = ((Kb - 1) * p + t) / Kb
    return Reduced2D(p=float(p), q=float(q), objective=float(best.fun), success=bool(best.success))


def _reduced_quadrants(K, Kb, g, s):
    best = None
    for sp in (1.0, -1.0):
        for st in (1.0, -1.0):
            bp = (0.0, None) if sp > 0 else (None, 0.0)
            bt = (0.0, None) if st > 0 else (None, 0.0)
            if Kb == 1:
                bp = (0.0, 0.0)
            if Kb == K:
                bt = (0.0, 0.0)
            x0 = np.array([0.5 * sp if bp != (0.0, 0.0) else 0.0, 0.5 * st if bt != (0.0, 0.0) else 0.0])
            r = minimize(_reduced_obj, x0, args=(K, Kb, g, s, sp, st), jac=True, method="L-BFGS-B",
                         bounds=[bp, bt], options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 5000})
            if best is None or r.fun < best.fun:
                best = r
    return best
