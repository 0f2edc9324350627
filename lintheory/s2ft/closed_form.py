r"""Minimum-norm fine-tuning estimators of one layer of a deep linear network (corrected; main API).

Setting (seed ``003_6b1767d2fe2301ea.txt``, Section 4 and Appendix F).  A pre-trained deep linear
network :math:`f^{pre}(x) = W_L\cdots W_1 x` is adapted on layer :math:`\ell` only,
:math:`W_\ell \mapsto W_\ell + \Delta`.  With :math:`K = W_L\cdots W_{\ell+1}` (the paper's
:math:`\overline W_{\ell+1}`, ``q × d_ℓ``) and :math:`W_{low} = W_{\ell-1}\cdots W_1` (the paper's
:math:`\underline W_{\ell-1}`, ``d_{ℓ-1} × p``) the adapted end-to-end map is

.. math::  F = W^{pre} + K\,\Delta\,W_{low}, \qquad W^{pre} = K W_\ell W_{low}.

Every estimator is a least-squares problem in :math:`K\Delta\hat A` (key reduction, proof of Lemma
F.9): with :math:`Z = W_{low}X`, :math:`\hat C = \frac1n (Y - W^{pre}X)Z^\top` and
:math:`\hat\Sigma_z = \hat A^2 = \frac1n ZZ^\top`,

* full layer:  :math:`F = W^{pre} + P'\hat C\hat\Sigma_z^\dagger W_{low}`, :math:`P' = KK^\dagger`;
* S²FT (rows ``S`` of :math:`W_\ell`): :math:`F = W^{pre} + P''_S\hat C\hat\Sigma_z^\dagger W_{low}`,
  :math:`P''_S = (KU_S)(KU_S)^\dagger` (Lemma F.12);
* LoRA rank r: :math:`F = W^{pre} + \mathrm{SVD}_r(P'\hat C\hat A^\dagger)\hat A^\dagger W_{low}` (Lemma F.9).

Population (:math:`n=\infty`) versions replace :math:`\hat C, \hat\Sigma_z` by
:math:`C = (B-W^{pre})\Sigma_x W_{low}^\top` and :math:`\Sigma_z = W_{low}\Sigma_xW_{low}^\top`.

Conventions: the paper uses columns (``X`` is ``p × n``); here samples are rows, ``X`` is ``(n, p)``
and ``Y`` is ``(n, q)``.  Layers are ``[W_1, ..., W_L]`` with ``W_j`` of shape ``(d_j, d_{j-1})``,
``ell`` is 1-based, ``channels`` are 0-based row indices of ``W_ell``.

Numerical hygiene: ONE relative threshold :data:`RANK_RTOL` on singular values (eigenvalues for PSD
matrices) decides every rank, pseudo-inverse, projector and PSD root, and a matrix whose kept part has
condition number above :data:`COND_MAX` is rejected with :class:`~lintheory.errors.AssumptionError`:
on such instances the verdict of an exact identity depends on the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_count, as_float_array
from ..errors import AssumptionError, InputError

__all__ = [
    "RANK_RTOL", "COND_MAX", "GAP_RTOL",
    "NetParts", "network_parts", "check_covariance", "psd_sqrt", "projector", "pinv",
    "sample_stats", "population_stats",
    "full_fit", "s2ft_fit", "lora_fit", "full_population", "s2ft_population", "lora_population",
    "full_delta", "s2ft_adapter", "lora_factors",
    "excess_risk", "label_shift", "no_free_lunch_slack",
    "s2ft_ood_identity", "s2ft_ood_bound_sharp", "epsilon2_min", "channel_sparsity_delta2",
    "s2ft_ood_bound_covshift", "lora_ood_bounds_covshift",
    "expected_id_risk_exact", "lora_variance_limit", "rank_sigma_f",
]

#: relative threshold on singular values (eigenvalues of PSD matrices) below which they count as zero
RANK_RTOL = 1e-9
#: largest condition number (over the kept singular values / eigenvalues) of an accepted matrix
COND_MAX = 1e6
#: LoRA needs sigma_r(M) - sigma_{r+1}(M) > GAP_RTOL * sigma_1(M) when r < rank M (else set-valued)
GAP_RTOL = 1e-6
#: relative tolerance for symmetry and negative eigenvalues of a covariance
COV_TOL = 1e-10


# ----------------------------------------------------------------------------- network parts
@dataclass(frozen=True)
class NetParts:
    """The pieces of a deep linear network seen from layer ``ell``.

    Attributes
    ----------
    K : ndarray (q, d_ell)          layers above ``ell`` (paper: overline W_{ell+1}); ``I_q`` if ell = L
    W_ell : ndarray (d_ell, d_{ell-1})
    W_low : ndarray (d_{ell-1}, p)  layers below ``ell`` (paper: underline W_{ell-1}); ``I_p`` if ell = 1
    W_pre : ndarray (q, p)          end-to-end pre-trained map
    """

    K: np.ndarray
    W_ell: np.ndarray
    W_low: np.ndarray
    W_pre: np.ndarray
    ell: int

    @property
    def p(self) -> int:
        return self.W_low.shape[1]

    @property
    def q(self) -> int:
        return self.K.shape[0]

    @property
    def d_ell(self) -> int:
        return self.W_ell.shape[0]

    @property
    def d_in(self) -> int:
        return self.W_ell.shape[1]


def _prod(mats, dim):
    out = np.eye(dim)
    for W in mats:
        out = W @ out
    return out


def network_parts(layers, ell) -> NetParts:
    """Split ``layers = [W_1, ..., W_L]`` at the 1-based layer ``ell``.

    Raises
    ------
    InputError
        Empty list, non-2-D or non-finite layers, consecutive shapes that do not chain
        (``W_{j+1}.shape[1] != W_j.shape[0]``), or ``ell`` outside ``[1, L]``.

    Examples
    --------
    >>> import numpy as np
    >>> parts = network_parts([np.ones((3, 2)), np.ones((4, 3))], 2)
    >>> parts.K.shape, parts.W_low.shape, parts.W_pre.shape
    ((4, 4), (3, 2), (4, 2))
    """
    if not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise InputError("layers must be a non-empty list [W_1, ..., W_L]")
    Ws = [as_float_array(W, f"layers[{j}] (W_{j + 1})", ndim=2, nonempty=True) for j, W in enumerate(layers)]
    for j in range(1, len(Ws)):
        if Ws[j].shape[1] != Ws[j - 1].shape[0]:
            raise InputError(f"layer shapes do not chain: W_{j + 1} has shape {Ws[j].shape} but "
                             f"W_{j} has {Ws[j - 1].shape[0]} rows (need W_{j + 1}.shape[1] == d_{j})")
    ell = as_count(ell, f"ell (1-based adapted layer in [1, {len(Ws)}])")
    if not 1 <= ell <= len(Ws):
        raise InputError(f"ell = {ell} is outside [1, L] = [1, {len(Ws)}] (ell is 1-based)")
    W_ell = Ws[ell - 1]
    W_low = _prod(Ws[:ell - 1], Ws[0].shape[1])
    K = _prod(Ws[ell:], W_ell.shape[0])
    return NetParts(K=K, W_ell=W_ell, W_low=W_low, W_pre=K @ W_ell @ W_low, ell=ell)


# ----------------------------------------------------------------------------- linear algebra
def _svd_kept(M, name: str, check_cond: bool = True):
    """SVD restricted to singular values above ``RANK_RTOL * sigma_max``; reject ill-conditioned."""
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return U[:, :0], s[:0], Vt[:0]
    keep = s > RANK_RTOL * s[0]
    k = int(keep.sum())
    if check_cond and s[0] / s[k - 1] > COND_MAX:
        raise AssumptionError(
            f"{name} is too ill-conditioned to decide ranks reliably (condition number of its "
            f"non-zero part, singular values > {RANK_RTOL:g}·max)", float(s[0] / s[k - 1]), COND_MAX)
    return U[:, :k], s[:k], Vt[:k]


def _psd_kept(S, name: str, check_cond: bool = True):
    """Eigen-decomposition of a PSD matrix restricted to eigenvalues above ``RANK_RTOL * max``."""
    w, Q = np.linalg.eigh((S + S.T) / 2)
    wmax = w[-1] if w.size else 0.0
    if wmax <= 0.0:
        return Q[:, :0], w[:0]
    keep = w > RANK_RTOL * wmax
    wk, Qk = w[keep], Q[:, keep]
    if check_cond and wmax / wk[0] > COND_MAX:
        raise AssumptionError(
            f"{name} is too ill-conditioned to decide ranks reliably (condition number of its "
            f"non-zero part, eigenvalues > {RANK_RTOL:g}·max)", float(wmax / wk[0]), COND_MAX)
    return Qk, wk


def pinv(M, name: str = "matrix") -> np.ndarray:
    """Moore–Penrose pseudo-inverse with the package's single rank threshold :data:`RANK_RTOL`."""
    U, s, Vt = _svd_kept(np.asarray(M, float), name)
    return (Vt.T / s) @ U.T


