"""Fusion vs ensemble identity, barriers, pruning patterns, additive closed forms."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lintheory.coto import (additive_expected_mse, additive_fixed_p_optimum, ensemble_lora, fuse_lora,
                            fusion_minus_ensemble, keep_mask, loss_barrier, pruning_patterns)
from lintheory.errors import AssumptionError, InputError


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), lam=st.floats(-1, 2), m=st.integers(1, 5), r=st.integers(1, 3))
def test_fusion_identity(seed, lam, m, r):
    g = np.random.default_rng(seed)
    B1, B2 = g.standard_normal((2, m, r)); A1, A2 = g.standard_normal((2, r, m + 1))
    diff = fuse_lora(B1, A1, B2, A2, lam) - ensemble_lora(B1, A1, B2, A2, lam)
    assert np.allclose(diff, fusion_minus_ensemble(B1, A1, B2, A2, lam), atol=1e-12)


def test_ensemble_gauge_invariance_and_endpoints():
    g = np.random.default_rng(0)
    B1, B2 = g.standard_normal((2, 4, 2)); A1, A2 = g.standard_normal((2, 2, 3))
    P = g.standard_normal((2, 2)) + 3 * np.eye(2)
    e = ensemble_lora(B1, A1, B2, A2, 0.3)
    assert np.allclose(e, ensemble_lora(B1, A1, B2 @ P, np.linalg.solve(P, A2), 0.3))
    assert not np.allclose(fuse_lora(B1, A1, B2, A2, 0.3), fuse_lora(B1, A1, B2 @ P, np.linalg.solve(P, A2), 0.3))
    assert np.allclose(fuse_lora(B1, A1, B2, A2, 1.0), B1 @ A1)
    assert np.allclose(fuse_lora(B1, A1, B2, A2, 0.0), B2 @ A2)


def test_barrier():
    lams = np.linspace(0, 1, 11)
    assert loss_barrier(lams, lams ** 2) == 0.0                          # convex path
    assert loss_barrier(lams, 1 + np.sin(np.pi * lams)) == pytest.approx(1.0)
    with pytest.raises(AssumptionError):
        loss_barrier([0.1, 1.0], [1.0, 2.0])


def test_pruning_patterns():
    pats = pruning_patterns(12)
    assert pats["low"].tolist() == [0, 1, 2, 3] and pats["high"].tolist() == [8, 9, 10, 11]
    assert pats["middle"].tolist() == [4, 5, 6, 7]
    assert keep_mask(12, pats["every_other_odd"]).sum() == 6
    with pytest.raises(InputError):
        pruning_patterns(2)
    with pytest.raises(InputError):
        keep_mask(3, [3])


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), L=st.integers(1, 6), p=st.floats(0, 1))
def test_additive_expected_mse_vs_enumeration(seed, L, p):
    g = np.random.default_rng(seed)
    r, u = g.standard_normal((2, 3)), g.standard_normal((L, 2, 3))
    from lintheory.coto.masks import all_masks, mask_probabilities
    M = all_masks(L)
    vals = np.array([np.sum((r - u[m].sum(axis=0)) ** 2) for m in M])
    assert additive_expected_mse(r, u, p) == pytest.approx(mask_probabilities(p, L) @ vals, rel=1e-12, abs=1e-12)


def test_additive_optimum_is_stationary():
    g = np.random.default_rng(1)
    r = g.standard_normal((2, 3))
    u = additive_fixed_p_optimum(r, 5, 0.3)
    base = additive_expected_mse(r, u, 0.3)
    for _ in range(20):
        assert additive_expected_mse(r, u + 1e-3 * g.standard_normal(u.shape), 0.3) >= base
    with pytest.raises(InputError):
        additive_fixed_p_optimum(r, 5, 0.0)
