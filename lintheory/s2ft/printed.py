r"""The S²FT theory's bounds exactly as printed (seed ``003_6b1767d2fe2301ea.txt``, §4 and App. F–G).

Each function returns the printed right-hand side (or the printed chain of quantities) so that a
claim can hold it against the exact population risks of :mod:`~lintheory.s2ft.closed_form`.  Where the
paper hides constants (≲, Ω, log²) the function returns the *rate* only and says so: such a value can
be compared only up to an unknown constant (by slopes and ratios), never as an inequality.

Symbols: :math:`D = B^{(i)} - W^{pre}`, :math:`\Sigma_f = D\Sigma_xD^\top`,
:math:`\mathcal E(f^{pre}) = \operatorname{tr}\Sigma_f`, :math:`P' = KK^\dagger`,
:math:`P''_S = (KU_S)(KU_S)^\dagger`, :math:`M = P'C A^\dagger`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from . import closed_form as cf

__all__ = ["thm4_2_s2ft_bound", "thm4_2_lora_lower_bound", "thm4_2_conditions", "lemma_f14_chain",
           "thm_f10_bias_bound", "thm_f13_bias_bound", "thm_f7_variance_rates", "cor_f18_bound",
           "lemma_g1_bound", "thm_f15_bound", "thm_f11_lower_bound", "remark_f16_bound",
           "thm_f11_upper_terms"]


def thm4_2_s2ft_bound(layers, ell, channels, B_in, B_out, sigma_x) -> float:
    r"""Theorem 4.2 / F.8, S²FT half: :math:`\mathcal E^{(o)}(\text{S²FT}_\infty) \le (1+3\varepsilon^2)\mathcal E^{(o)}(f^{pre})`.

    Evaluated at the smallest admissible :math:`\varepsilon^2` of Assumption 4.1
    (:func:`~lintheory.s2ft.closed_form.epsilon2_min`); no covariate shift.

    Examples
    --------
    >>> import numpy as np
    >>> thm4_2_s2ft_bound([np.eye(2)], 1, [0], np.diag([2., 2.]), np.diag([3., 2.]), np.eye(2))
    8.0
    """
    e2 = cf.epsilon2_min(layers, ell, channels, B_in, B_out, sigma_x)
    parts = cf.network_parts(layers, ell)
    return float((1 + 3 * e2) * cf.excess_risk(parts.W_pre, B_out, sigma_x))


def thm4_2_lora_lower_bound(B_in, B_out, sigma_x) -> float:
    r"""Theorem 4.2 / F.8, LoRA half: :math:`\mathcal E^{(o)}(\text{LoRA}_\infty) \ge \|(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|_F^2`.

    Printed under ``r <= rank Σ_f`` (and s ≤ rank Σ_f, factored B^(i)); see
    :func:`thm4_2_conditions`.  The claims show it fails there and holds with equality when ``r >= rank Σ_f``.
    """
    return cf.label_shift(B_in, B_out, sigma_x)


def thm4_2_conditions(layers, ell, channels, r, B_in, sigma_x) -> dict:
    r"""The printed hypotheses of Theorem F.8: factored :math:`B^{(i)}`, ``s <= rank Σ_f``, ``r <= rank Σ_f``.

    Factored means :math:`B^{(i)} = K\tilde BW_{low}` for some :math:`\tilde B`, i.e.
    :math:`(I-P')B^{(i)} = 0` and :math:`B^{(i)}(I - W_{low}^\dagger W_{low}) = 0`.
    """
    parts = cf.network_parts(layers, ell)
    Bi = np.asarray(B_in, float)
    P1 = cf.projector(parts.K, "K")
    Q = cf.projector(parts.W_low.T, "W_low^T")
    resid = float(np.linalg.norm(Bi - P1 @ Bi @ Q)) / max(float(np.linalg.norm(Bi)), 1e-300)
    rk = cf.rank_sigma_f(layers, ell, B_in, sigma_x)
    return {"factored": resid < 1e-9, "factored_residual": resid, "rank_sigma_f": rk,
            "s_le_rank": len(channels) <= rk, "r_le_rank": int(r) <= rk}


def lemma_f14_chain(layers, ell, channels, r, B_in, sigma_x) -> dict:
    r"""Lemma F.14: :math:`\mathcal E(f^{full}_\ell) \le T^2_{LoRA} \le T^2_{S^2FT} \le \mathcal E(f^{full}_\ell) + \delta^2\kappa_*^2(K)\mathcal E(f^{pre})`.

    :math:`T^2_{bias} = \mathcal E^{(i)}(\cdot_\infty)` (identities (13), (23)), :math:`\delta^2 = \delta^2(S)`
    of Assumption F.4.  Returns the four numbers ``full``, ``lora``, ``s2ft``, ``upper``.
    """
    parts = cf.network_parts(layers, ell)
    full = cf.excess_risk(cf.full_population(layers, ell, B_in, sigma_x), B_in, sigma_x)
    lora = cf.excess_risk(cf.lora_population(layers, ell, r, B_in, sigma_x), B_in, sigma_x)
    s2 = cf.excess_risk(cf.s2ft_population(layers, ell, channels, B_in, sigma_x), B_in, sigma_x)
    sk = cf._svd_kept(parts.K, "K")[1]
    kappa = float(sk[0] / sk[-1])
    d2 = cf.channel_sparsity_delta2(layers, ell, channels, B_in, sigma_x)
    e_pre = cf.excess_risk(parts.W_pre, B_in, sigma_x)
    return {"full": full, "lora": lora, "s2ft": s2, "upper": full + d2 * kappa ** 2 * e_pre, "delta2": d2}


def thm_f10_bias_bound(layers, ell, r, B_in, sigma_x) -> float:
    r"""(11): :math:`T^2_{bias} \le \frac{0\vee(\operatorname{rank}\Sigma_f - r)}{\operatorname{rank}\Sigma_f}\kappa_*^2(\Sigma_f)\mathcal E(f^{pre}) + \mathcal E(f^{full}_\ell)`."""
    parts = cf.network_parts(layers, ell)
    S = cf.check_covariance(sigma_x, "sigma_x", parts.p)
    sf = cf._svd_kept((np.asarray(B_in, float) - parts.W_pre) @ cf.psd_sqrt(S), "D Sigma^{1/2}")[1]
    full = cf.excess_risk(cf.full_population(layers, ell, B_in, S), B_in, S)
    if sf.size == 0:
        return full
    rk = sf.size
    return float(max(0, rk - r) / rk * (sf[0] / sf[-1]) ** 4 * np.sum(sf ** 2) + full)


def thm_f13_bias_bound(layers, ell, channels, B_in, sigma_x) -> float:
    r"""(21): :math:`T^2_{bias} \le \|(P'-P''_S)\Phi_*(D\Sigma^{1/2})\|_{op}^2\mathcal E(f^{pre}) + \mathcal E(f^{full}_\ell)`."""
    parts = cf.network_parts(layers, ell)
    ch = cf._check_channels(parts, channels)
    S = cf.check_covariance(sigma_x, "sigma_x", parts.p)
    Y = (np.asarray(B_in, float) - parts.W_pre) @ cf.psd_sqrt(S)
    Phi = cf._svd_kept(Y, "D Sigma^{1/2}")[0]
    P1, P2 = cf.projector(parts.K, "K"), cf.projector(parts.K[:, ch], "K U_S")
    op = float(np.linalg.norm((P1 - P2) @ Phi, 2)) if Phi.size else 0.0
    full = cf.excess_risk(cf.full_population(layers, ell, B_in, S), B_in, S)
    return op ** 2 * float(np.sum(Y ** 2)) + full


def thm_f7_variance_rates(layers, ell, channels, r, B_in, sigma_x, sigma_eps, n) -> dict:
    r"""Theorem F.7 variance terms — RATE ONLY (the paper's ≲ hides constants depending on c₁, c₂, C_g, κ's).

    .. math::
        (T^{S^2FT}_{var})^2 \lesssim (\|\Sigma_\epsilon\|_{op}+\|\Sigma_f\|_{op})\frac{s\,d_{\ell-1}\log^2(n+p+q)}{n},\quad
        (T^{LoRA}_{var})^2 \lesssim (\|\Sigma_\epsilon\|_{op}+\|\Sigma_f\|_{op})\frac{r(d_\ell+d_{\ell-1})\log^2(n+p+q)}{n}.

    The returned numbers are the right-hand sides with constant 1; only ratios/slopes are meaningful.
    """
    parts = cf.network_parts(layers, ell)
    if int(n) < 2:
        raise InputError(f"n must be >= 2, got {n}")
    S = cf.check_covariance(sigma_x, "sigma_x", parts.p)
    Se = cf.check_covariance(sigma_eps, "sigma_eps", parts.q)
    D = np.asarray(B_in, float) - parts.W_pre
    scale = float(np.linalg.norm(Se, 2) + np.linalg.norm(D @ S @ D.T, 2))
    lg = np.log(n + parts.p + parts.q) ** 2 / n
    return {"s2ft": scale * len(channels) * parts.d_in * lg,
            "lora": scale * r * (parts.d_ell + parts.d_in) * lg, "rate_only": True}


def cor_f18_bound(layers, ell, B_in, sigma_x, squared: bool = False) -> float:
    r"""Corollary F.18: :math:`\mathcal E(f^{full}_\ell) \le (\|\Psi_*^\top(I-P)\|_{op} + \|(I-P')\Phi_*\|_{op})\mathcal E(f^{pre})` (``squared``: both norms squared)."""
    parts = cf.network_parts(layers, ell)
    S = cf.check_covariance(sigma_x, "sigma_x", parts.p)
    h = cf.psd_sqrt(S)
    Y = (np.asarray(B_in, float) - parts.W_pre) @ h
    Phi, _, Psit = cf._svd_kept(Y, "D Sigma^{1/2}")
    if Phi.size == 0:
        return 0.0
    Sz_p, _ = cf._sz_inverse(parts.W_low @ S @ parts.W_low.T)
    P = h @ parts.W_low.T @ Sz_p @ parts.W_low @ h
    a = float(np.linalg.norm(Psit @ (np.eye(parts.p) - P), 2))
    b = float(np.linalg.norm((np.eye(parts.q) - cf.projector(parts.K, "K")) @ Phi, 2))
    c = a ** 2 + b ** 2 if squared else a + b
    return c * float(np.sum(Y ** 2))


def _svd_s(M, s):
    U, sv, Vt = np.linalg.svd(M, full_matrices=False)
    return (U[:, :s] * sv[:s]) @ Vt[:s], sv


def lemma_g1_bound(A, B, s: int) -> dict:
    r"""Lemma G.1 with the explicit constant of its proof.

    .. math:: \|\mathrm{SVD}_s(B)-\mathrm{SVD}_s(A)\|_F \le m\Big(1+\frac{6\sqrt2\|A\|_{op}^2}{\lambda_s^2-\lambda_{s+1}^2}\Big),
              \quad m = \sqrt s\|B-A\|_{op}\wedge\|B-A\|_F,

    valid when :math:`\|B-A\|_{op}\le\|A\|_{op}` and :math:`\lambda_s(A) > \lambda_{s+1}(A)`.
    Returns ``{"lhs", "rhs", "applies"}``.
    """
    A = np.asarray(A, float)
    B = np.asarray(B, float)
    As, sv = _svd_s(A, s)
    Bs, _ = _svd_s(B, s)
    lam_next = sv[s] if s < sv.size else 0.0
    E = B - A
    m = min(np.sqrt(s) * np.linalg.norm(E, 2), np.linalg.norm(E))
    gap = sv[s - 1] ** 2 - lam_next ** 2
    applies = bool(np.linalg.norm(E, 2) <= sv[0] and gap > 0)
    rhs = m * (1 + 6 * np.sqrt(2) * sv[0] ** 2 / gap) if gap > 0 else float("inf")
    return {"lhs": float(np.linalg.norm(Bs - As)), "rhs": float(rhs), "applies": applies}


def thm_f15_bound(layers, ell, channels, B_in, B_out, sigma_in, sigma_out) -> float:
    r"""Theorem F.15 as printed (constant 3); identical to :func:`~lintheory.s2ft.closed_form.s2ft_ood_bound_covshift`."""
    return cf.s2ft_ood_bound_covshift(layers, ell, channels, B_in, B_out, sigma_in, sigma_out)


def thm_f11_lower_bound(layers, ell, r, B_in, B_out, sigma_in, sigma_out, eta: float, g_power: int = 1) -> float:
    r"""Theorem F.11, lower bound (16), with the power of :math:`\|G\|_{op}` in its last term as a parameter.

    .. math::
        \mathcal E^{(o)}(\text{LoRA}_\infty) \ge (1-\eta)\|(B^{(o)}-B^{(i)})\Sigma_o^{1/2}\|^2
          - 3(\eta^{-1}-1)\Big[\|(I-P')B^{(i)}\Sigma_o^{1/2}\|^2
          + \|(B^{(i)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|^2
          + \rho\,\|G\|_{op}^{g}\Big],

    :math:`\rho = \frac{0\vee(\operatorname{rank}\Sigma_f - r)}{\operatorname{rank}\Sigma_f}\kappa_*^2(\Sigma_f)
    \mathcal E^{(i)}(f^{pre})`, :math:`G = G^{(i,o)}_{\ell-1}`.  The converted text prints ``g = 1``
    (L756-760, also in the proof's last display); the proof's (14) gives ``g = 2``
    (:func:`~lintheory.s2ft.closed_form.lora_ood_bounds_covshift`).  ``0 < eta < 1``.
    """
    if not 0 < eta < 1:
        raise InputError(f"eta must be in (0, 1), got {eta}")
    if g_power not in (1, 2):
        raise InputError(f"g_power must be 1 (as converted) or 2, got {g_power}")
    parts = cf.network_parts(layers, ell)
    Si = cf.check_covariance(sigma_in, "sigma_in", parts.p)
    So = cf.check_covariance(sigma_out, "sigma_out", parts.p)
    Bi, Bo = np.asarray(B_in, float), np.asarray(B_out, float)
    G = cf._G(parts, Si, So)
    Gop = float(np.linalg.norm(G, 2)) if G.size else 0.0
    hi, ho = cf.psd_sqrt(Si), cf.psd_sqrt(So)
    I_P = np.eye(parts.q) - cf.projector(parts.K, "K")
    sf = cf._svd_kept((Bi - parts.W_pre) @ hi, "D Sigma_in^{1/2}", check_cond=False)[1]
    rho = (max(0, sf.size - r) / sf.size * (sf[0] / sf[-1]) ** 4 * float(np.sum(sf ** 2))) if sf.size else 0.0
    fro2 = lambda M: float(np.sum(np.asarray(M) ** 2))  # noqa: E731
    return float((1 - eta) * fro2((Bo - Bi) @ ho)
                 - 3 * (1 / eta - 1) * (fro2(I_P @ Bi @ ho) + fro2((Bi - parts.W_pre) @ (ho - hi @ G))
                                        + rho * Gop ** g_power))


def remark_f16_bound(layers, ell, channels, B_in, B_out, sigma_x) -> float:
    r"""Remark F.16 (no covariate shift) as printed (L914-916).

    .. math:: \mathcal E^{(o)}(\text{S²FT}_\infty) \le \mathcal E^{(o)}(f^{pre})
              + 3\|P''_S(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|^2 + 3\|B^{(i)}\Sigma_x^{1/2}(I - P)\|^2,

    :math:`P = (W_{low}\Sigma_x^{1/2})^\dagger W_{low}\Sigma_x^{1/2}`.
    """
    parts = cf.network_parts(layers, ell)
    S = cf.check_covariance(sigma_x, "sigma_x", parts.p)
    h = cf.psd_sqrt(S)
    Bi, Bo = np.asarray(B_in, float), np.asarray(B_out, float)
    ch = cf._check_channels(parts, channels)
    P2 = cf.projector(parts.K[:, ch], "K U_S")
    Wh = parts.W_low @ h
    P = cf.pinv(Wh, "W_low Sigma^{1/2}") @ Wh
    fro2 = lambda M: float(np.sum(np.asarray(M) ** 2))  # noqa: E731
    return float(cf.excess_risk(parts.W_pre, Bo, S) + 3 * fro2(P2 @ (Bo - Bi) @ h)
                 + 3 * fro2(Bi @ h @ (np.eye(parts.p) - P)))


def thm_f11_upper_terms(layers, ell, r, B_in, B_out, sigma_in, sigma_out) -> dict:
    r"""The four terms of Theorem F.11's upper bound (L752), unsquared: ``x, y, z, w`` with

    .. math:: \mathcal E^{(o)}(\text{LoRA}_\infty) \lesssim x^2 + y^2 + z + w^2 \quad\text{(as converted)},

    :math:`x = \|(I-P')B^{(o)}\Sigma_o^{1/2}\|`, :math:`y = \|(B^{(o)}-B^{(i)})\Sigma_i^{1/2}\|\|G\|_{op}`,
    :math:`z = \|(B^{(o)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|`, :math:`w = \|G\|_{op}\sqrt\rho`.
    The converted text leaves ``z`` unsquared; its proof gives :math:`\sqrt{\mathcal E} \le x+y+z+w`, hence
    :math:`\mathcal E \le 4(x^2+y^2+z^2+w^2)`.
    """
    parts = cf.network_parts(layers, ell)
    Si = cf.check_covariance(sigma_in, "sigma_in", parts.p)
    So = cf.check_covariance(sigma_out, "sigma_out", parts.p)
    Bi, Bo = np.asarray(B_in, float), np.asarray(B_out, float)
    G = cf._G(parts, Si, So)
    Gop = float(np.linalg.norm(G, 2)) if G.size else 0.0
    hi, ho = cf.psd_sqrt(Si), cf.psd_sqrt(So)
    I_P = np.eye(parts.q) - cf.projector(parts.K, "K")
    sf = cf._svd_kept((Bi - parts.W_pre) @ hi, "D Sigma_in^{1/2}", check_cond=False)[1]
    rho = (max(0, sf.size - r) / sf.size * (sf[0] / sf[-1]) ** 4 * float(np.sum(sf ** 2))) if sf.size else 0.0
    fro = lambda M: float(np.linalg.norm(M))  # noqa: E731
    return {"x": fro(I_P @ Bo @ ho), "y": fro((Bo - Bi) @ hi) * Gop, "z": fro((Bo - parts.W_pre) @ (ho - hi @ G)),
            "w": Gop * float(np.sqrt(rho))}