def projector(M, name: str = "matrix") -> np.ndarray:
    r"""Orthogonal projector :math:`MM^\dagger` onto the column space of ``M`` (same threshold)."""
    U, _, _ = _svd_kept(np.asarray(M, float), name)
    return U @ U.T


def check_covariance(S, name: str, dim: int | None = None, *, nonsingular: bool = False) -> np.ndarray:
    """Validate a covariance: square, finite, symmetric and PSD (and nonsingular when asked).

    Raises
    ------
    InputError
        Wrong shape or non-finite entries.
    AssumptionError
        Not symmetric, not PSD (the most negative eigenvalue is reported), or singular / too
        ill-conditioned when ``nonsingular=True``.  The message says which.
    """
    S = as_float_array(S, name, ndim=2)
    if S.shape[0] != S.shape[1]:
        raise InputError(f"{name} must be square, got shape {S.shape}")
    if dim is not None and S.shape[0] != dim:
        raise InputError(f"{name} must be {dim} × {dim}, got {S.shape}")
    scale = max(float(np.abs(S).max()) if S.size else 0.0, 1e-300)
    asym = float(np.abs(S - S.T).max()) / scale if S.size else 0.0
    if asym > COV_TOL:
        raise AssumptionError(f"{name} is symmetric (relative max |Σ - Σᵀ|)", asym, COV_TOL)
    w = np.linalg.eigvalsh((S + S.T) / 2) if S.size else np.zeros(0)
    if w.size and w[0] < -COV_TOL * max(w[-1], 1e-300):
        raise AssumptionError(f"{name} is positive semi-definite (it has a negative eigenvalue; "
                              "relative to the largest)", float(-w[0] / max(abs(w[-1]), 1e-300)), COV_TOL)
    if nonsingular and w.size:
        if w[-1] <= 0 or w[0] <= w[-1] / COND_MAX:
            cond = float(w[-1] / w[0]) if w[0] > 0 else float("inf")
            raise AssumptionError(f"{name} is nonsingular (it is singular or its condition number "
                                  "exceeds COND_MAX)", cond, COND_MAX)
    return (S + S.T) / 2


