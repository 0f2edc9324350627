"""Hypothesis property tests of the adapter: equivariance, invariances, and KKT on actual data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.lora_margin import adapter, thresholds
from lintheory.lora_margin.solvers import verify_optimality
from lintheory.testing.strategies import orthogonal_matrices, orthonormal_class_datasets, seeds

#: exact-arithmetic agreement (the closed form is evaluated twice)
EXACT_TOL = 1e-10


@settings(deadline=None, max_examples=30)
@given(K=st.integers(3, 7), data=st.data(), u=st.floats(-3, 0.2), seed=seeds())
def test_rotation_equivariance_and_kkt(K, data, u, seed):
    X, y = data.draw(orthonormal_class_datasets(n_classes=K, min_classes=1, max_classes=K, shuffle=True))
    Kb, n = np.unique(y).size, int(np.bincount(y).max())
    lam = thresholds(K, Kb, n).lambda_zero * 10 ** u
    Z = adapter(X, y, K, lam)
    R = data.draw(orthogonal_matrices(dim=X.shape[1]))
    ZR = adapter(X @ R.T, y, K, lam)                    # rotate every sample: x -> R x
    assert np.abs(ZR - Z @ R.T).max() < EXACT_TOL
    cert = verify_optimality(Z, lam, y=y, n_classes=K, X=X)
    assert cert["max"] < 1e-8
    # rows of Z lie in span(X_ft): nothing leaks to orthogonal directions
    P = X.T @ X
    assert np.abs(Z - Z @ P).max() < EXACT_TOL


@settings(deadline=None, max_examples=30)
@given(K=st.integers(3, 7), data=st.data(), u=st.floats(-3, 0.2), seed=seeds())
def test_label_permutation_equivariance(K, data, u, seed):
    X, y = data.draw(orthonormal_class_datasets(n_classes=K, min_classes=2, max_classes=K))
    Kb, n = np.unique(y).size, int(np.bincount(y).max())
    lam = thresholds(K, Kb, n).lambda_zero * 10 ** u
    perm = np.random.default_rng(seed).permutation(K)   # relabel class c as perm[c]
    Z = adapter(X, y, K, lam)
    Zp = adapter(X, perm[y], K, lam)
    assert np.abs(Zp[perm] - Z).max() < EXACT_TOL


@settings(deadline=None, max_examples=20)
@given(K=st.integers(2, 6), data=st.data(), extra=st.integers(1, 4), u=st.floats(-3, 0.2))
def test_extra_ambient_dimensions_change_nothing(K, data, extra, u):
    X, y = data.draw(orthonormal_class_datasets(n_classes=K, min_classes=1, max_classes=K))
    Kb, n = np.unique(y).size, int(np.bincount(y).max())
    lam = thresholds(K, Kb, n).lambda_zero * 10 ** u
    Z = adapter(X, y, K, lam)
    Xe = np.hstack([X, np.zeros((X.shape[0], extra))])
    Ze = adapter(Xe, y, K, lam)
    assert np.abs(Ze[:, :X.shape[1]] - Z).max() < EXACT_TOL and np.abs(Ze[:, X.shape[1]:]).max() == 0
