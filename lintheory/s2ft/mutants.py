"""Plausible bugs of the S²FT suite and the claims that must catch them (see :mod:`lintheory.mutants`).

Each mutant patches one function of :mod:`lintheory.s2ft.closed_form` or :mod:`lintheory.s2ft.printed`
(every module that imported it by name sees the patch).  ``python -c "from lintheory.mutants import
run_mutants; print(run_mutants(['s2ft']))"`` runs them at the quick profile, seed 0.
"""

from __future__ import annotations

import numpy as np

from ..mutants import mutant

_CF = "lintheory.s2ft.closed_form"
_PR = "lintheory.s2ft.printed"


def _lora_limit_without_minus_r(f):
    # sigma^2 r (q' + d') = sigma^2 r (q' + d' - r) + sigma^2 r^2
    return lambda layers, ell, r, B_in, sigma_x, sigma2: f(layers, ell, r, B_in, sigma_x, sigma2) + sigma2 * r * r


def _expected_risk_asymptotic(f):
    def g(*a, **kw):
        out = dict(f(*a, **kw))
        n = a[6] if len(a) > 6 else kw["n"]
        var = out["variance"] * (n - out["d_prime"] - 1) / n        # d'/n in place of d'/(n - d' - 1)
        out.update(variance=var, expected=out["E_inf"] + var)
        return out
    return g


def _full_population_one_dagger(f):
    # the proof of Lemma F.17 prints Delta = W^+ D Sigma W_low^T A^+ (one dagger); A^{+2} is right
    def g(layers, ell, B, sigma_x):
        from . import closed_form as cf

        parts = cf.network_parts(layers, ell)
        C, Sz = cf.population_stats(parts, B, sigma_x)
        return parts.W_pre + cf.projector(parts.K, "K") @ C @ cf._sz_inverse(Sz)[1] @ parts.W_low
    return g


def _s2ft_population_all_rows(f):
    # S²FT with the output projector P' (all channels) in place of P''_S
    def g(layers, ell, channels, B, sigma_x):
        from . import closed_form as cf

        return cf.full_population(layers, ell, B, sigma_x)
    return g


def _projector_wrong_side(f):
    # M^+ M (row space) in place of M M^+ (column space)
    def g(M, name="matrix"):
        from . import closed_form as cf

        _, _, Vt = cf._svd_kept(np.asarray(M, float), name)
        return Vt.T @ Vt if Vt.shape[1] == np.asarray(M).shape[0] else f(M, name)
    return g


def _delta2_in_s(f):
    # the in-S row energy fraction in place of the off-S one
    def g(layers, ell, channels, B_in, sigma_x):
        from . import closed_form as cf

        d_l = cf.network_parts(layers, ell).d_ell
        rest = [a for a in range(d_l) if a not in set(int(c) for c in channels)]
        return f(layers, ell, rest, B_in, sigma_x) if rest else 1.0 - f(layers, ell, channels, B_in, sigma_x)
    return g


def _conditions_regime_swapped(f):
    # the regime boundary of Theorem F.8 read as r >= rank Sigma_f
    def g(layers, ell, channels, r, B_in, sigma_x):
        out = dict(f(layers, ell, channels, r, B_in, sigma_x))
        out["r_le_rank"] = int(r) >= out["rank_sigma_f"]
        return out
    return g


def _s2ft_bound_without_eps(f):
    def g(layers, ell, channels, B_in, B_out, sigma_x):
        from . import closed_form as cf

        return cf.excess_risk(cf.network_parts(layers, ell).W_pre, B_out, sigma_x)
    return g


mutant(id="s2ft.lora_variance_limit_no_minus_r",
       description="LoRA variance limit sigma^2 r (q' + d') instead of sigma^2 r (q' + d' - r) (manifold dimension "
                   "without the -r)",
       target=f"{_CF}:lora_variance_limit", replace=_lora_limit_without_minus_r,
       claims=["s2ft.variance.lora_limit"])
mutant(id="s2ft.expected_risk_asymptotic_dn",
       description="exact finite-n variance with d'/n instead of d'/(n - d' - 1) (inverse-Wishart mean dropped)",
       target=f"{_CF}:expected_id_risk_exact", replace=_expected_risk_asymptotic,
       claims=["s2ft.variance.exact_and_rate"])
mutant(id="s2ft.full_population_one_dagger",
       description="full-layer population fit with A^+ instead of (A^2)^+ (the dagger lost in the proof of F.17)",
       target=f"{_CF}:full_population", replace=_full_population_one_dagger,
       claims=["s2ft.lemmaF17.full_risk_identity"])
mutant(id="s2ft.s2ft_population_ignores_channels",
       description="S²FT population fit projecting with P' = K K^+ instead of P''_S (channels ignored)",
       target=f"{_CF}:s2ft_population", replace=_s2ft_population_all_rows,
       claims=["s2ft.lemmaF17.full_risk_identity", "s2ft.thm4_2.s2ft_half.sharp"])
mutant(id="s2ft.lora_fit_rank_off_by_one",
       description="finite-sample LoRA fit truncating at rank r + 1 (off-by-one in SVD_r)",
       target=f"{_CF}:lora_fit", replace=lambda f: (lambda layers, ell, r, X, Y: f(layers, ell, r + 1, X, Y)),
       claims=["s2ft.lemmaF9.closed_form_equals_gd"])
mutant(id="s2ft.projector_row_space",
       description="projector M^+ M (row space) in place of M M^+ (column space) where the shapes allow it",
       target=f"{_CF}:projector", replace=_projector_wrong_side,
       claims=["s2ft.lemmaF17.full_risk_identity", "s2ft.thm4_2.s2ft_half.sharp"])
mutant(id="s2ft.delta2_in_s",
       description="delta^2(S) of Assumption F.4 measured on the rows inside S instead of outside",
       target=f"{_CF}:channel_sparsity_delta2", replace=_delta2_in_s,
       claims=["s2ft.thmF7.lora_bias_gap.printed", "s2ft.lemmaF14.outer_bounds"])
mutant(id="s2ft.thm42_regime_swapped",
       description="Theorem F.8's condition r <= rank Sigma_f evaluated as r >= rank Sigma_f",
       target=f"{_PR}:thm4_2_conditions", replace=_conditions_regime_swapped,
       claims=["s2ft.thm4_2.lora_half.printed"])
mutant(id="s2ft.thm42_s2ft_constant_dropped",
       description="Theorem 4.2's S²FT bound with 1 + 3 eps^2 replaced by 1 (the eps term dropped)",
       target=f"{_PR}:thm4_2_s2ft_bound",
       replace=_s2ft_bound_without_eps,
       claims=["s2ft.thm4_2.s2ft_half.printed", "s2ft.thm4_2.s2ft_half.unstructured"])
mutant(id="s2ft.f11_lower_power_one",
       description="Theorem F.11's corrected lower bound with rho ||G||_op (the converted print) in place of "
                   "rho ||G||_op^2",
       target=f"{_PR}:thm_f11_lower_bound",
       replace=lambda f: (lambda *a, g_power=1, **kw: f(*a, g_power=1, **kw)),
       claims=["s2ft.thmF11.lower_bound.printed"])
