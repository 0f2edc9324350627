"""Bad input and naming conventions of lora_margin (issue 13 parts 5-6)."""

import math
import warnings

import numpy as np
import pytest

from lintheory.errors import AssumptionError, InputError
from lintheory.lora_margin import (adapter, check_problem, forgetting_margins, merge_coefficients,
                                   merged_margins, optimal_lambda, optimum, thresholds)


@pytest.mark.parametrize("lam", [1e-310, 5e-324, 1e-200])
def test_optimum_is_finite_at_subnormal_lam(lam):
    o = optimum(6, 3, 2, lam)
    assert o.regime == "low"
    for v in (o.a, o.b, o.c, o.p, o.q, o.theta, o.nuclear, o.margin, o.normalized_margin):
        assert math.isfinite(v)
    # low regime: p = log((1 - g (Kb-1+s)) / (g (1-s))) with g = lam sqrt(n); computed in logs
    s = math.sqrt(3 / 6)
    g = lam * math.sqrt(2)
    assert o.p == pytest.approx(math.log1p(-g * (2 + s)) - math.log(g) - math.log1p(-s), rel=1e-14)
    m = forgetting_margins(6, 3, 2, lam, rho_pre=1.0, normalized_margin_pre=0.5)
    assert all(np.isfinite(m[k]) for k in ("pre", "ft", "union", "theta"))


def test_low_regime_in_logs_agrees_with_the_quotient_at_ordinary_lam():
    t = thresholds(6, 3, 2)
    lam = 0.5 * t.lambda_crit
    o = optimum(6, 3, 2, lam)
    s = math.sqrt(3 / 6)
    g = lam * math.sqrt(2)
    assert o.p == pytest.approx(math.log((1 - g * (2 + s)) / (g * (1 - s))), rel=1e-13)


def test_margin_names_say_whether_they_are_normalised():
    new = forgetting_margins(4, 4, 2, 0.08, rho_pre=2.0, normalized_margin_pre=0.5)
    with pytest.warns(DeprecationWarning, match="gamma_pre.*normalized_margin_pre"):
        old = forgetting_margins(4, 4, 2, 0.08, rho_pre=2.0, gamma_pre=0.5)
    assert old["pre"] == new["pre"] and old["ft"] == new["ft"]
    with pytest.warns(DeprecationWarning, match="C_pre.*margin_pre"):
        assert optimal_lambda(4, 4, 2, C_pre=1.0).lam == optimal_lambda(4, 4, 2, margin_pre=1.0).lam
    with pytest.warns(DeprecationWarning, match="C_pre"):
        a = merge_coefficients(C_pre=1.0, task_margins=[2.0, 0.5]).alpha
    np.testing.assert_array_equal(a, merge_coefficients(1.0, [2.0, 0.5]).alpha)
    kw = dict(rho_pre=1.0, task_margins=[2.0, 0.5], task_thetas=[2.0, 1.0])
    with pytest.warns(DeprecationWarning, match="C_pre"):
        old = merged_margins([0.5, 2.0], C_pre=1.0, **kw)
    assert old["union"] == merged_margins([0.5, 2.0], margin_pre=1.0, **kw)["union"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimal_lambda(4, 4, 2, 1.0)          # positional use does not warn


def test_margin_errors_name_the_argument_and_read_right():
    with pytest.raises(AssumptionError, match=r"margin_pre: measured 0 <= bound 0"):
        optimal_lambda(4, 4, 2, 0.0)
    with pytest.raises(AssumptionError, match=r"normalized_margin_pre: measured -0.2 <= bound 0"):
        forgetting_margins(4, 4, 2, 0.1, rho_pre=1.0, normalized_margin_pre=-0.2)
    with pytest.raises(AssumptionError, match=r"task_margins\[1\]: measured 0 <= bound 0"):
        merge_coefficients(1.0, [1.0, 0.0])
    with pytest.raises(InputError, match="too large"):
        optimal_lambda(4, 4, 2, 800.0)


@pytest.mark.parametrize("c", [1e-150, 1e150])
def test_merging_is_scale_invariant(c):
    kw = dict(rho_pre=1.0, task_thetas=[2.0, 1.0])
    ref = merge_coefficients(1.0, [2.0, 0.5], **kw)
    r = merge_coefficients(c, np.array([2.0, 0.5]) * c, rho_pre=c, task_thetas=np.array([2.0, 1.0]) * c)
    np.testing.assert_allclose(r.alpha, ref.alpha, rtol=1e-14)
    assert r.value == pytest.approx(ref.value, rel=1e-14)
    m = merged_margins(ref.alpha, margin_pre=c, rho_pre=c, task_margins=np.array([2.0, 0.5]) * c,
                       task_thetas=np.array([2.0, 1.0]) * c)
    assert m["union"] == pytest.approx(ref.value, rel=1e-13)


def test_labels_any_kind_with_classes_and_K_as_the_class_count():
    X = np.eye(7)[:4]
    Z = adapter(X, [0, 0, 2, 2], 3, 0.05)
    names = np.array(["cat", "dog", "emu"])
    np.testing.assert_array_equal(adapter(X, names[[0, 0, 2, 2]], 3, 0.05, classes=names), Z)
    np.testing.assert_array_equal(adapter(X, [0, 0, 20, 20], 3, 0.05, classes=[0, 10, 20]), Z)
    with pytest.raises(InputError, match="classes="):
        adapter(X, names[[0, 0, 2, 2]], 3, 0.05)
    with pytest.warns(DeprecationWarning, match="n_classes"):
        np.testing.assert_array_equal(adapter(X, [0, 0, 2, 2], n_classes=3, lam=0.05), Z)
    _, y, seen, n = check_problem(X, names[[0, 0, 2, 2]], 3, classes=names)
    assert y.tolist() == [0, 0, 2, 2] and seen.tolist() == [0, 2] and n == 2


@pytest.mark.parametrize("bad", [2.5, 2.0, np.nan, "6", True, -1])
def test_counts_must_be_integers(bad):
    with pytest.raises(InputError, match="must be"):
        optimum(bad, 3, 2, 0.1)
