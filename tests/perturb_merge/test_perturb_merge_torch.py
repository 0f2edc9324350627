"""Tests of the torch routes of P&M: per-example Fisher diagonal, exact Hessians, training with perturbation."""

import numpy as np
import pytest
import torch

from lintheory.errors import InputError
from lintheory.perturb_merge import (empirical_fisher, empirical_fisher_diag, empirical_fisher_diag_loop,
                                     hessian_diag, hessian_matrix, hvp_operator, optimal_alpha,
                                     perturbation_schedule, perturbation_shrink_factor)
from lintheory.perturb_merge.data import (Task, linear_regression_tasks, logistic_tasks,
                                          rotated_classification_tasks)
from lintheory.perturb_merge.solvers import monte_carlo_perturbed
from lintheory.perturb_merge.train import loss_function, make_model, run_sequence, torch_threads, train_task


@pytest.fixture(autouse=True)
def _one_thread():
    with torch_threads(1):
        yield


def _lin(rng, n=30, d=4):
    X = torch.as_tensor(rng.standard_normal((n, d)))
    y = torch.as_tensor(rng.standard_normal(n))
    m = make_model("linear", d, init_scale=1.0, seed=1)
    return m, X, y


def test_fisher_diag_vmap_equals_loop_and_closed_form(rng):
    m, X, y = _lin(rng)
    mse = loss_function("mse")
    fv = empirical_fisher_diag(m, mse, (X, y))
    fl = empirical_fisher_diag_loop(m, mse, (X, y))
    np.testing.assert_allclose(fv, fl, rtol=1e-12, atol=1e-14)
    # linear model, squared loss: per-example gradient r_n x_n
    w = m.weight.detach().numpy().ravel()
    r = X.numpy() @ w - y.numpy()
    np.testing.assert_allclose(fv, np.mean((r[:, None] * X.numpy()) ** 2, axis=0), rtol=1e-12)
    F = empirical_fisher(m, mse, (X, y))
    np.testing.assert_allclose(np.diag(F), fv, rtol=1e-12)


def test_fisher_diag_mlp_multiclass(rng):
    task = rotated_classification_tasks(rng, 1, 25, 3, 3)[0]
    m = make_model("mlp", 3, n_out=3, hidden=5, seed=0)
    X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
    ce = loss_function("ce")
    np.testing.assert_allclose(empirical_fisher_diag(m, ce, (X, y), chunk_size=7),
                               empirical_fisher_diag_loop(m, ce, (X, y)), rtol=1e-10, atol=1e-14)


def test_hessian_linear_regression_and_logistic(rng):
    m, X, y = _lin(rng)
    Xn = X.numpy()
    np.testing.assert_allclose(hessian_matrix(m, loss_function("mse"), (X, y)), Xn.T @ Xn / len(Xn), atol=1e-12)
    yb = (y > 0).double()
    H = hessian_matrix(m, loss_function("logistic"), (X, yb))
    p = 1 / (1 + np.exp(-(Xn @ m.weight.detach().numpy().ravel())))
    np.testing.assert_allclose(H, (Xn * (p * (1 - p))[:, None]).T @ Xn / len(Xn), atol=1e-12)
    np.testing.assert_allclose(hessian_diag(m, loss_function("logistic"), (X, yb)), np.diag(H), atol=1e-14)
    hv = hvp_operator(m, loss_function("logistic"), (X, yb))
    v = rng.standard_normal(4)
    np.testing.assert_allclose(hv(v), H @ v, atol=1e-12)


def test_fisher_bad_data(rng):
    m, X, y = _lin(rng)
    with pytest.raises(InputError, match="examples but y has"):
        empirical_fisher_diag(m, loss_function("mse"), (X, y[:-1]))
    with pytest.raises(InputError, match="pair"):
        empirical_fisher_diag(m, loss_function("mse"), X)
    Xb = X.clone()
    Xb[0, 0] = float("nan")
    with pytest.raises(InputError, match="non-finite"):
        empirical_fisher_diag(m, loss_function("mse"), (Xb, y))
    with pytest.raises(InputError, match="loss must be"):
        loss_function("hinge")
    with pytest.raises(InputError, match="kind must be"):
        make_model("cnn", 3)


def test_train_task_perturbation_shrinks_quadratic_task_vector(rng):
    task = linear_regression_tasks(rng, 1, 40, 3, feature_spread=0.0)[0]
    X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
    f = lambda th: 0.5 * ((X @ th - y) ** 2).mean()  # noqa: E731
    start = torch.as_tensor(rng.standard_normal(3))
    plain = (train_task(f, start) - start).numpy()
    s = perturbation_schedule(0.5, p0=1 / 3)
    pert = (train_task(f, start, schedule=s) - start).numpy()
    np.testing.assert_allclose(pert, plain * perturbation_shrink_factor(s.lam), atol=1e-6)
    sg = (train_task(f, start, schedule=s, stop_gradient=True, optimizer="gd", lr=0.5, steps=600) - start).numpy()
    np.testing.assert_allclose(sg, plain, atol=1e-6)
    with pytest.raises(InputError, match="L-BFGS needs"):
        train_task(f, start, schedule=s, stop_gradient=True)


