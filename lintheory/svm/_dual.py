r"""The dual route of the exact hard-margin SVM: L-BFGS-B on a working set, finished exactly.

The Crammer–Singer dual of problem (3) (``002_caa97dd52c787aec.txt``), over the multipliers
:math:`\lambda_{ik} \ge 0` of the constraints :math:`a_{ik}^\top w \ge 1`,
:math:`a_{ik} = (e_{y_i} - e_k)\otimes x_i`, is the bound-constrained QP

.. math::

    \min_{\lambda \ge 0}\ q(\lambda) = \tfrac12 \|A^\top\lambda\|^2 - \mathbf 1^\top\lambda,
    \qquad W = A^\top \lambda = \Lambda^\top X ,

where row :math:`i` of :math:`\Lambda` (``n × K``) is :math:`(\sum_k\lambda_{ik}) e_{y_i} - \lambda_{i\cdot}`:
``W`` lies in the span of the samples (the representer theorem), and every product with
:math:`A` or :math:`A^\top` is one ``n × K × d`` matrix product, so no ``Kd × Kd`` or
``n(K-1) × n(K-1)`` block is ever formed.

1. **Working set.**  L-BFGS-B (scipy) minimises :math:`q` over the multipliers of a working
   set of (sample, competitor) pairs (initially the :data:`INIT_PER_SAMPLE` smallest-margin
   competitors of every sample under a least-squares guess).  Its cost per iteration grows
   with the number of variables, so the set is kept to a few times the support; every
   constraint outside it is checked on the current ``W``, and the most violated ones are
   added (at most :data:`WS_ADD_FRACTION` of the set per round).
2. **Exact finish.**  Once the support :math:`S = \{\lambda > 0\}` is stable, the
   equality-constrained problem :math:`\min\tfrac12\|w\|^2` s.t. :math:`A_S w = 1` is solved to
   rounding error: :math:`A_S A_S^\top \mu = 1`, :math:`w = A_S^\top\mu`, by a dense Cholesky
   factorisation when the ``|S| × |S|`` block is small (:data:`DENSE_FINISH_MAX`, within
   :data:`~lintheory.svm._rows.MEMORY_BUDGET_BYTES`), otherwise by conjugate gradients
   preconditioned with the exact per-sample blocks :math:`\|x_i\|^2 (I + \mathbf 1\mathbf 1^\top)`.
   Multipliers that come out negative leave :math:`S` and violated constraints join it
   (primal–dual active-set steps, at most :data:`FINISH_ROUNDS`).  When :math:`\mu \ge 0` and
   no constraint is violated, :math:`(w, \mu)` satisfies the KKT conditions to rounding
   error; the caller certifies them over all constraints.

On the supports of data with ``d`` comparable to ``n`` or larger (pre-trained features) the
matrix :math:`A_S A_S^\top` is well conditioned, and both stages take few products; when
``Kd`` is small and the support nearly fills it (``|S| \approx (K-1)d``), the interior-point
route of :mod:`lintheory.svm.solvers` is faster and ``method="auto"`` takes it.

Non-separable data make :math:`q` unbounded below; multipliers with
:math:`\|A^\top\lambda\| / \sum\lambda \le` ``INFEASIBLE_REL_MARGIN`` (scaled data,
``max ||x_i|| = 1``) certify that every ``W`` has a smaller normalised margin, and
:class:`~lintheory.errors.InfeasibleError` is raised.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import Bounds, minimize

from ..errors import InfeasibleError, SolverError
from ._rows import MEMORY_BUDGET_BYTES, _Rows, all_margins, dense_bytes, gram_bytes

__all__ = ["dual_working_set"]

#: competitors per sample in the first working set (the smallest margins under a least-squares guess)
INIT_PER_SAMPLE = 3
#: most constraints added per round, as a fraction of the working set (at least WS_MIN_ADD)
WS_ADD_FRACTION = 1.0
WS_MIN_ADD = 256
#: constraint-violation tolerance (scaled data): the finish accepts no constraint below 1 - this
FEAS_TOL = 1e-9
#: largest |A_S w - 1| accepted from the finish's linear solve
EQ_TOL = 1e-11
#: multipliers below -this * max(mu) make the finish drop their constraints
NEG_TOL = 1e-12
#: primal-dual active-set corrections in one finish
FINISH_ROUNDS = 8
#: largest support the finish solves by a dense Cholesky factorisation (above: PCG)
DENSE_FINISH_MAX = 3000
#: conjugate-gradient iterations of one finish solve, and its relative residual target
CG_MAX_ITER = 3000
CG_TOL = 1e-14
#: residual of the finish's first solves, which only decide the support (then CG_TOL); a
#: constraint or multiplier moves at that stage when it is off by more than LOOSE_MARGIN
CG_LOOSE_TOL = 1e-7
LOOSE_MARGIN = 1e-6
#: L-BFGS-B history, total iteration budget, and its own stopping tolerances (tight: the
#: exact finish, not L-BFGS-B, ends the solve)
LBFGS_MAXCOR = 10
LBFGS_MAX_ITER = 20000
LBFGS_FTOL = 1e-15
LBFGS_GTOL = 1e-12
#: a support that changed by at most this fraction over STABLE_ITERS iterations triggers a finish
STABLE_FRACTION = 2e-3
STABLE_ITERS = 4
#: rounds of the working set
MAX_ROUNDS = 60
#: after this many failed finishes on a support of at least HANDOVER_FILL (K-1) d constraints
#: (where A_S A_S^T is ill conditioned and active-set steps cycle) the route stops with
#: status "HandOver" and the caller finishes with the IPM on that support
HANDOVER_FAILS = 2
HANDOVER_FILL = 0.9
#: ... and after HANDOFF_ITERS L-BFGS-B iterations without a finish on a support of at most
#: HANDOFF_MAX_SUPPORT constraints (correlated features, e.g. ReLU features of digits:
#: L-BFGS-B converges slowly, while the IPM's m x m systems are small)
HANDOFF_ITERS = 100
HANDOFF_MAX_SUPPORT = 1500
#: non-separable when multipliers bound every normalised margin by this (scaled data)
INFEASIBLE_REL_MARGIN = 1e-9


def lbfgs_bytes(m: int) -> float:
    """Working memory of L-BFGS-B over ``m`` variables (history pairs plus a few vectors)."""
    return dense_bytes(m, copies=2 * LBFGS_MAXCOR + 12)


def _pcg(rows: _Rows, mu0, b, x2, tol=None):
    r"""Solve :math:`A_S A_S^\top \mu = b` by conjugate gradients from ``mu0``.

    Preconditioner: the per-sample diagonal blocks :math:`\|x_i\|^2 (I + \mathbf 1\mathbf 1^\top)`
    of :math:`A_S A_S^\top` (the ``p_i`` constraints of sample ``i`` share ``x_i`` and its true
    class), inverted exactly as :math:`(I - \mathbf 1\mathbf 1^\top/(1+p_i)) / \|x_i\|^2`.
    Returns ``(mu, relative residual, iterations)``.
    """
    li = rows.li
    p = np.bincount(li, minlength=rows.ns).astype(np.float64)
    inv_x2 = 1.0 / x2[li]
    inv_1p = 1.0 / (1.0 + p)

    def prec(r):
        s = np.bincount(li, r, rows.ns)
        return (r - (s * inv_1p)[li]) * inv_x2

    def op(v):
        return rows.apply(rows.apply_t(v))

    mu = mu0.copy()
    r = b - op(mu)
    bn = float(np.linalg.norm(b))
    z = prec(r)
    pdir = z.copy()
    rz = float(r @ z)
    tol = CG_TOL if tol is None else tol
    best = (float(np.linalg.norm(r)) / bn, mu.copy())
    it = 0
    for it in range(1, CG_MAX_ITER + 1):
        if best[0] <= tol:
            break
        qp = op(pdir)
        curv = float(pdir @ qp)
        if not curv > 0.0:
            break
        a = rz / curv
        mu += a * pdir
        r -= a * qp
        if it % 50 == 0:  # recompute the residual: recursion drift at 1e-14
            r = b - op(mu)
        rel = float(np.linalg.norm(r)) / bn
        if rel < best[0]:
            best = (rel, mu.copy())
        elif it > 200 and rel > 1e3 * best[0]:
            break
        z = prec(r)
        rz_new = float(r @ z)
        pdir = z + (rz_new / rz) * pdir
        rz = rz_new
    return best[1], best[0], it


def _solve_support(rows: _Rows, mu0, x2, tol):
    """``mu`` with ``A_S A_S^T mu = 1`` (relative residual ``tol``; dense: to rounding error),
    or ``None``.  Dense when the block is small and fits the memory budget."""
    m = rows.m
    ones = np.ones(m)
    if m <= DENSE_FINISH_MAX and gram_bytes(m) <= MEMORY_BUDGET_BYTES:
        Q = rows.gram()
        try:
            mu = cho_solve(cho_factor(Q, lower=True, check_finite=False), ones, check_finite=False)
        except np.linalg.LinAlgError:  # dependent rows: the consistent singular system goes to CG
            mu = None
        del Q
        if mu is not None and np.all(np.isfinite(mu)):
            return mu, True
    mu, rel, it = _pcg(rows, mu0, ones, x2, tol)
    return mu, rel <= CG_TOL


def finish(X, yi, K, pairs, lam0):
    r"""Exact solution from an estimated support, or ``None``.

    Solves :math:`A_S A_S^\top\mu = 1` on ``pairs`` (warm start ``lam0``), drops the
    constraints whose multiplier is negative and adds the violated ones, at most
    :data:`FINISH_ROUNDS` times.  Returns ``(W, dual (n, K), rounds)`` when :math:`\mu \ge 0`
    (to :data:`NEG_TOL`), :math:`|A_S w - 1| \le` :data:`EQ_TOL` and every constraint holds
    to :data:`FEAS_TOL`.
    """
    n = X.shape[0]
    x2_all = np.einsum("ij,ij->i", X, X)
    pairs = np.asarray(pairs, dtype=np.int64)
    mu0 = np.asarray(lam0, dtype=np.float64)
    tol = CG_LOOSE_TOL
    for rnd in range(1, FINISH_ROUNDS + 1):
        if len(pairs) == 0:
            return None
        rows = _Rows(X, yi, pairs, K)
        mu, tight = _solve_support(rows, np.maximum(mu0, 0.0), x2_all[rows.samples], tol)
        if mu is None or not np.all(np.isfinite(mu)):
            return None
        W = rows.apply_t(mu)
        eq = float(np.abs(rows.apply(W) - 1.0).max())
        M = all_margins(W, X, yi)
        M[pairs[:, 0], pairs[:, 1]] = np.inf
        # a loose solve decides which constraints move; only a tight one can certify
        slack = FEAS_TOL if tight else LOOSE_MARGIN
        viol = M < 1.0 - slack
        neg = mu < -(NEG_TOL if tight else LOOSE_MARGIN) * max(float(mu.max()), 1e-300)
        ii, kk = np.nonzero(viol)
        if not neg.any() and not viol.any():
            if tight and eq <= EQ_TOL:
                dual = np.zeros((n, K))
                dual[pairs[:, 0], pairs[:, 1]] = mu
                return W, dual, rnd
            tol = CG_TOL  # the set holds at the loose level: solve it to rounding error
            mu0 = mu
            continue
        if len(ii) > max(WS_MIN_ADD, len(pairs)):  # far from the solution: not a correction
            return None
        keep = ~neg
        pairs = np.concatenate([pairs[keep], np.stack([ii, kk], axis=1)])
        mu0 = np.concatenate([mu[keep], np.zeros(len(ii))])
    return None


class _Stop(Exception):
    pass


def dual_working_set(X, yi, K, W0=None):
    """The exact hard-margin SVM of scaled data (``max ||x_i|| <= 1``) by the dual route.

    Returns ``(W, dual, rounds, lbfgs_iterations)``; raises :class:`InfeasibleError` on a
    Farkas certificate and :class:`SolverError` (``"MaxIter"``, ``"MaxRounds"``,
    ``"MemoryBudget"``) otherwise.  The caller certifies KKT over all constraints.
    """
    n, d = X.shape
    rows_idx = np.arange(n)
    if W0 is None:
        G = X.T @ X
        G[np.diag_indices_from(G)] += 1e-8 * max(float(np.trace(G)) / d, 1e-300)
        T = np.eye(K)[yi] - 1.0 / K
        W0 = np.linalg.solve(G, X.T @ T).T
        del G
    M = all_margins(W0, X, yi)
    r0 = min(K - 1, INIT_PER_SAMPLE)
    comp = np.argpartition(M, r0 - 1, axis=1)[:, :r0] if r0 < K - 1 else np.argsort(M, axis=1)[:, :K - 1]
    active = np.zeros((n, K), dtype=bool)
    active[np.repeat(rows_idx, comp.shape[1]), comp.ravel()] = True
    active[rows_idx, yi] = False
    lam = np.zeros((n, K))
    total_it = 0
    for rnd in range(1, MAX_ROUNDS + 1):
        pairs = np.argwhere(active)
        m = len(pairs)
        if lbfgs_bytes(m) + dense_bytes(n, K, copies=6) > MEMORY_BUDGET_BYTES:
            raise SolverError(f"dual working set of {m} constraints exceeds the memory budget "
                              f"({MEMORY_BUDGET_BYTES / 1e9:.1f} GB)", status="MemoryBudget")
        rows = _Rows(X, yi, pairs, K)
        state = {"x": None, "W": None, "sup": None, "stable": 0, "wait": STABLE_ITERS, "fails": 0, "handoff": False,
                 "it": 0, "result": None, "grow": False}

        def fg(v):
            W = rows.apply_t(v)
            g = rows.apply(W) - 1.0
            state["x"], state["W"] = v.copy(), W
            return 0.5 * float(np.sum(W * W)) - float(v.sum()), g

        def callback(xk):
            state["it"] += 1
            state["xk"] = xk.copy()
            W = state["W"] if state["x"] is not None and np.array_equal(state["x"], xk) else rows.apply_t(xk)
            zs = float(xk.sum())
            if zs > 0.0:
                farkas = float(np.linalg.norm(W)) / zs
                if farkas <= INFEASIBLE_REL_MARGIN:
                    raise InfeasibleError(
                        "data are not linearly separable by a multiclass linear classifier without bias: "
                        f"dual multipliers certify that every W has normalised margin <= {farkas:.2e} "
                        "* max_i ||x_i||; hard-margin SVM infeasible", status="PrimalInfeasible")
            sup = xk > 0.0
            if total_it + state["it"] >= HANDOFF_ITERS and 0 < sup.sum() <= HANDOFF_MAX_SUPPORT:
                state["handoff"] = True  # slow convergence to a small support: the IPM's case
                raise _Stop
            if state["sup"] is not None:
                changed = int(np.count_nonzero(sup != state["sup"]))
                if changed <= STABLE_FRACTION * max(int(sup.sum()), 1):
                    state["stable"] += 1
                else:
                    state["stable"] = 0
            state["sup"] = sup
            if state["stable"] < state["wait"]:
                return
            state["stable"] = 0
            state["wait"] *= 2  # back off: each failed finish costs tens of products
            Mall = all_margins(W, X, yi)
            Mall[pairs[:, 0], pairs[:, 1]] = np.inf
            n_out = int(np.count_nonzero(Mall < 1.0 - FEAS_TOL))
            if n_out > max(WS_MIN_ADD, int(sup.sum()) // 10):
                state["grow"] = True  # the working set misses much of the support: grow it
                raise _Stop
            out = finish(X, yi, K, pairs[sup], xk[sup])
            if out is not None:
                state["result"] = out
                raise _Stop
            state["fails"] += 1
            if state["fails"] >= HANDOVER_FAILS and sup.sum() >= HANDOVER_FILL * (K - 1) * d:
                raise _Stop

        lo = np.zeros(m)
        hi = np.full(m, np.inf)
        x0 = lam[pairs[:, 0], pairs[:, 1]]
        try:
            res = minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=Bounds(lo, hi),
                           callback=callback,
                           options={"maxiter": max(LBFGS_MAX_ITER - total_it, 1), "maxcor": LBFGS_MAXCOR,
                                    "ftol": LBFGS_FTOL, "gtol": LBFGS_GTOL, "maxfun": 4 * LBFGS_MAX_ITER})
            x = res.x
        except _Stop:
            x = state.get("xk", x0)
        total_it += state["it"]
        if state["result"] is not None:
            W, dual, _ = state["result"]
            return W, dual, rnd, total_it
        x = np.maximum(x, 0.0)
        lam[:] = 0.0
        lam[pairs[:, 0], pairs[:, 1]] = x
        W = rows.apply_t(x)
        sup = x > 0.0
        handover = state["handoff"] or (state["fails"] >= HANDOVER_FAILS
                                         and sup.sum() >= HANDOVER_FILL * (K - 1) * d)
        if not state["grow"] and not handover:  # L-BFGS-B ended on its own: finish on its support
            out = finish(X, yi, K, pairs[sup], x[sup])
            if out is not None:
                W, dual, _ = out
                return W, dual, rnd, total_it
            state["fails"] += 1
            handover = state["fails"] >= HANDOVER_FAILS and sup.sum() >= HANDOVER_FILL * (K - 1) * d
        if handover:
            Mall = all_margins(W, X, yi)
            why = ("is small" if state["handoff"] else f"nearly fills (K-1) d = {(K - 1) * d}")
            exc = SolverError(f"dual route: the support ({int(sup.sum())} constraints) {why}; its finish "
                              "is handed to the IPM", status="HandOver")
            # the support and the nearly active constraints, at most 3 |S| + 64 of them
            Mall[pairs[sup, 0], pairs[sup, 1]] = -np.inf
            cap = 3 * int(sup.sum()) + 64
            near = np.flatnonzero((Mall < 1.0 + 0.05).ravel())
            near = near[np.argsort(Mall.ravel()[near])[:cap]]
            exc.active = np.zeros((n, K), dtype=bool)
            exc.active.ravel()[near] = True
            exc.rounds, exc.iterations = rnd, total_it
            raise exc
        if total_it >= LBFGS_MAX_ITER:
            raise SolverError(f"dual route: no exact finish within {LBFGS_MAX_ITER} L-BFGS-B iterations",
                              status="MaxIter")
        # Next working set: the support, the nearly active constraints, and the most
        # violated ones (at most WS_ADD_FRACTION of the set).
        Mall = all_margins(W, X, yi)
        keep = np.zeros((n, K), dtype=bool)
        keep[pairs[sup, 0], pairs[sup, 1]] = True
        near = active & (Mall < 1.0 + 0.05)
        Mall[active] = np.inf
        ii, kk = np.nonzero(Mall < 1.0 - FEAS_TOL)
        budget = max(WS_MIN_ADD, int(WS_ADD_FRACTION * max(int(sup.sum()), 1)))
        pick = np.argsort(Mall[ii, kk])[:budget]
        active = keep | near
        active[ii[pick], kk[pick]] = True
    raise SolverError(f"dual working set did not close within {MAX_ROUNDS} rounds", status="MaxRounds")
