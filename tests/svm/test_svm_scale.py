"""Scale invariance of the exact SVM at extreme scales of X (issue 13).

``W(cX) = W(X) / c`` and ``dual(cX) = dual(X) / c^2``: the routes solve the problem of
``X / 2^e`` (``res.x_scale = 2^e``, found without squaring X) and certify it there.  Before,
``X * 1e-200`` was called "sample 0 is the zero vector" (its norm underflowed) and
``X * 1e160`` raised ZeroDivisionError (its norm overflowed).
"""

import numpy as np
import pytest

from lintheory.errors import InfeasibleError
from lintheory.svm import hard_margin_svm, kkt_certificate
from lintheory.svm.data import separable_gaussian

#: relative distance between W(cX) * c and W(X): the same scaled problem up to the rounding
#: of X * c (the scale factors are not powers of two), well inside the certified distance
SCALE_AGREE_TOL = 1e-9
#: KKT residual asked of every solution here (the issue's exactness target)
KKT_TOL = 1e-8

SCALES = [1e-300, 1e-200, 1e-150, 1e150, 1e160, 1e300]


def _rel(A, B):
    return float(np.linalg.norm(A - B) / np.linalg.norm(B))


@pytest.fixture(scope="module")
def base():
    X, y = separable_gaussian(80, 6, 3, seed=2)
    return X, y, hard_margin_svm(X, y)


@pytest.fixture(scope="module")
def base_wide():
    X, y = separable_gaussian(60, 120, 4, seed=3)
    return X, y, hard_margin_svm(X, y, method="dual")


@pytest.mark.parametrize("scale", SCALES)
def test_ipm_route_is_scale_invariant_at_extreme_scales(base, scale):
    X, y, ref = base
    res = hard_margin_svm(X * scale, y)
    assert res.status == "OPTIMAL" and res.method == ref.method == "ipm"
    assert res.kkt_residual <= KKT_TOL
    # W is representable at every one of these scales (|W| ~ 1/scale), and equals W(X)/scale
    assert np.all(np.isfinite(res.W))
    assert _rel(res.W * scale, ref.W) <= SCALE_AGREE_TOL
    assert res.margin == pytest.approx(1.0, abs=KKT_TOL)
    assert res.normalized_margin / scale == pytest.approx(ref.normalized_margin, rel=SCALE_AGREE_TOL)


@pytest.mark.parametrize("scale", SCALES)
def test_dual_route_is_scale_invariant_at_extreme_scales(base_wide, scale):
    X, y, ref = base_wide
    res = hard_margin_svm(X * scale, y, method="dual")
    assert res.kkt_residual <= KKT_TOL
    assert _rel(res.W * scale, ref.W) <= SCALE_AGREE_TOL


@pytest.mark.parametrize("scale", SCALES)
def test_certificate_is_checked_on_the_scaled_problem(base, scale):
    X, y, ref = base
    Xc = X * scale
    res = hard_margin_svm(Xc, y)
    c = res.x_scale
    # a power of two that brings the largest sample norm into [1/2, 1)
    assert np.frexp(c)[0] == 0.5
    assert 0.5 <= np.linalg.norm(Xc / c, axis=1).max() < 1.0
    cert = kkt_certificate(res.W * c, Xc / c, y, res.dual_scaled)
    assert cert["max"] == pytest.approx(res.kkt_residual, rel=1e-6, abs=1e-15)
    assert cert["max"] <= KKT_TOL
    # X / c = r X / c0 with r = scale c0 / c in (1/2, 2): the scaled multipliers are those
    # of the unscaled problem divided by r^2
    r = scale * ref.x_scale / c
    assert 0.5 < r < 2.0
    np.testing.assert_allclose(res.dual_scaled * r**2, ref.dual_scaled, rtol=1e-6,
                               atol=1e-9 * ref.dual_scaled.max())


def test_dual_is_the_unscaled_multiplier_where_representable(base):
    X, y, ref = base
    res = hard_margin_svm(X * 1e-100, y)
    np.testing.assert_allclose(res.dual * 1e-200, ref.dual, rtol=1e-6, atol=1e-9 * ref.dual.max())


@pytest.mark.parametrize("scale", [1e-200, 1e160])
def test_a_true_zero_sample_is_still_infeasible_at_extreme_scales(base, scale):
    X, y, _ = base
    X = X.copy()
    X[5] = 0.0
    with pytest.raises(InfeasibleError, match="sample 5 is the zero vector"):
        hard_margin_svm(X * scale, y)


def test_tiny_samples_are_not_called_zero(base):
    X, y, _ = base
    res = hard_margin_svm(X * 1e-200, y)  # was: "sample 0 is the zero vector"
    assert res.status == "OPTIMAL"


@pytest.mark.parametrize("labels", ["times_ten", "strings"])
def test_sortable_labels_give_the_same_svm(base, labels):
    X, y, ref = base
    yy = y * 10 if labels == "times_ten" else np.array(["cat", "dog", "eel"])[y]
    res = hard_margin_svm(X, yy)
    assert list(res.classes) == (sorted(set((y * 10).tolist())) if labels == "times_ten" else ["cat", "dog", "eel"])
    assert _rel(res.W, ref.W) <= 1e-12
