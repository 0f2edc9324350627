"""Tests of the independent routes: cvxpy nuclear-norm problem, KKT certificate, torch LoRA training."""

import numpy as np
import pytest

from lintheory.errors import AssumptionError, InputError
from lintheory.lora_margin import adapter, merge_coefficients, merged_margins, optimum, thresholds
from lintheory.lora_margin.data import lora_problem, merging_problem, near_orthogonal_features
from lintheory.lora_margin.solvers import (objective, solve_full_space, solve_logit_space, solve_problem,
                                           verify_optimality)
from lintheory.lora_margin.train import check_optimizer, train_lora, train_lora_path
from lintheory.svm import multiclass_margin, normalized_margin

#: cvxpy/SCS vs closed form (relative max-abs)
CVXPY_TOL = 1e-5
#: torch L-BFGS vs closed form
TRAIN_TOL = 1e-6
#: SGD after its convergence criterion
SGD_TOL = 1e-5


def test_cvxpy_logit_space_matches_closed_form():
    for lam in (0.03, 0.12, 0.3):
        res = solve_logit_space(np.repeat(np.arange(3), 2), 6, lam)
        Z = optimum(6, 3, 2, lam).logits()
        assert res.status == "optimal"
        assert np.abs(res.Z - Z).max() <= CVXPY_TOL * max(1, np.abs(Z).max())
        assert res.kkt["max"] < 1e-4


def test_solve_problem_equals_adapter():
    P = lora_problem(5, 2, 2, seed=4)
    Z1 = solve_problem(P.X_ft, P.y_ft, 5, 0.1)
    Z2 = adapter(P.X_ft, P.y_ft, 5, 0.1)
    assert np.abs(Z1 - Z2).max() < CVXPY_TOL


def test_full_space_general_data_is_certified_and_differs_from_closed_form():
    X, y = near_orthogonal_features(2, 2, 8, intra_corr=0.3, seed=0)
    res = solve_full_space(X, y, 3, 0.05)
    assert res.kkt["max"] < 1e-3
    with pytest.raises(AssumptionError, match="orthonormal"):
        adapter(X, y, 3, 0.05)


def test_kkt_certificate_rejects_wrong_points():
    y = np.repeat(np.arange(3), 2)
    Z = optimum(6, 3, 2, 0.08).logits()
    assert verify_optimality(Z, 0.08, y=y, n_classes=6)["max"] < 1e-10
    assert verify_optimality(1.1 * Z, 0.08, y=y, n_classes=6)["max"] > 1e-3
    assert verify_optimality(Z, 0.04, y=y, n_classes=6)["max"] > 0.1
    # zero is optimal exactly from lam0 on
    lam0 = thresholds(6, 3, 2).lambda_zero
    Z0 = np.zeros((6, 6))
    assert verify_optimality(Z0, lam0 * 1.001, y=y, n_classes=6)["max"] == 0.0
    assert verify_optimality(Z0, lam0 * 0.99, y=y, n_classes=6)["max"] > 1e-3


def test_objective_consistent_with_cvxpy():
    y = np.repeat(np.arange(2), 2)
    res = solve_logit_space(y, 4, 0.1)
    assert objective(res.Z, 0.1, y=y, n_classes=4) == pytest.approx(res.objective, abs=1e-6)


def test_bad_solver_name_and_lambda():
    with pytest.raises(InputError, match="solver"):
        solve_logit_space([0, 1], 2, 0.1, solver="MOSEK9")
    with pytest.raises(InputError, match="lam must be > 0"):
        solve_logit_space([0, 1], 2, -0.1)


