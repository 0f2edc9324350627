"""The fast exact SVM route (``method="ipm"``) against the Clarabel routes, its
Kronecker-structured linear algebra, its certificate and its failure modes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import InfeasibleError, InputError, SolverError
from lintheory.svm import hard_margin_svm, kkt_certificate
from lintheory.svm import solvers
from lintheory.svm.solvers import distance_to_optimum_bound
from lintheory.svm.data import separable_gaussian

#: relative Frobenius distance allowed between two exact routes (plus, where a reference
#: solver is less accurate than this, its own certified distance to the optimum)
AGREE_TOL = 1e-6
#: KKT residual the fast route must reach (the acceptance threshold of hard_margin_svm)
KKT_TOL = 1e-6
#: what the polished IPM actually reaches on these small instances
FAST_KKT = 1e-9


def _rel(A, B):
    return float(np.linalg.norm(A - B) / np.linalg.norm(B))


def _assert_agree(fast, ref, X, y):
    """Both routes within their certified distances of the same optimum, the fast one to 1e-6.

    ``||W_fast - W_ref|| <= b_fast + b_ref`` with ``b = distance_to_optimum_bound`` can fail
    whenever either route is wrong; a fixed 1e-6 would blame the fast route for Clarabel's
    own O(sqrt(gap)) error on near-degenerate instances.
    """
    yi = np.searchsorted(fast.classes, y)
    scale = float(np.linalg.norm(fast.W))
    b_fast = distance_to_optimum_bound(fast.W, X, yi, fast.dual)
    b_ref = distance_to_optimum_bound(ref.W, X, yi, ref.dual)
    assert fast.kkt_residual <= FAST_KKT
    assert float(np.linalg.norm(fast.W - ref.W)) <= max(AGREE_TOL * scale, b_fast + b_ref)


def _dense_rows(X, y, pairs, K):
    """The constraint matrix A, one row (e_y - e_k) ⊗ x_i per pair, built naively."""
    d = X.shape[1]
    A = np.zeros((len(pairs), K * d))
    for r, (i, k) in enumerate(pairs):
        A[r, y[i] * d:(y[i] + 1) * d] += X[i]
        A[r, k * d:(k + 1) * d] -= X[i]
    return A


def test_kronecker_products_match_the_dense_constraint_matrix():
    rng = np.random.default_rng(0)
    n, d, K = 9, 4, 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, K, n)
    all_pairs = [(i, k) for i in range(n) for k in range(K) if k != y[i]]
    pairs = np.array([p for j, p in enumerate(all_pairs) if j % 3 != 1], dtype=np.int64)
    rows = solvers._Rows(X, y, pairs, K)
    A = _dense_rows(X, y, pairs, K)
    W = rng.standard_normal((K, d))
    v = rng.random(len(pairs))
    np.testing.assert_allclose(rows.apply(W), A @ W.ravel(), atol=1e-12)
    np.testing.assert_allclose(rows.apply_t(v).ravel(), A.T @ v, atol=1e-12)
    np.testing.assert_allclose(rows.normal_primal(v), np.eye(K * d) + A.T @ (v[:, None] * A), atol=1e-12)
    np.testing.assert_allclose(rows.gram(), A @ A.T, atol=1e-12)


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 40), d=st.integers(2, 8), K=st.integers(2, 5))
def test_ipm_agrees_with_cvxpy_on_random_separable_data(seed, n, d, K):
    X, y = separable_gaussian(n, d, K, seed=seed)
    fast = hard_margin_svm(X, y, n_classes=K, method="ipm")
    ref = hard_margin_svm(X, y, n_classes=K, method="cvxpy")
    assert fast.status == "OPTIMAL"
    assert fast.kkt_residual <= KKT_TOL
    _assert_agree(fast, ref, X, y)
    assert abs(fast.margin - 1.0) <= KKT_TOL


def test_ipm_agrees_with_clarabel_working_set_over_many_rounds():
    X, y = separable_gaussian(400, 16, 6, seed=5)
    fast = hard_margin_svm(X, y, method="ipm")
    ref = hard_margin_svm(X, y, method="working_set")
    assert fast.iterations > 1  # the working set really grew and shrank
    _assert_agree(fast, ref, X, y)
    # the multipliers are unique here (nondegenerate): they agree too
    assert np.max(np.abs(fast.dual - ref.dual)) <= 1e-5 * np.max(ref.dual)


def test_ipm_certificate_is_over_all_constraints():
    X, y = separable_gaussian(300, 12, 5, seed=2)
    res = hard_margin_svm(X, y)
    assert res.method == "ipm" and res.solver_iterations > 0
    cert = kkt_certificate(res.W, X, y, res.dual)
    assert cert["max"] == pytest.approx(res.kkt_residual)
    assert cert["max"] <= KKT_TOL
    # dropping the multipliers breaks stationarity: the certificate can fail
    assert kkt_certificate(res.W, X, y, 0.5 * res.dual)["stationarity"] > 0.1


def test_ipm_absent_classes_still_compete():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 5))
    y = np.array([0, 2] * 6)
    y[np.argsort(X[:, 0])[:6]] = 0  # label by the sign-ish of one coordinate
    y[np.argsort(X[:, 0])[6:]] = 2
    fast = hard_margin_svm(X, y, n_classes=4, method="ipm")
    ref = hard_margin_svm(X, y, n_classes=4, method="cvxpy")
    assert fast.W.shape == (4, 5)
    _assert_agree(fast, ref, X, y)


def test_ipm_on_orthonormal_data_matches_the_closed_form():
    from lintheory.svm import orthonormal_svm
    from lintheory.svm.data import orthonormal_class_data

    X, y = orthonormal_class_data(4, 3, 20, seed=1)
    res = hard_margin_svm(X, y, method="ipm")
    assert _rel(res.W, orthonormal_svm(X, y)) <= AGREE_TOL


@pytest.mark.parametrize("method", ["ipm", "working_set", "cvxpy"])
@pytest.mark.parametrize("case", ["same_x_two_labels", "zero_sample", "cone", "sum_of_class", "random_labels"])
def test_non_separable_data_raise_infeasible(method, case):
    rng = np.random.default_rng(1)
    if case == "same_x_two_labels":
        X, y = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]]), [0, 1, 1]
    elif case == "zero_sample":
        X, y = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), [0, 1, 1]
    elif case == "cone":  # x2 = 2 x1 with another label: (w0-w1)·x1 >= 1 and -(w0-w1)·2x1 >= 1
        X, y = np.array([[1.0, 0.5], [2.0, 1.0]]), [0, 1]
    elif case == "sum_of_class":  # x3 = x1 + x2 labelled differently
        X, y = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0]]), [0, 0, 1]
    else:
        X, y = rng.standard_normal((120, 4)), rng.integers(0, 3, 120)
    with pytest.raises(InfeasibleError, match="not linearly separable"):
        hard_margin_svm(X, y, method=method)


def test_ipm_infeasibility_message_bounds_the_margin():
    X, y = separable_gaussian(200, 8, 4, seed=0)
    X = np.vstack([X, X[:1]])
    y = np.append(y, (y[0] + 1) % 4)  # one duplicated sample with another label
    with pytest.raises(InfeasibleError) as exc:
        hard_margin_svm(X, y, method="ipm")
    assert "normalised margin <=" in str(exc.value)
    assert exc.value.status == "PrimalInfeasible"


def test_ipm_that_cannot_converge_raises(monkeypatch):
    X, y = separable_gaussian(200, 8, 4, seed=0)
    monkeypatch.setattr(solvers, "IPM_MAX_ITER", 3)
    with pytest.raises(SolverError) as exc:
        hard_margin_svm(X, y, method="ipm")
    assert exc.value.status == "MaxIter"


def test_distance_bound_detects_a_wrong_solution():
    X, y = separable_gaussian(60, 6, 3, seed=7)
    res = hard_margin_svm(X, y)
    assert distance_to_optimum_bound(res.W, X, y, res.dual) <= 1e-6 * np.linalg.norm(res.W)
    W_bad = res.W.copy()
    W_bad[0] += 0.01 * np.linalg.norm(res.W) / np.sqrt(W_bad.shape[1])  # 1% away from the optimum
    bound = distance_to_optimum_bound(W_bad, X, y, res.dual)
    assert bound >= np.linalg.norm(W_bad - res.W)  # it is a valid upper bound ...
    assert bound > 1e-3 * np.linalg.norm(res.W)  # ... that sees the error


def test_impossible_kkt_tolerance_is_refused():
    X, y = separable_gaussian(50, 6, 3, seed=4)
    with pytest.raises(SolverError, match="KKT certificate failed"):
        hard_margin_svm(X, y, method="ipm", kkt_tol=0.0)


def test_unknown_method_is_an_input_error():
    with pytest.raises(InputError, match="method must be"):
        hard_margin_svm(np.eye(2), [0, 1], method="smo")


@pytest.mark.parametrize("scale", [1e-5, 1e5])
def test_routes_are_scale_invariant(scale):
    # W(cX) = W(X)/c; before the routes solved for X / max||x_i||, Clarabel called tiny
    # data infeasible and the certificate's complementarity grew like 1/c^2
    X, y = separable_gaussian(60, 5, 3, seed=2)
    base = hard_margin_svm(X, y, method="ipm")
    for method in ("ipm", "working_set", "cvxpy"):
        res = hard_margin_svm(scale * X, y, method=method)
        assert res.kkt_residual <= KKT_TOL
        assert _rel(scale * res.W, base.W) <= AGREE_TOL


# --- the dual route (issue 14): L-BFGS-B working set + exact active-set finish ------------


def _wide(n, d, K, seed):
    """Pre-trained-feature-like data: d comparable to n (the dual route's regime)."""
    return separable_gaussian(n, d, K, seed=seed)


@settings(deadline=None, max_examples=10)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 40), d=st.integers(2, 40), K=st.integers(2, 5))
def test_dual_route_agrees_with_cvxpy_on_random_separable_data(seed, n, d, K):
    X, y = separable_gaussian(n, d, K, seed=seed)
    fast = hard_margin_svm(X, y, K=K, method="dual")
    ref = hard_margin_svm(X, y, K=K, method="cvxpy")
    assert fast.method == "dual" and fast.status == "OPTIMAL"
    _assert_agree(fast, ref, X, y)