def psd_sqrt(S, name: str = "Sigma") -> np.ndarray:
    r"""PSD square root :math:`\Sigma^{1/2}` (eigenvalues below the rank threshold set to 0)."""
    Q, w = _psd_kept(np.asarray(S, float), name, check_cond=False)
    return (Q * np.sqrt(w)) @ Q.T


# ----------------------------------------------------------------------------- statistics
def _check_data(parts: NetParts, X, Y):
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=2)
    if X.shape[1] != parts.p:
        raise InputError(f"X must have p = {parts.p} columns (W_1 has {parts.p} columns), got {X.shape}")
    if Y.shape[1] != parts.q:
        raise InputError(f"Y must have q = {parts.q} columns (W_L has {parts.q} rows), got {Y.shape}")
    if X.shape[0] != Y.shape[0]:
        raise InputError(f"X has {X.shape[0]} samples but Y has {Y.shape[0]}")
    if X.shape[0] < 1:
        raise InputError("need at least one sample")
    return X, Y


def sample_stats(parts: NetParts, X, Y):
    r"""Sufficient statistics :math:`(\hat C, \hat\Sigma_z)` of the ERM problems.

    :math:`\hat C = \frac1n (Y - XW^{pre\top})^\top X W_{low}^\top` of shape ``(q, d_{ell-1})`` and
    :math:`\hat\Sigma_z = \frac1n W_{low}X^\top X W_{low}^\top` of shape ``(d_{ell-1}, d_{ell-1})``
    (``X`` is ``(n, p)``, ``Y`` is ``(n, q)``).
    """
    X, Y = _check_data(parts, X, Y)
    n = X.shape[0]
    Z = X @ parts.W_low.T
    R = Y - X @ parts.W_pre.T
    return R.T @ Z / n, Z.T @ Z / n


def population_stats(parts: NetParts, B, sigma_x):
    r""":math:`C = (B - W^{pre})\Sigma_x W_{low}^\top` and :math:`\Sigma_z = W_{low}\Sigma_x W_{low}^\top`."""
    B = as_float_array(B, "B", ndim=2)
    if B.shape != (parts.q, parts.p):
        raise InputError(f"B must be q × p = {parts.q} × {parts.p}, got {B.shape}")
    S = check_covariance(sigma_x, "sigma_x", parts.p)
    return (B - parts.W_pre) @ S @ parts.W_low.T, parts.W_low @ S @ parts.W_low.T


def _check_channels(parts: NetParts, channels) -> list[int]:
    ch = np.asarray(channels)
    if ch.ndim != 1 or ch.size == 0:
        raise InputError(f"channels must be a non-empty 1-D list of row indices of W_ell, got {channels!r}")
    if not np.issubdtype(ch.dtype, np.integer):
        if not np.all(np.isfinite(ch.astype(float))) or np.any(ch != np.round(ch)):
            raise InputError(f"channels must be integers, got {channels!r}")
    ch = ch.astype(int)
    bad = ch[(ch < 0) | (ch >= parts.d_ell)]
    if bad.size:
        raise InputError(f"channels {bad.tolist()} are outside [0, d_ell) = [0, {parts.d_ell}) "
                         "(0-based rows of W_ell)")
    if np.unique(ch).size != ch.size:
        vals, cnt = np.unique(ch, return_counts=True)
        raise InputError(f"channels must be distinct; repeated: {vals[cnt > 1].tolist()}")
    return ch.tolist()


def _check_rank(parts: NetParts, r) -> int:
    r = as_count(r, "r (LoRA rank)")
    rmax = min(parts.d_ell, parts.d_in)
    if not 1 <= r <= rmax:
        raise InputError(f"LoRA rank r = {r} is outside [1, min(d_ell, d_ell-1)] = [1, {rmax}]")
    return r


# ----------------------------------------------------------------------------- estimators from stats
def _sz_inverse(Sz):
    Q, w = _psd_kept(Sz, "Sigma_z = W_low Sigma_x W_low^T (layer-ell input covariance)")
    return (Q / w) @ Q.T, (Q / np.sqrt(w)) @ Q.T


def _full_from_stats(parts, C, Sz):
    Sz_pinv, _ = _sz_inverse(Sz)
    Kp = pinv(parts.K, "K = W_L...W_{ell+1}")
    Delta = Kp @ C @ Sz_pinv
    return parts.W_pre + parts.K @ Delta @ parts.W_low, Delta


def _s2ft_from_stats(parts, channels, C, Sz):
    ch = _check_channels(parts, channels)
    Sz_pinv, _ = _sz_inverse(Sz)
    KS = parts.K[:, ch]
    Vt = pinv(KS, "K U_S (columns S of K)") @ C @ Sz_pinv      # (s, d_{ell-1}) = V^T
    return parts.W_pre + KS @ Vt @ parts.W_low, Vt.T


