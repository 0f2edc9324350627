"""Plausible bugs of the CoTo library that the ``coto`` claims must catch.

Each mutant patches one function of :mod:`lintheory.coto` (see :mod:`lintheory.mutants`);
the claims it names must reach a verdict other than their expected one while it is
applied.  Run them with
``python -c "from lintheory.mutants import run_mutants; print(run_mutants(['coto']))"``.
"""

from __future__ import annotations

import math

import numpy as np

from ..mutants import mutant

_M = "lintheory.coto.masks"
_CF = "lintheory.coto.closed_form"
_SH = "lintheory.coto.shapley"


def _no_binomial(f):
    def wrapped(p, L):
        j = np.arange(int(L) + 1)
        return float(p) ** j * (1.0 - float(p)) ** (int(L) - j)
    return wrapped


mutant(id="coto.binomial_coefficient_dropped",
       description="w_j(p) = p^j (1-p)^(L-j) without the binomial coefficient (Eq. 6)",
       target=f"{_M}:binomial_weights", replace=_no_binomial,
       claims=["coto.thm3_1.binomial_decomposition", "coto.thm3_1.bound.corrected"])

mutant(id="coto.mask_probability_swapped",
       description="mask probabilities with p and 1-p swapped (an adapter is *off* with probability p)",
       target=f"{_M}:mask_probabilities", replace=lambda f: (lambda p, L: f(1.0 - float(p), L)),
       claims=["coto.thm3_1.binomial_decomposition", "coto.mean_network.deep_linear",
               "coto.thm3_1.bound.corrected", "coto.thm3_1.bound.printed"])


def _sizes_shifted(f):
    def wrapped(table):
        out = f(table)
        return np.concatenate([out[:1], out[:-1]], axis=0)   # size j reads size j-1
    return wrapped


mutant(id="coto.size_average_off_by_one",
       description="size_averages indexed one size too low (ỹ_j reads the size-(j-1) average)",
       target=f"{_M}:size_averages", replace=_sizes_shifted,
       claims=["coto.thm3_1.binomial_decomposition", "coto.mean_network.deep_linear"])


def _banzhaf(f):
    def wrapped(table):
        tab = np.asarray(table, dtype=np.float64)
        L = int(round(math.log2(tab.size)))
        idx = np.arange(tab.size)
        return np.array([float(np.mean(tab[idx[(idx >> i) & 1 == 0] | (1 << i)] - tab[idx[(idx >> i) & 1 == 0]]))
                         for i in range(L)])
    return wrapped


mutant(id="coto.shapley_uniform_weights",
       description="shapley_from_table with uniform subset weights (the Banzhaf value)",
       target=f"{_SH}:shapley_from_table", replace=_banzhaf,
       claims=["coto.shapley.exact_routes", "coto.shapley.axioms"])


def _gl_short(f):
    def wrapped(table, n_nodes=None):
        L = int(round(math.log2(np.asarray(table).shape[0])))
        return f(table, max(1, math.ceil(L / 2) - 1) if n_nodes is None else n_nodes)
    return wrapped


mutant(id="coto.gauss_legendre_one_node_short",
       description="the multilinear-extension route with ceil(L/2) - 1 Gauss–Legendre nodes",
       target=f"{_SH}:shapley_multilinear", replace=_gl_short,
       claims=["coto.shapley.exact_routes"])

mutant(id="coto.fusion_sign",
       description="fusion - ensemble = +λ(1-λ)(B1-B2)(A1-A2) (sign flipped)",
       target="lintheory.coto.merging:fusion_minus_ensemble",
       replace=lambda f: (lambda *a, **k: -f(*a, **k)),
       claims=["coto.merging.fusion_identity"])

mutant(id="coto.additive_optimum_pL",
       description="fixed-p additive optimum u_i = r/(1 + pL) instead of r/(1 + p(L-1))",
       target=f"{_CF}:additive_fixed_p_optimum",
       replace=lambda f: (lambda r, L, p: np.tile(np.asarray(r, dtype=float) / (1 + float(p) * int(L)), (int(L), 1))),
       claims=["coto.additive.fixed_p_optimum"])

mutant(id="coto.mean_network_ignores_p",
       description="expected_prediction_deep_linear evaluated at p = 1 (the mean network taken as the full network)",
       target=f"{_CF}:expected_prediction_deep_linear",
       replace=lambda f: (lambda W, dW, X, p, **k: f(W, dW, X, 1.0, **k)),
       claims=["coto.mean_network.deep_linear"])

mutant(id="coto.quadratic_game_factor",
       description="quadratic-game Shapley closed form <u_i, U - r> (the factor 2 on r dropped)",
       target=f"{_CF}:quadratic_game_shapley",
       replace=lambda f: (lambda r, u: f(np.asarray(r, dtype=float) / 2, u)),
       claims=["coto.shapley.axioms"])

mutant(id="coto.compute_fraction_no_final_phase",
       description="expected_compute_fraction without the always-on final phase (ρ/2 instead of ρ/2 + 1 - ρ)",
       target="lintheory.coto.schedules:expected_compute_fraction",
       replace=lambda f: (lambda schedule="paper", **k: f(schedule, **k) - 0.25),
       claims=["coto.schedule.compute_saving"])

mutant(id="coto.binomial_weights_reversed",
       description="w_j evaluated at 1 - p (the weights of 'j adapters off' used for 'j adapters on')",
       target=f"{_M}:binomial_weights", replace=lambda f: (lambda p, L: f(1.0 - float(p), L)),
       claims=["coto.thm3_1.bound.printed", "coto.thm3_1.bound.corrected"])
