r"""Independent numerical routes for the S²FT estimators (seed ``003_6b1767d2fe2301ea.txt``).

* :func:`s2ft_lstsq` / :func:`full_lstsq` -- minimum-norm least squares on the Kronecker (vectorised)
  form of the ERM, :math:`\min_V \|R - KU_SV^\top Z\|_F` with
  :math:`\operatorname{vec}(KU_SV^\top Z) = (Z^\top\otimes KU_S)\operatorname{vec}(V^\top)`, by
  ``numpy.linalg.lstsq`` (SVD-based, minimum norm).  No pseudo-inverse of ``K`` or of
  :math:`\hat\Sigma_z` is formed.
* :func:`lora_gd` -- gradient descent (fixed step, halved on any increase) on the factors ``(U, V)`` of the LoRA
  ERM (the non-convex problem the paper's closed form solves).
* :func:`whitened_population_risks` -- the whitened formulas (note §1.6), a second implementation of
  the population risks.
* :func:`random_batch` / :func:`population_risks_batch` -- the population estimators for a stack of
  instances of equal shapes with batched linear algebra (property sweeps, benchmarks).

Samples are rows: ``X`` is ``(n, p)``, ``Y`` is ``(n, q)``.
"""

from __future__ import annotations

import numpy as np

from .._threads import single_threaded
from ..errors import NotConvergedError
from . import closed_form as cf

__all__ = ["s2ft_lstsq", "full_lstsq", "lora_gd", "lora_objective", "whitened_population_risks",
           "random_batch", "population_risks_batch", "LSTSQ_RCOND"]

#: rcond of numpy.linalg.lstsq on the Kronecker system (relative to its largest singular value)
LSTSQ_RCOND = 1e-10


def _kron_lstsq(parts, KS, X, Y):
    X, Y = cf._check_data(parts, X, Y)
    Z = X @ parts.W_low.T                        # (n, d_in)
    R = (Y - X @ parts.W_pre.T).T                # (q, n): residual of the pre-trained net
    A = np.kron(Z, KS)                           # (n q, s d_in): column-major vec identity
    vt, *_ = np.linalg.lstsq(A, R.reshape(-1, order="F"), rcond=LSTSQ_RCOND)
    Vt = vt.reshape(KS.shape[1], parts.d_in, order="F")
    return parts.W_pre + KS @ Vt @ parts.W_low, Vt


def s2ft_lstsq(layers, ell, channels, X, Y):
    r"""S²FT by minimum-norm ``lstsq`` on :math:`(Z^\top\otimes KU_S)\operatorname{vec}(V^\top) \approx \operatorname{vec}(R)`.

    Returns ``(F, V)`` with ``F`` of shape ``(q, p)`` and ``V`` of shape ``(d_{ell-1}, s)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lintheory.s2ft import s2ft_fit
    >>> rng = np.random.default_rng(1)
    >>> layers = [rng.normal(size=(3, 4)), rng.normal(size=(3, 3))]
    >>> X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    >>> F, V = s2ft_lstsq(layers, 1, [0, 2], X, Y)
    >>> bool(np.allclose(F, s2ft_fit(layers, 1, [0, 2], X, Y)))
    True
    """
    parts = cf.network_parts(layers, ell)
    ch = cf._check_channels(parts, channels)
    F, Vt = _kron_lstsq(parts, parts.K[:, ch], X, Y)
    return F, Vt.T


def full_lstsq(layers, ell, X, Y):
    r"""Full-layer FT by minimum-norm ``lstsq`` on :math:`(Z^\top\otimes K)\operatorname{vec}(\Delta)`; returns ``(F, Delta)``."""
    parts = cf.network_parts(layers, ell)
    return _kron_lstsq(parts, parts.K, X, Y)


def lora_objective(parts, C, Sz, U, V) -> float:
    r""":math:`\mathcal R_n - \text{const} = \operatorname{tr}(K\Delta\hat\Sigma_z\Delta^\top K^\top) - 2\operatorname{tr}(\hat C^\top K\Delta)`, :math:`\Delta = UV^\top`."""
    KD = parts.K @ U @ V.T
    return float(np.sum((KD @ Sz) * KD) - 2 * np.sum(C * KD))