def _lora_from_stats(parts, r, C, Sz):
    r = _check_rank(parts, r)
    _, A_pinv = _sz_inverse(Sz)
    Uk, sk, Vkt = _svd_kept(parts.K, "K = W_L...W_{ell+1}")
    M = Uk @ (Uk.T @ C) @ A_pinv
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    rank_M = int((s > RANK_RTOL * s[0]).sum()) if s.size and s[0] > 0 else 0
    if r < rank_M:
        gap = (s[r - 1] - s[r]) / s[0]
        if gap <= GAP_RTOL:
            raise AssumptionError(
                f"eigengap of M = P' C A^+ at r = {r} (Assumption F.3): the rank-{r} LoRA "
                "estimator is set-valued (relative gap sigma_r - sigma_{r+1})", float(gap), GAP_RTOL, relation=">")
    k = min(r, rank_M)
    Mr = (U[:, :k] * s[:k]) @ Vt[:k]
    Delta = (Vkt.T / sk) @ Uk.T @ Mr @ A_pinv
    # balanced (minimum ||U||^2 + ||V||^2) factors of Delta, padded with zero columns up to r
    Ud, sd, Vdt = np.linalg.svd(Delta, full_matrices=False)
    Uf = np.zeros((parts.d_ell, r))
    Vf = np.zeros((parts.d_in, r))
    Uf[:, :k] = Ud[:, :k] * np.sqrt(sd[:k])
    Vf[:, :k] = Vdt[:k].T * np.sqrt(sd[:k])
    return parts.W_pre + Mr @ A_pinv @ parts.W_low, Uf, Vf


# ----------------------------------------------------------------------------- public fits
def full_fit(layers, ell, X, Y) -> np.ndarray:
    r"""End-to-end map of minimum-norm full fine-tuning of layer ``ell`` on data (Lemma F.17, finite n).

    .. math::  F = W^{pre} + P'\hat C\hat\Sigma_z^\dagger W_{low}, \qquad
               \Delta = K^\dagger\hat C\hat\Sigma_z^\dagger .

    Parameters
    ----------
    layers : list of ndarray
        ``[W_1, ..., W_L]``, ``W_j`` of shape ``(d_j, d_{j-1})``, ``d_0 = p``, ``d_L = q``.
    ell : int
        Adapted layer, 1-based.
    X : ndarray (n, p)
        Inputs as rows (the paper's ``X`` transposed).
    Y : ndarray (n, q)
        Targets as rows.

    Returns
    -------
    F : ndarray (q, p)
        Predictions are ``X @ F.T``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); Y = X @ np.diag([1., 2., 3.]).T
    >>> np.allclose(full_fit([np.eye(3), np.eye(3)], 1, X, Y), np.diag([1., 2., 3.]))
    True
    """
    parts = network_parts(layers, ell)
    return _full_from_stats(parts, *sample_stats(parts, X, Y))[0]


def s2ft_fit(layers, ell, channels, X, Y) -> np.ndarray:
    r"""End-to-end map of minimum-norm S²FT (rows ``channels`` of ``W_ell`` trained; Lemma F.12).

    .. math::  V^\top = (KU_S)^\dagger\hat C\hat\Sigma_z^\dagger,\qquad
               F = W^{pre} + KU_SV^\top W_{low} = W^{pre} + P''_S\hat C\hat\Sigma_z^\dagger W_{low}.

    ``channels`` are distinct 0-based row indices of ``W_ell`` (the set ``S``).  Shapes as in
    :func:`full_fit`; returns ``F`` of shape ``(q, p)``.  The proof's printed
    :math:`V = (\hat A^\dagger)^2\cdots(U_S\overline W)^\dagger` is dimensionally invalid; this is the
    corrected transpose.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3)); Y = X @ np.diag([1., 2., 3.]).T
    >>> np.round(s2ft_fit([np.eye(3)], 1, [1], X, Y), 6).diagonal()
    array([1., 2., 1.])
    """
    parts = network_parts(layers, ell)
    return _s2ft_from_stats(parts, channels, *sample_stats(parts, X, Y))[0]


def lora_fit(layers, ell, r, X, Y) -> np.ndarray:
    r"""End-to-end map of the minimum-norm rank-``r`` LoRA ERM (reduced-rank regression; Lemma F.9).

    .. math::  \Delta = K^\dagger\,\mathrm{SVD}_r(P'\hat C\hat A^\dagger)\,\hat A^\dagger, \qquad
               F = W^{pre} + \mathrm{SVD}_r(P'\hat C\hat A^\dagger)\hat A^\dagger W_{low}.

    Valid when the estimator is unique: ``r >= rank M`` or an eigengap at ``r`` (else
    :class:`AssumptionError`, Assumption F.3).  ``1 <= r <= min(d_ell, d_{ell-1})``.  Returns ``(q, p)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); Y = X @ np.diag([1., 2., 5.]).T
    >>> F = lora_fit([np.eye(3)], 1, 1, X, Y)     # D = diag(0, 1, 4): rank 1 keeps the 4
    >>> np.round(F.diagonal(), 3).tolist()
    [1.0, 1.0, 5.0]
    """
    parts = network_parts(layers, ell)
    return _lora_from_stats(parts, r, *sample_stats(parts, X, Y))[0]


def full_delta(layers, ell, X, Y) -> np.ndarray:
    r"""The minimum-norm full-layer update :math:`\Delta = K^\dagger\hat C\hat\Sigma_z^\dagger`, ``(d_ell, d_{ell-1})``."""
    parts = network_parts(layers, ell)
    return _full_from_stats(parts, *sample_stats(parts, X, Y))[1]