@pytest.mark.parametrize("dense_max", [solvers.MEMORY_BUDGET_BYTES, 0])
def test_dual_route_matches_the_ipm_with_dense_and_cg_finish(monkeypatch, dense_max):
    # DENSE_FINISH_MAX = 0 forces the block-preconditioned CG finish
    from lintheory.svm import _dual

    monkeypatch.setattr(_dual, "DENSE_FINISH_MAX", int(dense_max))
    X, y = _wide(300, 200, 4, seed=3)
    fast = hard_margin_svm(X, y, method="dual")
    ref = hard_margin_svm(X, y, method="ipm")
    assert fast.kkt_residual <= FAST_KKT
    _assert_agree(fast, ref, X, y)
    assert fast.solver_iterations > 0  # L-BFGS-B ran; the finish made it exact


def test_auto_takes_the_ipm_for_few_features_and_the_dual_route_for_many():
    X, y = separable_gaussian(200, 8, 4, seed=0)
    assert hard_margin_svm(X, y).method == "ipm"
    X, y = _wide(200, 400, 4, seed=0)  # K d = 1600 > AUTO_IPM_MAX_KD
    assert 4 * 400 > solvers.AUTO_IPM_MAX_KD
    res = hard_margin_svm(X, y)
    assert res.method == "dual" and res.kkt_residual <= FAST_KKT


