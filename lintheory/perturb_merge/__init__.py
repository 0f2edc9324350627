"""Perturb-and-Merge (seed ``001_9d292d09fb11dca7.txt``): the optimal merging coefficient α* (Eq. 8), its bound
(Eq. 11–12), the finite-difference curvature (Eq. 13) and the three-point perturbation (Eq. 14–16).

Rooms:

* :mod:`~lintheory.perturb_merge.closed_form` -- the corrected results (main API): :func:`optimal_alpha` (clipped to
  [0, 1] by default), :func:`bound_terms`, :func:`fd_quadratic_form`, :func:`perturbation_schedule`, ...;
* :mod:`~lintheory.perturb_merge.printed` -- Eq. 8, 12 and 15 exactly as printed;
* :mod:`~lintheory.perturb_merge.solvers` -- scipy line searches, cvxpy on [0, 1], Monte Carlo;
* :mod:`~lintheory.perturb_merge.fisher` -- per-example empirical Fisher diagonal (torch.func), exact Hessians;
* :mod:`~lintheory.perturb_merge.train` -- sequential P&M with torch models (float64);
* :mod:`~lintheory.perturb_merge.data` -- instance and task-stream generators;
* :mod:`~lintheory.perturb_merge.claims` -- the claims of this suite.
"""

from .closed_form import (AlphaResult, BoundTerms, CurvatureWarning, PerturbationSchedule, bound_terms,
                          expected_perturbed_loss, fd_quadratic_form, fisher_merge_point, merge_objective,
                          optimal_alpha, perturbation_schedule, perturbation_shrink_factor, pm_sequence,
                          regularised_loss)
from .fisher import (empirical_fisher, empirical_fisher_diag, empirical_fisher_diag_loop, hessian_diag,
                     hessian_matrix, hvp_operator)

__all__ = [
    "optimal_alpha",
    "AlphaResult",
    "CurvatureWarning",
    "merge_objective",
    "bound_terms",
    "BoundTerms",
    "fisher_merge_point",
    "pm_sequence",
    "fd_quadratic_form",
    "perturbation_schedule",
    "PerturbationSchedule",
    "regularised_loss",
    "expected_perturbed_loss",
    "perturbation_shrink_factor",
    "empirical_fisher_diag",
    "empirical_fisher_diag_loop",
    "empirical_fisher",
    "hessian_matrix",
    "hessian_diag",
    "hvp_operator",
]