def s2ft_adapter(layers, ell, channels, X, Y) -> np.ndarray:
    r"""The S²FT factor ``V`` of shape ``(d_{ell-1}, s)``; the update is :math:`U_SV^\top` (rows S of W_ell)."""
    parts = network_parts(layers, ell)
    return _s2ft_from_stats(parts, channels, *sample_stats(parts, X, Y))[1]


def lora_factors(layers, ell, r, X, Y):
    r"""Balanced LoRA factors ``(U, V)`` of shapes ``(d_ell, r)``, ``(d_{ell-1}, r)``; :math:`\Delta = UV^\top`.

    :math:`U = \Phi\Lambda^{1/2}`, :math:`V = \Psi\Lambda^{1/2}` from the SVD of the minimum-norm
    :math:`\Delta`; they minimise :math:`\|U\|_F^2+\|V\|_F^2 = 2\|\Delta\|_*` among factorisations.
    """
    parts = network_parts(layers, ell)
    _, U, V = _lora_from_stats(parts, r, *sample_stats(parts, X, Y))
    return U, V


def full_population(layers, ell, B, sigma_x) -> np.ndarray:
    r"""Population (:math:`n=\infty`) full-layer fit :math:`W^{pre} + P'C\Sigma_z^\dagger W_{low}`, ``(q, p)``.

    ``B`` is the ``(q, p)`` regression matrix :math:`B^{(i)}` and ``sigma_x`` the ``(p, p)`` input covariance.

    Examples
    --------
    >>> import numpy as np
    >>> np.allclose(full_population([np.eye(2)], 1, np.diag([2., 3.]), np.eye(2)), np.diag([2., 3.]))
    True
    """
    parts = network_parts(layers, ell)
    return _full_from_stats(parts, *population_stats(parts, B, sigma_x))[0]


def s2ft_population(layers, ell, channels, B, sigma_x) -> np.ndarray:
    r"""Population S²FT fit :math:`W^{pre} + P''_SC\Sigma_z^\dagger W_{low}` (eq. (25)), ``(q, p)``.

    Examples
    --------
    >>> import numpy as np
    >>> s2ft_population([np.eye(2)], 1, [0], np.diag([2., 3.]), np.eye(2))
    array([[2., 0.],
           [0., 1.]])
    """
    parts = network_parts(layers, ell)
    return _s2ft_from_stats(parts, channels, *population_stats(parts, B, sigma_x))[0]


def lora_population(layers, ell, r, B, sigma_x) -> np.ndarray:
    r"""Population LoRA fit :math:`W^{pre} + \mathrm{SVD}_r(P'CA^\dagger)A^\dagger W_{low}` (eq. (15)), ``(q, p)``.

    Examples
    --------
    >>> import numpy as np
    >>> lora_population([np.eye(2)], 1, 1, np.diag([3., 2.]), np.eye(2))
    array([[3., 0.],
           [0., 1.]])
    """
    parts = network_parts(layers, ell)
    return _lora_from_stats(parts, r, *population_stats(parts, B, sigma_x))[0]


# ----------------------------------------------------------------------------- risks and bounds
def excess_risk(F, B, sigma_x) -> float:
    r"""Exact excess risk of the linear predictor ``x -> F x`` (Section F.2, no sampling).

    .. math::  \mathcal E(F) = \operatorname{tr}\big((B-F)\Sigma_x(B-F)^\top\big)
               = \|(B-F)\Sigma_x^{1/2}\|_F^2,

    valid for :math:`y = Bx + \epsilon` with :math:`\mathbb E[\epsilon\mid x] = 0`.

    Parameters
    ----------
    F, B : ndarray (q, p)
    sigma_x : ndarray (p, p), symmetric PSD

    Examples
    --------
    >>> import numpy as np
    >>> excess_risk(np.zeros((1, 2)), np.ones((1, 2)), np.diag([1., 2.]))
    3.0
    """
    F = as_float_array(F, "F", ndim=2)
    B = as_float_array(B, "B", ndim=2)
    if F.shape != B.shape:
        raise InputError(f"F and B must have the same shape (q, p), got {F.shape} and {B.shape}")
    S = check_covariance(sigma_x, "sigma_x", B.shape[1])
    E = B - F
    return float(max(np.trace(E @ S @ E.T), 0.0))


def label_shift(B_in, B_out, sigma_x) -> float:
    r""":math:`\|(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|_F^2`, the LoRA lower bound of Theorem 4.2."""
    return excess_risk(B_in, B_out, sigma_x)


def no_free_lunch_slack(F, B_in, B_out, sigma_x) -> float:
    r"""Slack of :math:`\sqrt{\mathcal E^{(i)}(F)} + \sqrt{\mathcal E^{(o)}(F)} \ge \|(B^{(o)}-B^{(i)})\Sigma^{1/2}\|_F`.

    Without covariate shift this triangle inequality holds for every predictor ``F``; the slack is
    ``>= 0``.  Returns LHS − RHS.

    Examples
    --------
    >>> import numpy as np
    >>> no_free_lunch_slack(np.zeros((1, 1)), np.ones((1, 1)), -np.ones((1, 1)), np.eye(1))
    0.0
    """
    F = as_float_array(F, "F", ndim=2)
    B_in = as_float_array(B_in, "B_in", ndim=2)
    B_out = as_float_array(B_out, "B_out", ndim=2)
    if not F.shape == B_in.shape == B_out.shape:
        raise InputError(f"F, B_in and B_out must have the same shape (q, p), got {F.shape}, {B_in.shape} "
                         f"and {B_out.shape}")
    ei = excess_risk(F, B_in, sigma_x)
    eo = excess_risk(F, B_out, sigma_x)
    return float(np.sqrt(ei) + np.sqrt(eo) - np.sqrt(label_shift(B_in, B_out, sigma_x)))


