"""CoTo: progressive adapter activation for LoRA, checked in linear and deep linear networks.

Seed ``004_bb9aedc7a8b2e8cb.txt`` ("Come Together, But Not Right Now", ICML 2025).  Rooms:

* :mod:`~lintheory.coto.schedules` -- ``p(t)`` (paper, official, inferred ablations), mask sampling;
* :mod:`~lintheory.coto.masks` -- exact expectations over all ``2^L`` masks (vectorised tree),
  size-j averages, weights ``w_j(p)``, the Jensen chain of Theorem 3.1 (corrected);
* :mod:`~lintheory.coto.closed_form` -- deep-linear mean network, the ỹ_j dynamic programme,
  the polynomial-time multilinear extension of the MSE game, additive-adapter closed forms;
* :mod:`~lintheory.coto.shapley` -- Shapley values: exact, all permutations, Gauss–Legendre
  multilinear extension, permutation and Owen Monte Carlo (with standard errors);
* :mod:`~lintheory.coto.merging` -- fusion vs ensemble, loss barriers, structured pruning;
* :mod:`~lintheory.coto.printed` -- Theorem 3.1 as printed (sum from j = 1);
* :mod:`~lintheory.coto.train` -- torch training of LoRA chains, vanilla vs CoTo;
* :mod:`~lintheory.coto.data` -- generators;  :mod:`~lintheory.coto.claims` -- the claims.
"""

from .closed_form import (additive_expected_mse, additive_fixed_p_optimum,
                          conditional_weights_require_active, expected_prediction_deep_linear,
                          multilinear_mse_deep_linear, quadratic_game_shapley,
                          shapley_deep_linear_mse, size_j_predictions_dp)
from .masks import (TABLE_LIMIT, all_masks, binomial_weights, expected_loss, forward,
                    forward_all_masks, jensen_chain, loss_values, losses_all_masks,
                    mask_probabilities, mask_sizes, mse_jensen_gap, size_averages,
                    size_j_mean_predictions)
from .merging import (ensemble_lora, fuse_lora, fusion_minus_ensemble, keep_mask, loss_barrier,
                      mask_index, pruning_patterns)
from .printed import theorem31_printed_counterexample, theorem31_rhs_printed
from .schedules import (SCHEDULES, activation_probability, expected_compute_fraction,
                        sample_masks)
from .shapley import (ENUMERATION_LIMIT, ShapleyEstimate, contribution_shares,
                      performance_from_loss, shapley_exact, shapley_from_table,
                      shapley_multilinear, shapley_owen_mc, shapley_permutation_mc,
                      shapley_permutations_exact, value_table)

__all__ = [
    "SCHEDULES", "activation_probability", "sample_masks", "expected_compute_fraction",
    "TABLE_LIMIT", "all_masks", "mask_sizes", "mask_probabilities", "binomial_weights",
    "forward", "forward_all_masks", "losses_all_masks", "loss_values", "size_averages",
    "expected_loss", "size_j_mean_predictions", "jensen_chain", "mse_jensen_gap",
    "expected_prediction_deep_linear", "size_j_predictions_dp", "multilinear_mse_deep_linear",
    "shapley_deep_linear_mse", "additive_expected_mse", "additive_fixed_p_optimum",
    "quadratic_game_shapley", "conditional_weights_require_active",
    "ENUMERATION_LIMIT", "ShapleyEstimate", "value_table", "shapley_exact", "shapley_from_table",
    "shapley_permutations_exact", "shapley_multilinear", "shapley_permutation_mc",
    "shapley_owen_mc", "contribution_shares", "performance_from_loss",
    "fuse_lora", "ensemble_lora", "fusion_minus_ensemble", "loss_barrier", "pruning_patterns",
    "keep_mask", "mask_index",
    "theorem31_rhs_printed", "theorem31_printed_counterexample",
]
