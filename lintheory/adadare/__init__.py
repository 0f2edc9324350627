"""AdaDARE-γ: optimal per-parameter drop probabilities and the rescale bound.

Seed ``000_5a76694d997bb78d.txt`` (supplementary material: Theorems 1 and 2).  Rooms:

* :mod:`~lintheory.adadare.closed_form` -- the exact expected loss of drop-and-rescale, the
  water-filling optimum of Theorem 1 (main API), Theorem 2's expectation identity and bound;
* :mod:`~lintheory.adadare.printed` -- A.6–A.21 exactly as printed;
* :mod:`~lintheory.adadare.solvers` -- cvxpy with KKT certificate, Monte Carlo over masks, scipy;
* :mod:`~lintheory.adadare.train` -- a torch-fine-tuned linear layer, its curvature, realised losses;
* :mod:`~lintheory.adadare.data` -- heavy- and light-tailed instances, zero scores, a layer task;
* :mod:`~lintheory.adadare.claims` -- the claims of this suite.
"""

from .closed_form import (DropProbabilities, GammaBound, coordinate_loss, drop_and_rescale,
                          drop_probabilities, expected_diag_loss, expected_l1, expected_layer_loss,
                          gamma_bound, hessian_diag_from_activations, iter_drop_probabilities,
                          l1_exceedance_probability,
                          loss_parts, optimal_gamma, scores, solve_drop_probabilities)
from .solvers import cvxpy_drop_probabilities, kkt_residuals

__all__ = [
    "DropProbabilities",
    "GammaBound",
    "coordinate_loss",
    "drop_and_rescale",
    "drop_probabilities",
    "solve_drop_probabilities",
    "iter_drop_probabilities",
    "expected_diag_loss",
    "expected_layer_loss",
    "loss_parts",
    "expected_l1",
    "gamma_bound",
    "l1_exceedance_probability",
    "optimal_gamma",
    "scores",
    "hessian_diag_from_activations",
    "cvxpy_drop_probabilities",
    "kkt_residuals",
]