def lora_gd(layers, ell, r, X, Y, *, seed=0, init_scale: float = 1e-2, max_iter: int = 50_000,
            grad_tol: float = 1e-9):
    r"""LoRA by gradient descent on ``(U, V)`` with Armijo backtracking (numpy, float64).

    Minimises :math:`\frac1n\sum_i\|y_i - (W^{pre} + KUV^\top W_{low})x_i\|^2` from
    :math:`U_0 = 0`, :math:`V_0 \sim \text{init\_scale}\cdot N(0, 1)` (the paper's LoRA initialisation).
    With ``U_0 = 0`` the iterates keep ``U`` in the row space of ``K`` and ``V``'s drift in the range of
    :math:`\hat\Sigma_z`, so the limit matches the minimum-norm estimator on everything the risk sees.

    Returns
    -------
    F : ndarray (q, p)
    U : ndarray (d_ell, r)
    V : ndarray (d_{ell-1}, r)
    info : dict
        ``iterations``, ``grad_norm``, ``objective``.

    Raises
    ------
    NotConvergedError
        Gradient norm still above ``grad_tol`` · ``||K^T C|| (1 + ||K^T C||^{1/2})`` after ``max_iter`` steps.
    """
    parts = cf.network_parts(layers, ell)
    r = cf._check_rank(parts, r)
    C, Sz = cf.sample_stats(parts, X, Y)
    rng = np.random.default_rng(seed)
    U = np.zeros((parts.d_ell, r))
    V = init_scale * rng.normal(size=(parts.d_in, r))
    KtK = parts.K.T @ parts.K
    KtC = parts.K.T @ C
    # scale of the factor gradient at the solution's size; the saddle at U = 0 (f = 0) is not accepted
    scale = float(np.linalg.norm(KtC)) * (1.0 + float(np.linalg.norm(KtC)) ** 0.5)
    need_descent = float(np.linalg.norm(KtC)) > 0.0
    # fixed step ~ 1/L of the factorised objective near a solution of size ||K^T C||; halved
    # whenever a step increases the objective (never increased again: no edge-of-stability bouncing)
    lr = 0.5 / ((np.linalg.norm(KtK, 2) * np.linalg.norm(Sz, 2) + 1e-300) * (1.0 + float(np.linalg.norm(KtC))))
    f = lora_objective(parts, C, Sz, U, V)
    gnorm = np.inf
    for it in range(1, max_iter + 1):
        G = 2 * (KtK @ U @ V.T @ Sz - KtC)         # gradient w.r.t. Delta
        gU, gV = G @ V, G.T @ U
        gnorm = float(np.sqrt(np.sum(gU ** 2) + np.sum(gV ** 2)))
        if gnorm <= grad_tol * scale and (f < 0.0 or not need_descent):
            break
        while True:
            U1, V1 = U - lr * gU, V - lr * gV
            f1 = lora_objective(parts, C, Sz, U1, V1)
            if f1 <= f + 1e-13 * (1.0 + abs(f)) or lr < 1e-18:
                break
            lr *= 0.5
        U, V, f = U1, V1, f1
    else:
        raise NotConvergedError(f"LoRA gradient descent: gradient norm {gnorm:.3g} > "
                                f"{grad_tol:g}·scale after {max_iter} steps")
    F = parts.W_pre + parts.K @ U @ V.T @ parts.W_low
    return F, U, V, {"iterations": it, "grad_norm": gnorm, "objective": f}


def whitened_population_risks(inst) -> dict:
    r"""Population ID and OOD excess risks from the whitened forms (note §1.6), ``{name: (E_in, E_out)}``.

    :math:`X_o = (B^{(o)}-W^{pre})\Sigma_o^{1/2}`, :math:`Y_i = D\Sigma_i^{1/2}`,
    :math:`P_i = (W_{low}\Sigma_i^{1/2})^\dagger W_{low}\Sigma_i^{1/2}`, :math:`G = (W_{low}\Sigma_i^{1/2})^\dagger W_{low}\Sigma_o^{1/2}`:
    full :math:`\|Y_i-P'Y_iP_i\|^2`, :math:`\|X_o-P'Y_iG\|^2`; S²FT the same with :math:`P''_S`; LoRA with
    :math:`\mathrm{SVD}_r(P'Y_iP_i)`.
    """
    parts = inst.parts
    hi, ho = cf.psd_sqrt(inst.sigma_in), cf.psd_sqrt(inst.sigma_out)
    Wi = parts.W_low @ hi
    Wi_p = cf.pinv(Wi, "W_low Sigma_in^{1/2}")
    Pi, G = Wi_p @ Wi, Wi_p @ parts.W_low @ ho
    Yi = (inst.B_in - parts.W_pre) @ hi
    Xo = (inst.B_out - parts.W_pre) @ ho
    P1 = cf.projector(parts.K, "K")
    P2 = cf.projector(parts.K[:, inst.channels], "K U_S")
    U, s, Vt = np.linalg.svd(P1 @ Yi @ Pi, full_matrices=False)
    Mr = (U[:, :inst.r] * s[:inst.r]) @ Vt[:inst.r]
    sq = lambda M: float(np.sum(M ** 2))  # noqa: E731
    return {
        "pre": (sq(Yi), sq(Xo)),
        "full": (sq(Yi - P1 @ Yi @ Pi), sq(Xo - P1 @ Yi @ G)),
        "s2ft": (sq(Yi - P2 @ Yi @ Pi), sq(Xo - P2 @ Yi @ G)),
        "lora": (sq(Yi - Mr), sq(Xo - Mr @ G)),
    }


