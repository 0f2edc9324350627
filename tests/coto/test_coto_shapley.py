"""Shapley values: agreement of exact routes, axioms, Monte Carlo within standard errors, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lintheory.coto import (contribution_shares, losses_all_masks, mask_index, quadratic_game_shapley,
                            shapley_deep_linear_mse, shapley_exact, shapley_from_table,
                            shapley_multilinear, shapley_owen_mc, shapley_permutation_mc,
                            shapley_permutations_exact, value_table)
from lintheory.coto.data import random_lora_chain
from lintheory.errors import AssumptionError, InputError

EXACT = 1e-12


@settings(max_examples=20)
@given(L=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_exact_routes_agree(L, seed):
    t = np.random.default_rng(seed).standard_normal(2 ** L)
    a = shapley_from_table(t)
    assert np.max(np.abs(a - shapley_permutations_exact(t))) < EXACT
    assert np.max(np.abs(a - shapley_multilinear(t))) < EXACT
    assert a.sum() == pytest.approx(t[-1] - t[0], abs=EXACT)            # efficiency


def test_gauss_legendre_needs_ceil_half_nodes():
    t = np.random.default_rng(0).standard_normal(2 ** 8)
    a = shapley_from_table(t)
    errs = [np.max(np.abs(shapley_multilinear(t, n) - a)) for n in range(1, 5)]
    assert errs[3] < EXACT and errs[2] > 1e-8                           # ceil(8/2) = 4 nodes


def test_public_callable_api():
    w = np.array([0.5, -1.0, 2.0, 0.0])
    phi = shapley_exact(lambda m: float(w @ m) + 3.0 * m[0] * m[1], 4)
    assert np.allclose(phi, [2.0, 0.5, 2.0, 0.0])
    assert phi.shape == (4,)


def test_null_player_symmetry_additivity():
    rng = np.random.default_rng(1)
    L = 5
    t1, t2 = rng.standard_normal(2 ** L), rng.standard_normal(2 ** L)
    idx = np.arange(2 ** L)
    t1[idx & 4 != 0] = t1[idx & 4 == 0]                                 # player 2 is null in game 1
    assert abs(shapley_from_table(t1)[2]) < EXACT
    assert np.allclose(shapley_from_table(t1 + t2), shapley_from_table(t1) + shapley_from_table(t2),
                       atol=EXACT)
    sym = np.array([math.sin(bin(m & 0b11).count("1") + 7 * (m >> 2)) for m in idx])  # 0,1 symmetric
    phi = shapley_from_table(sym)
    assert abs(phi[0] - phi[1]) < EXACT


def test_deep_linear_null_adapter_and_poly_route():
    c = random_lora_chain(6, 3, seed=2)
    dW = c.dW
    dW[3] = np.zeros_like(dW[3])
    tab = losses_all_masks(c.W, dW, c.X, c.Y)
    phi = shapley_from_table(tab)
    assert phi[3] == 0.0
    assert np.max(np.abs(phi - shapley_deep_linear_mse(c.W, dW, c.X, c.Y))) < 1e-10


def test_quadratic_game_closed_form():
    rng = np.random.default_rng(3)
    r, u = rng.standard_normal(4), rng.standard_normal((5, 4))
    phi = shapley_exact(lambda m: float(np.sum((r - u[m].sum(axis=0)) ** 2)), 5)
    assert np.max(np.abs(phi - quadratic_game_shapley(r, u))) < EXACT


@pytest.mark.parametrize("estimator", ["perm", "owen"])
def test_monte_carlo_within_standard_errors(estimator):
    tab = np.random.default_rng(4).standard_normal(2 ** 6)
    exact = shapley_from_table(tab)
    v = lambda m: tab[mask_index(m)]
    est = (shapley_permutation_mc(v, 6, 400, seed=5) if estimator == "perm"
           else shapley_owen_mc(v, 6, 60, seed=5))
    z = np.abs(est.values - exact) / est.stderr
    assert np.all(z < 4.5) and np.all(est.stderr > 0)


def test_antithetic_permutations_unbiased():
    tab = np.random.default_rng(8).standard_normal(2 ** 5)
    est = shapley_permutation_mc(lambda m: tab[mask_index(m)], 5, 400, seed=9, antithetic=True)
    assert np.all(np.abs(est.values - shapley_from_table(tab)) < 4.5 * est.stderr)


def test_shares_sign_convention():
    loss_phi = np.array([-1.0, -3.0])
    assert np.allclose(contribution_shares(loss_phi), contribution_shares(-loss_phi))
    with pytest.raises(AssumptionError, match="same sign"):
        contribution_shares([1.0, -0.5])
    assert np.allclose(contribution_shares([1.0, -0.5], allow_mixed_signs=True), [2.0, -1.0])


def test_bad_input():
    with pytest.raises(AssumptionError, match=r"L <= 20.*Monte-Carlo"):
        shapley_exact(lambda m: 0.0, 21)
    with pytest.raises(InputError, match="non-finite"):
        shapley_exact(lambda m: float("nan") if m.all() else 0.0, 3)
    with pytest.raises(InputError, match="non-finite"):
        shapley_permutation_mc(lambda m: float("inf"), 3, 4, seed=0)
    with pytest.raises(InputError, match="non-finite"):
        value_table(lambda M: np.where(M[:, 0], np.nan, 0.0), 3, vectorized=True)
    with pytest.raises(AssumptionError):
        shapley_permutations_exact(np.zeros(2 ** 10))
    with pytest.raises(InputError, match="standard error"):
        shapley_permutation_mc(lambda m: 0.0, 3, 3, seed=0, antithetic=True)
    with pytest.raises(InputError):
        shapley_from_table(np.zeros(6))