@pytest.mark.slow
def test_train_task_stochastic_perturbation_converges_to_shrunk_vector(rng):
    task = linear_regression_tasks(rng, 1, 40, 3, feature_spread=0.0)[0]
    X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
    f = lambda th: 0.5 * ((X @ th - y) ** 2).mean()  # noqa: E731
    start = torch.zeros(3, dtype=torch.float64)
    plain = (train_task(f, start) - start).numpy()
    s = perturbation_schedule(0.5, p0=1 / 3)
    st = (train_task(f, start, schedule=s, expected=False, optimizer="gd", lr=0.05, steps=20000, seed=3)
          - start).numpy()
    np.testing.assert_allclose(st, plain * perturbation_shrink_factor(s.lam), rtol=0.02, atol=0.02)


def test_monte_carlo_through_gradient_is_unbiased(rng):
    X = torch.as_tensor(rng.standard_normal((30, 3)))
    y = torch.as_tensor((rng.random(30) < 0.5).astype(float))
    f = lambda th: torch.nn.functional.binary_cross_entropy_with_logits(X @ th, y)  # noqa: E731
    s = perturbation_schedule(0.5, p0=1 / 3)
    th0, D = torch.as_tensor(rng.standard_normal(3)), torch.as_tensor(rng.standard_normal(3))
    from lintheory.perturb_merge import regularised_loss
    Dg = D.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(regularised_loss(f, th0, Dg, s), Dg)
    mc = monte_carlo_perturbed(f, th0, D, s, 20000, np.random.default_rng(0))
    assert np.all(np.abs(mc["grad"] - g.numpy()) <= 5 * mc["grad_se"] + 1e-12)


def test_run_sequence_linear_regression_exact(rng):
    tasks = linear_regression_tasks(rng, 3, 40, 3)
    res = run_sequence(make_model("linear", 3), "mse", tasks, curvature="hessian", constrain=False)
    assert res.alphas[0] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(res.unconstrained, res.line_alpha, atol=1e-5)
    np.testing.assert_allclose(res.unconstrained, res.grid_alpha, atol=0.0051)
    # the same alphas through the HVP curvature
    res2 = run_sequence(make_model("linear", 3), "mse", tasks, curvature="hvp", constrain=False, grid=None,
                        line_search=False)
    np.testing.assert_allclose(res2.unconstrained, res.unconstrained, atol=1e-9)


def test_run_sequence_logistic_and_bad_curvature(rng):
    tasks = logistic_tasks(rng, 2, 60, 3, scale=0.5)
    res = run_sequence(make_model("linear", 3), "logistic", tasks, curvature="fisher_diag", grid=None)
    assert len(res.alphas) == 2 and all(0 <= a <= 1 for a in res.alphas) and len(res.accuracy) == 2
    with pytest.raises(InputError, match="curvature must be"):
        run_sequence(make_model("linear", 3), "logistic", tasks, curvature="kfac", grid=None)


@pytest.mark.slow
def test_run_sequence_mlp(rng):
    tasks = rotated_classification_tasks(rng, 3, 100, 4, 3)
    res = run_sequence(make_model("mlp", 4, n_out=3, hidden=8), "ce", tasks, curvature="fisher_diag",
                       optimizer="adam", steps=300, lr=0.02)
    assert len(res.alphas) == 3 and res.alphas[0] == 1.0
    assert all(0.0 <= a <= 1.0 for a in res.alphas) and len(res.accuracy) == 3
    assert all(np.isfinite(res.total_loss)) and all(0.0 <= acc <= 1.0 for acc in res.accuracy)


def test_interpolation_makes_fisher_vanish_and_alpha_refused(rng):
    # n < d: the least-squares optimum interpolates, residuals (and the empirical Fisher) vanish
    task = Task(rng.standard_normal((5, 12)), rng.standard_normal(5))
    m = make_model("linear", 12)
    from lintheory.perturb_merge.train import task_loss_fn
    f = task_loss_fn(m, loss_function("mse"), task)
    start = torch.zeros(12, dtype=torch.float64)
    th = train_task(f, start, grad_tol=1e-9)
    with torch.no_grad():
        m.weight.copy_(th.reshape(1, -1))
    F = empirical_fisher_diag(m, loss_function("mse"), (torch.as_tensor(task.X), torch.as_tensor(task.y)))
    assert F.max() < 1e-12
    from lintheory.errors import AssumptionError
    with pytest.raises(AssumptionError, match="positive total curvature"):
        optimal_alpha(start.numpy(), [th.numpy()], [np.zeros(12)], th.numpy())
