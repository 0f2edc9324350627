"""The exact multiclass hard-margin SVM (Crammer–Singer, no bias) and its KKT certificate.

Problem (3) of ``002_caa97dd52c787aec.txt``, samples as rows:

.. math::

    \\min_{W \\in \\mathbb R^{K\\times d}} \\tfrac12 \\|W\\|_F^2
    \\quad\\text{s.t.}\\quad (e_{y_i} - e_k)^\\top W x_i \\ge 1
    \\quad \\forall i,\\ \\forall k \\ne y_i .

Two exact routes:

``method="working_set"`` (default)
    Solve the QP with Clarabel on a small set of candidate constraints, check every
    one of the ``n (K-1)`` constraints on the result, add the violated ones, repeat.
    A solution of the reduced problem that satisfies every constraint is optimal for
    the full problem (the dropped constraints get zero multipliers), and the returned
    KKT certificate is computed over **all** constraints.
``method="cvxpy"``
    One generic cvxpy/Clarabel QP over all constraints (slow for large ``n K``; the
    independent cross-check of the first route).

Both accept a solution only when the solver reports an optimal status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .._validation import as_float_array, as_labels
from ..errors import InfeasibleError, InputError, SolverError
from .margins import sample_margins

__all__ = ["SVMResult", "hard_margin_svm", "kkt_certificate"]

#: constraint-violation tolerance used to grow the working set
_WS_FEAS_TOL = 1e-9
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


def kkt_certificate(W, X, y, dual) -> dict:
    r"""KKT residuals of ``W`` with multipliers ``dual`` for the hard-margin SVM.

    With :math:`m_{ik} = (e_{y_i}-e_k)^\top W x_i`:

    * stationarity: :math:`\|W - \sum_{ik}\alpha_{ik}(e_{y_i}-e_k)x_i^\top\|_F / \|W\|_F`;
    * primal feasibility: :math:`\max(0, 1 - \min_{ik} m_{ik})`;
    * dual feasibility: :math:`\max(0, -\min \alpha)`;
    * complementary slackness: :math:`\max_{ik} \alpha_{ik} |m_{ik} - 1|`.

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
    res = {
        "stationarity": float(np.linalg.norm(W - recon) / wn),
        "primal_feasibility": float(max(0.0, 1.0 - M.min())),
        "dual_feasibility": float(max(0.0, -A.min())),
        "complementary_slackness": float(np.max(A * np.abs(M - 1.0))),
    }
    res["max"] = max(res.values())
    return res


def _prepare(X, y, n_classes):
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise InputError("X has no samples")
    y = as_labels(y, X.shape[0], n_classes)
    if n_classes is None:
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError(f"need at least 2 classes, got labels {classes.tolist()}")
        yi = np.searchsorted(classes, y)
    else:
        classes = np.arange(int(n_classes))
        yi = y
    zero = np.flatnonzero(np.linalg.norm(X, axis=1) == 0.0)
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
    settings.tol_gap_abs = settings.tol_gap_rel = 1e-10
    settings.tol_feas = 1e-10
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
        prob.solve(solver=solver)
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


def hard_margin_svm(X, y, n_classes=None, *, method: str = "working_set",
                    kkt_tol: float = 1e-6) -> SVMResult:
    r"""The exact multiclass hard-margin SVM (Crammer–Singer, no bias), problem (3).

    .. math::

        W^{SVM} = \arg\min_W \tfrac12\|W\|_F^2 \ \text{ s.t. }\ C(W; D) \ge 1 .

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Samples as rows (the paper uses columns: pass ``X_paper.T``).
    y : ndarray of shape (n_samples,)
        Integer labels.
    n_classes : int, optional
        ``None``: one row per class present, in sorted label order.  ``K``: K rows
        indexed by label (classes absent from ``y`` still compete).
    method : {"working_set", "cvxpy"}
        See the module docstring.  Both are exact.
    kkt_tol : float
        The solution is accepted only if its KKT residual over all constraints is below
        this value.

    Returns
    -------
    SVMResult
        With ``.W``, ``.margin``, ``.status``, ``.kkt_residual`` and ``.dual``.

    Raises
    ------
    InfeasibleError
        The data are not separable (e.g. a zero sample, or a class inside the cone of others).
    SolverError
        The solver did not report an optimal status, or the KKT check failed.
    InputError
        Malformed input (NaN, mismatched lengths, labels outside ``[0, n_classes)``).

    Examples
    --------
    >>> import numpy as np
    >>> res = hard_margin_svm(np.eye(3), [0, 1, 2])
    >>> res.status, round(res.margin, 6)
    ('OPTIMAL', 1.0)
    """
    X, yi, classes = _prepare(X, y, n_classes)
    K = len(classes)
    if method == "working_set":
        W, dual, rounds = _working_set(X, yi, K)
        solver = "CLARABEL"
    elif method == "cvxpy":
        W, dual = _cvxpy_full(X, yi, K)
        rounds, solver = 1, "CLARABEL (cvxpy)"
    else:
        raise InputError(f"method must be 'working_set' or 'cvxpy', got {method!r}")
    kkt = kkt_certificate(W, X, yi, dual)
    if not kkt["max"] <= kkt_tol:
        raise SolverError(f"KKT certificate failed: residuals {kkt}", status="KKT_FAILED")
    marg = sample_margins(W, X, yi).min()
    return SVMResult(W=W, classes=classes, margin=float(marg),
                     normalized_margin=float(marg / np.linalg.norm(W)), status="OPTIMAL",
                     kkt_residual=kkt["max"], dual=dual,
                     n_support=int(np.count_nonzero(dual.max(axis=1) > 1e-8 * max(dual.max(), 1e-300))),
                     method=method, solver=solver, iterations=rounds, kkt=kkt)
