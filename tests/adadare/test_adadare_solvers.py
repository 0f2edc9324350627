"""Independent routes: cvxpy with certificate, Monte Carlo, scipy, torch."""

import numpy as np
import pytest

from lintheory.adadare import expected_diag_loss, expected_layer_loss, optimal_gamma, solve_drop_probabilities
from lintheory.adadare.closed_form import hessian_diag_from_activations
from lintheory.adadare.data import heavy_tailed, linear_layer_task, with_zero_scores
from lintheory.adadare.solvers import (cvxpy_drop_probabilities, dual_value, kkt_residuals, montecarlo_diag_loss,
                                       montecarlo_l1, montecarlo_layer_loss, scipy_optimal_gamma)
from lintheory.errors import SolverError

MC_Z = 5.0


def _f(s, q):
    live = s > 0
    return float(np.sum(s[live] ** 2 / (1 - q[live])))


@pytest.mark.parametrize("sigma, p", [(0.5, 0.5), (2.0, 0.3), (3.0, 0.9)])
def test_cvxpy_agrees_with_waterfill(sigma, p):
    h, d = heavy_tailed(150, sigma, seed=int(10 * sigma + 100 * p))
    s = np.sqrt(h) * np.abs(d)
    c = cvxpy_drop_probabilities(h, d, p)
    w = solve_drop_probabilities(h, d, p)
    assert c.status == "optimal"
    assert c.kkt["gap"] < 1e-3
    fw, fc = _f(s, w.probs), _f(s, c.probs)
    assert fw <= fc * (1 + 1e-9)                             # water-filling is no worse than the solver
    sm = s.max()
    assert dual_value(s / sm, c.kkt["nu"], p) * sm ** 2 <= fw * (1 + 1e-9)   # nor below its dual bound


def test_cvxpy_closed_problem_with_zero_scores():
    h, d = with_zero_scores(40, 4, 1.0, seed=0)
    c = cvxpy_drop_probabilities(h, d, 0.5, closed=True)
    w = solve_drop_probabilities(h, d, 0.5)
    s = np.sqrt(h) * np.abs(d)
    assert _f(s, w.probs) <= _f(s, c.probs) * (1 + 1e-9)


def test_cvxpy_certificate_rejects():
    h, d = heavy_tailed(50, 1.0, seed=1)
    with pytest.raises(SolverError, match="certificate"):
        cvxpy_drop_probabilities(h, d, 0.5, kkt_tol=-1.0)      # nothing passes a negative tolerance


def test_kkt_flags_a18_when_clipping():
    s = np.array([1.0, 1.0, 1.0, 9.0])
    k = kkt_residuals(s, [5 / 6, 5 / 6, 5 / 6, 0.0], 0.5)      # A.18: mean 0.625 with nu > 0
    assert k["slackness"] > 0.1
    assert kkt_residuals(s, [2 / 3, 2 / 3, 2 / 3, 0.0], 0.5)["max"] < 1e-12


def test_montecarlo_matches_expected_diag_loss():
    rng = np.random.default_rng(3)
    h, d = heavy_tailed(20, 1.0, seed=rng)
    q = rng.uniform(0, 0.9, 20)
    m, se = montecarlo_diag_loss(h, d, q, 0.8, n_samples=30000, seed=4)
    assert abs(m - expected_diag_loss(h, d, q, 0.8)) < MC_Z * se


def test_montecarlo_matches_layer_loss():
    t = linear_layer_task(30, 5, 3, correlation=0.7, seed=5)
    d = t["W_task"] - t["W_pre"]
    q = np.random.default_rng(6).uniform(0, 0.8, d.shape)
    m, se = montecarlo_layer_loss(d, q, 1.1, t["X"], n_samples=20000, seed=7)
    assert abs(m - expected_layer_loss(d, q, 1.1, t["X"])) < MC_Z * se


def test_montecarlo_l1_mean_is_independent_of_p():
    d = np.random.default_rng(8).standard_normal(30)
    for q in (np.zeros(30), np.full(30, 0.5), np.linspace(0, 0.9, 30)):
        r = montecarlo_l1(d, q, -0.7, n_samples=20000, seed=9)
        assert abs(r["mean"] - 0.7 * np.abs(d).sum()) < MC_Z * max(r["se"], 1e-12)


def test_scipy_gamma_matches_formula():
    t = linear_layer_task(40, 6, 2, seed=10)
    d = t["W_task"] - t["W_pre"]
    h = hessian_diag_from_activations(t["X"], 2)
    q = solve_drop_probabilities(h, d, 0.7).probs
    G = t["X"].T @ t["X"]
    Q = float(np.einsum("ri,ij,rj->", d, G, d))
    assert scipy_optimal_gamma(h, d, q, bias_quad=Q) == pytest.approx(optimal_gamma(h, d, q, bias_quad=Q), abs=1e-7)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(deadline=None, max_examples=15)
@given(n=st.integers(2, 25), sigma=st.floats(0, 3), p=st.floats(0.05, 0.95), seed=st.integers(0, 10**6))
def test_waterfill_never_beaten_by_cvxpy(n, sigma, p, seed):
    h, d = heavy_tailed(n, sigma, seed=seed)
    s = np.sqrt(h) * np.abs(d)
    try:
        c = cvxpy_drop_probabilities(h, d, p)
    except SolverError:
        return                                     # the independent route refused; nothing to compare
    w = solve_drop_probabilities(h, d, p)
    fw, fc = _f(s, w.probs), _f(s, c.probs)
    assert fw <= fc * (1 + 1e-9)
    sm = s.max()
    assert dual_value(s / sm, c.kkt["nu"], p) * sm ** 2 <= fw * (1 + 1e-9)
