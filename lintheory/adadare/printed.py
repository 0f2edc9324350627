"""AdaDARE-γ formulas exactly as printed (seed ``000_5a76694d997bb78d.txt``, supplementary A.1–A.2).

Nothing here is corrected; the claims compare these against :mod:`lintheory.adadare.closed_form`
and the independent routes in :mod:`lintheory.adadare.solvers`.  Symbols follow the paper:
``h`` is :math:`H_{ii}`, ``d`` is :math:`\\delta_i`, ``alpha`` is :math:`\\gamma-1`.
Inputs are validated only for shape; the point of this module is to reproduce the printed
algebra, including its failure modes (``p_i = 1``, NaN).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "a6_line1",
    "a6_line2",
    "a9_line2",
    "a9_final",
    "a12_literal_p",
    "a13_p",
    "a15_literal_probs",
    "a16_lambda",
    "a17_drop_probabilities",
    "a18_drop_probabilities",
    "a20_expected_l1",
    "a19_bound",
]


def a6_line1(h, d, probs, gamma) -> float:
    """A.6, first line: :math:`\\sum_i H_{ii}[(1-p_i)\\delta_i^2(\\frac{\\gamma-(1-p_i)}{1-p_i})^2+p_i\\delta_i^2]`.

    Examples
    --------
    >>> a6_line1([1.0], [1.0], [0.5], 1.0)
    1.0
    """
    h, d, q = (np.asarray(a, dtype=np.float64) for a in (h, d, probs))
    return float(np.sum(h * ((1 - q) * d ** 2 * ((gamma - (1 - q)) / (1 - q)) ** 2 + q * d ** 2)))


def a6_line2(h, d, probs, gamma) -> float:
    """A.6, second line: :math:`\\sum_i H_{ii}\\delta_i^2(\\frac{\\alpha^2+2\\alpha p_i+p_i^2}{1-p_i}+p_i)`, :math:`\\alpha=\\gamma-1`.

    Examples
    --------
    >>> a6_line2([1.0], [1.0], [0.5], 1.0)
    1.0
    """
    h, d, q = (np.asarray(a, dtype=np.float64) for a in (h, d, probs))
    a = gamma - 1.0
    return float(np.sum(h * d ** 2 * ((a * a + 2 * a * q + q * q) / (1 - q) + q)))


def a9_line2(p, alpha):
    """A.9, second line: :math:`[2(\\alpha+p)(1-p)+(\\alpha+p)^2]/(1-p)^2` (drops the derivative of ``+p``).

    Examples
    --------
    >>> float(a9_line2(0.0, 0.0))
    0.0
    """
    p = np.asarray(p, dtype=np.float64)
    return (2 * (alpha + p) * (1 - p) + (alpha + p) ** 2) / (1 - p) ** 2


def a9_final(p, gamma):
    """A.9, last line: :math:`\\phi'(p)=\\gamma^2/(1-p)^2`.

    Examples
    --------
    >>> float(a9_final(0.5, 1.0))
    4.0
    """
    p = np.asarray(p, dtype=np.float64)
    return gamma ** 2 / (1 - p) ** 2


def a12_literal_p(c, lam_over_n, gamma=1.0):
    """A.12 solved literally, :math:`c\\gamma^2/(1-p^2)=\\lambda/n \\Rightarrow p=\\sqrt{1-c\\gamma^2 n/\\lambda}`.

    ``c`` is :math:`H_{ii}\\delta_i^2`.  (The typo: the intended denominator is :math:`(1-p)^2`.)

    Examples
    --------
    >>> round(float(a12_literal_p(0.3, 2.0)), 4)
    0.922
    """
    return np.sqrt(1 - c * gamma ** 2 / lam_over_n)


def a13_p(c, lam_over_n, gamma=1.0):
    """A.13: :math:`p_i=1-\\sqrt{nH_{ii}\\delta_i^2\\gamma^2/\\lambda}` (``c`` is :math:`H_{ii}\\delta_i^2`).

    Examples
    --------
    >>> round(float(a13_p(0.3, 2.0)), 4)
    0.6127
    """
    return 1 - np.sqrt(c * gamma ** 2 / lam_over_n)


def a15_literal_probs(h, d, p, gamma=1.0) -> np.ndarray:
    """A.15 solved as written, :math:`\\sum_i [1-\\sqrt{nH_{ii}\\delta_i^2\\gamma^2/\\lambda}] = n(1-p)`.

    The left side is :math:`\\sum_i p_i` (by A.13), so solving it gives
    :math:`p_i = 1 - np\\,s_i/\\sum_j s_j`, whose mean is :math:`1-p`, not :math:`p`
    (the sum index ``i = 0`` is read as ``i = 1``).

    Examples
    --------
    >>> a15_literal_probs([1.0, 1.0], [1.0, 1.0], 0.25).tolist()
    [0.75, 0.75]
    """
    h, d = np.asarray(h, dtype=np.float64), np.asarray(d, dtype=np.float64)
    s = np.sqrt(h * d ** 2)
    n = s.size
    # n - sqrt(n gamma^2 / lam) * S = n (1 - p)  =>  sqrt(n gamma^2 / lam) = n p / S
    root = n * p / s.sum()
    return 1 - root * s


def a16_lambda(h, d, p, gamma=1.0) -> float:
    """A.16: :math:`\\lambda=n\\gamma^2(\\sum_i\\sqrt{H_{ii}\\delta_i^2}/(n(1-p)))^2`.

    Examples
    --------
    >>> a16_lambda([1.0, 1.0], [1.0, 1.0], 0.5)
    8.0
    """
    h, d = np.asarray(h, dtype=np.float64), np.asarray(d, dtype=np.float64)
    n = h.size
    return float(n * gamma ** 2 * (np.sum(np.sqrt(h * d ** 2)) / (n * (1 - p))) ** 2)


def a17_drop_probabilities(h, d, p) -> np.ndarray:
    """A.17 (before clipping): :math:`p_i=1-n(1-p)\\sqrt{H_{ii}\\delta_i^2}/\\sum_j\\sqrt{H_{jj}\\delta_j^2}`.

    Examples
    --------
    >>> a17_drop_probabilities([1.0, 1.0], [1.0, 3.0], 0.0).tolist()
    [0.5, -0.5]
    """
    h, d = np.asarray(h, dtype=np.float64), np.asarray(d, dtype=np.float64)
    s = np.sqrt(h * d ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - s.size * (1 - p) * s / s.sum()


def a18_drop_probabilities(h, d, p) -> np.ndarray:
    """A.3 = A.18 as printed: :math:`p_i^*=\\max(0, 1-n(1-p)\\sqrt{H_{ii}\\delta_i^2}/\\sum_j\\sqrt{H_{jj}\\delta_j^2})`.

    Examples
    --------
    >>> a18_drop_probabilities([1.0, 1.0], [1.0, 3.0], 0.0).tolist()
    [0.5, 0.0]
    """
    return np.maximum(0.0, a17_drop_probabilities(h, d, p))


def a20_expected_l1(d, probs, gamma) -> float:
    """A.20's chain as printed: :math:`\\sum_i|p_i\\cdot0+(1-p_i)\\frac{\\gamma}{1-p_i}\\delta_i|=\\sum_i|\\gamma\\delta_i|`.

    It takes :math:`|\\mathbb E X_i|` (the absolute value of the mean), which equals the needed
    :math:`\\mathbb E|X_i|` only because :math:`X_i` cannot change sign.

    Examples
    --------
    >>> a20_expected_l1([1.0, -2.0], [0.5, 0.1], 1.0)
    3.0
    """
    d, q = np.asarray(d, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    return float(np.sum(np.abs(q * 0.0 + (1 - q) * gamma / (1 - q) * d)))


def a19_bound(d, eta) -> float:
    """A.19 = A.21: :math:`\\gamma\\le\\eta/\\sum_i|\\delta_i|`.

    Examples
    --------
    >>> a19_bound([1.0, -3.0], 2.0)
    0.5
    """
    return float(eta / np.sum(np.abs(np.asarray(d, dtype=np.float64))))