def test_ipm_refuses_blocks_over_the_memory_budget_and_auto_falls_back(monkeypatch):
    from lintheory.svm import _rows

    X, y = _wide(60, 120, 4, seed=1)  # K d = 480: auto tries the IPM first
    # a budget below both the K d x K d primal block and the m x m dual block of the IPM
    budget = 0.5 * min(_rows.normal_primal_bytes(4, 120), _rows.gram_bytes(50))
    monkeypatch.setattr(solvers, "MEMORY_BUDGET_BYTES", budget)
    with pytest.raises(SolverError) as exc:
        hard_margin_svm(X, y, method="ipm")
    assert exc.value.status == "MemoryBudget"
    res = hard_margin_svm(X, y)  # auto: the IPM does not fit, the dual route answers
    assert res.method == "dual" and "after ipm: MemoryBudget" in res.solver
    monkeypatch.undo()
    _assert_agree(res, hard_margin_svm(X, y, method="ipm"), X, y)


def test_ipm_working_set_stays_below_the_constraint_count(monkeypatch):
    # issue 14: once half the constraints were violated, every violated one joined the set
    # (52 032 rows > Kd at n=2000, d=1024, K=10); the rule is now capped at K d
    X, y = separable_gaussian(2000, 6, 5, seed=4)
    sizes = []
    real = solvers._ipm

    def spy(rows, *a, **k):
        sizes.append(rows.m)
        return real(rows, *a, **k)

    monkeypatch.setattr(solvers, "_ipm", spy)
    res = hard_margin_svm(X, y, method="ipm")
    n_con = 2000 * 4
    assert res.kkt_residual <= FAST_KKT
    assert max(sizes) < n_con / 4, sizes


