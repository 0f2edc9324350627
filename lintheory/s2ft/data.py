r"""Instances of the S²FT deep-linear setting and ID sampling (seed ``003_6b1767d2fe2301ea.txt``, §F.2).

An :class:`Instance` holds the pre-trained layers ``[W_1..W_L]``, the adapted layer ``ell``
(1-based), the ID and OOD regression matrices :math:`B^{(i)}, B^{(o)}` (``q × p``), the covariances
:math:`\Sigma_x^{(i)}, \Sigma_x^{(o)}` (``p × p``) and :math:`\Sigma_\epsilon` (``q × q``), the channel
set ``S`` (0-based rows of ``W_ell``) and the LoRA rank ``r``.  Every generator takes a ``seed`` so any
instance can be replayed from a plain-JSON config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import as_count, as_scalar
from ..errors import AssumptionError, InputError
from . import closed_form as cf

__all__ = ["Instance", "random_instance", "channel_split_instance", "sample_id", "random_psd",
           "GEN_COND_MAX"]

#: generators keep only instances whose K, K U_S and Sigma_z have condition number below this
GEN_COND_MAX = 1e3


@dataclass
class Instance:
    """One instance of the setting; see the module docstring for the fields' shapes."""

    layers: list
    ell: int
    B_in: np.ndarray
    B_out: np.ndarray
    sigma_in: np.ndarray
    sigma_out: np.ndarray
    sigma_eps: np.ndarray
    channels: list
    r: int
    meta: dict = field(default_factory=dict)

    @property
    def parts(self) -> cf.NetParts:
        return cf.network_parts(self.layers, self.ell)

    @property
    def covariate_shift(self) -> bool:
        return not np.array_equal(self.sigma_in, self.sigma_out)

    def population_fits(self) -> dict:
        """Population end-to-end maps ``{"pre", "full", "lora", "s2ft"}``, each ``(q, p)``."""
        return {
            "pre": self.parts.W_pre,
            "full": cf.full_population(self.layers, self.ell, self.B_in, self.sigma_in),
            "lora": cf.lora_population(self.layers, self.ell, self.r, self.B_in, self.sigma_in),
            "s2ft": cf.s2ft_population(self.layers, self.ell, self.channels, self.B_in, self.sigma_in),
        }

    def risks(self, fits: dict) -> dict:
        """``{name: (E_in, E_out)}`` for a dict of end-to-end maps."""
        return {k: (cf.excess_risk(F, self.B_in, self.sigma_in), cf.excess_risk(F, self.B_out, self.sigma_out))
                for k, F in fits.items()}


def random_psd(rng, d: int, *, rank: int | None = None, low: float = 0.3, high: float = 3.0) -> np.ndarray:
    """A random ``d × d`` PSD matrix with eigenvalues in ``[low, high]`` (``rank`` of them non-zero)."""
    rank = d if rank is None else rank
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    w = np.zeros(d)
    w[:rank] = rng.uniform(low, high, size=rank)
    return (Q * w) @ Q.T


