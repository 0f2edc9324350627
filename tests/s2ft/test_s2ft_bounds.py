"""Hypothesis property tests of the explicit-constant inequalities of the S²FT theory (dims ≤ 8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import InputError
from lintheory.s2ft import closed_form as cf
from lintheory.s2ft import printed as pr
from lintheory.s2ft import random_instance

#: relative slack for inequalities between exact quantities
REL = 1e-9

seeds = st.integers(0, 2**31 - 1)


def _le(a, b):
    return a <= b * (1 + REL) + REL


@settings(deadline=None, max_examples=30)
@given(seeds, st.booleans(), st.booleans(), st.booleans())
def test_covariate_shift_bounds(seed, bottleneck, singular, factored):
    inst = random_instance(seed, covariate_shift=True, bottleneck=bottleneck, singular_sigma=singular,
                           factored=factored)
    a = (inst.layers, inst.ell)
    R = inst.risks(inst.population_fits())
    assert _le(R["s2ft"][1], cf.s2ft_ood_bound_covshift(*a, inst.channels, inst.B_in, inst.B_out,
                                                         inst.sigma_in, inst.sigma_out))
    for eta in (0.1, 0.5, 0.9):
        b = cf.lora_ood_bounds_covshift(*a, inst.r, inst.B_in, inst.B_out, inst.sigma_in, inst.sigma_out, eta)
        assert b["E_out"] == pytest.approx(R["lora"][1], rel=1e-9, abs=1e-12)
        assert _le(np.sqrt(b["E_out"]), b["upper_sqrt"])
        assert _le(b["lower"], b["E_out"])


@settings(deadline=None, max_examples=30)
@given(seeds, st.booleans(), st.booleans())
def test_bias_bounds_and_f14_outer(seed, bottleneck, factored):
    inst = random_instance(seed, bottleneck=bottleneck, factored=factored)
    a = (inst.layers, inst.ell)
    R = inst.risks(inst.population_fits())
    assert _le(R["lora"][0], pr.thm_f10_bias_bound(*a, inst.r, inst.B_in, inst.sigma_in))
    assert _le(R["s2ft"][0], pr.thm_f13_bias_bound(*a, inst.channels, inst.B_in, inst.sigma_in))
    assert _le(R["full"][0], pr.cor_f18_bound(*a, inst.B_in, inst.sigma_in, squared=True))
    assert _le(pr.cor_f18_bound(*a, inst.B_in, inst.sigma_in, squared=True),
               pr.cor_f18_bound(*a, inst.B_in, inst.sigma_in))
    ch = pr.lemma_f14_chain(*a, inst.channels, inst.r, inst.B_in, inst.sigma_in)
    assert _le(ch["full"], min(ch["lora"], ch["s2ft"]))
    assert _le(ch["s2ft"], ch["upper"])


@settings(deadline=None, max_examples=30)
@given(seeds)
def test_printed_s2ft_bound_and_corrected_lora_equality(seed):
    inst = random_instance(seed, factored=True)
    a = (inst.layers, inst.ell)
    R = inst.risks(inst.population_fits())
    bound = pr.thm4_2_s2ft_bound(*a, inst.channels, inst.B_in, inst.B_out, inst.sigma_in)
    assert _le(R["s2ft"][1], bound)
    rk = cf.rank_sigma_f(*a, inst.B_in, inst.sigma_in)
    r = min(inst.parts.d_ell, inst.parts.d_in)
    if r >= rk:
        e = cf.excess_risk(cf.lora_population(*a, r, inst.B_in, inst.sigma_in), inst.B_out, inst.sigma_in)
        assert e == pytest.approx(pr.thm4_2_lora_lower_bound(inst.B_in, inst.B_out, inst.sigma_in), rel=1e-9)


@settings(deadline=None, max_examples=40)
@given(seeds, st.integers(2, 6), st.integers(2, 6))
def test_lemma_g1_explicit_constant(seed, m, n):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    E = rng.normal(size=(m, n))
    E *= rng.uniform(0, 1) * np.linalg.norm(A, 2) / np.linalg.norm(E, 2)
    s = int(rng.integers(1, min(m, n) + 1))
    b = pr.lemma_g1_bound(A, A + E, s)
    if b["applies"]:
        assert b["lhs"] <= b["rhs"]


def test_variance_rates_are_rate_only_and_decrease():
    inst = random_instance(0)
    a = (inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in, inst.sigma_eps)
    r1, r2 = pr.thm_f7_variance_rates(*a, 100), pr.thm_f7_variance_rates(*a, 1000)
    assert r1["rate_only"] and r2["s2ft"] < r1["s2ft"] and r2["lora"] < r1["lora"]
    with pytest.raises(InputError):
        pr.thm_f7_variance_rates(*a, 1)


def test_epsilon2_min_matches_definition():
    Bi, Bo, S = np.diag([2.0, 2.0]), np.diag([3.0, 2.0]), np.eye(2)
    assert cf.epsilon2_min([np.eye(2)], 1, [0], Bi, Bo, S) == pytest.approx(1 / 5)
    assert cf.channel_sparsity_delta2([np.eye(2)], 1, [0], Bi, S) == pytest.approx(0.5)
