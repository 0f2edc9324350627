"""Unit, property and bad-input tests of lintheory.s2ft closed forms and independent routes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import AssumptionError, InputError
from lintheory.s2ft import (excess_risk, full_fit, full_population, lora_factors, lora_fit,
                            lora_population, random_instance, s2ft_fit, s2ft_population, sample_id)
from lintheory.s2ft import closed_form as cf
from lintheory.s2ft import printed as pr
from lintheory.s2ft import solvers as sv

#: exact identities between two linear-algebra routes (relative)
EXACT_TOL = 1e-9
#: gradient descent vs closed form (absolute on F, well-conditioned instances)
GD_TOL = 1e-6

seeds = st.integers(0, 2**31 - 1)


def _inst(seed, **kw):
    return random_instance(seed, **kw)


# ----------------------------------------------------------------------------- unit tests
def test_single_layer_full_fit_is_ols(rng):
    X = rng.normal(size=(60, 4))
    B = rng.normal(size=(3, 4))
    Y = X @ B.T + 0.1 * rng.normal(size=(60, 3))
    W = rng.normal(size=(3, 4))
    ols = np.linalg.lstsq(X, Y, rcond=None)[0].T
    assert np.allclose(full_fit([W], 1, X, Y), ols, atol=1e-10)


def test_s2ft_changes_only_selected_rows(rng):
    layers = [rng.normal(size=(5, 4)), rng.normal(size=(3, 5))]
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 3))
    V = cf.s2ft_adapter(layers, 1, [1, 3], X, Y)
    assert V.shape == (4, 2)
    Delta = np.zeros((5, 4))
    Delta[[1, 3]] = V.T
    F = layers[1] @ (layers[0] + Delta)
    assert np.allclose(F, s2ft_fit(layers, 1, [1, 3], X, Y), atol=1e-10)


def test_lora_factors_are_balanced_and_reproduce_fit(rng):
    layers = [rng.normal(size=(5, 4)), rng.normal(size=(3, 5))]
    X, Y = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    U, V = lora_factors(layers, 1, 2, X, Y)
    assert U.shape == (5, 2) and V.shape == (4, 2)
    assert np.allclose(U.T @ U, V.T @ V, atol=1e-10)          # balanced
    F = layers[1] @ (layers[0] + U @ V.T)
    assert np.allclose(F, lora_fit(layers, 1, 2, X, Y), atol=1e-10)


def test_ce1_lora_beats_label_shift():
    """CE1 of the note, recomputed: E_out(LoRA_inf) = 5 < 6 = label shift."""
    Bi, Bo, S = np.eye(2) + np.diag([2.0, 1.0]), np.eye(2) + np.array([[0, 1.0], [0, 0]]), np.eye(2)
    F = lora_population([np.eye(2)], 1, 1, Bi, S)
    assert excess_risk(F, Bo, S) == pytest.approx(5.0)
    assert pr.thm4_2_lora_lower_bound(Bi, Bo, S) == pytest.approx(6.0)


def test_ce2_lora_above_s2ft_in_distribution():
    Bi, S = np.diag([1.0, 0.9, 0.0, 0.0]), np.eye(4)
    ch = pr.lemma_f14_chain([np.zeros((4, 4))], 1, [0, 1], 1, Bi, S)
    assert ch["full"] == pytest.approx(0.0, abs=1e-12)
    assert ch["s2ft"] == pytest.approx(0.0, abs=1e-12)
    assert ch["lora"] == pytest.approx(0.81)


def test_exact_variance_matches_monte_carlo():
    inst = _inst(3, depth=2, factored=True)
    n, reps = 40, 4000
    X, Y = sample_id(inst, n, 11, reps=reps)
    e = [excess_risk(s2ft_fit(inst.layers, inst.ell, inst.channels, X[i], Y[i]), inst.B_in, inst.sigma_in)
         for i in range(reps)]
    ref = cf.expected_id_risk_exact(inst.layers, inst.ell, inst.B_in, inst.sigma_in, inst.sigma_eps, n,
                                    channels=inst.channels)
    se = np.std(e) / np.sqrt(reps)
    assert abs(np.mean(e) - ref["expected"]) < 4 * se


# ----------------------------------------------------------------------------- property tests
@settings(deadline=None, max_examples=30)
@given(seeds, st.booleans(), st.booleans())
def test_lstsq_route_equals_closed_form(seed, bottleneck, factored):
    inst = _inst(seed, bottleneck=bottleneck, factored=factored)
    X, Y = sample_id(inst, 25, seed)
    F1 = s2ft_fit(inst.layers, inst.ell, inst.channels, X, Y)
    F2, _ = sv.s2ft_lstsq(inst.layers, inst.ell, inst.channels, X, Y)
    G1 = full_fit(inst.layers, inst.ell, X, Y)
    G2, _ = sv.full_lstsq(inst.layers, inst.ell, X, Y)
    assert np.abs(F1 - F2).max() <= EXACT_TOL * (1 + np.abs(F1).max())
    assert np.abs(G1 - G2).max() <= EXACT_TOL * (1 + np.abs(G1).max())


@settings(deadline=None, max_examples=30)
@given(seeds, st.booleans(), st.booleans(), st.booleans())
def test_whitened_forms_equal_closed_forms(seed, bottleneck, shift, singular):
    inst = _inst(seed, bottleneck=bottleneck, covariate_shift=shift, singular_sigma=singular)
    R = inst.risks(inst.population_fits())
    W = sv.whitened_population_risks(inst)
    for k in R:
        assert R[k] == pytest.approx(W[k], rel=EXACT_TOL, abs=EXACT_TOL)


@settings(deadline=None, max_examples=30)
@given(seeds, st.booleans(), st.booleans())
def test_ood_identity_sharp_bound_and_no_free_lunch(seed, factored, bottleneck):
    inst = _inst(seed, factored=factored, bottleneck=bottleneck)
    a = (inst.layers, inst.ell, inst.channels, inst.B_in, inst.B_out, inst.sigma_in)
    d = cf.s2ft_ood_identity(*a)
    assert d["lhs"] == pytest.approx(d["rhs"], rel=EXACT_TOL, abs=EXACT_TOL)
    e2 = cf.epsilon2_min(*a)
    assert d["lhs"] <= cf.s2ft_ood_bound_sharp(*a) * (1 + EXACT_TOL) + EXACT_TOL
    assert cf.s2ft_ood_bound_sharp(*a) <= (1 + e2) * d["E_pre"] * (1 + EXACT_TOL) + EXACT_TOL
    for F in inst.population_fits().values():
        assert cf.no_free_lunch_slack(F, inst.B_in, inst.B_out, inst.sigma_in) >= -EXACT_TOL


@settings(deadline=None, max_examples=30)
@given(seeds)
def test_in_distribution_order_and_monotonicity(seed):
    inst = _inst(seed)
    R = inst.risks(inst.population_fits())
    tol = EXACT_TOL * (1 + R["pre"][0])
    assert R["full"][0] <= R["lora"][0] + tol and R["full"][0] <= R["s2ft"][0] + tol
    assert R["lora"][0] <= R["pre"][0] + tol and R["s2ft"][0] <= R["pre"][0] + tol
    a = (inst.layers, inst.ell)
    sub = inst.channels[:max(1, len(inst.channels) - 1)]
    e_sub = excess_risk(s2ft_population(*a, sub, inst.B_in, inst.sigma_in), inst.B_in, inst.sigma_in)
    assert R["s2ft"][0] <= e_sub + tol


@settings(deadline=None, max_examples=20)
@given(seeds)
def test_batched_route_equals_per_instance(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(1, 4))
    widths = rng.integers(2, 7, size=L + 1).tolist()
    ell = int(rng.integers(1, L + 1))
    s = int(rng.integers(1, widths[ell] + 1))
    r = int(rng.integers(1, min(widths[ell], widths[ell - 1]) + 1))
    b = sv.random_batch(seed, 4, widths, ell, s, r)
    out = sv.population_risks_batch(b)
    for i in range(4):
        if out["cond"][i] > cf.COND_MAX or out["gap"][i] <= cf.GAP_RTOL:
            continue
        layers = [W[i] for W in b["layers"]]
        ch = np.flatnonzero(b["mask"][i]).tolist()
        S, Bi, Bo = b["sigma"][i], b["B_in"][i], b["B_out"][i]
        for m, F in (("full", full_population(layers, ell, Bi, S)), ("s2ft", s2ft_population(layers, ell, ch, Bi, S)),
                     ("lora", lora_population(layers, ell, r, Bi, S))):
            assert out[f"E_out_{m}"][i] == pytest.approx(excess_risk(F, Bo, S), rel=1e-8, abs=1e-8)


def test_lora_gradient_descent_matches_closed_form():
    inst = random_instance(5, depth=2, d_rank=1)
    X, Y = sample_id(inst, 200, 5)
    F, U, V, info = sv.lora_gd(inst.layers, inst.ell, inst.r, X, Y, seed=1)
    assert np.abs(F - lora_fit(inst.layers, inst.ell, inst.r, X, Y)).max() < GD_TOL


# ----------------------------------------------------------------------------- bad input
def _ok():
    rng = np.random.default_rng(0)
    layers = [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))]
    return layers, rng.normal(size=(20, 3)), rng.normal(size=(20, 2))


def test_bad_layer_shapes():
    layers, X, Y = _ok()
    with pytest.raises(InputError, match="do not chain"):
        full_fit([layers[0], np.ones((2, 5))], 1, X, Y)


@pytest.mark.parametrize("ell", [0, 3, -1, 1.5])
def test_bad_ell(ell):
    layers, X, Y = _ok()
    with pytest.raises(InputError, match="ell"):
        full_fit(layers, ell, X, Y)


@pytest.mark.parametrize("channels,msg", [([1, 1], "distinct"), ([4], "outside"), ([-1], "outside"),
                                          ([], "non-empty"), ([0.5], "integers")])
def test_bad_channels(channels, msg):
    layers, X, Y = _ok()
    with pytest.raises(InputError, match=msg):
        s2ft_fit(layers, 1, channels, X, Y)


@pytest.mark.parametrize("r", [0, 4, 2.0])
def test_bad_rank(r):
    layers, X, Y = _ok()
    with pytest.raises(InputError, match="r"):
        lora_fit(layers, 1, r, X, Y)


def test_bad_data_shapes_and_nan():
    layers, X, Y = _ok()
    with pytest.raises(InputError, match="columns"):
        full_fit(layers, 1, X[:, :2], Y)
    with pytest.raises(InputError, match="samples"):
        full_fit(layers, 1, X, Y[:5])
    X2 = X.copy()
    X2[0, 0] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        full_fit(layers, 1, X2, Y)


def test_non_psd_and_asymmetric_covariance():
    B = np.ones((2, 2))
    with pytest.raises(AssumptionError, match="positive semi-definite") as e:
        excess_risk(B, B, np.diag([1.0, -0.5]))
    assert e.value.violation == pytest.approx(0.5)
    with pytest.raises(AssumptionError, match="symmetric"):
        excess_risk(B, B, np.array([[1.0, 0.5], [0.0, 1.0]]))


def test_singular_covariance_rejected_when_nonsingular_needed():
    with pytest.raises(AssumptionError, match="nonsingular"):
        cf.check_covariance(np.diag([1.0, 0.0]), "sigma_eps", nonsingular=True)
    assert cf.check_covariance(np.diag([1.0, 0.0]), "sigma_x").shape == (2, 2)


def test_ill_conditioned_instance_rejected():
    S = np.diag([1.0, 1e-8])                      # kept eigenvalue ratio 1e8 > COND_MAX
    with pytest.raises(AssumptionError, match="ill-conditioned"):
        full_population([np.eye(2)], 1, np.ones((2, 2)), S)


def test_lora_tie_rejected():
    with pytest.raises(AssumptionError, match="eigengap"):
        lora_population([np.eye(2)], 1, 1, np.eye(2) * 2, np.eye(2))


def test_n_too_small_for_exact_variance():
    inst = _inst(1, depth=1, factored=True)
    d = inst.parts.d_in
    with pytest.raises(AssumptionError, match="n > d'"):
        cf.expected_id_risk_exact(inst.layers, inst.ell, inst.B_in, inst.sigma_in, inst.sigma_eps, d + 1)


def test_misspecified_instance_rejected_by_exact_variance():
    rng = np.random.default_rng(2)
    layers = [rng.normal(size=(2, 4)), rng.normal(size=(3, 2))]      # bottleneck: W_low has rank 2 < p
    B = rng.normal(size=(3, 4))
    with pytest.raises(AssumptionError, match="visible"):
        cf.expected_id_risk_exact(layers, 2, B, np.eye(4), np.eye(3), 50)