# ----------------------------------------------------------------------------- batched population route
def random_batch(seed, n_instances: int, widths, ell: int, s: int, r: int, *, factored: bool = True,
                 shift_scale: float = 1.0) -> dict:
    """A stack of ``n_instances`` random instances with the same ``widths = [p, d_1, ..., q]``.

    Returns a dict of arrays: ``layers`` (list of ``(N, d_j, d_{j-1})``), ``B_in``, ``B_out`` ``(N, q, p)``,
    ``sigma`` ``(N, p, p)`` (no covariate shift), ``mask`` ``(N, d_ell)`` (the channel sets), and ``ell``, ``r``.
    """
    rng = np.random.default_rng(seed)
    N = int(n_instances)
    widths = [int(w) for w in widths]
    layers = [rng.normal(size=(N, widths[j + 1], widths[j])) / np.sqrt(widths[j]) for j in range(len(widths) - 1)]
    p, q = widths[0], widths[-1]
    d_l, d_in = widths[ell], widths[ell - 1]
    Kb, Wl, Wlow = _batch_parts(layers, ell)
    Wpre = Kb @ Wl @ Wlow
    Q, _ = np.linalg.qr(rng.normal(size=(N, p, p)))
    sigma = (Q * rng.uniform(0.3, 3.0, size=(N, 1, p))) @ np.swapaxes(Q, 1, 2)
    if factored:
        Dt = rng.normal(size=(N, d_l, d_in))
        B_in = Wpre + Kb @ Dt @ Wlow
    else:
        B_in = Wpre + rng.normal(size=(N, q, p))
    B_out = B_in + shift_scale * rng.normal(size=(N, q, p)) / np.sqrt(p)
    order = np.argsort(rng.random((N, d_l)), axis=1)
    mask = np.zeros((N, d_l), bool)
    np.put_along_axis(mask, order[:, :s], True, axis=1)
    return {"layers": layers, "ell": ell, "r": r, "B_in": B_in, "B_out": B_out, "sigma": sigma, "mask": mask}


def _batch_parts(layers, ell):
    N = layers[0].shape[0]
    p = layers[0].shape[2]
    Wlow = np.broadcast_to(np.eye(p), (N, p, p)).copy()
    for W in layers[:ell - 1]:
        Wlow = W @ Wlow
    d_l = layers[ell - 1].shape[1]
    K = np.broadcast_to(np.eye(d_l), (N, d_l, d_l)).copy()
    for W in layers[ell:]:
        K = W @ K
    return K, layers[ell - 1], Wlow


def _b_proj(M):
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    keep = s > cf.RANK_RTOL * s[..., :1]
    kept_min = np.where(keep, s, np.inf).min(axis=-1)
    return (U * keep[..., None, :]) @ np.swapaxes(U, -1, -2), s[..., 0] / kept_min


def _b_psd(S, power):
    w, Q = np.linalg.eigh((S + np.swapaxes(S, -1, -2)) / 2)
    keep = w > cf.RANK_RTOL * w[..., -1:]
    wp = np.zeros_like(w)
    wp[keep] = w[keep] ** power
    kept_min = np.where(keep, w, np.inf).min(axis=-1)
    return (Q * wp[..., None, :]) @ np.swapaxes(Q, -1, -2), w[..., -1] / kept_min


