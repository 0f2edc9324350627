"""Mutants of the P&M suite: plausible bugs that its claims must catch (see :mod:`lintheory.mutants`).

``lintheory mutants --paper perturb_merge`` (or ``run_mutants(["perturb_merge"])``) applies each one and runs the
claims it names.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..mutants import mutant

_CF = "lintheory.perturb_merge.closed_form"
_PR = "lintheory.perturb_merge.printed"
_SV = "lintheory.perturb_merge.solvers"


def _double(c):
    """Twice a curvature given as a dense matrix, a diagonal vector or an HVP callable."""
    if callable(c):
        return lambda v, _c=c: 2.0 * np.asarray(_c(v))
    return 2.0 * np.asarray(c, dtype=float)


def _current_task_curvature_doubled(f):
    def wrapped(theta_prev, optima, curvatures, delta, **kw):
        curv = list(curvatures)
        return f(theta_prev, optima, curv[:-1] + [_double(curv[-1])], delta, **kw)
    return wrapped


def _never_clipped(f):
    def wrapped(*a, **kw):
        r = f(*a, **kw)
        return dataclasses.replace(r, alpha=r.unconstrained, clipped=False)
    return wrapped


def _second_term_doubled(f):
    def wrapped(*a, **kw):
        b = f(*a, **kw)
        return dataclasses.replace(b, second=2 * b.second, value=b.first - 2 * b.second, ratio=2 * b.ratio)
    return wrapped


mutant(id="perturb_merge.eq8_sign_flipped",
       description="Eq. 8 without its leading minus sign",
       target=f"{_PR}:alpha_eq8", replace=lambda f: (lambda *a: -f(*a)),
       claims=["perturb_merge.eq8.surrogate_minimiser"])

mutant(id="perturb_merge.current_task_curvature_doubled",
       description="optimal_alpha weights the current task's curvature twice (a wrong normalisation of H_t)",
       target=f"{_CF}:optimal_alpha", replace=_current_task_curvature_doubled,
       claims=["perturb_merge.eq8.surrogate_minimiser", "perturb_merge.eq8.first_two_steps"])

mutant(id="perturb_merge.alpha_never_clipped",
       description="optimal_alpha(constrain=True) returns the unclipped Eq. 8",
       target=f"{_CF}:optimal_alpha", replace=_never_clipped,
       claims=["perturb_merge.eq3.clip_is_constrained_optimum.corrected"])

mutant(id="perturb_merge.bound_second_term_doubled",
       description="Eq. 11's second term C²/(2B) computed as C²/B",
       target=f"{_CF}:bound_terms", replace=_second_term_doubled,
       claims=["perturb_merge.eq11.identity_and_bound", "perturb_merge.eq11.first_term_dominates.printed"])

mutant(id="perturb_merge.fd_divided_by_eps",
       description="the finite difference of Eq. 13 divided by ε instead of ε²",
       target=f"{_CF}:fd_quadratic_form",
       replace=lambda f: (lambda loss_fn, theta, v, eps: f(loss_fn, theta, v, eps) * eps),
       claims=["perturb_merge.eq13.fd_exact_for_quadratics", "perturb_merge.eq13.fd_error_order"])

mutant(id="perturb_merge.shrink_factor_missing_two",
       description="the quadratic perturbation shrink 1/(1+λ) instead of 1/(1+2λ)",
       target=f"{_CF}:perturbation_shrink_factor",
       replace=lambda f: (lambda lam: 1.0 / (1.0 + lam)),
       claims=["perturb_merge.perturb.quadratic_shrink"])

mutant(id="perturb_merge.eq15_wrong_power",
       description="Eq. 15's p± = λ/ε instead of λ/ε²",
       target=f"{_PR}:perturbation_probs_eq15",
       replace=lambda f: (lambda lam, eps: (1.0 - 2.0 * lam / eps, lam / eps, lam / eps)),
       claims=["perturb_merge.eq15.probabilities.printed", "perturb_merge.eq15.probabilities.corrected"])

mutant(id="perturb_merge.regulariser_doubled",
       description="Eq. 14's regularised loss with weight 2λ (the FD counted twice)",
       target=f"{_CF}:regularised_loss",
       replace=lambda f: (lambda loss_fn, theta_prev, delta, sched:
                          2 * f(loss_fn, theta_prev, delta, sched) - loss_fn(theta_prev + delta)),
       claims=["perturb_merge.eq16.unbiased"])

mutant(id="perturb_merge.surrogate_without_half",
       description="the quadratic model J(α) of the scipy route without its factor 1/2",
       target=f"{_SV}:surrogate_value",
       replace=lambda f: (lambda alpha, *a: 2.0 * f(alpha, *a)),
       claims=["perturb_merge.eq11.identity_and_bound"])

mutant(id="perturb_merge.loglog_slope_mixed_logs",
       description="the log-log slope fitted with ln on one axis and log10 on the other",
       target=f"{_SV}:loglog_slope",
       replace=lambda f: (lambda x, y: f(x, y) / np.log(10.0)),
       claims=["perturb_merge.eq13.fd_error_order"])
