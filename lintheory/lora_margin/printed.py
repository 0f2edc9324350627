r"""The formulas of seed ``002_caa97dd52c787aec.txt`` exactly as the paper prints them.

Kept so that the claims can show where the printed statements fail; use
:mod:`lintheory.lora_margin.closed_form` for the corrected results.  Conventions as in
the paper (mean CE in Appendix E onward).  Each function names its line in the file.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from ..errors import InputError, SolverError
from ..geometry import simplex_etf

__all__ = [
    "zero_threshold",
    "lambda_crit_upper_bound",
    "intermediate_ab",
    "intermediate_template",
    "eq8_template",
    "limit_direction",
    "rho_crit",
    "eq28",
    "eq28_root",
    "eq13_optimal_union_margin",
    "thm3_2_ft_margin",
    "nuclear_coefficient",
    "merge_alpha",
]


def zero_threshold(K: int, Kb: int, n: int) -> float:
    r"""Theorem 3.1(i) / 3.2(i) (L256, L324): :math:`B^*A^* = 0` iff :math:`\lambda \ge 1/(K\sqrt n)`, read literally.

    The conversion drops the bar over K elsewhere in the same theorem; read as
    :math:`1/(\bar K\sqrt n)` (mean CE) the statement is true, so the claim
    ``lora_margin.thm3_1.zero_threshold.printed`` checks both readings and refutes neither alone.

    Examples
    --------
    >>> round(zero_threshold(6, 3, 2), 6)
    0.117851
    """
    return 1.0 / (K * math.sqrt(n))


def lambda_crit_upper_bound(K: int, Kb: int, n: int) -> float:
    r"""Theorem 3.1 (L237): :math:`\lambda_{crit} \in (0, 1/(K\sqrt n))`.

    Examples
    --------
    >>> lambda_crit_upper_bound(100, 2, 1)    # the true lambda_crit is 0.4925 here
    0.01
    """
    return 1.0 / (K * math.sqrt(n))


#: the readings of Theorem 3.1(ii)'s a_λ, b_λ (the bar over K is dropped in places by the conversion)
AB_READINGS = ("main text L244", "Theorem E.1 L1031", "bars restored")


def intermediate_ab(K: int, Kb: int, n: int, theta: float, reading: str = "bars restored") -> tuple[float, float]:
    r"""Theorem 3.1(ii) / E.1(ii): the printed :math:`a_\lambda, b_\lambda` of the intermediate regime (c = 0).

    ``reading`` selects the text: ``"main text L244"``
    (:math:`a=\Theta/(\sqrt K\,n)`, :math:`b=\Theta/(K\sqrt K\,n)`), ``"Theorem E.1 L1031"``
    (:math:`a=\Theta/\sqrt{Kn}`, :math:`b=\Theta/(\bar K\sqrt{Kn})`) or ``"bars restored"``
    (:math:`a=\Theta/\sqrt{\bar Kn}`, :math:`b=\Theta/(\bar K\sqrt{\bar Kn})`).  Every reading
    has :math:`b/a\in\{1/K, 1/\bar K\}`; the ETF of (8) needs :math:`1/(\bar K-1)`.

    Examples
    --------
    >>> a, b = intermediate_ab(6, 3, 2, 1.0)
    >>> round(b / a, 6)       # the ETF of (8) needs b/a = 1/(Kb-1) = 0.5
    0.333333
    """
    if reading == "main text L244":
        return theta / (math.sqrt(K) * n), theta / (K * math.sqrt(K) * n)
    if reading == "Theorem E.1 L1031":
        return theta / math.sqrt(K * n), theta / (Kb * math.sqrt(K * n))
    if reading == "bars restored":
        return theta / math.sqrt(Kb * n), theta / (Kb * math.sqrt(Kb * n))
    raise InputError(f"reading must be one of {AB_READINGS}, got {reading!r}")


#: the readings of how a, b fill the seen block: (7) (L238; a on the diagonal, -b off it, as Θ of L1614
#: counts them) or Appendix C's V = aI - b11ᵀ (L983, paper line 849; a - b on the diagonal)
TEMPLATE_FORMS = ("eq7", "aI-b11T")


def intermediate_template(K: int, Kb: int, n: int, theta: float, reading: str = "bars restored",
                          form: str = "eq7") -> np.ndarray:
    r"""Equation (7) filled with the printed :math:`a_\lambda, b_\lambda` of regime (ii): the logit template (K × K̄).

    ``form="eq7"``: seen block :math:`(a+b)I - b\mathbf 1\mathbf 1^\top` (eq. (7), L238; the
    paper's own count :math:`\Theta^2 = n\bar Ka^2 + n\bar K(\bar K-1)b^2 + n\bar K(K-\bar K)c^2`
    of L1614 reads it so).  ``form="aI-b11T"``: seen block :math:`aI - b\mathbf 1\mathbf 1^\top`
    (Appendix C, L983 = paper line 849).  Unseen rows :math:`-c = 0`.

    Examples
    --------
    >>> float(intermediate_template(4, 2, 1, 1.0).sum(axis=0)[0]) > 0    # columns do not sum to 0
    True
    >>> round(float(np.linalg.norm(intermediate_template(4, 2, 1, 1.0, form="aI-b11T"))), 6)  # not Theta = 1
    0.707107
    """
    a, b = intermediate_ab(K, Kb, n, theta, reading)
    V = np.zeros((K, Kb))
    if form == "eq7":
        V[:Kb] = (a + b) * np.eye(Kb) - b
    elif form == "aI-b11T":
        V[:Kb] = a * np.eye(Kb) - b
    else:
        raise InputError(f"form must be one of {TEMPLATE_FORMS}, got {form!r}")
    return V


def eq8_template(K: int, Kb: int, n: int, theta: float, reading: str = "bar") -> np.ndarray:
    r"""Equation (8): :math:`\frac{\Theta_\lambda}{\sqrt{\bar Kn}}\begin{pmatrix}M_{\bar K}\\0\end{pmatrix}` (K × K̄ logit template).

    ``reading="bar"``: the prefactor :math:`\Theta/\sqrt{\bar Kn}` (E.1, eq. (22), L1034);
    ``reading="literal"``: the main text's :math:`\Theta/(\sqrt K\,n)` (L261).

    Examples
    --------
    >>> import numpy as np
    >>> V = eq8_template(5, 3, 2, 2.0)
    >>> round(float(np.linalg.norm(np.repeat(V, 2, axis=1))), 12)
    2.0
    """
    V = np.zeros((K, Kb))
    pref = theta / math.sqrt(Kb * n) if reading == "bar" else theta / (math.sqrt(K) * n)
    V[:Kb] = pref * simplex_etf(Kb)
    return V


def limit_direction(K: int, Kb: int, n: int, reading: str = "literal") -> np.ndarray:
    r"""Equation (9): :math:`\lim B^*A^*/\|B^*A^*\|_F = \sqrt{1/(nK)}\,(M_K^{(\bar K)}\otimes\mathbf 1_n^\top)X_{ft}^\top`.

    Returned as the logit template (K × K̄); its Frobenius norm over the K̄n samples is
    :math:`\sqrt{\bar K/K}`, not 1.  ``reading="bar"`` reads the normaliser as
    :math:`\sqrt{1/(n\bar K)}` (a bar over K lost in the conversion), which has norm 1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(np.linalg.norm(np.repeat(limit_direction(6, 3, 2), 2, axis=1)) ** 2), 12)
    0.5
    """
    if reading not in ("literal", "bar"):
        raise InputError(f"reading must be 'literal' (sqrt(1/(nK))) or 'bar' (sqrt(1/(n Kb))), got {reading!r}")
    return math.sqrt(1.0 / (n * (K if reading == "literal" else Kb))) * simplex_etf(K)[:, :Kb]


#: readings of the square root's scope in the conversion (L244 vs L1031, L1146 vs L1265 disagree)
SCOPES = ("literal", "sqrt n only")


def rho_crit(K: int, Kb: int, n: int, scope: str = "literal") -> float:
    r"""Lemma E.4 (L1135): :math:`\rho_{crit} = \sqrt{n\bar K(\bar K-1)}\log\big(\sqrt{K/(K-\bar K)}+1\big)`.

    ``scope="literal"`` reads the square root over :math:`n\bar K(\bar K-1)` as converted;
    ``scope="sqrt n only"`` reads it over n alone, :math:`\sqrt n\,\bar K(\bar K-1)\log(1+\sigma)`
    (the conversion demonstrably moves square-root scope in this paper: L244 vs L1031, L1146 vs L1265).

    Examples
    --------
    >>> round(rho_crit(6, 3, 2), 4)
    3.0532
    >>> round(rho_crit(6, 3, 2, scope="sqrt n only"), 4)
    7.4787
    """
    if Kb >= K:
        raise InputError("rho_crit needs Kb < K")
    if scope == "literal":
        return math.sqrt(n * Kb * (Kb - 1)) * math.log(math.sqrt(K / (K - Kb)) + 1)
    if scope == "sqrt n only":
        return math.sqrt(n) * Kb * (Kb - 1) * math.log(math.sqrt(K / (K - Kb)) + 1)
    raise InputError(f"scope must be one of {SCOPES}, got {scope!r}")


def eq28(rho, K: int, Kb: int, n: int, lam: float, line: int = 2, exp=np.exp, sqrt=math.sqrt,
         scope: str = "literal"):
    r"""Equation (28) (L1272 / L1274) as printed; its root in ρ is the printed :math:`\rho_\lambda`.

    ``line=2`` (L1274, the equation numbered (28)):

    .. math::

        \Big(\lambda-\frac1{\sqrt{n\bar K}}\Big) + \frac1{\sqrt{n\bar K}}\,
        \frac{e^{\rho/\sqrt{n\bar K}}-1}{(K-\bar K)e^{\rho/(\sqrt{n\bar K}(\bar K-1))}+(\bar K-1)
        + e^{\rho/(\sqrt{n\bar K}(\bar K-1))}}

    ``line=1`` (L1272, before the "multiply through"):
    :math:`(\lambda-\frac1{\sqrt{n\bar K}})+\frac1{\sqrt{n\bar K}}\frac{e^{\rho/\sqrt{n\bar K}}-e^{-\rho/(\sqrt{n\bar K}(\bar K-1))}}
    {K-\bar K+(\bar K-1)e^{-\rho/(\sqrt{n\bar K}(\bar K-1))}+e^{\rho/\sqrt{n\bar K}}}`.

    ``scope="literal"`` reads every :math:`\sqrt{n\bar K}` as converted; ``scope="sqrt n only"``
    reads it as :math:`\sqrt n\,\bar K` (Lemma E.4's objective, L1146, has :math:`\sqrt n\bar K`;
    the conversion moves square-root scope elsewhere in this paper).  Line 1 under that reading
    is the derivative of Lemma E.4's objective; line 2's multiply-through is wrong under both.

    ``exp``/``sqrt`` may be interval functions (``mpmath.iv``) for a certificate.
    """
    if scope == "literal":
        r = sqrt(n * Kb)
    elif scope == "sqrt n only":
        r = sqrt(n) * Kb
    else:
        raise InputError(f"scope must be one of {SCOPES}, got {scope!r}")
    if line == 2:
        e1 = exp(rho / r) if not isinstance(rho, (float, int, np.ndarray)) else exp(np.asarray(rho, float) / r)
        e2 = exp(rho / (r * (Kb - 1))) if not isinstance(rho, (float, int, np.ndarray)) else \
            exp(np.asarray(rho, float) / (r * (Kb - 1)))
        return (lam - 1 / r) + (1 / r) * (e1 - 1) / ((K - Kb) * e2 + (Kb - 1) + e2)
    if line == 1:
        x = rho if not isinstance(rho, (float, int, np.ndarray)) else np.asarray(rho, float)
        e1, em = exp(x / r), exp(-x / (r * (Kb - 1)))
        return (lam - 1 / r) + (1 / r) * (e1 - em) / ((K - Kb) + (Kb - 1) * em + e1)
    raise InputError(f"line must be 1 or 2, got {line!r}")


def eq28_root(K: int, Kb: int, n: int, lam: float, rho_max: float = 1e3, line: int = 2,
              scope: str = "literal") -> float:
    """The root ρ > 0 of the printed equation (28), by Brent's method.

    Raises
    ------
    SolverError
        No sign change on ``(0, rho_max]`` (the printed equation then has no root).

    Examples
    --------
    >>> round(eq28_root(6, 3, 2, 0.15), 3)     # the true rho_lambda is 4.968
    5.746
    """
    f0 = float(eq28(1e-12, K, Kb, n, lam, line, scope=scope))
    f1 = float(eq28(rho_max, K, Kb, n, lam, line, scope=scope))
    if f0 * f1 > 0:
        raise SolverError(f"printed (28) has no root in (0, {rho_max}] at lam = {lam}", status="NO_ROOT")
    return float(brentq(lambda r: float(eq28(r, K, Kb, n, lam, line, scope=scope)), 1e-12, rho_max,
                        xtol=1e-14, rtol=1e-14))


def eq13_optimal_union_margin(gamma_pre: float, gamma_ft_star: float) -> float:
    r"""Equation (13) (L327): :math:`\max_\lambda\gamma_\cup = \big(1/\gamma^{*2}_{ft} + 1/\gamma^2_{pre}\big)^{-1/2}`.

    Examples
    --------
    >>> round(eq13_optimal_union_margin(2.0, 0.2), 6)
    0.199007
    """
    return (gamma_ft_star ** -2 + gamma_pre ** -2) ** -0.5


def thm3_2_ft_margin(K: int, Kb: int, n: int, kind: str = "Kbar") -> float:
    r"""Theorem 3.2(ii) / G.1: :math:`\gamma_{ft,\lambda} = \gamma^*_{ft}` below the zero threshold.

    ``kind`` selects the paper's reading of :math:`\gamma^*_{ft}`: ``"Kbar"`` (Theorem D.1,
    :math:`1/\sqrt{n(\bar K-1)}`), ``"padded"`` (Appendix G, L1589,
    :math:`\sqrt{\bar K-1}/(\bar K\sqrt n)` for K̄ < K; for K̄ = K nothing is padded and it is
    :math:`1/\sqrt{n(K-1)}`), ``"K"`` (all K classes compete,
    :math:`\sqrt{K/(n\bar K(K-1))}`).

    Examples
    --------
    >>> [round(thm3_2_ft_margin(10, 5, 4, k), 4) for k in ("Kbar", "padded", "K")]
    [0.25, 0.2, 0.2357]
    """
    if kind == "Kbar":
        return 1.0 / math.sqrt(n * (Kb - 1))
    if kind == "padded":
        if Kb == K:   # nothing is padded: the K-class SVM itself
            return 1.0 / math.sqrt(n * (K - 1))
        return math.sqrt(Kb - 1) / (Kb * math.sqrt(n))
    if kind == "K":
        return math.sqrt(K / (n * Kb * (K - 1)))
    raise InputError(f"kind must be 'Kbar', 'padded' or 'K', got {kind!r}")


def nuclear_coefficient(lam: float) -> float:
    r"""Equation (16) (L365): LoRA is equivalent to :math:`\min\ \mathrm{CE} + \frac\lambda2\|W-W_{pre}\|_*`; returns λ/2.

    Examples
    --------
    >>> nuclear_coefficient(0.2)      # Lemma C.2 gives lam, i.e. 0.2
    0.1
    """
    return lam / 2.0


def merge_alpha(rho_pre: float, gamma_pre: float, gammas, thetas) -> np.ndarray:
    r"""Theorem 3.3 (L409): :math:`\alpha_i = \rho_{pre}\gamma_{pre}/(\gamma_i\Theta_{\lambda,i})`.

    Examples
    --------
    >>> merge_alpha(2.0, 0.5, [0.25], [2.0]).tolist()     # = C_pre / C_i = 1 / 0.5
    [2.0]
    """
    return rho_pre * gamma_pre / (np.asarray(gammas, float) * np.asarray(thetas, float))
