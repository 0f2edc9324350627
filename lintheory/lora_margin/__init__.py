"""LoRA margin theory (seed ``002_caa97dd52c787aec.txt``): regimes, thresholds, margins, λ*, merging α*.

Rooms:

* :mod:`~lintheory.lora_margin.closed_form` -- the corrected results (main API);
* :mod:`~lintheory.lora_margin.printed` -- the formulas exactly as the paper prints them;
* :mod:`~lintheory.lora_margin.solvers` -- cvxpy nuclear-norm problem, the 2-D reduced problem, KKT certificate;
* :mod:`~lintheory.lora_margin.train` -- torch LoRA on the real (B, A) factors;
* :mod:`~lintheory.lora_margin.data` -- generators meeting Assumptions 2.1–2.4 (and near-misses);
* :mod:`~lintheory.lora_margin.claims` -- the claims of this paper.
"""

from .closed_form import (LoRAOptimum, MergeOptimum, OptimalLambda, Thresholds, adapter,
                          check_lora_rank, check_problem, forgetting_margins, intermediate_lambda,
                          merge_coefficients, merged_margins, optimal_lambda, optimum,
                          rank_of_optimum, template, thresholds)

__all__ = [
    "optimum",
    "thresholds",
    "adapter",
    "template",
    "intermediate_lambda",
    "check_problem",
    "check_lora_rank",
    "rank_of_optimum",
    "forgetting_margins",
    "optimal_lambda",
    "merge_coefficients",
    "merged_margins",
    "LoRAOptimum",
    "Thresholds",
    "OptimalLambda",
    "MergeOptimum",
]
