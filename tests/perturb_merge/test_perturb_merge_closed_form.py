"""Unit and property tests of P&M's closed forms (Eq. 8, 11–16) against independent numerical routes."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintheory.errors import AssumptionError, InputError
from lintheory.perturb_merge import (CurvatureWarning, bound_terms, expected_perturbed_loss, fd_quadratic_form,
                                     fisher_merge_point, merge_objective, optimal_alpha, perturbation_schedule,
                                     perturbation_shrink_factor, pm_sequence, regularised_loss)
from lintheory.perturb_merge.closed_form import pm_linear_regression
from lintheory.perturb_merge.data import linear_regression_tasks, quadratic_tasks, random_merge_instance
from lintheory.perturb_merge.printed import alpha_eq8, bound_eq12, perturbation_probs_eq15
from lintheory.perturb_merge.solvers import (constrained_alpha_cvxpy, surrogate_line_minimiser, surrogate_value)

LINE_TOL = 1e-7
QP_TOL = 1e-6


def _inst(seed, d, t, kind="dense", **kw):
    return random_merge_instance(np.random.default_rng(seed), d, t, kind=kind, **kw)


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6), t=st.integers(1, 5),
       kind=st.sampled_from(["dense", "rank", "diag"]))
def test_alpha_is_line_minimiser(seed, d, t, kind):
    inst = _inst(seed, d, t, kind)
    r = optimal_alpha(**inst, constrain=False)
    a = surrogate_line_minimiser(**inst)
    assert abs(r.unconstrained - a) <= LINE_TOL * (1 + abs(a))
    assert r.alpha == r.unconstrained and not r.clipped
    # J(alpha*) <= J at nearby points, and the recorded objective is J(alpha*)
    for da in (-0.1, 0.1):
        assert r.objective <= surrogate_value(r.alpha + da, **inst) + 1e-12
    assert abs(r.objective - surrogate_value(r.alpha, **inst)) <= 1e-9 * (1 + abs(r.objective))


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 5), t=st.integers(2, 5))
def test_clipped_alpha_matches_cvxpy(seed, d, t):
    inst = _inst(seed, d, t, "dense")
    r = optimal_alpha(**inst)
    q = constrained_alpha_cvxpy(**inst)
    assert abs(r.alpha - q["alpha"]) <= QP_TOL
    assert 0.0 <= r.alpha <= 1.0
    assert r.clipped == (r.unconstrained < 0 or r.unconstrained > 1)


def test_curvature_forms_agree():
    inst = _inst(3, 5, 4, "dense")
    dense = optimal_alpha(**inst).unconstrained
    hvp = optimal_alpha(inst["theta_prev"], inst["optima"], [(lambda v, H=H: H @ v) for H in inst["curvatures"]],
                        inst["delta"]).unconstrained
    assert abs(dense - hvp) < 1e-12
    diag = [np.diag(H).copy() for H in inst["curvatures"]]
    a_diag = optimal_alpha(inst["theta_prev"], inst["optima"], diag, inst["delta"]).unconstrained
    a_dense_of_diag = optimal_alpha(inst["theta_prev"], inst["optima"], [np.diag(c) for c in diag],
                                    inst["delta"]).unconstrained
    assert abs(a_diag - a_dense_of_diag) < 1e-12


def test_printed_eq8_equals_unconstrained():
    inst = _inst(11, 4, 3)
    assert abs(alpha_eq8(**inst) - optimal_alpha(**inst, constrain=False).unconstrained) < 1e-12


def test_alpha_outside_unit_interval_is_clipped_and_reported():
    # 2-D, t = 3: theta_prev sits where the old tasks pull strongly against the new direction
    theta_prev = np.array([0.0, 0.0])
    optima = [np.array([-3.0, 0.0]), np.array([-3.0, 0.0]), np.array([1.0, 0.0])]
    H = [np.eye(2), np.eye(2), np.diag([0.01, 1.0])]
    r = optimal_alpha(theta_prev, optima, H, np.array([1.0, 0.0]))
    assert r.unconstrained < 0 and r.alpha == 0.0 and r.clipped and r.outside_unit_interval
    r2 = optimal_alpha(theta_prev, optima, H, np.array([1.0, 0.0]), constrain=False)
    assert r2.alpha == r2.unconstrained < 0 and not r2.clipped


def test_gradient_corrected_variant_matches_line_search():
    rng = np.random.default_rng(5)
    inst = _inst(5, 4, 3)
    grads = [rng.standard_normal(4) for _ in range(3)]
    r = optimal_alpha(**inst, grads=grads, constrain=False)

    def J(a):
        x = inst["theta_prev"] + a * inst["delta"]
        return sum(g @ (x - th) + 0.5 * (x - th) @ H @ (x - th)
                   for g, th, H in zip(grads, inst["optima"], inst["curvatures"]))

    from lintheory.perturb_merge.solvers import line_minimiser
    assert abs(r.unconstrained - line_minimiser(J)) < 1e-7


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6), kind=st.sampled_from(["dense", "rank", "diag"]))
def test_first_two_steps(seed, d, kind):
    assert abs(optimal_alpha(**_inst(seed, d, 1, kind)).unconstrained - 1.0) < 1e-12
    a2 = optimal_alpha(**_inst(seed, d, 2, kind, start_at_previous_optimum=True), constrain=False).unconstrained
    assert -1e-12 <= a2 <= 1 + 1e-12


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 5), kind=st.sampled_from(["dense", "diag"]))
def test_common_hessian_gives_running_mean(seed, d, kind):
    rng = np.random.default_rng(seed)
    Hs, cs = quadratic_tasks(rng, d, 5, common_hessian=True, kind=kind)
    out = pm_sequence(Hs, cs, rng.standard_normal(d))
    np.testing.assert_allclose(out["alphas"], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5], atol=1e-12)
    np.testing.assert_allclose(out["merged"][-1], np.mean(cs, axis=0), atol=1e-10)


def test_alpha_invariant_to_common_scale_not_to_per_task_scale():
    inst = _inst(7, 4, 3)
    a = optimal_alpha(**inst, constrain=False).unconstrained
    scaled = dict(inst, curvatures=[7.0 * H for H in inst["curvatures"]])
    assert abs(optimal_alpha(**scaled, constrain=False).unconstrained - a) < 1e-12
    one = dict(inst, curvatures=[10.0 * inst["curvatures"][0]] + inst["curvatures"][1:])
    assert abs(optimal_alpha(**one, constrain=False).unconstrained - a) > 1e-3


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6), t=st.integers(1, 5))
def test_bound_identity_and_cauchy_schwarz(seed, d, t):
    inst = _inst(seed, d, t, "rank")
    b = bound_terms(**inst)
    a = optimal_alpha(**inst, constrain=False)
    assert abs(b.value - merge_objective(a.unconstrained, **inst)) <= 1e-9 * (1 + b.first)
    assert abs(b.first - bound_eq12(inst["theta_prev"], inst["optima"], inst["curvatures"])) <= 1e-12 * (1 + b.first)
    assert -1e-12 <= b.ratio <= 1 + 1e-12
    # P&M's line point is no better than the full-space Fisher-merging point
    fm = fisher_merge_point(inst["optima"], inst["curvatures"])
    full = 0.5 * sum((fm - th) @ H @ (fm - th) for th, H in zip(inst["optima"], inst["curvatures"]))
    assert b.value >= full - 1e-9 * (1 + b.first)


def test_pm_linear_regression_alpha_is_true_line_minimiser():
    rng = np.random.default_rng(0)
    tasks = linear_regression_tasks(rng, 4, 50, 4)
    out = pm_linear_regression(tasks, np.zeros(4), constrain=False)
    # step 3: recompute from the stored path by scipy on the true summed loss
    from lintheory.perturb_merge.solvers import line_minimiser
    prev = out["merged"][1]
    v = np.linalg.pinv(tasks[2].X) @ (tasks[2].y - tasks[2].X @ prev)
    f = lambda a: sum(0.5 * np.mean((tk.X @ (prev + a * v) - tk.y) ** 2) for tk in tasks[:3])  # noqa: E731
    assert abs(out["unconstrained"][2] - line_minimiser(f)) < 1e-7


# ------------------------------------------------------------------ bad input
def test_bad_input_shapes_and_values():
    inst = _inst(1, 3, 2)
    with pytest.raises(InputError, match="delta has length"):
        optimal_alpha(inst["theta_prev"], inst["optima"], inst["curvatures"], np.ones(4))
    with pytest.raises(InputError, match="optima\\[1\\] has length"):
        optimal_alpha(inst["theta_prev"], [inst["optima"][0], np.ones(2)], inst["curvatures"], inst["delta"])
    with pytest.raises(InputError, match="2 optima but 1 curvatures"):
        optimal_alpha(inst["theta_prev"], inst["optima"], inst["curvatures"][:1], inst["delta"])
    with pytest.raises(InputError, match="has shape"):
        optimal_alpha(inst["theta_prev"], inst["optima"], [np.eye(2), np.eye(3)], inst["delta"])
    with pytest.raises(InputError, match="diagonal of length"):
        optimal_alpha(inst["theta_prev"], inst["optima"], [np.ones(2), np.ones(3)], inst["delta"])
    with pytest.raises(InputError, match="non-finite"):
        optimal_alpha(inst["theta_prev"], inst["optima"], inst["curvatures"], np.array([np.nan, 0, 0]))
    with pytest.raises(InputError, match="not symmetric"):
        optimal_alpha(inst["theta_prev"], inst["optima"], [np.triu(np.ones((3, 3)))] * 2, inst["delta"])
    with pytest.raises(InputError, match="empty"):
        optimal_alpha(inst["theta_prev"], [], [], inst["delta"])
    with pytest.raises(InputError, match="returned shape"):
        optimal_alpha(inst["theta_prev"], inst["optima"], [lambda v: np.ones(2)] * 2, inst["delta"])


def test_non_positive_denominator_is_refused():
    with pytest.raises(AssumptionError, match="positive total curvature"):
        optimal_alpha(np.zeros(2), [np.ones(2)], [np.eye(2)], np.zeros(2))          # zero task vector
    with pytest.raises(AssumptionError, match="positive total curvature"):
        optimal_alpha(np.zeros(2), [np.ones(2)], [np.zeros(2)], np.ones(2))         # zero Fisher (interpolation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurvatureWarning)
        with pytest.raises(AssumptionError, match="measured -2"):
            optimal_alpha(np.zeros(2), [np.ones(2)], [np.diag([-1.0, -1.0])], np.ones(2))


def test_indefinite_curvature_warns_with_negative_mass():
    H = np.diag([2.0, -1.0])
    with pytest.warns(CurvatureWarning, match="negative mass"):
        r = optimal_alpha(np.zeros(2), [np.array([1.0, 0.0])], [H], np.array([1.0, 0.0]))
    assert abs(r.negative_mass[0] - 1 / 3) < 1e-12
    with pytest.warns(CurvatureWarning, match="task 1: 0.5"):
        optimal_alpha(np.zeros(2), [np.array([1.0, 0.0])], [np.array([1.0, -1.0])], np.array([1.0, 0.0]))


# ------------------------------------------------------------------ Eq. 13–16
@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 5), eps=st.floats(1e-2, 1.0))
def test_fd_exact_for_quadratic(seed, d, eps):
    rng = np.random.default_rng(seed)
    H = random_merge_instance(rng, d, 1)["curvatures"][0]
    b = rng.standard_normal(d)
    f = lambda th: 0.5 * th @ H @ th + b @ th  # noqa: E731
    th, v = rng.standard_normal(d), rng.standard_normal(d)
    assert abs(fd_quadratic_form(f, th, v, eps) - v @ H @ v) <= 1e-9 * (1 + v @ H @ v)


def test_fd_error_is_eps_squared_over_12_times_fourth_derivative():
    f = lambda th: np.exp(th[0])  # noqa: E731   all derivatives along v = 1 equal e^0 = 1
    for eps in (0.1, 0.05):
        err = fd_quadratic_form(f, np.zeros(1), np.ones(1), eps) - 1.0
        assert abs(err / eps ** 2 - 1 / 12) < eps ** 2  # next term eps^4 / 360


def test_fd_symmetric_in_eps_sign_and_rejects_bad_eps():
    f = lambda th: np.sin(th).sum()  # noqa: E731
    for bad in (0.0, -0.5, 1.5, np.nan):
        with pytest.raises(InputError, match="eps must lie"):
            fd_quadratic_form(f, np.zeros(2), np.ones(2), bad)


def test_schedule_and_probabilities():
    s = perturbation_schedule(0.5, p0=1 / 3)
    assert abs(s.lam - 1 / 12) < 1e-15 and abs(s.probs.sum() - 1) < 1e-15
    assert s.p_plus == s.p_minus
    s2 = perturbation_schedule(0.5, lam=1 / 12)
    assert abs(s2.p0 - 1 / 3) < 1e-12
    p = perturbation_probs_eq15(1 / 12, 0.5)
    np.testing.assert_allclose(s2.probs, p, atol=1e-12)
    draws = s.sample(np.random.default_rng(0), size=30000)
    np.testing.assert_allclose([np.mean(draws == v) for v in s.values], s.probs, atol=0.02)


def test_schedule_bad_input():
    with pytest.raises(AssumptionError, match="lam <= eps\\^2 / 2"):
        perturbation_schedule(0.5, lam=0.2)
    for p0 in (-0.1, 1.1, np.nan):
        with pytest.raises(InputError, match="p0 must lie"):
            perturbation_schedule(0.5, p0=p0)
    with pytest.raises(InputError, match="exactly one"):
        perturbation_schedule(0.5)
    with pytest.raises(InputError, match="exactly one"):
        perturbation_schedule(0.5, p0=0.5, lam=0.01)
    with pytest.raises(InputError, match="lam must be"):
        perturbation_schedule(0.5, lam=-1.0)
    with pytest.raises(InputError, match="eps must lie"):
        perturbation_schedule(2.0, p0=0.5)
    with pytest.raises(InputError):
        perturbation_shrink_factor(-0.1)


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 10**6), p0=st.floats(0.0, 1.0), eps=st.floats(0.05, 1.0))
def test_enumeration_equals_eq14(seed, p0, eps):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3, 3))
    f = lambda th: float(np.log1p(np.exp(A @ th)).sum())  # noqa: E731   smooth, non-quadratic
    s = perturbation_schedule(eps, p0=p0)
    th, D = rng.standard_normal(3), rng.standard_normal(3)
    e = expected_perturbed_loss(f, th, D, s)
    r = regularised_loss(f, th, D, s)
    fd = f(th + D) + s.lam * fd_quadratic_form(f, th + D, D, eps)
    assert abs(e - r) < 1e-10 * (1 + abs(r)) and abs(r - fd) < 1e-10 * (1 + abs(r))


def test_shrink_factor_matches_regularised_normal_equations():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 3))
    y = rng.standard_normal(30)
    H = X.T @ X / 30
    D = np.linalg.solve(H, X.T @ y / 30)
    lam = 1 / 12
    # minimiser of 1/2 (Δ - D)^T H (Δ - D) + lam Δ^T H Δ
    sol = np.linalg.solve((1 + 2 * lam) * H, H @ D)
    np.testing.assert_allclose(sol, perturbation_shrink_factor(lam) * D, atol=1e-12)
