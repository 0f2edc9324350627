"""Plausible bugs of the LoRA margin library that the ``lora_margin`` claims must catch.

Each mutant patches one function of :mod:`lintheory.lora_margin` (see
:mod:`lintheory.mutants`); the claims it names must reach a verdict other than their
expected one while it is applied.  Run them with
``python -c "from lintheory.mutants import run_mutants; print(run_mutants(['lora_margin']))"``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..mutants import mutant

_CF = "lintheory.lora_margin.closed_form"
_SOL = "lintheory.lora_margin.solvers"


def _loosened_kkt(f):
    """verify_optimality with the rank > 0 spectral test ||W'||_2 <= 2 lam instead of lam."""
    def verify(Z, lam, **kw):
        r = dict(f(Z, lam, **kw))
        if r["rank"] > 0:
            r["spectral"] = max(0.0, r["spectral"] - 1.0)
        r["max"] = max(r["aligned"], r["cross"], r["spectral"])
        return r
    return verify


mutant(id="lora_margin.kkt_spectral_2lam",
       description="KKT certificate: the spectral test of the rank > 0 branch loosened to ||W'||_2 <= 2 lam",
       target=f"{_SOL}:verify_optimality", replace=_loosened_kkt,
       claims=["lora_margin.thm3_1.kkt_soundness"])

mutant(id="lora_margin.zero_threshold_K",
       description="the zero threshold lam0 = 1/(K sqrt n) as printed instead of 1/(K-bar sqrt n)",
       target=f"{_CF}:_g_zero", replace=lambda f: (lambda K, Kb: 1.0 / K if Kb > 1 else f(K, Kb)),
       claims=["lora_margin.thm3_1.zero_threshold.corrected"])

mutant(id="lora_margin.g_crit_exponent",
       description="lambda_crit with (1 + sigma)^(K-bar - 1) for (1 + sigma)^K-bar (off by one in the exponent)",
       target=f"{_CF}:_g_crit",
       replace=lambda f: (lambda K, Kb: 0.0 if Kb == K else
                          1.0 / (Kb - 1 + math.sqrt((K - Kb) / K)
                                 + (1 - math.sqrt((K - Kb) / K)) * (1 + math.sqrt(K / (K - Kb))) ** (Kb - 1))),
       claims=["lora_margin.thm3_1.lambda_crit.corrected"])

mutant(id="lora_margin.intermediate_drop_unseen",
       description="the intermediate equation without the unseen-class term (K - K-bar)/K-bar u^(K-bar-1)",
       target=f"{_CF}:_intermediate_rhs",
       replace=lambda f: (lambda u, K, Kb: u ** Kb / (1 + (Kb - 1) * u ** Kb + (K - Kb) * u ** (Kb - 1))),
       claims=["lora_margin.thm3_1.structure.corrected"])


def _printed_rho_crit(f):
    from . import printed

    def thresholds(K, Kb, n, **kw):
        t = f(K, Kb, n, **kw)
        if 2 <= Kb < K:
            t = dataclasses.replace(t, rho_crit=printed.rho_crit(K, Kb, n))
        return t
    return thresholds


mutant(id="lora_margin.rho_crit_printed",
       description="thresholds() reports Lemma E.4's rho_crit read literally, sqrt(n K-bar(K-bar-1)) (missing the factor sqrt(K-bar(K-bar-1)))",
       target=f"{_CF}:thresholds", replace=_printed_rho_crit,
       claims=["lora_margin.lemmaE4.rho_crit.corrected"])


def _alpha_normalised(f):
    def merge(C_pre, task_margins, *, rho_pre=None, task_thetas=None):
        r = f(C_pre, task_margins, rho_pre=rho_pre, task_thetas=task_thetas)
        if rho_pre is None or task_thetas is None:
            return r
        # gamma_pre / gamma_i: the ratio of normalised margins, the Frobenius norms dropped
        return dataclasses.replace(r, alpha=r.alpha * np.asarray(task_thetas, float) / rho_pre)
    return merge


mutant(id="lora_margin.alpha_normalised_ratio",
       description="Theorem 3.3's alpha_i* as gamma_pre/gamma_i (the norm ratio rho_pre/Theta_i dropped)",
       target=f"{_CF}:merge_coefficients", replace=_alpha_normalised,
       claims=["lora_margin.thm3_3.alpha_star"])


def _merged_index_i(f):
    def merged(alpha, *, C_pre, rho_pre, task_margins, task_thetas):
        a = np.asarray(alpha, float)
        th = np.asarray(task_thetas, float)
        C = np.asarray(task_margins, float)
        # the printed typo: Theta_{lambda,i} inside the sum over j (one norm per task i)
        norms = np.sqrt(rho_pre ** 2 + np.sum(a ** 2) * th ** 2)
        tasks = a * C / norms
        pre = C_pre / math.sqrt(rho_pre ** 2 + float(np.sum((a * th) ** 2)))
        return {"pre": pre, "tasks": tasks, "union": min(pre, float(tasks.min()))}
    return merged


mutant(id="lora_margin.merged_theta_index_i",
       description="merged margins with the printed index: Theta_{lambda,i} inside the sum over j",
       target=f"{_CF}:merged_margins", replace=_merged_index_i,
       claims=["lora_margin.thm3_3.merged_margins"])

mutant(id="lora_margin.grad_sum_reduction",
       description="the CE gradient of the KKT certificate summed over samples instead of averaged",
       target=f"{_SOL}:mean_ce_grad",
       replace=lambda f: (lambda Z, **kw: f(Z, **kw) * np.asarray(kw["y"]).size),
       claims=["lora_margin.thm3_1.kkt_certificate"])

mutant(id="lora_margin.adapter_half_lambda",
       description="adapter() solves CE + (lam/2)||Z||_* (eq. (16)'s printed coefficient) instead of lam",
       target=f"{_CF}:adapter",
       replace=lambda f: (lambda X_ft, y_ft, n_classes, lam, **kw: f(X_ft, y_ft, n_classes, lam / 2, **kw)),
       claims=["lora_margin.thm3_1.trained_lora"])


def _printed_ab_fixed(f):
    def ab(K, Kb, n, theta, reading="bars restored"):
        return theta * math.sqrt(Kb - 1) / (Kb * math.sqrt(n)), theta / (Kb * math.sqrt(n * (Kb - 1)))
    return ab


mutant(id="lora_margin.printed_ab_silently_corrected",
       description="the printed-formula helper for Theorem 3.1(ii) silently returns the corrected a, b",
       target="lintheory.lora_margin.printed:intermediate_ab", replace=_printed_ab_fixed,
       claims=["lora_margin.thm3_1.intermediate_ab.printed"])

mutant(id="lora_margin.low_regime_branch_everywhere",
       description="optimum() never takes the low branch: lambda_crit reported as 0 (the c = 0 branch everywhere)",
       target=f"{_CF}:_g_crit", replace=lambda f: (lambda K, Kb: 0.0 if Kb >= 2 else f(K, Kb)),
       claims=["lora_margin.thm3_1.structure.corrected", "lora_margin.thm3_1.lambda_crit.corrected"])