def test_train_lbfgs_agrees_and_is_balanced():
    P = lora_problem(6, 3, 2, 24, seed=0)
    for frac in (0.05, 0.6):
        lam = frac * thresholds(6, 3, 2).lambda_zero
        res = train_lora(P.X_ft, P.y_ft, 6, lam, W_pre=P.W_pre, r=3)
        Z = adapter(P.X_ft, P.y_ft, 6, lam)
        assert np.abs(res.Z - Z).max() <= TRAIN_TOL * max(1, np.abs(Z).max())
        assert np.abs(res.B.T @ res.B - res.A @ res.A.T).max() < 1e-5   # balancedness (gradient 1e-8)
        assert np.abs(P.X_pre @ res.Z.T).max() < 1e-6


def test_train_refuses_zero_init_and_adamw():
    X, y = np.eye(5)[:4], np.repeat([0, 1], 2)
    with pytest.raises(InputError, match="stationary point"):
        train_lora(X, y, 3, 0.1, init="zeros")
    with pytest.raises(AssumptionError, match="AdamW"):
        train_lora(X, y, 3, 0.1, optimizer="adamw", steps=10)
    with pytest.raises(InputError, match="lam must be > 0"):
        train_lora(X, y, 3, 0.0)
    with pytest.raises(InputError, match="optimizer"):
        train_lora(X, y, 3, 0.1, optimizer="rmsprop")


def test_check_optimizer_detects_decoupled_adam():
    import torch

    p = torch.zeros(3, requires_grad=True)
    check_optimizer(torch.optim.Adam([p], weight_decay=0.1))          # coupled: fine
    with pytest.raises(AssumptionError, match="decoupled"):
        check_optimizer(torch.optim.AdamW([p], weight_decay=0.1))


def test_train_warns_on_small_rank():
    X, y = np.eye(8)[:6], np.repeat([0, 1, 2], 2)
    lam = 0.1 * thresholds(6, 3, 2).lambda_zero       # low regime: rank 3
    with pytest.warns(UserWarning, match="rank-constrained"):
        train_lora(X, y, 6, lam, r=2, max_iter=20, raise_on_fail=False)


@pytest.mark.slow
def test_sgd_with_continuation_reaches_small_lambda():
    X, y = np.eye(8)[:6], np.repeat([0, 1, 2], 2)
    lam0 = thresholds(6, 3, 2).lambda_zero
    lams = lam0 * np.array([0.5, 0.2, 0.05])
    res = train_lora_path(X, y, 6, lams, optimizer="sgd", lr=0.5, steps=40000, grad_tol=1e-9)
    for r, lam in zip(res, lams):
        Z = adapter(X, y, 6, lam)
        assert np.abs(r.Z - Z).max() <= SGD_TOL * max(1, np.abs(Z).max())


@pytest.mark.slow
def test_merging_three_trained_adapters():
    P = merging_problem(5, [(5, 3), (3, 2), (5, 4)], rho_pre=2.0, seed=1)
    lams = [0.05, 0.01, 0.001]
    Zs = [train_lora(t.X, t.y, 5, lam, W_pre=P.W_pre, r=t.Kb).Z for t, lam in zip(P.tasks, lams)]
    C = np.array([multiclass_margin(Z, t.X, t.y) for Z, t in zip(Zs, P.tasks)])
    th = np.array([np.linalg.norm(Z) for Z in Zs])
    best = merge_coefficients(P.C_pre, C, rho_pre=P.rho_pre, task_thetas=th)
    Xall = np.vstack([P.X_pre] + [t.X for t in P.tasks])
    yall = np.concatenate([P.y_pre] + [t.y for t in P.tasks])
    W = P.W_pre + sum(a * Z for a, Z in zip(best.alpha, Zs))
    assert normalized_margin(W, Xall, yall) == pytest.approx(best.value, abs=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = best.alpha * np.exp(rng.normal(0, 0.3, 3))
        W = P.W_pre + sum(ai * Z for ai, Z in zip(a, Zs))
        m = normalized_margin(W, Xall, yall)
        f = merged_margins(a, C_pre=P.C_pre, rho_pre=P.rho_pre, task_margins=C, task_thetas=th)
        assert m == pytest.approx(float(f["union"]), abs=1e-6)
        assert m <= best.value + 1e-9
