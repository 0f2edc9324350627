"""Independent numerical routes for P&M: scipy line searches, cvxpy on [0, 1], enumeration and Monte Carlo.

None of these uses the coefficients of Eq. 8: they evaluate the objective itself (vector sums, true losses,
sampled perturbations) and minimise or average it numerically.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import InputError, SolverError

__all__ = ["line_minimiser", "surrogate_value", "surrogate_line_minimiser", "constrained_alpha_cvxpy",
           "monte_carlo_perturbed", "regularised_minimiser_scipy", "loglog_slope", "LINE_XTOL"]

#: Brent's relative tolerance on α for the scipy line searches.
LINE_XTOL = 1e-12


def line_minimiser(fun: Callable[[float], float], bounds: tuple[float, float] | None = None,
                   bracket=(-1.0, 2.0)) -> float:
    """Minimise a scalar function of α with scipy (Brent, or bounded when ``bounds`` is given).

    Raises
    ------
    SolverError
        scipy reports no success, or the unconstrained search runs off to |α| > 1e6 (no minimiser).
    """
    from scipy.optimize import minimize_scalar

    if bounds is None:
        try:
            r = minimize_scalar(fun, bracket=bracket, method="brent", options={"xtol": LINE_XTOL, "maxiter": 500})
        except (ValueError, RuntimeError) as exc:  # bracket search failed: unbounded below
            raise SolverError(f"Brent line search failed: {exc}") from None
        if not r.success or not np.isfinite(r.x) or abs(r.x) > 1e6:
            raise SolverError("Brent line search did not converge", status=str(getattr(r, "message", "")))
        return float(r.x)
    r = minimize_scalar(fun, bounds=bounds, method="bounded", options={"xatol": 1e-12, "maxiter": 1000})
    if not r.success:
        raise SolverError("bounded line search did not converge", status=str(r.message))
    return float(r.x)


def _dense(c, d):
    H = np.asarray(c, np.float64)
    return np.diag(H) if H.ndim == 1 else H


def surrogate_value(alpha: float, theta_prev, optima, curvatures, delta) -> float:
    """Eq. 7's objective evaluated directly as a sum of quadratic forms at :math:`\\hat\\theta_{t-1}+\\alpha v`."""
    x = np.asarray(theta_prev, float) + alpha * np.asarray(delta, float)
    d = x.shape[0]
    return 0.5 * sum(float((x - th) @ _dense(c, d) @ (x - th)) for th, c in zip(optima, curvatures))


def surrogate_line_minimiser(theta_prev, optima, curvatures, delta, bounds=None) -> float:
    """scipy's minimiser of Eq. 7's objective over α ∈ ℝ (or ``bounds``)."""
    return line_minimiser(lambda a: surrogate_value(a, theta_prev, optima, curvatures, delta), bounds=bounds)


def constrained_alpha_cvxpy(theta_prev, optima, curvatures, delta) -> dict:
    """cvxpy on :math:`\\min_{0\\le\\alpha\\le1} \\tfrac12\\sum_i\\|L_i^\\top(\\hat\\theta_{t-1}+\\alpha v-\\theta_i^*)\\|^2`
    with :math:`H_i = L_iL_i^\\top` (eigen-factorisation), solved by Clarabel.

    Returns ``{"alpha", "status", "kkt"}`` where ``kkt`` is the violation of the scalar KKT conditions
    (:math:`J'(\\alpha)=0` inside, :math:`J'(0)\\ge0` at 0, :math:`J'(1)\\le0` at 1), relative to :math:`|J''|`.

    Raises
    ------
    SolverError
        Status not OPTIMAL.
    InputError
        A curvature is not PSD (beyond round-off).
    """
    import cvxpy as cp

    tp = np.asarray(theta_prev, float)
    v = np.asarray(delta, float)
    d = tp.shape[0]
    a = cp.Variable()
    terms = []
    Jp0 = 0.0
    Jpp = 0.0
    for th, c in zip(optima, curvatures):
        H = _dense(c, d)
        w, U = np.linalg.eigh(0.5 * (H + H.T))
        if w.min() < -1e-9 * max(1.0, abs(w).max()):
            raise InputError(f"curvature is not PSD (min eigenvalue {w.min():.3g}); cvxpy needs a convex objective")
        L = U * np.sqrt(np.clip(w, 0.0, None))
        r0 = L.T @ (tp - np.asarray(th, float))
        rv = L.T @ v
        terms.append(cp.sum_squares(r0 + a * rv))
        Jp0 += float(r0 @ rv)
        Jpp += float(rv @ rv)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.hstack(terms))), [a >= 0, a <= 1])
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    except cp.error.SolverError as exc:
        raise SolverError(f"Clarabel failed: {exc}") from None
    if prob.status != cp.OPTIMAL:
        raise SolverError("cvxpy did not solve the constrained α problem", status=prob.status)
    al = float(a.value)
    g = Jp0 + al * Jpp  # J'(alpha)
    if al <= 1e-7:
        kkt = max(0.0, -g)
    elif al >= 1 - 1e-7:
        kkt = max(0.0, g)
    else:
        kkt = abs(g)
    return {"alpha": al, "status": prob.status, "kkt": kkt / max(Jpp, 1e-300)}


