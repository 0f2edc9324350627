"""alpha* (Eq. 8) at extreme scales, and the messages of its assumption errors (issue 13 part 5)."""

import numpy as np
import pytest

from lintheory.errors import AssumptionError
from lintheory.perturb_merge import optimal_alpha, pm_sequence

H1 = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 1.5]])
H2 = np.diag([1.0, 3.0, 2.0])
o1, o2 = np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.2])


def _alpha(cx=1.0, ch=1.0, hvp=False):
    curv = [H1 * ch, H2 * ch]
    if hvp:
        curv = [lambda v, H=H: H @ v for H in curv]
    return optimal_alpha(o1 * cx, [o1 * cx, o2 * cx], curv, (o2 - o1) * cx, constrain=False)


@pytest.mark.parametrize("cx", [1e-200, 1e-150, 1.0, 1e150, 1e200])
@pytest.mark.parametrize("ch", [1e-150, 1.0, 1e150])
def test_alpha_is_invariant_under_scaling_positions_and_curvatures(cx, ch):
    ref = _alpha()
    r = _alpha(cx, ch)
    assert r.unconstrained == pytest.approx(ref.unconstrained, rel=1e-14)
    # numerator and denominator come back in the caller's units (or overflow to inf / 0 honestly)
    true_den = ref.denominator * ch * cx * cx
    if 1e-300 < true_den < 1e300:
        assert r.denominator == pytest.approx(true_den, rel=1e-14)


def test_ordinary_inputs_are_not_rescaled():
    a, b = _alpha(), _alpha(1.0, 1.0, hvp=True)
    assert a.unconstrained == b.unconstrained          # bit for bit: the same arithmetic
    assert pm_sequence([H1, H2], [o1, o2], np.zeros(3))["alphas"][0] == 1.0


def test_zero_task_vector_reads_right():
    with pytest.raises(AssumptionError, match=r"sum_i v\^T H_i v: measured 0 <= bound 0"):
        optimal_alpha(o1, [o1], [H1], np.zeros(3))
