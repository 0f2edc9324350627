"""Unit and property tests of lintheory.adadare.closed_form (Theorem 1 and 2, corrected)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.adadare import (drop_and_rescale, drop_probabilities, expected_diag_loss, expected_l1,
                               expected_layer_loss, gamma_bound, l1_exceedance_probability, optimal_gamma,
                               solve_drop_probabilities)
from lintheory.adadare import printed
from lintheory.adadare.data import heavy_tailed, light_tailed, no_clip_margin
from lintheory.adadare.solvers import enumerate_l1, kkt_residuals

ALG = 1e-10


def _s(h, d):
    return np.sqrt(h) * np.abs(d)


def test_small_example_by_hand():
    # s = (1, 3), p = 0.5: budget 1 = kappa (1 + 3) -> kappa = 1/4, keep (0.25, 0.75)
    assert np.allclose(drop_probabilities([1.0, 1.0], [1.0, 3.0], 0.5), [0.75, 0.25], atol=ALG)


def test_clipping_example_by_hand():
    # s = (1, 1, 1, 9), p = 0.5: budget 2; the 9 saturates, 3 kappa = 1 -> p = 2/3 on the rest
    r = solve_drop_probabilities(np.ones(4), [1.0, 1.0, 1.0, 9.0], 0.5)
    assert np.allclose(r.probs, [2 / 3, 2 / 3, 2 / 3, 0.0], atol=ALG)
    assert r.clipping_active and r.n_clipped == 1
    assert r.kappa == pytest.approx(1 / 3)
    pa = solve_drop_probabilities(np.ones(4), [1.0, 1.0, 1.0, 9.0], 0.5, method="paper")
    # A.17: 1 - n(1-p) s / sum s = 1 - s/6 = (5/6, 5/6, 5/6, -1/2) -> clipped: mean 0.625 > 0.5
    assert np.allclose(pa.probs, [5 / 6, 5 / 6, 5 / 6, 0.0])
    assert pa.mean_sparsity == pytest.approx(0.625)
    assert pa.clipping_active and pa.n_clipped == 1
    assert pa.variance > r.variance


def test_a18_over_sparsifies_when_clipping():
    r = solve_drop_probabilities(np.ones(4), [1.0, 1.0, 1.0, 9.0], 0.25, method="paper")
    w = solve_drop_probabilities(np.ones(4), [1.0, 1.0, 1.0, 9.0], 0.25)
    assert r.mean_sparsity > 0.25 + 0.3
    assert w.mean_sparsity == pytest.approx(0.25, abs=1e-14)
    assert r.variance > w.variance


def test_p_zero_drops_nothing():
    h, d = heavy_tailed(100, 2.0, seed=0)
    assert np.all(drop_probabilities(h, d, 0.0) == 0.0)
    assert printed.a18_drop_probabilities(h, d, 0.0).max() > 0.1       # the printed formula does drop


def test_zero_scores_dropped_and_budget_met():
    h = np.ones(6)
    d = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    r = solve_drop_probabilities(h, d, 0.5)
    assert r.n_zero_score == 2
    assert np.all(r.probs[:2] == 1.0)                  # dropped: they never change the output
    assert r.mean_sparsity == pytest.approx(0.5, abs=1e-14)
    # too many zeros: the live entries are all kept and the zeros share the rest
    r2 = solve_drop_probabilities(h, d, 0.1)
    assert np.all(r2.probs[2:] == 0.0)
    assert np.allclose(r2.probs[:2], 0.3)
    assert r2.mean_sparsity == pytest.approx(0.1)


def test_all_zero_scores():
    assert np.allclose(drop_probabilities(np.ones(5), np.zeros(5), 0.3), 0.3)
    with pytest.raises(ValueError, match="0/0"):
        drop_probabilities(np.ones(5), np.zeros(5), 0.3, method="paper")


def test_shape_is_kept():
    h, d = heavy_tailed(12, 1.0, seed=1)
    q = drop_probabilities(h.reshape(3, 4), d.reshape(3, 4), 0.4)
    assert q.shape == (3, 4)
    assert q.mean() == pytest.approx(0.4)


def test_no_clipping_a18_equals_waterfill():
    h, d = light_tailed(300, 0.6, seed=3)
    assert no_clip_margin(h, d, 0.6) >= 0
    assert np.allclose(drop_probabilities(h, d, 0.6), drop_probabilities(h, d, 0.6, method="paper"), atol=1e-12)


def test_loss_forms_agree():
    rng = np.random.default_rng(0)
    h, d = heavy_tailed(30, 1.0, seed=rng)
    q = rng.uniform(0, 0.9, 30)
    for g in (-0.5, 0.0, 0.7, 1.0, 1.8):
        cf = expected_diag_loss(h, d, q, g)
        assert printed.a6_line1(h, d, q, g) == pytest.approx(cf, rel=1e-12)
        assert printed.a6_line2(h, d, q, g) == pytest.approx(cf, rel=1e-12)


def test_layer_loss_diagonal_gram_reduces_to_diag_loss():
    rng = np.random.default_rng(1)
    d = rng.standard_normal((3, 4))
    q = rng.uniform(0, 0.9, (3, 4))
    G = np.diag(rng.uniform(0.5, 2, 4))
    h = np.tile(np.diag(G), (3, 1))
    assert expected_layer_loss(d, q, 0.8, gram=G) == pytest.approx(expected_diag_loss(h, d, q, 0.8), rel=1e-12)


def test_drop_and_rescale_is_seeded_and_unbiased():
    d = np.linspace(-1, 1, 50)
    q = np.full(50, 0.7)
    a = drop_and_rescale(d, q, 1.0, seed=5)
    assert np.array_equal(a, drop_and_rescale(d, q, 1.0, seed=5))
    kept = a != 0
    assert np.allclose(a[kept], d[kept] / 0.3)
    mean = np.mean([drop_and_rescale(d, q, 1.0, seed=s) for s in range(4000)], axis=0)
    assert np.max(np.abs(mean - d)) < 0.1
    pre = np.ones(50)
    assert np.allclose(drop_and_rescale(d, q, 1.0, seed=5, pre=pre), pre + a)


def test_drop_and_rescale_needs_a_seed():
    with pytest.raises(ValueError, match="seed"):
        drop_and_rescale([1.0], [0.5], 1.0)


def test_optimal_gamma_formula():
    h, d = heavy_tailed(20, 1.0, seed=2)
    q = np.full(20, 0.5)
    g = optimal_gamma(h, d, q)
    # V = Q * 1 (p/(1-p) = 1) -> gamma* = 1/2
    assert g == pytest.approx(0.5)
    assert optimal_gamma(h, d, np.zeros(20)) == 1.0


def test_theorem2_identities():
    d = np.array([1.0, -2.0, 0.5])
    q = np.array([0.2, 0.5, 0.9])
    for g in (-1.5, 0.3, 2.0):
        assert enumerate_l1(d, q, g)["mean"] == pytest.approx(expected_l1(d, g), rel=1e-12)
    gb = gamma_bound(d, 7.0)
    assert gb.bound == pytest.approx(2.0)
    assert gb.admits(1.99) and gb.admits(-1.99) and not gb.admits(2.0) and not gb.admits(-2.5)
    assert gamma_bound(np.zeros(3), 1.0).bound == np.inf


def test_exceedance_exact_vs_enumeration_and_mc():
    rng = np.random.default_rng(4)
    d = rng.standard_normal(10)
    q = rng.uniform(0.3, 0.7, 10)
    b = gamma_bound(d, 1.0).bound
    pe = l1_exceedance_probability(d, q, b, 1.0)
    assert pe == pytest.approx(enumerate_l1(d, q, b, eta=1.0)["exceed"], abs=1e-12)
    pm = l1_exceedance_probability(d, q, b, 1.0, method="montecarlo", n_samples=40000, seed=1)
    assert abs(pm - pe) < 5 * np.sqrt(pe * (1 - pe) / 40000)
    assert 0.2 < pe < 0.8                           # a budget in expectation only


finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(n=st.integers(1, 40), sigma=st.floats(0, 3), p=st.floats(0, 0.99), seed=st.integers(0, 10**6),
       n_zero=st.integers(0, 5))
def test_waterfill_properties(n, sigma, p, seed, n_zero):
    rng = np.random.default_rng(seed)
    h, d = heavy_tailed(n, sigma, seed=rng)
    d[rng.choice(n, min(n_zero, n), replace=False)] = 0.0
    r = solve_drop_probabilities(h, d, p)
    q = r.probs
    assert np.all((q >= 0) & (q <= 1))
    assert abs(q.mean() - p) <= 1e-12                                   # sparsity met exactly
    s = _s(h, d)
    live = s > 0
    # monotone: larger score, no larger drop probability
    order = np.argsort(s[live])
    assert np.all(np.diff(q[live][order]) <= 1e-12)
    if live.any():
        k = kkt_residuals(s, q, p)
        assert k["max"] < 1e-8
    # never worse than A.18 (when A.18 is defined) or uniform DARE
    if s.sum() > 0 and p > 0:
        pa = solve_drop_probabilities(h, d, p, method="paper")
        # The drop probabilities are resolved to an ulp in u = 1 - q, so the variance
        # sum s^2 q/(1-q) to about eps * sum s^2 (absolute): at p = 1e-7 that is a relative
        # 2e-9, not 1e-12.
        ulp = 4 * np.finfo(float).eps * np.sum(s[live] ** 2)
        assert r.variance <= pa.variance * (1 + 1e-12) + ulp
        assert r.variance <= np.sum(s[live] ** 2 * p / (1 - p)) * (1 + 1e-12) + ulp


@settings(deadline=None)
@given(n=st.integers(1, 30), p=st.floats(0, 0.95), c=st.floats(0.01, 100), seed=st.integers(0, 10**6))
def test_invariances(n, p, c, seed):
    h, d = heavy_tailed(n, 1.5, seed=seed)
    q = drop_probabilities(h, d, p)
    assert np.allclose(drop_probabilities(c * h, d, p), q, atol=1e-10)       # H -> cH
    assert np.allclose(drop_probabilities(h, -c * d, p), q, atol=1e-10)      # delta -> -c delta
    perm = np.random.default_rng(seed).permutation(n)
    assert np.allclose(drop_probabilities(h[perm], d[perm], p), q[perm], atol=1e-12)


@settings(deadline=None)
@given(q=st.lists(st.floats(0, 0.99), min_size=1, max_size=10), g=finite, t=st.floats(0, 1))
def test_coordinate_loss_convex(q, g, t):
    q = np.asarray(q)
    q2 = q[::-1]
    h = np.ones_like(q)
    d = np.ones_like(q)
    lhs = expected_diag_loss(h, d, t * q + (1 - t) * q2, g)
    rhs = t * expected_diag_loss(h, d, q, g) + (1 - t) * expected_diag_loss(h, d, q2, g)
    assert lhs <= rhs * (1 + 1e-12) + 1e-12