def population_risks_batch(batch: dict) -> dict:
    r"""Population ID/OOD excess risks of pre / full / S²FT / LoRA for a stack of instances.

    Same formulas and rank threshold as :mod:`~lintheory.s2ft.closed_form`, with numpy's stacked
    ``svd``/``eigh``.  Returns arrays of shape ``(N,)``: ``E_in_<m>``, ``E_out_<m>`` for ``m`` in
    ``pre, full, s2ft, lora``, ``shift`` (label shift), ``eps2`` (minimal ε² of Assumption 4.1), ``cond``
    (largest condition number among K, K U_S, Σ_z; compare with ``COND_MAX``), ``gap`` (relative
    eigengap of M at r, ``inf`` when ``r >= rank M``).
    """
    K, Wl, Wlow = _batch_parts(batch["layers"], batch["ell"])
    Wpre = K @ Wl @ Wlow
    S, Bi, Bo, r = batch["sigma"], batch["B_in"], batch["B_out"], batch["r"]
    T = lambda M: np.swapaxes(M, -1, -2)  # noqa: E731
    C = (Bi - Wpre) @ S @ T(Wlow)
    Sz = Wlow @ S @ T(Wlow)
    Sz_p, c1 = _b_psd(Sz, -1.0)
    A_p, _ = _b_psd(Sz, -0.5)
    P1, c2 = _b_proj(K)
    P2, c3 = _b_proj(K * batch["mask"][:, None, :])
    F_full = Wpre + P1 @ C @ Sz_p @ Wlow
    F_s2ft = Wpre + P2 @ C @ Sz_p @ Wlow
    U, s, Vt = np.linalg.svd(P1 @ C @ A_p, full_matrices=False)
    rank_M = (s > cf.RANK_RTOL * s[:, :1]).sum(axis=1)
    Mr = (U[:, :, :r] * s[:, None, :r]) @ Vt[:, :r]
    if r < s.shape[1]:
        gap = np.where(r < rank_M, (s[:, r - 1] - s[:, r]) / s[:, 0], np.inf)
    else:
        gap = np.full(s.shape[0], np.inf)
    F_lora = Wpre + Mr @ A_p @ Wlow

    def risk(F, B):
        E = B - F
        return np.einsum("nij,njk,nik->n", E, S, E)

    out = {"shift": risk(Bi, Bo), "cond": np.maximum(np.maximum(c1, c2), c3), "gap": gap}
    for m, F in (("pre", Wpre), ("full", F_full), ("s2ft", F_s2ft), ("lora", F_lora)):
        out[f"E_in_{m}"] = risk(F, Bi)
        out[f"E_out_{m}"] = risk(F, Bo)
    h, _ = _b_psd(S, 0.5)
    out["eps2"] = np.sum((P2 @ (Bo - Bi) @ h) ** 2, axis=(1, 2)) / out["E_out_pre"]
    return out


# ----------------------------------------------------------------------------- Monte Carlo (batched)
def monte_carlo_risks(inst, n: int, reps: int, seed, *, methods=("full", "s2ft", "lora"),
                      chunk: int = 50, backend: str = "numpy", device: str = "cpu") -> dict:
    r"""ID and OOD excess risks of the finite-n estimators over ``reps`` independent Gaussian samples.

    Draws :math:`x\sim N(0,\Sigma^{(i)}_x)`, :math:`\epsilon\sim N(0,\Sigma_\epsilon)`, ``n`` pairs per
    repetition, fits every method in ``methods`` with stacked linear algebra (same formulas and rank
    threshold as :mod:`~lintheory.s2ft.closed_form`) and returns ``{"E_in_<m>": (reps,), "E_out_<m>": (reps,)}``.
    ``backend="torch"`` runs the same computation in float64 torch on ``device`` (``"cuda"`` when present).
    """
    if backend == "torch":
        with single_threaded(blas=False):   # small Gram matrices: threads only add contention
            return _mc_torch(inst, n, reps, seed, methods, chunk, device)
    with single_threaded(torch=False):
        return _mc_numpy(inst, n, reps, seed, methods, chunk)


