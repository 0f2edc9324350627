r"""The exact multiclass hard-margin SVM (Crammer–Singer, no bias) and its KKT certificate.

Problem (3) of ``002_caa97dd52c787aec.txt``, samples as rows:

.. math::

    \min_{W \in \mathbb R^{K\times d}} \tfrac12 \|W\|_F^2
    \quad\text{s.t.}\quad (e_{y_i} - e_k)^\top W x_i \ge 1
    \quad \forall i,\ \forall k \ne y_i .

Four exact routes, all returning a KKT certificate computed over **all**
``n (K-1)`` constraints (:func:`kkt_certificate`); ``method="auto"`` (default) takes the
IPM when ``K d <= AUTO_IPM_MAX_KD`` and the dual route otherwise, and the other one when
the first does not fit the memory budget
(:data:`~lintheory.svm._rows.MEMORY_BUDGET_BYTES`, every dense block being sized before
it is allocated) or stops without a solution:

``method="ipm"``
    A working set of (sample, competitor) constraints, each round solved by a dense
    primal–dual interior-point method (Mehrotra predictor–corrector) written for this
    problem.  Its Newton systems use the Kronecker structure of the constraint rows
    :math:`a_{ik} = (e_{y_i} - e_k)\otimes x_i`: the primal normal matrix
    :math:`I + A^\top D A = I + \sum_i G_i \otimes x_i x_i^\top` (``Kd × Kd``) is built
    from ``K(K+1)`` Gram products of ``X``, and when the set holds fewer than ``Kd``
    constraints the dual matrix :math:`A A^\top + D^{-1}` (``m × m``) is factorised
    instead.  After each round every constraint is checked; the set is shrunk to the
    support plus the nearly active constraints and the most violated ones are added
    (all of them, up to ``K d``, when most are violated).
    The rounds stop when none is violated.  Non-separable data are detected by a
    Farkas certificate (multipliers :math:`z \ge 0` with :math:`\|A^\top z\|/\sum z`
    below :data:`INFEASIBLE_REL_MARGIN` ``· max ||x_i||``, which bounds the normalised
    margin of every ``W``).  Fast when ``K d`` is small (its cost per iteration grows like
    :math:`(Kd)^3`), whatever ``n``.
``method="dual"``
    :mod:`lintheory.svm._dual`: L-BFGS-B on the Crammer–Singer dual over a working set
    (``W = A^\top\lambda`` in the span of the samples; every product is one ``n × K × d``
    matrix product, no ``Kd × Kd`` block), finished exactly on the support by a dense
    Cholesky or block-preconditioned CG solve of :math:`A_S A_S^\top\mu = 1` plus
    primal–dual active-set corrections.  Fast for pre-trained features (``d`` comparable
    to ``n`` or larger, many classes); a support that nearly fills ``(K-1) d`` (ill
    conditioned) is handed to the IPM.
``method="working_set"``
    The same working-set idea with Clarabel solving each reduced QP (an independent
    cross-check of the IPM; several times slower at ``n (K-1) ≳ 10^4``).
``method="cvxpy"``
    One generic cvxpy/Clarabel QP over all constraints (slow for large ``n K``; the
    independent cross-check of both).

A reduced problem's solution that satisfies every constraint is optimal for the full
problem (the dropped constraints get zero multipliers).  Solutions are accepted only
when the solver reports an optimal status (the IPM: relative residuals below
:data:`IPM_TOL`) and the KKT certificate is below ``kkt_tol``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve

from .._threads import limited_threads
from .._validation import as_class_labels, as_count, as_float_array, renamed_kwargs
from ..errors import InfeasibleError, InputError, SolverError
from ._dual import dual_working_set
from ._rows import MEMORY_BUDGET_BYTES, _Rows, gram_bytes, normal_primal_bytes  # noqa: F401 (_Rows: tests)
from ._rows import all_margins as _all_margins
from .margins import check_certificate_inputs, sample_margins
from .._interrupts import solver_interrupts_raise

__all__ = ["SVMResult", "hard_margin_svm", "kkt_certificate", "distance_to_optimum_bound"]

#: constraint-violation tolerance used to grow the working sets
_WS_FEAS_TOL = 1e-9
#: relative primal/dual/gap residual at which the dense IPM stops (tight: the distance
#: to the optimum scales like its square root, and degenerate constraints need it)
IPM_TOL = 1e-12
#: residual of the intermediate working-set rounds (only the last one needs IPM_TOL)
IPM_ROUND_TOL = 1e-8
#: a stalled IPM is passed on (to the KKT certificate) only below this residual
IPM_ACCEPT_TOL = 1e-7
#: most IPM iterations per working-set round
IPM_MAX_ITER = 100
#: fraction of the step to the boundary (Mehrotra)
IPM_STEP_FRACTION = 0.99
#: non-separable when IPM multipliers bound every normalised margin by this times max ||x_i||
INFEASIBLE_REL_MARGIN = 1e-9
#: rounds of the IPM working set, and the fewest constraints it adds per round
WS_MAX_ROUNDS = 200
WS_MIN_ADD = 64
#: constraints with margin below 1 + this stay in the working set even with zero multiplier
WS_KEEP_SLACK = 0.05
#: add every violated constraint when at least this fraction of all constraints is violated,
#: but at most WS_ADD_ALL_MAX_KD * K d of them (issue 14: adding all 52 032 violated
#: constraints at n = 2000, d = 1024, K = 10 made the set larger than Kd)
WS_ADD_ALL_FRACTION = 0.5
WS_ADD_ALL_MAX_KD = 1
#: largest active set the polishing step solves by dense least squares
POLISH_MAX_DENSE = 2000
#: Clarabel's gap and feasibility tolerances in ``method="working_set"`` and ``"cvxpy"``
#: (its defaults, 1e-8, leave up to ~1e-5 relative error in W since ||W - W*|| scales like
#: sqrt(duality gap); 1e-12 makes Clarabel stall on some instances)
CLARABEL_TOL = 1e-10
CVXPY_CLARABEL_TOLERANCES = {"tol_gap_abs": CLARABEL_TOL, "tol_gap_rel": CLARABEL_TOL, "tol_feas": CLARABEL_TOL}
#: BLAS threads inside ``hard_margin_svm`` (None: leave the library default)
BLAS_THREADS = 1
#: Clarabel linear-system backend ("faer" is a supernodal LDL, much faster here than "qdldl")
DIRECT_SOLVE_METHOD = "faer"


@dataclass
class SVMResult:
    """The hard-margin SVM and its optimality certificate.

    Attributes
    ----------
    W : ndarray of shape (n_classes, n_features)
        The SVM; row ``j`` belongs to ``classes[j]``.
    classes : ndarray of shape (n_classes,)
        The label of each row.
    margin : float
        :math:`C(W; D)` (1 up to solver accuracy).
    normalized_margin : float
        :math:`C(W; D) / \\|W\\|_F`.
    status : str
        ``"OPTIMAL"`` (anything else raises).
    kkt_residual : float
        Largest of the relative stationarity, primal-feasibility, dual-feasibility and
        complementary-slackness residuals over all constraints.
    dual : ndarray of shape (n_samples, n_classes)
        Multipliers :math:`\\alpha_{ik}` (zero in the column of the true class).
    n_support : int
        Samples with a positive multiplier.
    method, solver : str
    iterations : int
        Working-set rounds (1 for ``method="cvxpy"``).
    kkt : dict
        The individual residuals.
    solver_iterations : int
        Interior-point iterations summed over the rounds (``method="ipm"``), L-BFGS-B
        iterations (``method="dual"``); 0 otherwise.
    x_scale : float
        The power of two ``c`` (about ``max_i ||x_i||``) for which the routes solved the problem
        of ``X / c``: ``W = W_c / c`` and ``dual = dual_scaled / c**2``.
    dual_scaled : ndarray of shape (n_samples, n_classes)
        The multipliers of the problem of ``X / x_scale`` (finite at any scale of ``X``; the
        certificate is computed from them).  ``dual`` over- or underflows when ``x_scale**2``
        leaves the float range (``X`` beyond about ``1e±150``).
    """

    W: np.ndarray
    classes: np.ndarray
    margin: float
    normalized_margin: float
    status: str
    kkt_residual: float
    dual: np.ndarray = field(repr=False)
    n_support: int = 0
    method: str = "working_set"
    solver: str = "CLARABEL"
    iterations: int = 1
    kkt: dict = field(default_factory=dict)
    solver_iterations: int = 0
    x_scale: float = 1.0
    dual_scaled: np.ndarray | None = field(default=None, repr=False)


def kkt_certificate(W, X, y, dual) -> dict:
    r"""KKT residuals of ``W`` with multipliers ``dual`` for the hard-margin SVM.

    With :math:`m_{ik} = (e_{y_i}-e_k)^\top W x_i`:

    * stationarity: :math:`\|W - \sum_{ik}\alpha_{ik}(e_{y_i}-e_k)x_i^\top\|_F / \|W\|_F`;
    * primal feasibility: :math:`\max(0, 1 - \min_{ik} m_{ik})`;
    * dual feasibility: :math:`\max(0, -\min \alpha) / \sigma`;
    * complementary slackness: :math:`\max_{ik} \alpha_{ik} |m_{ik} - 1| / \sigma`,

    with :math:`\sigma = \sum_{ik}|\alpha_{ik}|` (:math:`= \|W\|_F^2` at the optimum).  Every
    residual is invariant under :math:`X \to cX` (then :math:`W \to W/c`,
    :math:`\alpha \to \alpha/c^2`), and :math:`2 n (K-1)` times the complementarity bounds
    the relative duality gap.

    Parameters
    ----------
    W : ndarray of shape (K, d)
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Row indices of ``W`` (0..K-1).
    dual : ndarray of shape (n, K)

    Returns
    -------
    dict
        The four residuals and their maximum under ``"max"``.
    """
    W, X, y, dual = check_certificate_inputs(W, X, y, dual)
    n, K = dual.shape
    rows = np.arange(n)
    A = dual.copy()
    A[rows, y] = 0.0
    # sum_ik alpha_ik (e_y - e_k) x_i^T  =  (E_y * alpha_sum - A)^T X
    coef = -A
    coef[rows, y] = A.sum(axis=1)
    recon = coef.T @ X
    wn = max(float(np.linalg.norm(W)), 1e-300)
    S = X @ W.T
    M = S[rows, y][:, None] - S
    M[rows, y] = 1.0  # the true class is no constraint: neutral value
    sigma = float(np.abs(A).sum())
    sigma = sigma if sigma > 0.0 else 1.0
    res = {
        "stationarity": float(np.linalg.norm(W - recon) / wn),
        "primal_feasibility": float(max(0.0, 1.0 - M.min())),
        "dual_feasibility": float(max(0.0, -A.min())) / sigma,
        "complementary_slackness": float(np.max(A * np.abs(M - 1.0))) / sigma,
    }
    res["max"] = max(res.values())
    return res


def distance_to_optimum_bound(W, X, y, dual) -> float:
    r"""A certified upper bound on :math:`\|W - W^{SVM}\|_F` from a primal–dual pair.

    Let :math:`c = \min_{i,k\ne y_i} (e_{y_i}-e_k)^\top W x_i`; for :math:`c > 0` the scaled
    :math:`\tilde W = W / \min(c, 1)` is feasible.  Strong convexity of
    :math:`f(W) = \tfrac12\|W\|_F^2` and weak duality give

    .. math::

        \|W - W^{SVM}\|_F \le \|W - \tilde W\|_F
        + \sqrt{2\,\big(f(\tilde W) - g(\alpha^+)\big)},\qquad
        g(\alpha) = \sum_{ik}\alpha_{ik} - \tfrac12\Big\|\sum_{ik}\alpha_{ik}(e_{y_i}-e_k)x_i^\top\Big\|_F^2,

    with :math:`\alpha^+ = \max(\alpha, 0)` (off-class entries).  A KKT residual of
    :math:`\varepsilon` only bounds the distance by :math:`O(\sqrt\varepsilon)`, which is why
    two solvers that both pass ``kkt_tol = 1e-6`` can differ by ~1e-5 in ``W``.

    Parameters
    ----------
    W : ndarray of shape (K, d)
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Row indices of ``W`` (0..K-1).
    dual : ndarray of shape (n, K)

    Returns
    -------
    float
        The bound (``inf`` when ``W`` has a non-positive margin).

    Examples
    --------
    >>> import numpy as np
    >>> res = hard_margin_svm(np.eye(2), [0, 1])
    >>> distance_to_optimum_bound(res.W, np.eye(2), [0, 1], res.dual) < 1e-6
    True
    """
    W, X, y, dual = check_certificate_inputs(W, X, y, dual)
    n, K = dual.shape
    rows = np.arange(n)
    A = np.maximum(np.asarray(dual, dtype=np.float64), 0.0)
    A[rows, y] = 0.0
    coef = -A
    coef[rows, y] = A.sum(axis=1)
    M = _all_margins(W, X, y)
    c = float(M.min())
    if not c > 0.0:
        return float("inf")
    s = 1.0 / min(c, 1.0)
    Wf = s * W
    # f(Wf) - g(A) = 1/2 ||Wf - A^T a||^2 + sum_ik a_ik (m_ik(Wf) - 1): two non-negative
    # terms, free of the cancellation in 1/2||Wf||^2 - (sum a - 1/2||A^T a||^2)
    M[rows, y] = 1.0
    gap = 0.5 * float(np.linalg.norm(Wf - coef.T @ X) ** 2) + float(np.sum(A * (s * M - 1.0)))
    gap = max(gap, 0.0)
    return float(np.linalg.norm(W - Wf)) + float(np.sqrt(2.0 * gap))


def _prepare(X, y, n_classes):
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise InputError("X has no samples")
    if n_classes is not None:
        n_classes = as_count(n_classes, "K", minimum=2)
    # any sortable labels (y * 10, strings); with K given, row indices in [0, K)
    classes, yi = as_class_labels(y, X.shape[0], K=n_classes)
    if n_classes is None and classes.size < 2:
        raise InputError(f"need at least 2 classes, got labels {classes.tolist()}")
    # exact test, no norm: ||x|| underflows to 0 for entries below 1e-154 (issue 13)
    zero = np.flatnonzero(~np.any(X != 0.0, axis=1))
    if zero.size:
        raise InfeasibleError(
            f"data are not linearly separable: sample {int(zero[0])} is the zero vector, "
            "so its margin is 0 < 1 for every W", status="PrimalInfeasible")
    return X, yi, classes


def _constraint_rows(X, yi, pairs, K):
    """Rows -(e_y - e_k) ⊗ x_i of Clarabel's ``A`` (so that ``-a^T w + s = -1``, s >= 0)."""
    i, k = pairs[:, 0], pairs[:, 1]
    n_c, d = len(i), X.shape[1]
    cols_pos = yi[i][:, None] * d + np.arange(d)[None, :]
    cols_neg = k[:, None] * d + np.arange(d)[None, :]
    data = np.concatenate([-X[i], X[i]], axis=1).ravel()
    cols = np.concatenate([cols_pos, cols_neg], axis=1).ravel()
    rows = np.repeat(np.arange(n_c), 2 * d)
    return sparse.csc_matrix((data, (rows, cols)), shape=(n_c, K * d))