def _cond_ok(M) -> bool:
    s = np.linalg.svd(M, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return True
    k = s[s > cf.RANK_RTOL * s[0]]
    return bool(k[0] / k[-1] <= GEN_COND_MAX)


def random_instance(seed, *, max_dim: int = 8, min_dim: int = 2, depth: int | None = None,
                    factored: bool = True, covariate_shift: bool = False, bottleneck: bool = False,
                    singular_sigma: bool = False, shift_scale: float = 1.0, d_rank: int | None = None,
                    max_tries: int = 200) -> Instance:
    r"""A random well-conditioned instance with dims in ``[min_dim, max_dim]``.

    Parameters
    ----------
    seed : int
        Seed of every draw.
    depth : int, optional
        ``L``; default uniform in {1, 2, 3}.  ``ell`` is uniform in ``[1, L]``.
    factored : bool
        ``B_in = W_pre + K D~ W_low`` (the structural condition of Theorem 4.2) or unfactored.
    covariate_shift : bool
        ``Sigma_out != Sigma_in``.
    bottleneck : bool
        Widths may drop to 1, so ``K`` and ``W_low`` are rank-deficient.
    singular_sigma : bool
        ``Sigma_in`` exactly rank-deficient.
    d_rank : int, optional
        Rank of ``D~`` (factored case); default random.

    Notes
    -----
    Instances whose ``K``, ``K U_S`` or ``Sigma_z`` have condition number above
    :data:`GEN_COND_MAX` are redrawn (at most ``max_tries`` times).
    """
    min_dim = as_count(min_dim, "min_dim", minimum=1)
    max_dim = as_count(max_dim, "max_dim", minimum=min_dim)
    if depth is not None:
        depth = as_count(depth, "depth", minimum=1)
    if d_rank is not None:
        d_rank = as_count(d_rank, "d_rank", minimum=1)
    max_tries = as_count(max_tries, "max_tries", minimum=1)
    shift_scale = as_scalar(shift_scale, "shift_scale")
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        L = int(depth) if depth is not None else int(rng.integers(1, 4))
        lo = 1 if bottleneck else min_dim
        widths = [int(rng.integers(lo, max_dim + 1)) for _ in range(L + 1)]
        widths[0] = max(widths[0], min_dim)
        widths[-1] = max(widths[-1], min_dim)
        ell = int(rng.integers(1, L + 1))
        layers = [rng.normal(size=(widths[j + 1], widths[j])) / np.sqrt(widths[j]) for j in range(L)]
        parts = cf.network_parts(layers, ell)
        p, q, d_l, d_in = parts.p, parts.q, parts.d_ell, parts.d_in
        k_sig = int(rng.integers(1, p)) if (singular_sigma and p > 1) else p
        S_in = random_psd(rng, p, rank=k_sig)
        S_out = random_psd(rng, p) if covariate_shift else S_in.copy()
        S_eps = random_psd(rng, q, low=0.1, high=1.0)
        if factored:
            k = int(d_rank) if d_rank is not None else int(rng.integers(1, min(d_l, d_in) + 1))
            Dt = rng.normal(size=(d_l, k)) @ rng.normal(size=(k, d_in)) / np.sqrt(k)
            B_in = parts.W_pre + parts.K @ Dt @ parts.W_low
        else:
            B_in = parts.W_pre + rng.normal(size=(q, p))
        B_out = B_in + shift_scale * rng.normal(size=(q, p)) / np.sqrt(p)
        s = int(rng.integers(1, d_l + 1))
        channels = sorted(rng.choice(d_l, size=s, replace=False).tolist())
        r = int(rng.integers(1, min(d_l, d_in) + 1))
        Sz = parts.W_low @ S_in @ parts.W_low.T
        if not (_cond_ok(parts.K) and _cond_ok(parts.K[:, channels]) and _cond_ok(Sz)):
            continue
        return Instance(layers, ell, B_in, B_out, S_in, S_out, S_eps, channels, r,
                        meta={"seed": seed, "factored": factored, "covariate_shift": covariate_shift})
    raise AssumptionError(f"no well-conditioned instance in {max_tries} draws (condition number <= "
                          f"{GEN_COND_MAX:g})")


def _semi_orthogonal(rng, m, n):
    Q, _ = np.linalg.qr(rng.normal(size=(max(m, n), min(m, n))))
    return Q.T if m < n else Q


def channel_split_instance(seed, *, widths=(40, 32, 32, 24), ell: int = 2, r: int = 2,
                           channels=(3, 11, 20, 27), in_rows=(3, 11), out_rows=(5, 17),
                           spurious: float = 1.0, signal: float = 1.0, ood_noise: float = 0.1,
                           noise: float = 0.5) -> Instance:
    r"""The channel-split design: :math:`\tilde D = \tilde D_S + t\,\tilde D_\perp` (note §3.2).

    Layers are random semi-orthogonal blocks of the given ``widths`` ``[p, d_1, ..., q]``;
    :math:`B^{(i)} = W^{pre} + K\tilde DW_{low}` with a rank-1 :math:`\tilde D_S` on ``in_rows``
    (inside ``channels``) and a rank-1 "spurious" :math:`\tilde D_\perp` of size ``spurious = t`` on
    ``out_rows`` (outside).  The OOD task keeps only :math:`\tilde D_S` plus small noise:
    :math:`B^{(o)} = W^{pre} + K\tilde D_SW_{low} + \text{ood\_noise}\cdot N/\sqrt p`.
    :math:`\Sigma_x = I`, :math:`\Sigma_\epsilon = \text{noise}^2 I`.
    """
    widths = [as_count(w, "widths", minimum=1) for w in widths]
    if len(widths) < 2:
        raise InputError(f"widths must list at least [p, q], got {widths}")
    ell = as_count(ell, "ell", minimum=1, maximum=len(widths) - 1)
    r = as_count(r, "r (LoRA rank)", minimum=1)
    for nm, rows in (("channels", channels), ("in_rows", in_rows), ("out_rows", out_rows)):
        for a in rows:
            as_count(a, nm)
    for nm, v in (("spurious", spurious), ("signal", signal), ("ood_noise", ood_noise), ("noise", noise)):
        as_scalar(v, nm)
    rng = np.random.default_rng(seed)
    layers = [_semi_orthogonal(rng, widths[j + 1], widths[j]) for j in range(len(widths) - 1)]
    parts = cf.network_parts(layers, ell)
    d_l, d_in, p, q = parts.d_ell, parts.d_in, parts.p, parts.q
    if r > min(d_l, d_in):
        raise InputError(f"LoRA rank r = {r} is outside [1, min(d_ell, d_ell-1)] = [1, {min(d_l, d_in)}]")
    for nm, rows in (("channels", channels), ("in_rows", in_rows), ("out_rows", out_rows)):
        if any(not 0 <= a < d_l for a in rows):
            raise InputError(f"{nm} must be rows of W_ell in [0, {d_l})")
    if set(out_rows) & set(channels):
        raise InputError("out_rows must lie outside channels (they carry the spurious part)")
    DS = np.zeros((d_l, d_in))
    DS[list(in_rows)] = np.outer(rng.normal(size=len(in_rows)), rng.normal(size=d_in)) * signal
    Dp = np.zeros((d_l, d_in))
    Dp[list(out_rows)] = np.outer(rng.normal(size=len(out_rows)), rng.normal(size=d_in))
    B_in = parts.W_pre + parts.K @ (DS + spurious * Dp) @ parts.W_low
    B_out = parts.W_pre + parts.K @ DS @ parts.W_low + ood_noise * rng.normal(size=(q, p)) / np.sqrt(p)
    S = np.eye(p)
    return Instance(layers, ell, B_in, B_out, S, S.copy(), noise ** 2 * np.eye(q), sorted(channels), r,
                    meta={"seed": seed, "spurious": spurious})


def sample_id(inst: Instance, n: int, seed, *, reps: int | None = None):
    r"""Draw ``n`` ID pairs :math:`x\sim N(0,\Sigma_x^{(i)})`, :math:`y = B^{(i)}x + \epsilon`, :math:`\epsilon\sim N(0,\Sigma_\epsilon)`.

    Returns ``X (n, p)`` and ``Y (n, q)`` (samples as rows), or ``(reps, n, p)``, ``(reps, n, q)`` arrays
    when ``reps`` is given.
    """
    n = as_count(n, "n (number of samples)", minimum=1)
    if reps is not None:
        reps = as_count(reps, "reps", minimum=1)
    rng = np.random.default_rng(seed)
    shape = (n,) if reps is None else (reps, n)
    hx = cf.psd_sqrt(inst.sigma_in)
    he = cf.psd_sqrt(inst.sigma_eps)
    X = rng.normal(size=shape + (hx.shape[0],)) @ hx
    Y = X @ inst.B_in.T + rng.normal(size=shape + (he.shape[0],)) @ he
    return X, Y
