"""cvxpy problems are built once per shape (cp.Parameter) and re-solved cold: a solution does
not depend on what was solved before in the process (records must not depend on the split)."""

import numpy as np
import pytest

pytest.importorskip("cvxpy")


def _fresh(module):
    module._PROBLEMS.clear()


def test_logit_space_reuses_the_problem_and_forgets_the_last_solve():
    from lintheory.lora_margin import solvers as S

    y = [0, 0, 1, 1, 2]
    _fresh(S)
    first = S.solve_logit_space(y, 3, 0.05).Z
    assert len(S._PROBLEMS) == 1
    other = S.solve_logit_space(y, 3, 0.2).Z          # same shape: the same built problem
    again = S.solve_logit_space(y, 3, 0.05).Z
    assert len(S._PROBLEMS) == 1
    assert np.array_equal(first, again)               # cold start: bit for bit
    assert not np.allclose(first, other)
    _fresh(S)
    assert np.array_equal(S.solve_logit_space(y, 3, 0.05).Z, first)


def test_full_space_parameters_match_the_logit_route():
    from lintheory.lora_margin import solvers as S

    X = np.eye(6)[:4]                                 # orthonormal rows: Z* = Zhat* X
    y = [0, 1, 1, 2]
    _fresh(S)
    full = S.solve_full_space(X, y, 3, 0.1)
    logit = S.solve_logit_space(y, 3, 0.1)
    assert np.max(np.abs(full.Z - logit.Z @ X)) < 1e-5
    W = np.random.default_rng(0).normal(size=(3, 6)) * 0.1
    a = S.solve_full_space(X, y, 3, 0.1, W_pre=W).Z
    S.solve_full_space(X + 0.01, y, 3, 0.3)          # another X, same shape
    assert np.array_equal(S.solve_full_space(X, y, 3, 0.1, W_pre=W).Z, a)


def test_drop_probabilities_problem_is_reused_cold():
    from lintheory.adadare import solvers as S
    from lintheory.adadare import drop_probabilities

    rng = np.random.default_rng(3)
    h, d = np.exp(rng.normal(size=40)), rng.normal(size=40)
    _fresh(S)
    a = S.cvxpy_drop_probabilities(h, d, 0.7).probs
    S.cvxpy_drop_probabilities(np.exp(rng.normal(size=40)), rng.normal(size=40), 0.3)
    assert len(S._PROBLEMS) == 1
    assert np.array_equal(S.cvxpy_drop_probabilities(h, d, 0.7).probs, a)
    assert np.max(np.abs(a - drop_probabilities(h, d, 0.7))) < 1e-4  # interior-point accuracy