def _ood_pieces(layers, ell, channels, B_in, B_out, sigma_x):
    parts = network_parts(layers, ell)
    ch = _check_channels(parts, channels)
    B_in = as_float_array(B_in, "B_in", ndim=2)
    B_out = as_float_array(B_out, "B_out", ndim=2)
    for nm, Bm in (("B_in", B_in), ("B_out", B_out)):
        if Bm.shape != (parts.q, parts.p):
            raise InputError(f"{nm} must be q × p = {parts.q} × {parts.p}, got {Bm.shape}")
    S = check_covariance(sigma_x, "sigma_x", parts.p)
    Sh = psd_sqrt(S)
    Sz_pinv, _ = _sz_inverse(parts.W_low @ S @ parts.W_low.T)
    P = Sh @ parts.W_low.T @ Sz_pinv @ parts.W_low @ Sh
    P2 = projector(parts.K[:, ch], "K U_S (columns S of K)")
    Xo = (B_out - parts.W_pre) @ Sh
    Yi = (B_in - parts.W_pre) @ Sh
    return parts, ch, P, P2, Xo, Yi


def s2ft_ood_identity(layers, ell, channels, B_in, B_out, sigma_x) -> dict:
    r"""The exact OOD excess risk of population S²FT without covariate shift (sharpening Thm 4.2).

    With :math:`X_o = (B^{(o)}-W^{pre})\Sigma^{1/2}`, :math:`Y = (B^{(i)}-W^{pre})\Sigma^{1/2}` and
    :math:`P = \Sigma^{1/2}W_{low}^\top\Sigma_z^\dagger W_{low}\Sigma^{1/2}`,

    .. math::  \mathcal E^{(o)}(\text{S²FT}_\infty) = \mathcal E^{(o)}(f^{pre})
               - \|P''_SX_oP\|_F^2 + \|P''_S(X_o-Y)P\|_F^2 .

    No condition on :math:`B^{(i)}` or on ``s``.  Returns a dict with ``lhs`` (computed from the
    estimator), ``rhs`` (the identity), ``E_pre``, ``minus`` and ``plus``.

    Examples
    --------
    >>> import numpy as np
    >>> d = s2ft_ood_identity([np.eye(2)], 1, [0], np.diag([2., 2.]), np.eye(2) * 1.5, np.eye(2))
    >>> round(d["lhs"], 12) == round(d["rhs"], 12)
    True
    """
    parts, ch, P, P2, Xo, Yi = _ood_pieces(layers, ell, channels, B_in, B_out, sigma_x)
    F = s2ft_population(layers, ell, ch, B_in, sigma_x)
    lhs = excess_risk(F, B_out, sigma_x)
    e_pre = float(np.sum(Xo ** 2))
    minus = float(np.sum((P2 @ Xo @ P) ** 2))
    plus = float(np.sum((P2 @ (Xo - Yi) @ P) ** 2))
    return {"lhs": lhs, "rhs": e_pre - minus + plus, "E_pre": e_pre, "minus": minus, "plus": plus}


def epsilon2_min(layers, ell, channels, B_in, B_out, sigma_x) -> float:
    r"""Smallest :math:`\varepsilon^2` of Assumption 4.1: :math:`\|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}\|^2/\mathcal E^{(o)}(f^{pre})`.

    Raises :class:`AssumptionError` when :math:`\mathcal E^{(o)}(f^{pre}) = 0` (no finite ε).
    """
    parts, ch, P, P2, Xo, Yi = _ood_pieces(layers, ell, channels, B_in, B_out, sigma_x)
    e_pre = float(np.sum(Xo ** 2))
    num = float(np.sum((P2 @ (Xo - Yi)) ** 2))
    if e_pre <= 0.0:
        if num <= 0.0:
            return 0.0
        raise AssumptionError("Assumption 4.1 needs E^(o)(f_pre) > 0 when P''_S shifts labels: E^(o)(f_pre)",
                              e_pre, 0.0, relation=">")
    return num / e_pre


def s2ft_ood_bound_sharp(layers, ell, channels, B_in, B_out, sigma_x) -> float:
    r"""Sharp bound :math:`\mathcal E^{(o)}(f^{pre}) + \|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}P\|^2 \le (1+\varepsilon^2)\mathcal E^{(o)}(f^{pre})`."""
    parts, ch, P, P2, Xo, Yi = _ood_pieces(layers, ell, channels, B_in, B_out, sigma_x)
    return float(np.sum(Xo ** 2) + np.sum((P2 @ (Xo - Yi) @ P) ** 2))


def channel_sparsity_delta2(layers, ell, channels, B_in, sigma_x) -> float:
    r""":math:`\delta^2(S)` of Assumption F.4: off-S row energy fraction of :math:`K^\dagger D\Sigma^{1/2}`."""
    parts = network_parts(layers, ell)
    ch = _check_channels(parts, channels)
    S = check_covariance(sigma_x, "sigma_x", parts.p)
    R = pinv(parts.K, "K") @ (as_float_array(B_in, "B_in", 2) - parts.W_pre) @ psd_sqrt(S)
    tot = float(np.sum(R ** 2))
    if tot == 0.0:
        return 0.0
    off = np.ones(parts.d_ell, bool)
    off[ch] = False
    return float(np.sum(R[off] ** 2) / tot)


