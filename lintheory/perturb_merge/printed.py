"""P&M's formulas exactly as printed (seed ``001_9d292d09fb11dca7.txt``), with no validation and no clipping.

These exist to reproduce the paper and to let the claims show where the printed statements need a correction;
use :mod:`lintheory.perturb_merge.closed_form` for real work.
"""

from __future__ import annotations

import numpy as np

__all__ = ["alpha_eq8", "bound_eq12", "perturbation_probs_eq15", "FIRST_TERM_DOMINATES_RATIO"]

#: "The first term dominates" (Appendix A.2) in the paper's own words: "the second term is always less than or
#: equal to the first" (L363, L383), i.e. second / first <= 1 (Eq. 31).  An earlier reading of ours used 1/2, a
#: threshold the paper never states.
FIRST_TERM_DOMINATES_RATIO = 1.0


def alpha_eq8(theta_prev, optima, curvatures, delta) -> float:
    """Eq. 8 (L96) as printed: dense ``(d, d)`` curvatures, no clipping, no check of the denominator.

    .. math:: \\alpha_t^* = -\\frac{\\sum_i(\\hat\\theta_{t-1}-\\theta_i^*)^\\top H_i\\Delta\\theta_t^*}
              {\\sum_i\\Delta\\theta_t^{*\\top}H_i\\Delta\\theta_t^*}

    Parameters
    ----------
    theta_prev : array of shape (d,)
    optima : list of t arrays of shape (d,)
    curvatures : list of t arrays of shape (d, d)
    delta : array of shape (d,)

    Returns
    -------
    float (may be outside [0, 1], ``inf`` or ``nan`` when the denominator vanishes)

    Examples
    --------
    >>> import numpy as np
    >>> alpha_eq8(np.zeros(1), [np.ones(1), np.ones(1)], [np.eye(1), np.eye(1)], np.ones(1))
    1.0
    """
    tp = np.asarray(theta_prev, float)
    v = np.asarray(delta, float)
    num = sum(float((tp - np.asarray(th, float)) @ np.asarray(H, float) @ v) for th, H in zip(optima, curvatures))
    den = sum(float(v @ np.asarray(H, float) @ v) for H in curvatures)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(-num) / np.float64(den))


def bound_eq12(theta_prev, optima, curvatures) -> float:
    """Eq. 12 as printed: :math:`\\tfrac12\\sum_i(\\hat\\theta_{t-1}-\\theta_i^*)^\\top H_i(\\hat\\theta_{t-1}-\\theta_i^*)`.

    Examples
    --------
    >>> import numpy as np
    >>> bound_eq12(np.zeros(1), [np.ones(1)], [2 * np.eye(1)])
    1.0
    """
    tp = np.asarray(theta_prev, float)
    return 0.5 * sum(float((tp - np.asarray(th, float)) @ np.asarray(H, float) @ (tp - np.asarray(th, float)))
                     for th, H in zip(optima, curvatures))


def perturbation_probs_eq15(lam: float, eps: float) -> tuple[float, float, float]:
    """Eq. 15 (L132) as printed: :math:`(p_0, p_+, p_-) = (1-2\\lambda/\\epsilon^2, \\lambda/\\epsilon^2, \\lambda/\\epsilon^2)`.

    No check: for :math:`\\lambda > \\epsilon^2/2` the printed :math:`p_0` is negative.

    Examples
    --------
    >>> perturbation_probs_eq15(0.2, 0.5)
    (-0.6000000000000001, 0.8, 0.8)
    """
    return 1.0 - 2.0 * lam / eps ** 2, lam / eps ** 2, lam / eps ** 2