def _mc_numpy(inst, n, reps, seed, methods, chunk):
    parts = inst.parts
    rng = np.random.default_rng(seed)
    hx, he = cf.psd_sqrt(inst.sigma_in), cf.psd_sqrt(inst.sigma_eps)
    P1 = cf.projector(parts.K, "K")
    P2 = cf.projector(parts.K[:, inst.channels], "K U_S")
    proj = np.hstack([parts.W_low.T, (inst.B_in - parts.W_pre).T])      # (p, d_in + q)
    out = {f"E_{d}_{m}": [] for m in methods for d in ("in", "out")}
    done = 0
    while done < reps:
        b = min(chunk, reps - done)
        # one 2-D gemm for [Z | R]: Z = X W_low^T, R = Y - X W_pre^T = X D^T + noise
        X = _maybe_mul(rng.standard_normal((b * n, parts.p)), hx)
        ZR = X @ proj
        ZR[:, parts.d_in:] += _maybe_mul(rng.standard_normal((b * n, parts.q)), he)
        ZR = ZR.reshape(b, n, -1)
        G = np.stack([ZR[i].T @ ZR[i] for i in range(b)]) / n     # one BLAS Gram per repetition
        Sz = G[:, :parts.d_in, :parts.d_in]
        C = G[:, parts.d_in:, :parts.d_in]
        w, Q = np.linalg.eigh(Sz)
        keep = w > cf.RANK_RTOL * w[:, -1:]
        wi = np.zeros_like(w)
        wi[keep] = 1.0 / w[keep]
        wh = np.sqrt(wi)
        Szp = (Q * wi[:, None, :]) @ np.swapaxes(Q, 1, 2)
        Ap = (Q * wh[:, None, :]) @ np.swapaxes(Q, 1, 2)
        fits = {}
        if "full" in methods:
            fits["full"] = parts.W_pre + P1 @ C @ Szp @ parts.W_low
        if "s2ft" in methods:
            fits["s2ft"] = parts.W_pre + P2 @ C @ Szp @ parts.W_low
        if "lora" in methods:
            U, s, Vt = np.linalg.svd(P1 @ C @ Ap, full_matrices=False)
            r = inst.r
            fits["lora"] = parts.W_pre + ((U[:, :, :r] * s[:, None, :r]) @ Vt[:, :r]) @ Ap @ parts.W_low
        for m, F in fits.items():
            for d, B, S in (("in", inst.B_in, inst.sigma_in), ("out", inst.B_out, inst.sigma_out)):
                E = B - F
                out[f"E_{d}_{m}"].append(np.einsum("nij,jk,nik->n", E, S, E))
        done += b
    return {k: np.concatenate(v) for k, v in out.items()}


def _mc_torch(inst, n, reps, seed, methods, chunk, device):
    import torch

    parts = inst.parts
    dt = torch.float64
    T = lambda a: torch.as_tensor(np.asarray(a), dtype=dt, device=device)  # noqa: E731
    gen = torch.Generator(device=device).manual_seed(int(seed) % (2**63))
    hx, he = T(cf.psd_sqrt(inst.sigma_in)), T(cf.psd_sqrt(inst.sigma_eps))
    P1 = T(cf.projector(parts.K, "K"))
    P2 = T(cf.projector(parts.K[:, inst.channels], "K U_S"))
    Wl, Wp = T(parts.W_low), T(parts.W_pre)
    Bi, Bo, Si, So = T(inst.B_in), T(inst.B_out), T(inst.sigma_in), T(inst.sigma_out)
    proj = T(np.hstack([parts.W_low.T, (inst.B_in - parts.W_pre).T]))
    out = {f"E_{d}_{m}": [] for m in methods for d in ("in", "out")}
    done = 0
    while done < reps:
        b = min(chunk, reps - done)
        X = torch.randn(b * n, parts.p, generator=gen, dtype=dt, device=device) @ hx
        ZR = X @ proj
        ZR[:, parts.d_in:] += torch.randn(b * n, parts.q, generator=gen, dtype=dt, device=device) @ he
        ZR = ZR.reshape(b, n, -1)
        G = ZR.transpose(1, 2) @ ZR / n
        Sz = G[:, :parts.d_in, :parts.d_in]
        C = G[:, parts.d_in:, :parts.d_in]
        w, Q = torch.linalg.eigh(Sz)
        keep = w > cf.RANK_RTOL * w[:, -1:]
        wi = torch.where(keep, 1.0 / torch.where(keep, w, torch.ones_like(w)), torch.zeros_like(w))
        Szp = (Q * wi[:, None, :]) @ Q.transpose(1, 2)
        Ap = (Q * wi.sqrt()[:, None, :]) @ Q.transpose(1, 2)
        fits = {}
        if "full" in methods:
            fits["full"] = Wp + P1 @ C @ Szp @ Wl
        if "s2ft" in methods:
            fits["s2ft"] = Wp + P2 @ C @ Szp @ Wl
        if "lora" in methods:
            U, s, Vh = torch.linalg.svd(P1 @ C @ Ap, full_matrices=False)
            r = inst.r
            fits["lora"] = Wp + ((U[:, :, :r] * s[:, None, :r]) @ Vh[:, :r]) @ Ap @ Wl
        for m, F in fits.items():
            for d, B, S in (("in", Bi, Si), ("out", Bo, So)):
                E = B - F
                out[f"E_{d}_{m}"].append(torch.einsum("nij,jk,nik->n", E, S, E).cpu().numpy())
        done += b
    return {k: np.concatenate(v) for k, v in out.items()}


def _maybe_mul(G, h):
    """``G @ h``, skipping the product when ``h`` is a multiple of the identity (isotropic draws)."""
    if np.allclose(h, h[0, 0] * np.eye(h.shape[0]), rtol=0, atol=0):
        return G if h[0, 0] == 1.0 else G * h[0, 0]
    return G @ h
