"""Exact expectations over masks: tree vs per-mask forward, DP, mean network, Jensen chain."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lintheory.coto import (binomial_weights, expected_loss, expected_prediction_deep_linear,
                            forward, forward_all_masks, jensen_chain, loss_values, losses_all_masks,
                            mask_probabilities, mse_jensen_gap, multilinear_mse_deep_linear,
                            size_averages, size_j_predictions_dp)
from lintheory.coto.data import random_lora_chain
from lintheory.coto.masks import all_masks
from lintheory.errors import AssumptionError, InputError

EXACT = 1e-10


def _rel(a, b):
    return abs(a - b) / max(1.0, abs(a), abs(b))


def test_tree_matches_per_mask_forward():
    c = random_lora_chain(4, 3, seed=0, activation="relu")
    P = forward_all_masks(c.W, c.dW, c.X, activation="relu")
    for m, mask in enumerate(all_masks(4)):
        assert np.allclose(P[m], forward(c.W, c.dW, c.X, mask, activation="relu"), atol=1e-13)


def test_chunked_losses_equal_unchunked():
    c = random_lora_chain(7, 3, seed=1)
    a = losses_all_masks(c.W, c.dW, c.X, c.Y)
    b = losses_all_masks(c.W, c.dW, c.X, c.Y, max_floats=64)
    assert np.max(np.abs(a - b)) < 1e-12


def test_chunked_relu_with_head_and_ce():
    c = random_lora_chain(6, 3, seed=7, activation="relu")
    head = np.random.default_rng(0).standard_normal((4, 3))
    y = np.arange(c.X.shape[0]) % 4
    a = losses_all_masks(c.W, c.dW, c.X, y, loss="ce", activation="relu", head=head)
    b = losses_all_masks(c.W, c.dW, c.X, y, loss="ce", activation="relu", head=head, max_floats=100)
    P = forward_all_masks(c.W, c.dW, c.X, activation="relu", head=head)
    assert np.max(np.abs(a - b)) < 1e-12
    assert np.max(np.abs(a - loss_values(P, y, "ce"))) < 1e-12


def test_binomial_weights_properties():
    for p in (0.0, 0.3, 1.0):
        w = binomial_weights(p, 7)
        assert w.sum() == pytest.approx(1.0)
        assert w @ np.arange(8) == pytest.approx(7 * p)
        assert w[1:].sum() == pytest.approx(1 - (1 - p) ** 7)


@settings(max_examples=20)
@given(L=st.integers(1, 6), d=st.integers(1, 4), seed=st.integers(0, 10_000), p=st.floats(0, 1),
       relu=st.booleans(), ce=st.booleans())
def test_jensen_chain_property(L, d, seed, p, relu, ce):
    c = random_lora_chain(L, max(d, 2) if ce else d, seed=seed, activation="relu" if relu else None)
    P = forward_all_masks(c.W, c.dW, c.X, activation=c.activation)
    Y = np.arange(c.X.shape[0]) % P.shape[-1] if ce else c.Y
    ch = jensen_chain(P, Y, p, loss="ce" if ce else "mse")
    scale = max(1.0, abs(ch["expected_loss"]))
    assert abs(ch["expected_loss"] - ch["binomial_sum"]) <= EXACT * scale
    assert ch["expected_loss"] >= ch["rhs_corrected"] - EXACT * scale
    assert ch["rhs_corrected"] >= ch["loss_of_mean"] - EXACT * scale
    assert ch["rhs_corrected"] >= ch["rhs_printed"] - EXACT * scale      # losses are >= 0 here


def test_jensen_chain_equalities_at_endpoints():
    c = random_lora_chain(5, 3, seed=3)
    P = forward_all_masks(c.W, c.dW, c.X)
    ch0, ch1 = jensen_chain(P, c.Y, 0.0), jensen_chain(P, c.Y, 1.0)
    assert ch0["expected_loss"] == pytest.approx(ch0["rhs_corrected"]) and ch0["rhs_printed"] == 0.0
    assert ch1["expected_loss"] == pytest.approx(ch1["rhs_printed"]) == pytest.approx(ch1["loss_of_mean"])


@settings(max_examples=15)
@given(L=st.integers(1, 6), seed=st.integers(0, 10_000), p=st.floats(0, 1))
def test_dp_mean_network_and_mse_gap(L, seed, p):
    c = random_lora_chain(L, 3, seed=seed)
    P = forward_all_masks(c.W, c.dW, c.X)
    assert np.max(np.abs(size_averages(P) - size_j_predictions_dp(c.W, c.dW, c.X))) < 1e-12
    mean_enum = np.tensordot(mask_probabilities(p, L), P, axes=1)
    assert np.max(np.abs(mean_enum - expected_prediction_deep_linear(c.W, c.dW, c.X, p))) < 1e-12
    ch = jensen_chain(P, c.Y, p)
    assert mse_jensen_gap(P, p) == pytest.approx(ch["expected_loss"] - ch["rhs_corrected"], abs=1e-10)
    tab = loss_values(P, c.Y)
    assert multilinear_mse_deep_linear(c.W, c.dW, c.X, c.Y, p) == pytest.approx(expected_loss(tab, p),
                                                                               rel=1e-12, abs=1e-12)


def test_size_j_mean_does_not_depend_on_p():
    # conditional law given |δ| = j is uniform: weighting masks by P_p within a size class
    c = random_lora_chain(5, 2, seed=4)
    P = forward_all_masks(c.W, c.dW, c.X)
    from lintheory.coto.masks import mask_sizes
    s = mask_sizes(5)
    for p in (0.2, 0.7):
        pr = mask_probabilities(p, 5)
        j = 2
        cond = np.tensordot(pr[s == j] / pr[s == j].sum(), P[s == j], axes=1)
        assert np.allclose(cond, size_averages(P)[j], atol=1e-13)


def test_relu_mean_network_differs():
    # the closed form E f = f(pΔW) is for linear chains only: the ReLU chain is a negative control
    c = random_lora_chain(4, 4, seed=5, activation="relu", adapter_scale=2.0)
    P = forward_all_masks(c.W, c.dW, c.X, activation="relu")
    mean_enum = np.tensordot(mask_probabilities(0.5, 4), P, axes=1)
    H = c.X
    for i, (w, dw) in enumerate(zip(c.W, c.dW)):
        H = H @ (w + 0.5 * dw).T
        H = np.maximum(H, 0) if i < 3 else H
    assert np.max(np.abs(mean_enum - H)) > 1e-3


def test_enumeration_limit_named():
    with pytest.raises(AssumptionError, match=r"L <= 26.*Monte-Carlo"):
        losses_all_masks([np.eye(1)] * 27, [np.eye(1)] * 27, np.ones((1, 1)), np.ones((1, 1)))


def test_bad_network_inputs():
    I = np.eye(2)
    with pytest.raises(InputError, match="non-finite"):
        forward_all_masks([I], [np.full((2, 2), np.nan)], np.ones((1, 2)))
    with pytest.raises(InputError, match="shape"):
        forward_all_masks([I], [np.eye(3)], np.ones((1, 2)))
    with pytest.raises(InputError, match="width"):
        forward_all_masks([I], [I], np.ones((1, 3)))
    with pytest.raises(InputError):
        forward([I], [I], np.ones((1, 2)), [True, False])
    with pytest.raises(InputError):
        loss_values(np.zeros((2, 1, 2)), np.zeros((2, 2)))
    with pytest.raises(AssumptionError):
        binomial_weights(1.2, 3)
    with pytest.raises(InputError):
        size_averages(np.zeros(3))


def test_official_variant_conditional_identity():
    # E[ℓ | δ ≠ 0] = Σ_{j≥1} w̄_j ℓ̄_j with w̄_j = w_j / (1 - (1-p)^L): the code's redraw rule
    from lintheory.coto import conditional_weights_require_active

    c = random_lora_chain(5, 3, seed=11)
    tab = losses_all_masks(c.W, c.dW, c.X, c.Y)
    pr = mask_probabilities(0.3, 5)
    pr[0] = 0.0
    direct = pr @ tab / pr.sum()
    assert direct == pytest.approx(conditional_weights_require_active(0.3, 5) @ size_averages(tab), rel=1e-12)
    with pytest.raises(InputError):
        conditional_weights_require_active(0.0, 5)


def test_printed_rhs_and_analytic_counterexample():
    from lintheory.coto import theorem31_printed_counterexample, theorem31_rhs_printed

    c = random_lora_chain(4, 3, seed=12)
    P = forward_all_masks(c.W, c.dW, c.X)
    assert theorem31_rhs_printed(P, c.Y, 0.4) == pytest.approx(jensen_chain(P, c.Y, 0.4)["rhs_printed"])
    ce = theorem31_printed_counterexample(0.5, 1.0)
    assert ce["min_lhs"] < ce["min_rhs_printed"]