def rank_sigma_f(layers, ell, B_in, sigma_x) -> int:
    r""":math:`\operatorname{rank}\Sigma_f^{(i)} = \operatorname{rank}(D\Sigma^{1/2})`, decided on singular values of :math:`D\Sigma^{1/2}`."""
    parts = network_parts(layers, ell)
    S = check_covariance(sigma_x, "sigma_x", parts.p)
    M = (as_float_array(B_in, "B_in", 2) - parts.W_pre) @ psd_sqrt(S)
    return int(_svd_kept(M, "D Sigma^{1/2}")[1].size)


def _G(parts, S_in, S_out):
    Wi = parts.W_low @ psd_sqrt(S_in)
    return pinv(Wi, "W_low Sigma_in^{1/2}") @ parts.W_low @ psd_sqrt(S_out)


def s2ft_ood_bound_covshift(layers, ell, channels, B_in, B_out, sigma_in, sigma_out) -> float:
    r"""Right-hand side of Theorem F.15 (population S²FT, covariate shift), explicit constant 3.

    .. math::  \mathcal E^{(o)}(f^{pre}) + 3\|P''_S(B^{(o)}-B^{(i)})\Sigma_o^{1/2}\|^2
        + 3\|B^{(i)}(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|^2
        + 3\|KW_\ell\|_{op}^2\|W_{low}\Sigma_o^{1/2}-W_{low}\Sigma_i^{1/2}G\|^2,

    :math:`G = (W_{low}\Sigma_i^{1/2})^\dagger W_{low}\Sigma_o^{1/2}` (the paper's
    :math:`\Sigma_x^{(i,o)}` read as :math:`\Sigma_i^{1/2}G`).
    """
    parts = network_parts(layers, ell)
    ch = _check_channels(parts, channels)
    Si = check_covariance(sigma_in, "sigma_in", parts.p)
    So = check_covariance(sigma_out, "sigma_out", parts.p)
    Bi, Bo = as_float_array(B_in, "B_in", 2), as_float_array(B_out, "B_out", 2)
    G = _G(parts, Si, So)
    hi, ho = psd_sqrt(Si), psd_sqrt(So)
    P2 = projector(parts.K[:, ch], "K U_S")
    e_pre = excess_risk(parts.W_pre, Bo, So)
    t1 = np.sum((P2 @ (Bo - Bi) @ ho) ** 2)
    t2 = np.sum((Bi @ (ho - hi @ G)) ** 2)
    t3 = np.linalg.norm(parts.K @ parts.W_ell, 2) ** 2 * np.sum((parts.W_low @ ho - parts.W_low @ hi @ G) ** 2)
    return float(e_pre + 3 * (t1 + t2 + t3))


def lora_ood_bounds_covshift(layers, ell, r, B_in, B_out, sigma_in, sigma_out, eta: float = 0.5) -> dict:
    r"""Theorem F.11 (population LoRA, covariate shift), corrected: upper bound on :math:`\sqrt{\mathcal E^{(o)}}`, lower bound.

    With :math:`\rho = \frac{0\vee(\operatorname{rank}\Sigma_f - r)}{\operatorname{rank}\Sigma_f}\kappa_*^2(\Sigma_f)\mathcal E^{(i)}(f^{pre})`:

    .. math::
        \sqrt{\mathcal E^{(o)}} \le \|(I-P')B^{(o)}\Sigma_o^{1/2}\| + \|(B^{(o)}-B^{(i)})\Sigma_i^{1/2}\|\|G\|_{op}
            + \|(B^{(o)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\| + \|G\|_{op}\sqrt\rho,

        \mathcal E^{(o)} \ge (1-\eta)\|(B^{(o)}-B^{(i)})\Sigma_o^{1/2}\|^2 - 3(\eta^{-1}-1)\big[
            \|(I-P')B^{(i)}\Sigma_o^{1/2}\|^2 + \|(B^{(i)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|^2
            + \rho\|G\|^2_{op}\big].

    Returns ``{"E_out", "upper_sqrt", "lower"}``; ``0 < eta < 1``.
    """
    if not 0 < eta < 1:
        raise InputError(f"eta must be in (0, 1), got {eta}")
    parts = network_parts(layers, ell)
    Si = check_covariance(sigma_in, "sigma_in", parts.p)
    So = check_covariance(sigma_out, "sigma_out", parts.p)
    Bi, Bo = as_float_array(B_in, "B_in", 2), as_float_array(B_out, "B_out", 2)
    F = lora_population(layers, ell, r, Bi, Si)
    G = _G(parts, Si, So)
    Gop = float(np.linalg.norm(G, 2)) if G.size else 0.0
    hi, ho = psd_sqrt(Si), psd_sqrt(So)
    I_P = np.eye(parts.q) - projector(parts.K, "K")
    sf = _svd_kept((Bi - parts.W_pre) @ hi, "D Sigma_in^{1/2}", check_cond=False)[1]
    if sf.size:
        rk = sf.size
        rho = max(0, rk - r) / rk * (sf[0] / sf[-1]) ** 4 * float(np.sum(sf ** 2))
    else:
        rho = 0.0
    fro = lambda M: float(np.linalg.norm(M))  # noqa: E731
    upper = (fro(I_P @ Bo @ ho) + fro((Bo - Bi) @ hi) * Gop + fro((Bo - parts.W_pre) @ (ho - hi @ G))
             + Gop * np.sqrt(rho))
    lower = ((1 - eta) * fro((Bo - Bi) @ ho) ** 2
             - 3 * (1 / eta - 1) * (fro(I_P @ Bi @ ho) ** 2 + fro((Bi - parts.W_pre) @ (ho - hi @ G)) ** 2
                                    + rho * Gop ** 2))
    return {"E_out": excess_risk(F, Bo, So), "upper_sqrt": float(upper), "lower": float(lower)}


