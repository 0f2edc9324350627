"""Mutants of the AdaDARE-γ suite: plausible bugs that its claims must catch (see :mod:`lintheory.mutants`).

Each mutant patches one function of the library (closed form, printed formula or independent route) and names
the claims that should reach a verdict other than their expected one.  ``lintheory mutants --paper adadare``
(or ``run_mutants(["adadare"])``) runs them.
"""

from __future__ import annotations

import numpy as np

from ..mutants import mutant

_CF = "lintheory.adadare.closed_form"
_PR = "lintheory.adadare.printed"
_SV = "lintheory.adadare.solvers"


def _gamma_bound_signed(f):
    """``gamma_bound`` whose ``admits`` forgets the absolute value (the printed γ ≤ η/Σ|δ| read literally)."""
    from dataclasses import fields

    def wrapped(delta, eta):
        gb = f(delta, eta)
        signed = type("SignedGammaBound", (type(gb),), {"admits": lambda self, g: bool(g < self.bound)})
        return signed(**{fl.name: getattr(gb, fl.name) for fl in fields(gb)})
    return wrapped


mutant(id="adadare.a18_without_clip",
       description="A.18 without max(0, .): the unclipped A.17 returned as 'the optimum' (negative probabilities)",
       target=f"{_PR}:a18_drop_probabilities",
       replace=lambda f: (lambda h, d, p: f.__globals__["a17_drop_probabilities"](h, d, p)),
       claims=["adadare.thm1.optimal.printed", "adadare.thm1.a18_oversparsifies"])

mutant(id="adadare.waterfill_budget_off",
       description="water-filling keeps n(1-p)(1+1e-3) entries in expectation: a wrong budget normalisation",
       target=f"{_CF}:_waterfill_keep",
       replace=lambda f: (lambda s, m: f(s, min(m * (1 + 1e-3), float(s.size)))),
       claims=["adadare.thm1.sparsity.corrected", "adadare.thm1.waterfill.corrected"])

mutant(id="adadare.waterfill_on_squared_scores",
       description="water-filling on s_i^2 = H_ii delta_i^2 instead of s_i = sqrt(H_ii)|delta_i| (sqrt dropped)",
       target=f"{_CF}:_waterfill_keep",
       replace=lambda f: (lambda s, m: f(s * s, m)),
       claims=["adadare.thm1.waterfill.corrected"])

mutant(id="adadare.fast_path_drifts",
       description="drop_probabilities (the fast path) solved at a target sparsity off by 1e-9",
       target=f"{_CF}:drop_probabilities",
       replace=lambda f: (lambda h_diag, delta, p, method="waterfill": f(h_diag, delta, min(p + 1e-9, 0.999999),
                                                                          method)),
       claims=["adadare.thm1.sparsity.corrected"])

mutant(id="adadare.a6_line2_sign",
       description="A.6 second line with -2 alpha p_i (a sign slip in the expansion)",
       target=f"{_PR}:a6_line2",
       replace=lambda f: (lambda h, d, probs, gamma: float(np.sum(
           np.asarray(h, float) * np.asarray(d, float) ** 2
           * (((gamma - 1) ** 2 - 2 * (gamma - 1) * np.asarray(probs, float) + np.asarray(probs, float) ** 2)
              / (1 - np.asarray(probs, float)) + np.asarray(probs, float))))),
       claims=["adadare.loss.a6_expansion"])

mutant(id="adadare.layer_loss_diagonal_bias",
       description="expected_layer_loss with the diagonal bias (1-γ)² Σ G_cc δ² (off-diagonal curvature dropped)",
       target=f"{_CF}:expected_layer_loss",
       replace=lambda f: (lambda delta, probs, gamma, X=None, *, gram=None: f.__globals__["expected_diag_loss"](
           np.broadcast_to(np.diag(np.asarray(X, float).T @ np.asarray(X, float)), np.shape(delta)),
           delta, probs, gamma)),
       claims=["adadare.loss.layer_exact"])

mutant(id="adadare.expected_l1_signed",
       description="E||.||_1 = γ Σ|δ_i| without |γ| (the printed bound's sign slip moved into the closed form)",
       target=f"{_CF}:expected_l1",
       replace=lambda f: (lambda delta, gamma: float(gamma) * float(np.sum(np.abs(np.asarray(delta, float))))),
       claims=["adadare.thm2.expectation.printed"])

mutant(id="adadare.gamma_bound_signed",
       description="gamma_bound(...).admits(γ) tests γ < η/Σ|δ| instead of |γ| < η/Σ|δ|",
       target=f"{_CF}:gamma_bound", replace=_gamma_bound_signed,
       claims=["adadare.thm2.iff.corrected"])

mutant(id="adadare.optimal_gamma_variance_doubled",
       description="γ* = Q/(Q + 2V): the variance counted twice",
       target=f"{_CF}:optimal_gamma",
       replace=lambda f: (lambda h_diag, delta, probs, *, bias_quad=None: (lambda g: g / (2 - g))(
           f(h_diag, delta, probs, bias_quad=bias_quad))),
       claims=["adadare.gamma.optimal"])

mutant(id="adadare.a20_keep_probability_dropped",
       description="A.20 evaluated with the rescale gamma/(1-p_i) but without the keep probability (1-p_i)",
       target=f"{_PR}:a20_expected_l1",
       replace=lambda f: (lambda d, probs, gamma: float(np.sum(np.abs(
           gamma / (1 - np.asarray(probs, float)) * np.asarray(d, float))))),
       claims=["adadare.thm2.expectation.printed"])