def monte_carlo_perturbed(f: Callable, theta_prev, delta, sched, n_samples: int, rng: np.random.Generator, *,
                          stop_gradient: bool = False) -> dict:
    """Monte Carlo of Eq. 15–16: sample ε̃ ``n_samples`` times, average the perturbed loss and its gradient
    with respect to the task vector Δ (torch autograd, through or stop-gradient).

    Parameters
    ----------
    f : callable ``theta (1-D float64 tensor) -> 0-d tensor``
    theta_prev, delta : 1-D tensors
    sched : PerturbationSchedule
    n_samples : int
    rng : numpy Generator

    Returns
    -------
    dict with ``loss``, ``loss_se`` (standard error), ``grad`` (ndarray (d,)), ``grad_se`` (ndarray (d,)).
    """
    import torch

    if n_samples < 2:
        raise InputError("n_samples must be >= 2")
    draws = sched.sample(rng, size=n_samples)
    # Each draw is one of three values: evaluate the three outcomes once, then weight by the sample counts,
    # which is exactly the sample average of the n_samples drawn losses and gradients.
    losses, grads = {}, {}
    for e in np.unique(draws):
        D = delta.detach().clone().requires_grad_(True)
        th = theta_prev + ((1.0 + e) * D if not stop_gradient else D + e * D.detach())
        val = f(th)
        (g,) = torch.autograd.grad(val, D)
        losses[float(e)] = float(val.detach())
        grads[float(e)] = g.double().cpu().numpy()
    L = np.array([losses[float(e)] for e in draws])
    counts = {float(e): int(np.sum(draws == e)) for e in np.unique(draws)}
    gmean = sum(counts[e] * grads[e] for e in counts) / n_samples
    gsq = sum(counts[e] * grads[e] ** 2 for e in counts) / n_samples
    gvar = np.maximum(gsq - gmean ** 2, 0.0) * n_samples / (n_samples - 1)
    return {"loss": float(L.mean()), "loss_se": float(L.std(ddof=1) / np.sqrt(n_samples)),
            "grad": gmean, "grad_se": np.sqrt(gvar / n_samples)}


def regularised_minimiser_scipy(loss_fn: Callable, theta_prev, lam: float, eps: float, x0=None) -> np.ndarray:
    """Minimise Eq. 14, :math:`\\mathcal L(\\hat\\theta_{t-1}+\\Delta) + \\lambda\\,\\mathrm{FD}_\\epsilon(\\Delta)`,
    over Δ with scipy BFGS using only loss evaluations (numpy ``loss_fn``); returns the task vector Δ."""
    from scipy.optimize import minimize

    from .closed_form import fd_quadratic_form

    tp = np.asarray(theta_prev, float)

    def obj(D):
        return loss_fn(tp + D) + lam * fd_quadratic_form(loss_fn, tp + D, D, eps)

    r = minimize(obj, np.zeros_like(tp) if x0 is None else x0, method="BFGS", options={"gtol": 1e-10,
                                                                                        "maxiter": 10000})
    if not r.success and "precision" not in str(r.message):
        raise SolverError("BFGS on Eq. 14 did not converge", status=str(r.message))
    return r.x


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if np.any(x <= 0) or np.any(y <= 0):
        raise InputError("log-log slope needs positive x and y")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