# ----------------------------------------------------------------------------- finite-sample variance
def expected_id_risk_exact(layers, ell, B_in, sigma_x, sigma_eps, n, channels=None) -> dict:
    r"""Exact :math:`\mathbb E\,\mathcal E^{(i)}` of full-layer FT (``channels=None``) or S²FT at sample size n.

    For Gaussian :math:`x\sim N(0,\Sigma_x)`, noise independent of ``x`` with covariance
    :math:`\Sigma_\epsilon`, and :math:`D\Sigma^{1/2}(I-P) = 0` (e.g. factored :math:`B^{(i)}`):

    .. math::  \mathbb E\,\mathcal E^{(i)}(\hat F_n) = \mathcal E^{(i)}(F_\infty)
               + \operatorname{tr}(\Pi\Sigma_\epsilon)\,\frac{d'}{n-d'-1},

    :math:`\Pi = P'` (full) or :math:`P''_S` (S²FT), :math:`d' = \operatorname{rank}\Sigma_z`
    (inverse-Wishart mean).  Needs ``n > d' + 1``.  Returns ``{"E_inf", "variance", "expected", "d_prime"}``.

    Raises
    ------
    AssumptionError
        ``n <= d' + 1`` (the mean is infinite) or the misspecification :math:`D\Sigma^{1/2}(I-P)` is non-zero.
    """
    parts = network_parts(layers, ell)
    S = check_covariance(sigma_x, "sigma_x", parts.p)
    Se = check_covariance(sigma_eps, "sigma_eps", parts.q)
    Bi = as_float_array(B_in, "B_in", 2)
    Sz_pinv, _ = _sz_inverse(parts.W_low @ S @ parts.W_low.T)
    d_prime = int(_psd_kept(parts.W_low @ S @ parts.W_low.T, "Sigma_z")[1].size)
    n = as_count(n, "n (number of samples)", minimum=1)
    if n <= d_prime + 1:
        raise AssumptionError(f"n > d' + 1 = {d_prime + 1} samples (d' = rank Sigma_z; the expected "
                              "risk is infinite below): n", float(n), float(d_prime + 1), relation=">")
    Sh = psd_sqrt(S)
    P = Sh @ parts.W_low.T @ Sz_pinv @ parts.W_low @ Sh
    Y = (Bi - parts.W_pre) @ Sh
    mis = float(np.linalg.norm(Y - Y @ P)) / max(float(np.linalg.norm(Y)), 1e-300)
    if mis > 1e-8:
        raise AssumptionError("D Sigma^{1/2} (I - P) = 0 (the ID shift is visible at layer ell's input, "
                              "e.g. factored B_in); relative size", mis, 1e-8)
    if channels is None:
        Pi = projector(parts.K, "K")
        F_inf = full_population(layers, ell, Bi, S)
    else:
        Pi = projector(parts.K[:, _check_channels(parts, channels)], "K U_S")
        F_inf = s2ft_population(layers, ell, channels, Bi, S)
    e_inf = excess_risk(F_inf, Bi, S)
    var = float(np.trace(Pi @ Se)) * d_prime / (n - d_prime - 1)
    return {"E_inf": e_inf, "variance": var, "expected": e_inf + var, "d_prime": d_prime}


def lora_variance_limit(layers, ell, r, B_in, sigma_x, sigma2: float) -> float:
    r"""Limit of :math:`n\,(\mathbb E\mathcal E^{(i)}(\text{LoRA}_n) - \mathcal E^{(i)}(\text{LoRA}_\infty))`: :math:`\sigma^2 r(q'+d'-r)`.

    Valid for isotropic noise :math:`\Sigma_\epsilon = \sigma^2 I_q`, a well-specified problem
    (factored :math:`B^{(i)}` with :math:`\operatorname{rank} M = r`), :math:`q' = \operatorname{rank}K`,
    :math:`d' = \operatorname{rank}\Sigma_z`: the dimension of the rank-r manifold of
    :math:`q'\times d'` matrices (asymptotics of reduced-rank regression).

    Raises :class:`AssumptionError` when ``rank M != r``.
    """
    parts = network_parts(layers, ell)
    r = _check_rank(parts, r)
    C, Sz = population_stats(parts, B_in, sigma_x)
    _, A_pinv = _sz_inverse(Sz)
    Uk, _, _ = _svd_kept(parts.K, "K")
    M = Uk @ Uk.T @ C @ A_pinv
    rank_M = int(_svd_kept(M, "M = P' C A^+")[1].size) if np.any(M) else 0
    if rank_M != r:
        raise AssumptionError(f"the LoRA variance limit needs rank M = r = {r} (well-specified rank): rank M",
                              float(rank_M), float(r), relation="==")
    q_prime = int(Uk.shape[1])
    d_prime = int(_psd_kept(Sz, "Sigma_z")[1].size)
    return float(sigma2) * r * (q_prime + d_prime - r)
