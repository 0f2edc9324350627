"""Unit, property and bad-input tests of lintheory.lora_margin.closed_form / printed / data."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import AssumptionError, InputError
from lintheory.lora_margin import (adapter, check_lora_rank, forgetting_margins, intermediate_lambda,
                                   merge_coefficients, merged_margins, optimal_lambda, optimum,
                                   thresholds)
from lintheory.lora_margin import printed
from lintheory.lora_margin.data import lora_problem, merging_problem, near_orthogonal_features, pearson_stats
from lintheory.lora_margin.solvers import reduced_2d, verify_optimality

#: closed form vs the note's golden values (printed to 6 decimals)
GOLDEN_TOL = 2e-6
#: closed form vs its own KKT certificate (exact arithmetic up to rounding)
KKT_EXACT_TOL = 1e-9
#: closed form vs the L-BFGS-B 2-D reduced problem
REDUCED_TOL = 1e-6

GOLDEN = [  # K, Kb, n, lam, regime, p, q, theta, rho, gamma (from the note, §2.9)
    (6, 3, 2, 0.20, "intermediate", 0.804600, 0.536400, 1.609201, 2.275753, 0.333333),
    (6, 3, 2, 0.08, "low", 3.041424, 2.160050, 6.095809, 8.999749, 0.354350),
    (6, 3, 2, 0.001, "low", 7.785293, 6.903920, 16.397402, 27.161306, 0.421037),
    (4, 4, 2, 0.08, "intermediate", 1.764531, None, 4.322201, 7.486272, 0.408248),
    (10, 5, 4, 0.02, "intermediate", 4.211094, 3.368875, 16.844374, 33.688749, 0.2),
    (10, 5, 4, 0.001, "low", 7.433096, 6.551723, 30.038823, 63.744505, 0.218109),
    (20, 20, 500, 5e-7, "intermediate", 11.401141, None, 1111.245790, 4843.808099, 0.010260),
]


@pytest.mark.parametrize("K,Kb,n,lam,regime,p,q,theta,rho,gamma", GOLDEN)
def test_golden_values(K, Kb, n, lam, regime, p, q, theta, rho, gamma):
    o = optimum(K, Kb, n, lam)
    assert o.regime == regime
    assert abs(o.p - p) < GOLDEN_TOL * max(1, p)
    if q is not None:
        assert abs(o.q - q) < GOLDEN_TOL * max(1, q)
    assert abs(o.theta - theta) < GOLDEN_TOL * theta
    assert abs(o.nuclear - rho) < GOLDEN_TOL * rho
    assert abs(o.normalized_margin - gamma) < 1e-6


def test_thresholds_values():
    t = thresholds(6, 3, 2)
    assert t.lambda_zero == pytest.approx(1 / (3 * math.sqrt(2)), rel=1e-14)
    assert t.lambda_crit == pytest.approx((math.sqrt(2) - 1) / 4, rel=1e-12)
    assert t.rho_crit == pytest.approx(7.478703, abs=1e-6)
    t = thresholds(4, 4, 2)
    assert t.lambda_crit == 0.0 and math.isinf(t.rho_crit)
    ts = thresholds(6, 3, 2, reduction="sum")
    assert ts.lambda_zero == pytest.approx(math.sqrt(2), rel=1e-14)
    t1 = thresholds(5, 1, 3)
    assert t1.lambda_zero == pytest.approx(math.sqrt(4 / 5) / math.sqrt(3))


def test_vectorised_matches_scalar():
    lams = np.geomspace(1e-6, 0.5, 57)
    o = optimum(7, 3, 2, lams)
    assert o.theta.shape == lams.shape
    for i in (0, 13, 30, 56):
        s = optimum(7, 3, 2, float(lams[i]))
        assert s.theta == pytest.approx(o.theta[i], rel=1e-14, abs=0)
        assert s.regime == o.regime[i]
    o2 = optimum(7, 3, 2, lams.reshape(3, 19))
    assert o2.p.shape == (3, 19)


def test_sum_reduction_equals_scaled_mean():
    K, Kb, n = 7, 3, 4
    lams = np.geomspace(1e-3, 10, 20)
    a = optimum(K, Kb, n, lams, reduction="sum")
    b = optimum(K, Kb, n, lams / (Kb * n))
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-13)


@settings(deadline=None, max_examples=25)
@given(K=st.integers(2, 9), data=st.data(), n=st.integers(1, 5), u=st.floats(-4, 0.3))
def test_kkt_and_reduced_agree(K, data, n, u):
    Kb = data.draw(st.integers(1, K))
    lam = thresholds(K, Kb, n).lambda_zero * 10 ** u
    o = optimum(K, Kb, n, lam)
    y = np.repeat(np.arange(Kb), n)
    kkt = verify_optimality(o.logits(), lam, y=y, n_classes=K)
    assert kkt["max"] < KKT_EXACT_TOL
    # within ~1e-14 of lam0 the optimum is nonzero but below the certificate's zero tolerance
    assert kkt["rank"] == (o.rank if o.theta > 1e-7 else 0)
    r = reduced_2d(K, Kb, n, lam)
    if Kb >= 2:
        assert abs(r.p - o.p) < REDUCED_TOL * max(1, o.p)
    if Kb < K:
        assert abs(r.q - o.q) < REDUCED_TOL * max(1, o.q)
    # template: zero column sums, unseen rows equal
    V = o.template()
    assert np.abs(V.sum(axis=0)).max() < 1e-10
    if Kb < K:
        assert np.ptp(V[Kb:]) < 1e-12


@settings(deadline=None, max_examples=25)
@given(K=st.integers(3, 9), data=st.data(), n=st.integers(1, 4))
def test_monotone_in_lambda(K, data, n):
    Kb = data.draw(st.integers(2, K))
    t = thresholds(K, Kb, n)
    lams = t.lambda_zero * np.geomspace(1e-5, 0.999, 200)
    o = optimum(K, Kb, n, lams)
    assert np.all(np.diff(o.theta) < 0)
    assert np.all(np.diff(o.nuclear) < 0)
    assert np.all(np.diff(o.normalized_margin) <= 1e-12)


def test_scaling_law_lambda_sqrt_n():
    a = optimum(8, 3, 4, 0.01)
    b = optimum(8, 3, 1, 0.02)
    assert a.p == pytest.approx(b.p, rel=1e-12) and a.q == pytest.approx(b.q, rel=1e-12)


def test_intermediate_lambda_inverts():
    for K, Kb in ((6, 3), (5, 5), (9, 2)):
        p = np.linspace(0.1, 1.0, 7) * (Kb * math.log1p(math.sqrt(K / (K - Kb))) if Kb < K else 5)
        lam = intermediate_lambda(K, Kb, 3, p)
        np.testing.assert_allclose(optimum(K, Kb, 3, lam).p, p, rtol=1e-10)


def test_adapter_on_generated_problem_and_permuted_labels():
    P = lora_problem(6, 3, 2, labels=[4, 1, 2], seed=3)
    Z = adapter(P.X_ft, P.y_ft, 6, 0.08, W_pre=P.W_pre, X_pre=P.X_pre)
    assert Z.shape == (6, P.d)
    L = P.X_ft @ Z.T
    o = optimum(6, 3, 2, 0.08)
    i = np.arange(len(P.y_ft))
    np.testing.assert_allclose(L[i, P.y_ft], o.a, rtol=1e-10)
    assert np.abs(P.X_pre @ Z.T).max() < 1e-10
    # order of samples does not matter
    perm = np.random.default_rng(0).permutation(len(P.y_ft))
    Z2 = adapter(P.X_ft[perm], P.y_ft[perm], 6, 0.08)
    np.testing.assert_allclose(Z, Z2, atol=1e-12)


def test_forgetting_margins_and_optimal_lambda_bruteforce():
    K, Kb, n, rho, gpre = 10, 5, 4, 2.0, 2.0
    r = optimal_lambda(K, Kb, n, rho * gpre, rho_pre=rho)
    lams = r.lam * np.geomspace(0.5, 2, 4001)
    m = forgetting_margins(K, Kb, n, lams, rho_pre=rho, gamma_pre=gpre)
    assert m["union"].max() <= r.value + 1e-12
    assert abs(m["union"].max() - r.value) < 1e-6
    assert r.value == pytest.approx(0.203675, abs=1e-6)   # the note's counterexample value


def test_merge_formulas():
    r = merge_coefficients(2.0, [1.0, 4.0], rho_pre=2.0, task_thetas=[1.0, 2.0])
    np.testing.assert_allclose(r.alpha, [2.0, 0.5])
    m = merged_margins(r.alpha, C_pre=2.0, rho_pre=2.0, task_margins=[1.0, 4.0], task_thetas=[1.0, 2.0])
    assert float(m["union"]) == pytest.approx(r.value)
    # invariant: sum of squared ratios is 1
    a = np.array([0.3, 1.7])
    m = merged_margins(a, C_pre=2.0, rho_pre=2.0, task_margins=[1.0, 4.0], task_thetas=[1.0, 2.0])
    g = np.array([1.0, 2.0])
    assert (m["pre"] / 1.0) ** 2 + np.sum((m["tasks"] / g) ** 2) == pytest.approx(1.0)


def test_printed_values():
    assert printed.zero_threshold(6, 3, 2) == pytest.approx(0.1178511)
    assert printed.rho_crit(6, 3, 2) == pytest.approx(3.0532, abs=1e-4)
    roots = [printed.eq28_root(6, 3, 2, lam) for lam in (0.12, 0.15, 0.20)]
    np.testing.assert_allclose(roots, [6.153, 5.746, 4.991], atol=2e-3)


def test_data_generators():
    P = merging_problem(5, [(5, 2), (3, 1), ([1, 4], 2)], seed=0)
    X = np.vstack([t.X for t in P.tasks])
    assert np.abs(X @ X.T - np.eye(len(X))).max() < 1e-12
    assert np.abs(P.X_pre @ X.T).max() < 1e-12
    assert np.abs(X @ P.W_pre.T).max() < 1e-9
    assert np.linalg.norm(P.W_pre) == pytest.approx(1.0)
    assert P.C_pre > 0
    Xn, y = near_orthogonal_features(4, 30, 400, intra_corr=0.25, seed=1)
    st_ = pearson_stats(Xn, y)
    assert abs(st_["intra_cosine"] - 0.25) < 1e-12 and abs(st_["inter_cosine"]) < 1e-12
    X0, _ = near_orthogonal_features(3, 2, 10, intra_corr=0.0, seed=2)
    assert np.abs(X0 @ X0.T - np.eye(6)).max() < 1e-12


# ---------------------------------------------------------------- bad input
def test_bad_sizes():
    with pytest.raises(InputError, match="Kb = 5 > K = 4"):
        optimum(4, 5, 2, 0.1)
    with pytest.raises(InputError, match="lam must be > 0"):
        optimum(4, 2, 2, 0.0)
    with pytest.raises(InputError, match="lam must be > 0"):
        thresholds(4, 2, 2) and optimum(4, 2, 2, [-1.0, 0.1])
    with pytest.raises(InputError, match="non-finite"):
        optimum(4, 2, 2, float("nan"))
    with pytest.raises(InputError, match="reduction"):
        optimum(4, 2, 2, 0.1, reduction="avg")


def test_bad_labels_and_balance():
    X = np.eye(6)[:4]
    with pytest.raises(InputError, match="outside"):
        adapter(X, [0, 0, 3, 3], 3, 0.1)
    with pytest.raises(AssumptionError, match="same number n"):
        adapter(X, [0, 0, 0, 1], 3, 0.1)


def test_non_orthonormal_and_not_orthogonal():
    rng = np.random.default_rng(0)
    X = np.eye(6)[:4] + 1e-3 * rng.standard_normal((4, 6))
    with pytest.raises(AssumptionError, match="orthonormal.*measured") as ei:
        adapter(X, [0, 0, 1, 1], 3, 0.1)
    assert "solve_full_space" in str(ei.value)
    W = np.zeros((3, 6))
    W[0, 0] = 0.1
    with pytest.raises(AssumptionError, match="W_pre is orthogonal"):
        adapter(np.eye(6)[:4], [0, 0, 1, 1], 3, 0.1, W_pre=W)
    with pytest.raises(AssumptionError, match="orthogonal to pre-training"):
        adapter(np.eye(6)[:4], [0, 0, 1, 1], 3, 0.1, X_pre=np.eye(6)[3:5])


def test_d_too_small():
    with pytest.raises(AssumptionError, match="d >= Kb n"):
        adapter(np.ones((4, 3)), [0, 0, 1, 1], 3, 0.1)
    with pytest.raises(AssumptionError, match="rank\\(X_pre\\)"):
        adapter(np.eye(5)[:4], [0, 0, 1, 1], 3, 0.1, X_pre=np.array([[0, 0, 0, 0, 1.0], [1.0, 0, 0, 0, 0]]))
    with pytest.raises(InputError, match="too small"):
        merging_problem(4, [(2, 2)], d=7)


def test_rank_warning():
    with pytest.warns(UserWarning, match="rank-constrained"):
        assert check_lora_rank(2, 6, 3, 2, 0.01) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_lora_rank(2, 6, 3, 2, 0.15) is True


def test_merge_bad_inputs():
    with pytest.raises(AssumptionError, match="alpha_i\\* is undefined"):
        merge_coefficients(1.0, [1.0, 0.0])
    with pytest.warns(UserWarning, match="negative"):
        merged_margins([-0.5, 1.0], C_pre=1.0, rho_pre=1.0, task_margins=[1, 1], task_thetas=[1, 1])
    with pytest.raises(AssumptionError, match="separable"):
        optimal_lambda(4, 4, 2, -0.1)
    with pytest.raises(AssumptionError, match="separable"):
        forgetting_margins(4, 4, 2, 0.1, rho_pre=1.0, gamma_pre=-0.2)
