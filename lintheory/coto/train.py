r"""The trained-model route: torch LoRA chains trained vanilla or with CoTo (float64).

Seed ``004_bb9aedc7a8b2e8cb.txt``, Algorithm 1 and Eqs. (1)–(4).  The model is a chain of
``L`` frozen layers with one LoRA adapter each,

.. math::

    f_\delta(x) = \sigma_L\big((W_L + \delta_L s_L B_LA_L)\cdots\sigma_1((W_1+\delta_1 s_1B_1A_1)x)\big),

σ = identity (deep linear) or ReLU between layers.  Rows are samples:
``H ← H @ (W + δ s B A).T``.  At step ``t`` (1-based) CoTo draws one mask per optimizer step,
:math:`\delta_i\sim\mathrm{Bernoulli}(p(t))` (the ``"official"`` schedule redraws all-off
masks), and inactive adapters are bypassed (no ``1/p`` rescaling).  With
``skip_inactive=True`` (PyTorch/HF behaviour) an inactive adapter's gradient is ``None``
and Adam skips it entirely; with ``False`` it receives a zero gradient, so Adam's momentum
keeps moving it.

Also :func:`train_additive_gains`: additive adapters :math:`\hat y = W_0x + \sum_i\delta_i c_i\theta_ix`
with heterogeneous gains ``c_i``, trained by full-batch gradient descent from θ = 0.  Vanilla
GD gives :math:`\theta_i(t) = c_i S(t)` for a common ``S(t)``, so :math:`u_i = c_i\theta_i\propto c_i^2`
and the Shapley shares are :math:`c_i^2/\sum_k c_k^2`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._device import resolve_device
from .._threads import single_threaded
from .._validation import as_float_array
from ..errors import InputError
from .closed_form import quadratic_game_shapley
from .masks import losses_all_masks, size_averages
from .merging import ensemble_lora, fuse_lora, keep_mask, loss_barrier, mask_index, pruning_patterns
from .schedules import SCHEDULES, activation_probability
from .shapley import contribution_shares, shapley_from_table



__all__ = ["LoraTrainResult", "train_lora_chains", "train_lora_chain", "train_additive_gains", "chain_metrics",
           "fusion_path", "distance_from_init"]


@dataclass
class LoraTrainResult:
    """Trained adapters of a chain.

    Attributes
    ----------
    A, B : list of ndarray, shapes (r, d_in), (d_out, r)
    A0, B0 : list of ndarray
        The initial factors.
    scale : ndarray of shape (L,)
        Per-layer LoRA scaling ``s_i``.
    history : dict
        ``loss`` (training loss of the sampled mask per step), ``p`` per step, ``active``
        (fraction of adapters on per step), ``masks`` (steps, L) bool.
    """

    A: list
    B: list
    A0: list
    B0: list
    scale: np.ndarray
    history: dict = field(default_factory=dict)

    @property
    def dW(self) -> list:
        return [s * b @ a for s, b, a in zip(self.scale, self.B, self.A)]


def _schedule_p(method, schedule, t, T):
    if method == "vanilla":
        return 1.0
    return activation_probability(t, T, schedule=schedule)


def _p_table(runs, T):
    """p(t) for t = 1..T for every run, shape (R, T) (vanilla: ones)."""
    t = np.arange(1, T + 1, dtype=np.float64)
    return np.stack([np.ones(T) if r["method"] == "vanilla" else
                     np.asarray(activation_probability(t, T, schedule=r["schedule"])) for r in runs])


def _draw_masks(ptab, t, runs, rngs, L):
    """One mask per run at step t (1-based): δ_i ~ Bernoulli(p), all-off redrawn for the official schedule."""
    masks = np.ones((len(runs), L), dtype=bool)
    for k, (r, g) in enumerate(zip(runs, rngs)):
        p = ptab[k, t - 1]
        if p < 1.0:
            m = g.random(L) < p
            while r["schedule"] == "official" and not m.any():
                m = g.random(L) < p
            masks[k] = m
    return masks


def train_lora_chains(W, X, Y, *, runs, rank: int = 2, scale=1.0, steps: int = 1000, lr: float = 5e-3,
                      optimizer: str = "adam", cosine: bool = True, batch_size: int | None = None,
                      skip_inactive: bool = True, activation=None, device: str = "cpu") -> list:
    r"""Train several independent LoRA chains at once (one batched torch model), vanilla or CoTo.

    Every run has its own adapter initialisation (A ~ U(±1/sqrt(d)), B = 0), its own
    mask stream (one mask per optimizer step, Algorithm 1) and its own optimizer state;
    batching only shares the Python overhead.  Adam is implemented per element with
    PyTorch's semantics, so ``skip_inactive=True`` reproduces ``grad=None`` for bypassed
    adapters exactly (no moment update, no step-count increment for that adapter), and
    ``skip_inactive=False`` feeds them zero gradients (momentum keeps moving them).

    Parameters
    ----------
    W : list of ndarray, each (d, d)
        Frozen square weights of equal width (paper convention).
    X : ndarray of shape (n, d); Y : ndarray of shape (n, d)
    runs : list of dict
        Each ``{"method": "vanilla"|"coto", "schedule": "paper"|"official"|"exponential"|"sine",
        "seed": int}`` (``schedule`` optional, default ``"paper"``).
    rank : int
    scale : float or ndarray of shape (L,)
        LoRA scaling per layer (a gain knob).
    steps, lr : int, float
    optimizer : {"adam", "sgd"}
    cosine : bool
        Cosine decay of the learning rate to ``lr * 1e-3``.
    batch_size : int, optional
        Mini-batch size (default full batch); each run draws its own batches.
    skip_inactive : bool
    activation : None or "relu" (between layers)
    device : {"cpu", "cuda", "auto"}

    Returns
    -------
    list of LoraTrainResult, in the order of ``runs``.

    Examples
    --------
    >>> I = np.eye(2); X = np.eye(2)
    >>> res, = train_lora_chains([I, I], X, 2 * X, runs=[{"method": "vanilla", "seed": 0}], steps=200, lr=0.05)
    >>> bool(np.abs(X @ (I + res.dW[0]).T @ (I + res.dW[1]).T - 2 * X).max() < 0.05)
    True
    """
    import torch

    if optimizer not in ("adam", "sgd"):
        raise InputError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if int(steps) < 1 or not lr > 0 or int(rank) < 1:
        raise InputError(f"steps, lr and rank must be positive, got {steps}, {lr}, {rank}")
    Ws = [as_float_array(w, f"W[{i}]", ndim=2) for i, w in enumerate(W)]
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=2)
    d = X.shape[1]
    if any(w.shape != (d, d) for w in Ws) or Y.shape != X.shape:
        raise InputError(f"the batched trainer needs square layers of width {d} = X.shape[1] and Y of "
                         f"shape {X.shape}; got {[w.shape for w in Ws]} and Y {Y.shape}")
    if activation not in (None, "linear", "relu"):
        raise InputError(f"activation must be None or 'relu', got {activation!r}")
    runs = [{"schedule": "paper", **r} for r in runs]
    for r in runs:
        if r["method"] not in ("vanilla", "coto") or r["schedule"] not in SCHEDULES:
            raise InputError(f"bad run {r}: method in ('vanilla', 'coto'), schedule in {SCHEDULES}")
    L, R, n, T = len(Ws), len(runs), X.shape[0], int(steps)
    scales = np.broadcast_to(as_float_array(scale, "scale"), (L,)).astype(np.float64).copy()
    rngs = [np.random.default_rng(r["seed"]) for r in runs]
    A0 = np.stack([np.stack([g.uniform(-1, 1, (rank, d)) / np.sqrt(d) for _ in range(L)]) for g in rngs])
    B0 = np.zeros((R, L, d, rank))
    dev = torch.device(resolve_device(device))
    t64 = dict(dtype=torch.float64, device=dev)
    Wt = torch.tensor(np.stack(Ws), **t64)
    st = torch.tensor(scales, **t64)
    A = torch.tensor(A0, **t64, requires_grad=True)
    B = torch.tensor(B0, **t64, requires_grad=True)
    Xt, Yt = torch.tensor(X, **t64), torch.tensor(Y, **t64)
    state = {k: torch.zeros_like(v) for k, v in (("mA", A), ("vA", A), ("mB", B), ("vB", B))}
    count = torch.zeros((R, L), **t64)
    b1, b2, eps = 0.9, 0.999, 1e-8
    ptab = _p_table(runs, T)
    hist = {"loss": np.empty((R, T)), "p": ptab, "active": np.empty((R, T)),
            "masks": np.empty((R, T, L), dtype=bool)}
    with single_threaded():
        for t in range(1, T + 1):
            masks = _draw_masks(ptab, t, runs, rngs, L)
            hist["active"][:, t - 1] = masks.mean(axis=1)
            hist["masks"][:, t - 1] = masks
            if batch_size is None or batch_size >= n:
                xb, yb = Xt.expand(R, n, d), Yt.expand(R, n, d)
            else:
                idx = torch.as_tensor(np.stack([g.choice(n, int(batch_size), replace=False) for g in rngs]),
                                      device=dev)
                xb, yb = Xt[idx], Yt[idx]
            mt = torch.tensor(masks.astype(np.float64), **t64)
            H = xb
            for i in range(L):
                out = H @ Wt[i].T + (mt[:, i] * st[i])[:, None, None] * (
                    (H @ A[:, i].transpose(-1, -2)) @ B[:, i].transpose(-1, -2))
                H = torch.relu(out) if (activation == "relu" and i < L - 1) else out
            per_run = ((H - yb) ** 2).sum(dim=(-1, -2)) / xb.shape[1]
            hist["loss"][:, t - 1] = per_run.detach().cpu().numpy()
            if A.grad is not None:
                A.grad = None
                B.grad = None
            per_run.sum().backward()
            lr_t = lr * 1e-3 + 0.5 * (lr - lr * 1e-3) * (1 + np.cos(np.pi * (t - 1) / T)) if cosine else lr
            with torch.no_grad():
                upd = mt if skip_inactive else torch.ones_like(mt)
                if optimizer == "sgd":
                    A -= lr_t * A.grad
                    B -= lr_t * B.grad
                    continue
                count += upd
                c = torch.clamp(count, min=1.0)
                bc1 = (1 - b1 ** c)[:, :, None, None]
                bc2 = (1 - b2 ** c)[:, :, None, None]
                u4 = upd[:, :, None, None]
                for P, g, m, v in ((A, A.grad, state["mA"], state["vA"]), (B, B.grad, state["mB"], state["vB"])):
                    m.copy_(u4 * (b1 * m + (1 - b1) * g) + (1 - u4) * m)
                    v.copy_(u4 * (b2 * v + (1 - b2) * g * g) + (1 - u4) * v)
                    P -= lr_t * u4 * (m / bc1) / (torch.sqrt(v / bc2) + eps)
    An, Bn = A.detach().cpu().numpy(), B.detach().cpu().numpy()
    return [LoraTrainResult(list(An[k]), list(Bn[k]), list(A0[k]), list(B0[k]), scales.copy(),
                            {key: val[k] for key, val in hist.items()}) for k in range(R)]


def train_lora_chain(W, X, Y, *, method: str = "coto", schedule: str = "paper", seed: int = 0,
                     **kwargs) -> LoraTrainResult:
    """One run of :func:`train_lora_chains` (same keyword arguments).

    Examples
    --------
    >>> I = np.eye(2); res = train_lora_chain([I, I], np.eye(2), 2 * np.eye(2), steps=10, seed=1)
    >>> len(res.A), res.A[0].shape, res.history["p"].shape
    (2, (2, 2), (10,))
    """
    return train_lora_chains(W, X, Y, runs=[{"method": method, "schedule": schedule, "seed": seed}],
                             **kwargs)[0]


def train_additive_gains(W0, X, Y, gains, *, runs, steps: int = 1000, lr: float = 0.02,
                         device: str = "cpu") -> list:
    r"""Full-batch GD on additive adapters with gains: :math:`\hat Y = XW_0^\top + \sum_i\delta_ic_iX\theta_i^\top`.

    All runs are trained at once (independent parameters and mask streams), θ_i(0) = 0,
    plain gradient descent without momentum.

    Parameters
    ----------
    W0 : ndarray of shape (d_out, d_in); X : ndarray (n, d_in); Y : ndarray (n, d_out)
    gains : ndarray of shape (L,), positive
    runs : list of dict ``{"method": "vanilla"|"coto", "schedule": ..., "seed": int}``
    steps, lr : int, float

    Returns
    -------
    list of dict, one per run, with ``u`` (L, n, d_out): the adapters' outputs
    :math:`c_iX\theta_i^\top`; ``r`` (n, d_out): the residual target :math:`Y - XW_0^\top`;
    ``loss`` (final all-on MSE); ``shapley`` (L,): exact Shapley values of the loss game
    :math:`v(R)=\tfrac1n\|r-\sum_{i\in R}u_i\|^2`; ``shares`` (L,).

    Examples
    --------
    >>> X = np.eye(2)
    >>> out, = train_additive_gains(np.zeros((2, 2)), X, X, [1.0, 2.0], runs=[{"method": "vanilla", "seed": 0}],
    ...                             steps=400, lr=0.1)
    >>> np.round(out["shares"], 6).tolist()
    [0.2, 0.8]
    """
    import torch

    W0 = as_float_array(W0, "W0", ndim=2)
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=2)
    c = as_float_array(gains, "gains", ndim=1)
    if np.any(c <= 0):
        raise InputError(f"gains must be positive, got {c}")
    runs = [{"schedule": "paper", **r} for r in runs]
    for r in runs:
        if r["method"] not in ("vanilla", "coto") or r["schedule"] not in SCHEDULES:
            raise InputError(f"bad run {r}: method in ('vanilla', 'coto'), schedule in {SCHEDULES}")
    L, R, n, T = c.size, len(runs), X.shape[0], int(steps)
    dev = torch.device(resolve_device(device))
    t64 = dict(dtype=torch.float64, device=dev)
    rngs = [np.random.default_rng(r["seed"]) for r in runs]
    Xt, Rt = torch.tensor(X, **t64), torch.tensor(Y - X @ W0.T, **t64)
    theta = torch.zeros((R, L) + W0.shape, **t64, requires_grad=True)
    ct = torch.tensor(c, **t64)
    ptab = _p_table(runs, T)
    with single_threaded():
        for t in range(1, T + 1):
            masks = _draw_masks(ptab, t, runs, rngs, L)
            mt = torch.tensor(masks.astype(np.float64), **t64)
            U = Xt @ ((mt * ct)[:, :, None, None] * theta).sum(dim=1).transpose(-1, -2)
            loss = ((Rt - U) ** 2).sum() / n
            theta.grad = None
            loss.backward()
            with torch.no_grad():
                theta -= lr * theta.grad
    th = theta.detach().cpu().numpy()
    r_ = Y - X @ W0.T
    out = []
    for k in range(R):
        u = np.einsum("l,nd,lod->lno", c, X, th[k])
        phi = quadratic_game_shapley(r_, u) / n
        out.append({"u": u, "r": r_, "theta": th[k], "loss": float(np.sum((r_ - u.sum(0)) ** 2) / n),
                    "shapley": phi, "shares": contribution_shares(phi, allow_mixed_signs=True)})
    return out


def chain_metrics(W, dW, X, Y, *, activation=None) -> dict:
    """Exact evaluation of a trained chain over all ``2^L`` adapter subsets.

    Returns
    -------
    dict with ``full`` (all adapters on), ``base`` (all off), ``patterns`` (loss per
    structured-pruning pattern, :func:`~lintheory.coto.merging.pruning_patterns`),
    ``pruned_mean`` (mean over the five non-trivial patterns), ``by_removed`` (L+1,):
    average loss over all subnetworks with ``k`` adapters removed, ``shapley`` (L,) of the
    loss game, and ``shares`` (shares of the total; sign-invariant).
    """
    tab = losses_all_masks(W, dW, X, Y, activation=activation)
    L = len(W)
    pats = {k: float(tab[mask_index(keep_mask(L, v))]) for k, v in pruning_patterns(L).items()}
    phi = shapley_from_table(tab)
    return {"full": float(tab[-1]), "base": float(tab[0]), "patterns": pats,
            "pruned_mean": float(np.mean([v for k, v in pats.items() if k != "all"])),
            "by_removed": size_averages(tab)[::-1], "shapley": phi,
            "shares": contribution_shares(phi, allow_mixed_signs=True), "table": tab}


def fusion_path(W, res1: LoraTrainResult, res2: LoraTrainResult, X, Y, *, lams=None, activation=None) -> dict:
    """Loss along the linear fusion path and the ensemble path between two trained adapter sets.

    Returns
    -------
    dict with ``lams``, ``fusion`` and ``ensemble`` losses (all adapters on), and their
    barriers (:func:`~lintheory.coto.merging.loss_barrier`).
    """
    from .masks import forward, loss_values

    lams = np.linspace(0, 1, 11) if lams is None else np.asarray(lams, dtype=np.float64)
    L = len(W)
    on = np.ones(L, dtype=bool)
    out = {"lams": lams, "fusion": [], "ensemble": []}
    for lam in lams:
        for kind, fn in (("fusion", fuse_lora), ("ensemble", ensemble_lora)):
            dW = [s * fn(b1, a1, b2, a2, lam) for s, b1, a1, b2, a2 in
                  zip(res1.scale, res1.B, res1.A, res2.B, res2.A)]
            out[kind].append(float(loss_values(forward(W, dW, X, on, activation=activation), Y)))
    for kind in ("fusion", "ensemble"):
        out[kind] = np.array(out[kind])
        out[kind + "_barrier"] = loss_barrier(lams, out[kind])
    return out


def distance_from_init(res: LoraTrainResult) -> float:
    """Euclidean distance of all adapter factors (A and B, concatenated) from their initialisation."""
    return float(np.sqrt(sum(np.sum((a - a0) ** 2) for a, a0 in zip(res.A, res.A0))
                         + sum(np.sum((b - b0) ** 2) for b, b0 in zip(res.B, res.B0))))
