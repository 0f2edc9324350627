"""Conventions of the svm functions (issue 13 part 6): labels, the class-count name, the error template."""

import pickle
import warnings

import numpy as np
import pytest

from lintheory.errors import AssumptionError, InputError
from lintheory.svm import (hard_margin_svm, kkt_certificate, multiclass_margin, normalized_margin,
                           orthonormal_svm, sample_margins)
from lintheory.svm.data import orthonormal_class_data

LABELS = np.array(["ant", "bee", "cat", "dog"])


def _data():
    return orthonormal_class_data(Kb=3, n=2, d=8, seed=0)


@pytest.mark.parametrize("relabel", [lambda y: y * 10, lambda y: LABELS[y], lambda y: y - 5,
                                     lambda y: (y + 0.5).astype(float)],
                         ids=["y*10", "strings", "negative", "floats"])
def test_any_sortable_labels_give_the_same_classifier_and_margins(relabel):
    X, y = _data()
    ref = hard_margin_svm(X, y)
    yl = relabel(y)
    res = hard_margin_svm(X, yl)
    np.testing.assert_allclose(res.W, ref.W, rtol=0, atol=1e-12)
    assert res.classes.tolist() == sorted(set(yl.tolist()))
    np.testing.assert_allclose(orthonormal_svm(X, yl), orthonormal_svm(X, y), atol=1e-15)
    # the margins read the same labels, in the order of res.classes (rows of W)
    assert normalized_margin(res.W, X, yl) == pytest.approx(ref.normalized_margin, rel=1e-12)
    assert multiclass_margin(res.W, X, yl) == pytest.approx(multiclass_margin(ref.W, X, y), rel=1e-12)
    np.testing.assert_allclose(sample_margins(res.W, X, yl, classes=res.classes), sample_margins(ref.W, X, y))


def test_rows_not_matching_the_labels_ask_for_classes():
    X, y = _data()
    W = np.ones((4, X.shape[1]))            # 4 rows, 3 distinct labels that are not row indices
    with pytest.raises(InputError, match="classes="):
        multiclass_margin(W, X, LABELS[y])
    # with classes the rows are named: class absent from y keeps its row
    m = multiclass_margin(W, X, LABELS[y], classes=LABELS)
    assert m == multiclass_margin(W, X, y)


def test_n_classes_is_a_deprecated_alias_of_K():
    X, y = _data()
    ref = hard_margin_svm(X, y, K=4)
    with pytest.warns(DeprecationWarning, match="n_classes.*deprecated.*'K'"):
        old = hard_margin_svm(X, y, n_classes=4)
    np.testing.assert_array_equal(old.W, ref.W)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(orthonormal_svm(X, y, n_classes=4), orthonormal_svm(X, y, K=4))
    with pytest.raises(InputError, match="both"):
        hard_margin_svm(X, y, K=4, n_classes=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hard_margin_svm(X, y, 4)            # positional use does not warn


@pytest.mark.parametrize("K", [2.5, 3.0, "3", np.nan, True])
def test_K_must_be_an_integer(K):
    X, y = _data()
    with pytest.raises(InputError, match="K"):
        hard_margin_svm(X, y, K)


@pytest.mark.parametrize("c", [1e-200, 1e-150, 1e150, 1e160])
def test_normalized_margin_is_scale_invariant_in_W_and_covariant_in_X(c):
    X, y = _data()
    W = hard_margin_svm(X, y).W
    g = normalized_margin(W, X, y)
    assert normalized_margin(W * c, X, y) == pytest.approx(g, rel=1e-12)
    assert normalized_margin(W, X * c, y) == pytest.approx(g * c, rel=1e-12)


def test_certificate_inputs_are_checked():
    X, y = _data()
    res = hard_margin_svm(X, y)
    with pytest.raises(InputError, match="dual"):
        kkt_certificate(res.W, X, y, res.dual[:, :2])
    bad = res.dual.copy()
    bad[0, 1] = np.nan
    with pytest.raises(InputError, match="dual.*non-finite"):
        kkt_certificate(res.W, X, y, bad)


@pytest.mark.parametrize("v, t, rel, text", [
    (0.01, 1e-8, "<=", "measured 0.01 > tolerance 1e-08"),
    (0.0, 0.0, ">", "measured 0 <= bound 0"),
    (-2.0, 0.0, ">=", "measured -2 < bound 0"),
    (3.0, 3.0, "<", "measured 3 >= tolerance 3"),
    (1.0, 0.0, "==", "measured 1 != required 0"),
    (2.0, 2.0, "!=", "measured 2 == excluded value 2"),
    (float("nan"), 1.0, "<=", "measured nan, which is not finite"),
    (1.0000001, 1.0, "<=", "measured 1.0000001 > tolerance 1"),
])
def test_error_template_states_the_violated_relation(v, t, rel, text):
    exc = AssumptionError("x", v, t, relation=rel)
    assert text in str(exc)
    assert str(pickle.loads(pickle.dumps(exc))) == str(exc)


@pytest.mark.parametrize("v, t", [(0.0, 0.0), (3e200, float("inf")), (-1.0, 0.0)])
def test_error_template_never_prints_a_false_comparison(v, t):
    msg = str(AssumptionError("x", v, t))        # default relation "<=": satisfied here
    assert "measured 0 > tolerance 0" not in msg and ">" not in msg.split("measured")[1].split("(")[0]
    assert "required <=" in msg