def _clarabel_qp(X, yi, pairs, K):
    import clarabel

    d = X.shape[1]
    nv = K * d
    P = sparse.identity(nv, format="csc")
    q = np.zeros(nv)
    A = _constraint_rows(X, yi, pairs, K)
    b = -np.ones(len(pairs))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = CLARABEL_TOL
    settings.tol_feas = CLARABEL_TOL
    settings.direct_solve_method = DIRECT_SOLVE_METHOD
    solver = clarabel.DefaultSolver(P, q, A, b, [clarabel.NonnegativeConeT(len(pairs))], settings)
    sol = solver.solve()
    status = str(sol.status)
    if status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
        raise InfeasibleError("data are not linearly separable by a multiclass linear classifier "
                              "without bias (hard-margin SVM infeasible)", status=status)
    if status != "Solved":
        raise SolverError("Clarabel did not solve the hard-margin SVM QP", status=status)
    return np.asarray(sol.x).reshape(K, d), np.asarray(sol.z)


def _working_set(X, yi, K, max_rounds=50):
    n, d = X.shape
    rows = np.arange(n)
    # Initial guess: least squares onto centred one-hot targets, then the strongest
    # competitor of the samples with the smallest margins.
    T = np.eye(K)[yi] - 1.0 / K
    W0 = np.linalg.lstsq(X, T, rcond=None)[0].T
    S = X @ W0.T
    M = S[rows, yi][:, None] - S
    M[rows, yi] = np.inf
    comp = M.argmin(axis=1)
    m0 = min(n, max(2 * K + 2, (K * d) // 4))
    order = np.argsort(M[rows, comp])[:m0]
    active = {(int(i), int(comp[i])) for i in order}
    for it in range(1, max_rounds + 1):
        pairs = np.array(sorted(active), dtype=np.int64)
        W, z = _clarabel_qp(X, yi, pairs, K)
        S = X @ W.T
        M = S[rows, yi][:, None] - S
        M[rows, yi] = np.inf
        viol = M < 1.0 - _WS_FEAS_TOL
        if not viol.any():
            dual = np.zeros((n, K))
            dual[pairs[:, 0], pairs[:, 1]] = z
            return W, dual, it
        # Grow by a budget of the most violated constraints (one per sample): adding
        # every violated constraint at once makes the QP several times larger than its
        # support set, and the QP's cost grows with its number of constraints.
        vi = np.flatnonzero(viol.any(axis=1))
        worst = M[vi].argmin(axis=1)
        budget = max(2 * K, len(active) // 2)
        pick = np.argsort(M[vi, worst])[:budget]
        active.update((int(vi[j]), int(worst[j])) for j in pick)
    raise SolverError(f"working set did not close within {max_rounds} rounds", status="MaxRounds")


def _steplen(v, dv):
    neg = dv < 0.0
    return min(1.0, float((-v[neg] / dv[neg]).min(initial=np.inf)))


def _regularised_cholesky(M):
    """Cholesky factor of ``M``, adding a tiny ridge if rounding broke positive definiteness
    (near the solution, or along an infeasible problem's Farkas ray, ``M`` is nearly singular;
    the ridge only makes the Newton step inexact, the residuals stay exact)."""
    scale = float(np.abs(np.diag(M)).max())
    for ridge in (0.0, 1e-14, 1e-12, 1e-10, 1e-8):
        try:
            if ridge:
                M = M.copy()
                M[np.diag_indices_from(M)] += ridge * scale
            return cho_factor(M, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    return None


def _ipm(rows: _Rows, x_scale: float, tol: float, start=None):
    r"""Mehrotra predictor–corrector IPM for :math:`\min \tfrac12\|w\|^2` s.t. :math:`A w \ge 1`.

    Newton systems are solved with a dense Cholesky factorisation, in whichever space is
    smaller: the primal normal matrix :math:`I + A^\top D A` (``Kd × Kd``) or the dual one
    :math:`A A^\top + D^{-1}` (``m × m``, with :math:`w = A^\top z` kept exactly).
    Returns ``(W, s, z, iterations)`` once the relative primal, dual and gap residuals are
    below ``tol`` (``start``: resume from such a triple); raises :class:`InfeasibleError` on
    a Farkas certificate and :class:`SolverError` when it stalls or hits :data:`IPM_MAX_ITER`.
    """
    K, d, m = rows.K, rows.d, rows.m
    dual_mode = m < K * d
    # every dense block is sized before it is allocated: take the other space when one
    # does not fit, and give up (the caller routes elsewhere) when neither does
    if (gram_bytes(m) if dual_mode else normal_primal_bytes(K, d)) > MEMORY_BUDGET_BYTES:
        dual_mode = not dual_mode
        if (gram_bytes(m) if dual_mode else normal_primal_bytes(K, d)) > MEMORY_BUDGET_BYTES:
            raise SolverError(
                f"IPM Newton systems of {m} constraints and {K * d} variables exceed the memory "
                f"budget ({MEMORY_BUDGET_BYTES / 1e9:.1f} GB): min({gram_bytes(m) / 1e9:.2f}, "
                f"{normal_primal_bytes(K, d) / 1e9:.2f}) GB", status="MemoryBudget")
    Q = rows.gram() if dual_mode else None
    if start is None:
        s = np.ones(m)
        z = np.ones(m)
        W = rows.apply_t(z) if dual_mode else np.zeros((K, d))
    else:
        W, s, z = start
    best, stall = (np.inf, None), 0
    for it in range(IPM_MAX_ITER + 1):
        rp = rows.apply(W) - s - 1.0
        rd = W - rows.apply_t(z)
        gap = float(s @ z)
        zsum = float(z.sum())
        err = max(float(np.abs(rp).max()), float(np.linalg.norm(rd)) / (1.0 + float(np.linalg.norm(W))),
                  gap / max(1.0, zsum))
        # Farkas: z >= 0 with A^T z ~ 0 proves that no W has a normalised margin above
        # ||A^T z|| / sum(z) (since 1 <= z^T A W / sum z <= ||A^T z|| ||W|| / sum z).
        farkas = float(np.linalg.norm(rows.apply_t(z))) / zsum
        if farkas <= INFEASIBLE_REL_MARGIN * x_scale:
            raise InfeasibleError(
                "data are not linearly separable by a multiclass linear classifier without bias: "
                f"IPM multipliers certify that every W has normalised margin <= "
                f"{farkas / x_scale:.2e} * max_i ||x_i||; hard-margin SVM infeasible", status="PrimalInfeasible")
        if err < best[0]:
            best, stall = (err, (W, s, z, it)), 0
        else:
            stall += 1
        if err <= tol:
            return best[1]
        # Stalling near rounding level ends the solve; far from it (an infeasible problem
        # diverging towards its Farkas ray) the iterations go on until the Farkas test fires.
        if (stall >= 3 and best[0] <= IPM_ACCEPT_TOL) or it == IPM_MAX_ITER:
            break
        D = z / s
        if dual_mode:
            M = Q.copy()
            M[np.diag_indices_from(M)] += s / z
        else:
            M = rows.normal_primal(D)
        cf = _regularised_cholesky(M)
        if cf is None:
            break

        def newton(rc):
            if dual_mode:  # (A A^T + S/Z) dz = A rd - rp - rc/z ; dw = A^T dz - rd
                dz = cho_solve(cf, rows.apply(rd) - rp - rc / z, check_finite=False)
                dW = rows.apply_t(dz) - rd
            else:  # (I + A^T D A) dw = -rd - A^T (D rp + rc/s)
                rhs = -rd - rows.apply_t(D * rp + rc / s)
                dW = cho_solve(cf, rhs.ravel(), check_finite=False).reshape(K, d)
                dz = -D * (rows.apply(dW) + rp) - rc / s
            return dW, (-rc - s * dz) / z, dz

        mu = gap / m
        dWa, dsa, dza = newton(s * z)
        a = min(_steplen(s, dsa), _steplen(z, dza))
        sigma = (float((s + a * dsa) @ (z + a * dza)) / m / mu) ** 3
        dW, ds, dz = newton(s * z + dsa * dza - sigma * mu)
        a = IPM_STEP_FRACTION * min(_steplen(s, ds), _steplen(z, dz))
        W, s, z = W + a * dW, s + a * ds, z + a * dz
    if best[0] <= IPM_ACCEPT_TOL:  # stalled at rounding level: the KKT certificate decides
        return best[1]
    raise SolverError(f"dense IPM stopped at relative residual {best[0]:.2e} after {it} iterations",
                      status="Stalled" if it < IPM_MAX_ITER else "MaxIter")


def _polish(X, yi, pairs, K, W, z):
    r"""Exact solution on the IPM's active set, when it is consistent.

    With :math:`S = \{z_c > s_c\}`, the equality-constrained problem
    :math:`\min \tfrac12\|w\|^2` s.t. :math:`A_S w = 1` has :math:`w = A_S^\top\lambda`,
    :math:`A_S A_S^\top \lambda = 1` (least squares, minimum norm, when the active rows are
    dependent).  If :math:`\lambda \ge 0` and no constraint is violated, :math:`(w, \lambda)`
    satisfies the KKT conditions to rounding error (the IPM's own point only to
    :data:`IPM_TOL`, and :math:`\|W - W^*\|` scales like the square root of the duality
    gap).  Otherwise the IPM point is kept.
    """
    rows = _Rows(X, yi, pairs, K)
    slack = rows.apply(W) - 1.0
    S = np.flatnonzero(z > np.maximum(slack, 0.0))
    if S.size == 0 or gram_bytes(S.size) > MEMORY_BUDGET_BYTES:  # no polish past the budget
        return W, z
    sub = _Rows(X, yi, pairs[S], K)
    Q = sub.gram()
    ones = np.ones(S.size)
    lam = None
    try:
        lam = cho_solve(cho_factor(Q, lower=True, check_finite=False), ones, check_finite=False)
    except np.linalg.LinAlgError:
        pass
    if (lam is None or lam.min() < 0.0) and S.size <= POLISH_MAX_DENSE:
        # dependent active rows (e.g. classes absent from y compete symmetrically)
        lam = np.linalg.lstsq(Q, ones, rcond=None)[0]
    if lam is None or lam.min() < 0.0:
        return W, z
    Wp = sub.apply_t(lam)
    if (np.abs(sub.apply(Wp) - 1.0).max() > _WS_FEAS_TOL
            or _all_margins(Wp, X, yi).min() < 1.0 - _WS_FEAS_TOL):
        return W, z
    zp = np.zeros_like(z)
    zp[S] = lam
    return Wp, zp


def _ipm_working_set(X, yi, K, active0=None):
    """Working set of (sample, competitor) pairs, each round solved by :func:`_ipm`.

    ``active0`` (``n × K`` bool): the first working set (default: from a least-squares
    guess).  Returns ``(W, dual, rounds, ipm_iterations)`` once no constraint outside the set
    is violated by more than :data:`_WS_FEAS_TOL`; the caller certifies KKT on all of them.
    """
    n, d = X.shape
    n_con = n * (K - 1)
    x_scale = float(np.linalg.norm(X, axis=1).max())
    if active0 is not None:
        active = np.array(active0, dtype=bool)
        active[np.arange(n), yi] = False
    else:
        # Initial guess: least squares onto centred one-hot targets (normal equations,
        # cheap); the strongest competitor of each of the samples with the smallest margins
        # seeds the set.
        T = np.eye(K)[yi] - 1.0 / K
        G = X.T @ X
        G[np.diag_indices_from(G)] += 1e-8 * max(float(np.trace(G)) / d, 1e-300)
        W0 = np.linalg.solve(G, X.T @ T).T
        M = _all_margins(W0, X, yi)
        comp = M.argmin(axis=1)
        order = np.argsort(M[np.arange(n), comp])[:min(n, max(2 * K + 2, (K * d) // 4))]
        active = np.zeros((n, K), dtype=bool)
        active[order, comp[order]] = True
    total_it = 0
    for rnd in range(1, WS_MAX_ROUNDS + 1):
        pairs = np.argwhere(active)
        rows = _Rows(X, yi, pairs, K)
        # Rounds are solved to IPM_ROUND_TOL; the one that closes the set is resumed to
        # IPM_TOL, polished, and checked again on every constraint.
        W, s, z, it = _ipm(rows, x_scale, IPM_ROUND_TOL)
        total_it += it
        M = _all_margins(W, X, yi)
        viol = (M < 1.0 - _WS_FEAS_TOL) & ~active
        if not viol.any():
            W, s, z, it = _ipm(rows, x_scale, IPM_TOL, start=(W, s, z))
            total_it += it
            W, z = _polish(X, yi, pairs, K, W, z)
            M = _all_margins(W, X, yi)
            viol = (M < 1.0 - _WS_FEAS_TOL) & ~active
        if not viol.any():
            dual = np.zeros((n, K))
            dual[pairs[:, 0], pairs[:, 1]] = z
            return W, dual, rnd, total_it
        # Shrink to the support of this round's solution plus the nearly active
        # constraints (dropping zero-multiplier constraints keeps the reduced optimum, and
        # adding a violated one raises the objective strictly, so the rounds cannot
        # cycle); then add the most violated constraints, at most as many as the support
        # holds, or all of them when most constraints are violated (the initial guess
        # was uninformative: one large round is cheaper than many small ones).
        slack = rows.apply(W) - 1.0
        support = z > np.maximum(slack, 0.0)
        keep = support | (slack < WS_KEEP_SLACK)
        active[:] = False
        active[pairs[keep, 0], pairs[keep, 1]] = True
        ii, kk = np.nonzero(viol)
        budget = max(2 * K, int(support.sum()), WS_MIN_ADD)
        if len(ii) >= WS_ADD_ALL_FRACTION * n_con:
            # an uninformative guess: one large round, but never past K d rows (the Newton
            # systems' size; beyond it rows add cost and no information)
            budget = max(budget, min(len(ii), WS_ADD_ALL_MAX_KD * K * d))
        pick = np.argsort(M[ii, kk])[:budget]
        active[ii[pick], kk[pick]] = True
    raise SolverError(f"IPM working set did not close within {WS_MAX_ROUNDS} rounds", status="MaxRounds")


def _cvxpy_full(X, yi, K, solver="CLARABEL"):
    import cvxpy as cp

    n, d = X.shape
    rows = np.arange(n)
    W = cp.Variable((K, d))
    S = X @ W.T
    true = cp.sum(cp.multiply(np.eye(K)[yi], S), axis=1)
    mask = np.ones((n, K), dtype=bool)
    mask[rows, yi] = False
    ii, kk = np.nonzero(mask)
    sel = sparse.csr_matrix((np.ones(len(ii)), (np.arange(len(ii)), ii * K + kk)), shape=(len(ii), n * K))
    margins = cp.reshape(true, (n, 1), order="C") @ np.ones((1, K)) - S
    con = sel @ cp.vec(margins, order="C") >= 1
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W)), [con])
    try:
        opts = CVXPY_CLARABEL_TOLERANCES if solver == "CLARABEL" else {}
        with solver_interrupts_raise():  # SCS takes Ctrl-C for itself: give it back
            prob.solve(solver=solver, **opts)
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy/{solver} failed: {exc}", status="SolverError") from None
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        raise InfeasibleError("data are not linearly separable by a multiclass linear classifier "
                              "without bias (hard-margin SVM infeasible)", status=prob.status)
    if prob.status != cp.OPTIMAL:
        raise SolverError(f"cvxpy/{solver} did not solve the hard-margin SVM", status=prob.status)
    dual = np.zeros((n, K))
    dual[ii, kk] = np.asarray(con.dual_value).ravel()
    return np.asarray(W.value), dual


def _blas_threads(n):
    """Limit BLAS threads to ``n`` (``None``: leave them): the matrices here are small, so extra
    threads gain little and spin badly when the cores are shared."""
    return nullcontext() if n is None else limited_threads(n, torch=False)



@renamed_kwargs(n_classes="K")
def hard_margin_svm(X, y, K=None, *, method: str = "auto",
                    kkt_tol: float = 1e-6) -> SVMResult:
    r"""The exact multiclass hard-margin SVM (Crammer–Singer, no bias), problem (3).

    .. math::

        W^{SVM} = \arg\min_W \tfrac12\|W\|_F^2 \ \text{ s.t. }\ C(W; D) \ge 1 .

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Samples as rows (the paper uses columns: pass ``X_paper.T``).
    y : array_like of shape (n_samples,)
        Labels: any sortable values (ints such as ``y * 10``, strings), as scikit-learn accepts.
    K : int, optional
        ``None``: one row per class present, in sorted label order (``.classes``).  ``K``: K rows
        indexed by label, the labels being row indices in ``[0, K)`` (classes absent from ``y``
        still compete).  ``n_classes`` is a deprecated alias.
    method : {"auto", "ipm", "dual", "working_set", "cvxpy"}
        See the module docstring.  All are exact.  ``"auto"`` takes ``"ipm"`` when
        ``K d <= AUTO_IPM_MAX_KD`` (few features: its dense Newton systems are small) and
        ``"dual"`` otherwise (pre-trained features, many classes), and the other of the two
        when the first does not fit :data:`~lintheory.svm._rows.MEMORY_BUDGET_BYTES` or
        stops without a solution; ``res.method`` names the route that answered
        (``benchmarks/bench_svm.py`` times both against scikit-learn).  ``"working_set"``
        and ``"cvxpy"`` are independent Clarabel cross-checks.  Every route solves for
        ``X / c`` with ``c`` a power of two near ``max_i ||x_i||`` (``res.x_scale``) and
        rescales, so the result does not depend on the scale of ``X`` (from ``1e-300`` to
        ``1e300``).
    kkt_tol : float
        The solution is accepted only if its KKT residual over all constraints
        (:func:`kkt_certificate`) is below this value.  A residual :math:`\varepsilon`
        bounds :math:`\|W - W^{SVM}\|` only by :math:`O(\sqrt\varepsilon)`; use
        :func:`distance_to_optimum_bound` for a certified distance.

    Returns
    -------
    SVMResult
        With ``.W`` (K, d), ``.margin``, ``.status``, ``.kkt_residual`` and ``.dual`` (n, K).

    Raises
    ------
    InfeasibleError
        The data are not separable (e.g. a zero sample, one ``x`` with two labels, or a
        sample inside the cone of another class); the ``"ipm"`` and ``"dual"`` messages bound
        the normalised margin of every ``W`` by their Farkas multipliers.
    SolverError
        The solver did not report an optimal status (the IPM: ``"Stalled"``,
        ``"MaxIter"``, ``"MaxRounds"``; both: ``"MemoryBudget"`` when their dense blocks
        would exceed the budget), or the KKT check failed (``"KKT_FAILED"``).
    InputError
        Malformed input (NaN, mismatched lengths, labels outside ``[0, K)``,
        unknown ``method``).

    Examples
    --------
    >>> import numpy as np
    >>> res = hard_margin_svm(np.eye(3), [0, 1, 2])
    >>> res.status, round(res.margin, 6), res.kkt_residual < 1e-9
    ('OPTIMAL', 1.0, True)
    >>> hard_margin_svm(np.array([[1.0, 2.0], [1.0, 2.0]]), [0, 1])
    Traceback (most recent call last):
    ...
    lintheory.errors.InfeasibleError: data are not linearly separable ...
    """
    X, yi, classes = _prepare(X, y, K)
    K = len(classes)
    if method not in _METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    # Every route solves the problem for X / c, c = 2^e with max ||x_i / c|| in [1/2, 1)
    # (W -> c W, alpha -> c^2 alpha): the solvers' absolute tolerances and infeasibility
    # tests then mean the same at any scale of X, dividing by a power of two is exact, and
    # e is found without squaring X (which over/underflows beyond 1e+-154).  The
    # certificate is computed on the scaled problem (its residuals are scale invariant).
    e = _unit_scale_exponent(X)
    Xs = np.ldexp(X, -e)
    with _blas_threads(BLAS_THREADS):
        W, dual, rounds, inner, used, solver = _solve_scaled(Xs, yi, K, method)
        kkt = kkt_certificate(W, Xs, yi, dual)
        marg = float(sample_margins(W, Xs, yi).min())
    if not kkt["max"] <= kkt_tol:
        raise SolverError(f"KKT certificate failed: residuals {kkt}", status="KKT_FAILED")
    with np.errstate(over="ignore", under="ignore"):
        W_out = np.ldexp(W, -e)  # the SVM of X is that of X / 2^e divided by 2^e
        dual_out = np.ldexp(dual, -2 * e)
        x_scale = float(np.ldexp(1.0, e))
        nmargin = float(np.ldexp(marg / float(np.linalg.norm(W)), e))
    return SVMResult(W=W_out, classes=classes, margin=marg,
                     normalized_margin=nmargin, status="OPTIMAL",
                     kkt_residual=kkt["max"], dual=dual_out,
                     n_support=int(np.count_nonzero(dual.max(axis=1) > 1e-8 * max(dual.max(), 1e-300))),
                     method=used, solver=solver, iterations=rounds, kkt=kkt,
                     solver_iterations=inner, x_scale=x_scale, dual_scaled=dual)


_METHODS = ("auto", "ipm", "dual", "working_set", "cvxpy")
#: ``method="auto"`` takes the IPM when K d is at most this (measured in
#: benchmarks/bench_svm.py: the IPM is faster at K d = 640, the dual route at K d = 2560)
AUTO_IPM_MAX_KD = 1280
_SOLVER_NAMES = {"ipm": "dense Mehrotra IPM (numpy/LAPACK)",
                 "dual": "L-BFGS-B dual working set + exact active-set finish (scipy)"}


def _unit_scale_exponent(X) -> int:
    """``e`` with ``max_i ||x_i|| / 2^e`` in ``[1/2, 1)``, computed without over- or underflow."""
    a = float(np.abs(X).max())
    if a == 0.0:
        return 0
    ea = int(np.frexp(a)[1])
    X1 = np.ldexp(X, -ea)  # exact: max |X1| in [1/2, 1)
    return ea + int(np.frexp(float(np.sqrt(np.einsum("ij,ij->i", X1, X1).max())))[1])


def _run_route(route, Xs, yi, K):
    if route == "ipm":
        return (*_ipm_working_set(Xs, yi, K), "")
    try:
        return (*dual_working_set(Xs, yi, K), "")
    except SolverError as exc:
        if exc.status != "HandOver":
            raise
        # an ill-conditioned support (|S| near (K-1) d): its exact finish is the IPM's,
        # started on the support the dual route found (it raises MemoryBudget if its
        # Newton systems do not fit)
        W, dual, rounds, inner = _ipm_working_set(Xs, yi, K, active0=exc.active)
        return W, dual, exc.rounds + rounds, exc.iterations + inner, "; finished by the IPM on its support"


def _solve_scaled(Xs, yi, K, method):
    """Solve for the scaled data; returns ``(W, dual, rounds, inner, route, solver name)``."""
    n, d = Xs.shape
    if method == "working_set":
        W, dual, rounds = _working_set(Xs, yi, K)
        return W, dual, rounds, 0, method, "CLARABEL"
    if method == "cvxpy":
        W, dual = _cvxpy_full(Xs, yi, K)
        return W, dual, 1, 0, method, "CLARABEL (cvxpy)"
    if method != "auto":
        *out, note = _run_route(method, Xs, yi, K)
        return (*out, method, _SOLVER_NAMES[method] + note)
    first = "ipm" if K * d <= AUTO_IPM_MAX_KD else "dual"
    second = "dual" if first == "ipm" else "ipm"
    try:
        *out, note = _run_route(first, Xs, yi, K)
        return (*out, first, _SOLVER_NAMES[first] + note)
    except InfeasibleError:
        raise
    except SolverError as exc:
        # the other route, when its dense blocks fit (the IPM's are the K d x K d primal
        # normal matrix or the m x m dual one; the dual route has none)
        if second == "ipm" and normal_primal_bytes(K, d) > MEMORY_BUDGET_BYTES:
            raise
        try:
            *out, note = _run_route(second, Xs, yi, K)
        except SolverError as exc2:
            raise SolverError(f"{first} route: {exc}; {second} route: {exc2}",
                              status=exc2.status) from None
        return (*out, second, _SOLVER_NAMES[second] + note + f" (after {first}: {exc.status})")