@pytest.mark.parametrize("case", ["same_x_two_labels", "cone", "duplicate_wide"])
def test_dual_route_certifies_infeasibility(case):
    if case == "same_x_two_labels":
        X, y = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]]), [0, 1, 1]
    elif case == "cone":
        X, y = np.array([[1.0, 0.5], [2.0, 1.0]]), [0, 1]
    else:
        X, y = _wide(100, 150, 3, seed=2)
        X, y = np.vstack([X, X[:1]]), np.append(y, (y[0] + 1) % 3)
    with pytest.raises(InfeasibleError, match="normalised margin <="):
        hard_margin_svm(X, y, method="dual")


@pytest.mark.slow
def test_dual_route_at_pretrained_feature_size():
    # where the IPM raised MemoryError before (a dense (K, d, K, d) block of 7 GiB):
    # n = 2000, d = 1024, K = 30; exact over all 58 000 constraints
    X, y = separable_gaussian(2000, 1024, 30, seed=1)
    res = hard_margin_svm(X, y)
    assert res.status == "OPTIMAL" and res.method == "dual"
    assert res.kkt_residual <= 1e-8
    cert = kkt_certificate(res.W * res.x_scale, X / res.x_scale, y, res.dual_scaled)
    assert cert["max"] <= 1e-8
    yi = np.searchsorted(res.classes, y)
    bound = distance_to_optimum_bound(res.W * res.x_scale, X / res.x_scale, yi, res.dual_scaled)
    assert bound <= 1e-6 * np.linalg.norm(res.W * res.x_scale)


def test_dual_route_hands_an_ill_conditioned_support_to_the_ipm():
    # n >> d: the support fills (K-1) d, A_S A_S^T is ill conditioned and active-set steps
    # cycle; the dual route stops ("HandOver") and the IPM finishes on its support
    X, y = separable_gaussian(600, 6, 4, seed=1)
    res = hard_margin_svm(X, y, method="dual")
    assert res.method == "dual" and "finished by the IPM" in res.solver
    _assert_agree(res, hard_margin_svm(X, y, method="ipm"), X, y)
