"""Unit, property and bad-input tests of lintheory.svm and lintheory.geometry."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import AssumptionError, InfeasibleError, InputError
from lintheory.geometry import simplex_etf
from lintheory.svm import (hard_margin_svm, max_normalized_margin, multiclass_margin, normalized_margin,
                           orthonormal_svm)
from lintheory.svm.data import orthonormal_class_data, random_orthogonal, separable_gaussian
from lintheory.svm.printed import prop2_1_svm
from lintheory.testing.strategies import orthogonal_matrices, orthonormal_class_datasets

#: closed form vs exact QP
QP_TOL = 1e-6
#: closed-form identities in float64
EXACT_TOL = 1e-10


def test_margin_by_hand():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    X = np.array([[2.0, 0.0], [0.0, 3.0]])
    # sample 0: 2 - max(0, 0) = 2; sample 1: 3 - max(0, 0) = 3; the unseen row 2 competes
    assert multiclass_margin(W, X, [0, 1]) == 2.0
    assert normalized_margin(W, X, [0, 1]) == pytest.approx(2.0 / np.sqrt(2.0))


def test_closed_form_matches_both_qp_routes():
    X, y = orthonormal_class_data(4, 3, 15, seed=1)
    W = orthonormal_svm(X, y)
    for method in ("working_set", "cvxpy"):
        res = hard_margin_svm(X, y, method=method)
        assert res.status == "OPTIMAL" and res.kkt_residual <= 1e-6
        np.testing.assert_allclose(res.W, W, atol=QP_TOL)
        assert res.margin == pytest.approx(1.0, abs=QP_TOL)
    assert np.linalg.norm(W) == pytest.approx(np.sqrt(3 * 3), rel=EXACT_TOL)


def test_printed_is_off_by_sqrt_ratio():
    X, y = orthonormal_class_data(3, 2, 8, seed=2)
    ratio = np.linalg.norm(prop2_1_svm(X, y)) / np.linalg.norm(orthonormal_svm(X, y))
    assert ratio == pytest.approx(np.sqrt(3 / 2), rel=EXACT_TOL)
    assert multiclass_margin(prop2_1_svm(X, y), X, y) == pytest.approx(np.sqrt(3 / 2))


def test_k_row_classifier_with_label_subset():
    X, y = orthonormal_class_data(3, 2, 9, labels=[1, 4, 5], seed=3)
    W = orthonormal_svm(X, y, n_classes=7)
    res = hard_margin_svm(X, y, n_classes=7, method="cvxpy")
    np.testing.assert_allclose(res.W, W, atol=QP_TOL)
    assert normalized_margin(W, X, y) == pytest.approx(max_normalized_margin(2, 3, 7), rel=EXACT_TOL)
    # rows of absent classes are all equal (they compete symmetrically)
    np.testing.assert_allclose(W[0], W[6], atol=EXACT_TOL)


def test_sklearn_crammer_singer_agrees_in_direction():
    from sklearn.svm import LinearSVC

    X, y = separable_gaussian(150, 6, 3, seed=4, min_margin=0.2)
    res = hard_margin_svm(X, y)
    clf = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=1e4, max_iter=200_000, tol=1e-8)
    clf.fit(X, y)
    cos = np.sum(clf.coef_ * res.W) / np.linalg.norm(clf.coef_) / np.linalg.norm(res.W)
    # LinearSVC is soft-margin and stops at its own tolerance: directions agree to ~1e-4
    assert 1 - cos < 1e-3
    assert res.kkt_residual <= 1e-6


def test_representer_dual_reconstructs_W():
    X, y = separable_gaussian(40, 5, 3, seed=5)
    res = hard_margin_svm(X, y)
    assert res.kkt["stationarity"] < 1e-7
    assert res.n_support >= 2


# ------------------------------------------------------------------ properties


@settings(deadline=None, max_examples=20)
@given(orthonormal_class_datasets(max_classes=4, max_per_class=3), st.integers(0, 2**31 - 1))
def test_within_class_permutation_invariance(data, seed):
    X, y = data
    perm = np.random.default_rng(seed).permutation(len(y))
    np.testing.assert_allclose(orthonormal_svm(X[perm], y[perm]), orthonormal_svm(X, y), atol=EXACT_TOL)
    np.testing.assert_allclose(hard_margin_svm(X[perm], y[perm]).W, orthonormal_svm(X, y), atol=QP_TOL)


@settings(deadline=None, max_examples=20)
@given(orthonormal_class_datasets(max_classes=4, max_per_class=3), st.integers(0, 2**31 - 1))
def test_relabelling_permutes_rows(data, seed):
    X, y = data
    K = int(y.max()) + 1
    sigma = np.random.default_rng(seed).permutation(K)
    W = hard_margin_svm(X, y, n_classes=K).W
    W2 = hard_margin_svm(X, sigma[y], n_classes=K).W
    np.testing.assert_allclose(W2[sigma], W, atol=QP_TOL)


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 2**31 - 1))
def test_rotation_equivariance_on_general_data(seed):
    X, y = separable_gaussian(20, 4, 3, seed=seed, min_margin=0.1)
    R = random_orthogonal(4, seed + 1)
    W = hard_margin_svm(X, y, method="cvxpy").W
    np.testing.assert_allclose(hard_margin_svm(X @ R.T, y).W, W @ R.T, atol=1e-5)


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 2**31 - 1), st.floats(0.1, 10.0))
def test_scaling_inputs_scales_W_inversely(seed, tau):
    X, y = separable_gaussian(20, 4, 3, seed=seed, min_margin=0.1)
    W = hard_margin_svm(X, y).W
    np.testing.assert_allclose(hard_margin_svm(tau * X, y).W, W / tau, rtol=1e-5, atol=1e-6 / tau)


@settings(deadline=None, max_examples=20)
@given(st.integers(2, 5), st.integers(1, 3), st.integers(0, 6), st.integers(0, 2**31 - 1))
def test_max_margin_independent_of_dimension(Kb, n, extra, seed):
    X, y = orthonormal_class_data(Kb, n, Kb * n + extra, seed=seed)
    assert hard_margin_svm(X, y).normalized_margin == pytest.approx(max_normalized_margin(n, Kb), rel=QP_TOL)


@settings(deadline=None, max_examples=20)
@given(st.integers(2, 30), orthogonal_matrices(min_dim=30, max_dim=34))
def test_etf_is_rotation_invariant_in_gram(m, Q):
    M = simplex_etf(m, Q[:, :m])
    np.testing.assert_allclose(M.T @ M, simplex_etf(m).T @ simplex_etf(m), atol=EXACT_TOL)


# ------------------------------------------------------------------ bad input


def test_bad_input_messages():
    X, y = orthonormal_class_data(2, 2, 5, seed=0)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        hard_margin_svm(Xn, y)
    with pytest.raises(InputError, match="non-finite"):
        orthonormal_svm(Xn, y)
    with pytest.raises(InputError, match="4 samples but y has 3"):
        hard_margin_svm(X, y[:3])
    with pytest.raises(InputError, match=r"outside \[0, 2\)"):
        hard_margin_svm(X, [0, 0, 1, 2], n_classes=2)
    with pytest.raises(InputError, match="at least 2 classes"):
        hard_margin_svm(X, [1, 1, 1, 1])
    with pytest.raises(InputError, match="m >= 2"):
        simplex_etf(1)
    with pytest.raises(InputError, match="W has 3 features but X has 5"):
        multiclass_margin(np.ones((2, 3)), X, y)


def test_closed_form_refuses_unbalanced_or_non_orthonormal():
    X, y = orthonormal_class_data(2, 2, 6, seed=0)
    with pytest.raises(AssumptionError, match="same number n of samples"):
        orthonormal_svm(X[:3], y[:3])
    Xb = X.copy()
    Xb[1] += 0.01 * X[0]
    with pytest.raises(AssumptionError, match=r"orthonormal.*measured 0\.01 > tolerance.*hard_margin_svm"):
        orthonormal_svm(Xb, y)


def test_non_separable_raises_infeasible():
    X = np.array([[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(InfeasibleError, match="not linearly separable"):
        hard_margin_svm(X, [0, 1])
    with pytest.raises(InfeasibleError, match="not linearly separable"):
        hard_margin_svm(X, [0, 1], method="cvxpy")
    with pytest.raises(InfeasibleError, match="zero vector"):
        hard_margin_svm(np.array([[0.0, 0.0], [1.0, 0.0]]), [0, 1])


def test_etf_rejects_non_orthonormal_P():
    with pytest.raises(AssumptionError, match="orthonormal columns"):
        simplex_etf(3, np.ones((4, 3)))
