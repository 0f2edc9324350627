r"""The trained-model route: torch LoRA on the real factors (B, A), float64.

Problem (6) of ``002_caa97dd52c787aec.txt`` (samples as rows, logits ``X @ W.T``):

.. math::

    \min_{B\in\mathbb R^{K\times r},\,A\in\mathbb R^{r\times d}}\
    \mathrm{CE}\big(X_{ft}(W_{pre}+BA)^\top, y\big) + \frac\lambda2\big(\|B\|_F^2+\|A\|_F^2\big).

Optimisers that solve it: L-BFGS (strong Wolfe) on the explicit penalty (fast, exact to
~1e-8), plain SGD with ``weight_decay = λ`` (the paper's optimiser; identical to the
penalty's gradient) with λ-continuation (warm starts from large to small λ) for small
λ, Adam with *coupled* weight decay.  **Decoupled AdamW does not solve (6)**: its
update is not a gradient step of any penalised objective with this λ, so
:func:`check_optimizer` refuses it.

Initialisation: standard LoRA (``B = 0``, ``A`` random) or small random.  ``B = A = 0``
is refused: it is a stationary point for every λ (both gradients vanish).
"""

from __future__ import annotations

import contextlib

from dataclasses import dataclass, field

import numpy as np

from .._device import resolve_device
from .._threads import single_threaded
from .._validation import as_float_array, as_labels
from ..errors import AssumptionError, InputError, NotConvergedError
from .closed_form import _check_reduction, check_lora_rank

__all__ = ["LoRATrainResult", "train_lora", "train_lora_path", "check_optimizer", "LBFGS_GRAD_TOL"]

#: gradient max-norm at which L-BFGS counts as converged
LBFGS_GRAD_TOL = 1e-8
#: gradient max-norm at which SGD counts as converged
SGD_GRAD_TOL = 1e-8


@dataclass
class LoRATrainResult:
    """A trained LoRA adapter.

    Attributes
    ----------
    B : ndarray of shape (K, r)
    A : ndarray of shape (r, d)
    Z : ndarray of shape (K, d)
        ``B @ A``.
    loss : float
        Final penalised objective.
    grad_norm : float
        Max-norm of the final gradient.
    converged : bool
    iterations : int
    optimizer : str
    device : str
    history : list of float
        Objective after each outer round (L-BFGS) or every 1000 steps (SGD).
    """

    B: np.ndarray
    A: np.ndarray
    Z: np.ndarray
    loss: float
    grad_norm: float
    converged: bool
    iterations: int
    optimizer: str
    device: str
    history: list = field(default_factory=list, repr=False)


def check_optimizer(opt) -> None:
    """Raise :class:`AssumptionError` if ``opt`` (a torch optimizer) is decoupled AdamW.

    AdamW's ``p ← p − ηλp − η·adam(∇CE)`` decays the weights outside the adaptive
    preconditioner, so its fixed points are not the minimisers of CE + λ/2‖·‖² (the
    problem (6) the theory describes).  Use SGD/Adam with ``weight_decay`` (coupled) or
    an explicit penalty.

    Examples
    --------
    >>> import torch
    >>> p = torch.zeros(2, requires_grad=True)
    >>> check_optimizer(torch.optim.SGD([p], lr=0.1, weight_decay=0.1))
    >>> check_optimizer(torch.optim.AdamW([p], weight_decay=0.1))
    Traceback (most recent call last):
    ...
    lintheory.errors.AssumptionError: assumption violated: the optimiser minimises CE + lam/2(|B|^2+|A|^2) (problem (6)); decoupled AdamW (weight_decay=0.1) does not: its fixed points are not minimisers of problem (6). Use SGD or Adam with coupled weight_decay, or an explicit penalty with L-BFGS
    """
    import torch

    decoupled = isinstance(opt, torch.optim.AdamW) or any(
        g.get("decoupled_weight_decay", False) for g in opt.param_groups)
    wd = max((g.get("weight_decay", 0.0) for g in opt.param_groups), default=0.0)
    if decoupled and wd > 0:
        raise AssumptionError(
            f"the optimiser minimises CE + lam/2(|B|^2+|A|^2) (problem (6)); decoupled AdamW "
            f"(weight_decay={wd:g}) does not: its fixed points are not minimisers of problem (6)",
            hint="Use SGD or Adam with coupled weight_decay, or an explicit penalty with L-BFGS")


def _setup(X_ft, y_ft, n_classes, W_pre, r, init, seed, device, init_scale, B0=None, A0=None):
    import torch

    X = as_float_array(X_ft, "X_ft", ndim=2)
    K = int(n_classes)
    y = as_labels(y_ft, X.shape[0], K, name="y_ft")
    N, d = X.shape
    Wp = np.zeros((K, d)) if W_pre is None else as_float_array(W_pre, "W_pre", ndim=2)
    if Wp.shape != (K, d):
        raise InputError(f"W_pre must have shape {(K, d)}, got {Wp.shape}")
    if int(r) < 1:
        raise InputError(f"LoRA rank r must be >= 1, got {r}")
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(int(seed))
    if B0 is not None:
        B = torch.as_tensor(np.asarray(B0, float), dtype=torch.float64).clone()
        A = torch.as_tensor(np.asarray(A0, float), dtype=torch.float64).clone()
    elif init == "zeros":
        raise InputError("init='zeros' (B = A = 0) is a stationary point of problem (6) for every lam "
                         "(both gradients vanish): training would never move. Use init='standard' "
                         "(B = 0, A random) or 'random'")
    elif init == "standard":
        B = torch.zeros(K, r, dtype=torch.float64)
        A = init_scale * torch.randn(r, d, generator=gen, dtype=torch.float64) / np.sqrt(d)
    elif init == "random":
        B = init_scale * torch.randn(K, r, generator=gen, dtype=torch.float64) / np.sqrt(r)
        A = init_scale * torch.randn(r, d, generator=gen, dtype=torch.float64) / np.sqrt(d)
    else:
        raise InputError(f"init must be 'standard', 'random' or 'zeros', got {init!r}")
    Xt = torch.as_tensor(X, dtype=torch.float64, device=dev)
    yt = torch.as_tensor(y, dtype=torch.int64, device=dev)
    Wt = torch.as_tensor(Wp, dtype=torch.float64, device=dev)
    return Xt, yt, Wt, B.to(dev).requires_grad_(True), A.to(dev).requires_grad_(True), dev, K


def train_lora(X_ft, y_ft, n_classes: int, lam: float, *, W_pre=None, r: int | None = None,
               optimizer: str = "lbfgs", reduction: str = "mean", init: str = "standard",
               init_scale: float = 1.0, lr: float = 0.5, steps: int = 20000, max_iter: int = 1000,
               grad_tol: float | None = None, device: str = "cpu", seed: int = 0,
               B0=None, A0=None, allow_decoupled: bool = False, raise_on_fail: bool = True,
               check_rank: bool = True) -> LoRATrainResult:
    r"""Train LoRA factors (B, A) on problem (6) in float64.

    Parameters
    ----------
    X_ft : ndarray of shape (N, d)
        Fine-tuning samples as rows.
    y_ft : ndarray of shape (N,)
        Labels in ``[0, K)``.
    n_classes : int
        K.
    lam : float
        λ > 0.
    W_pre : ndarray of shape (K, d), optional
        Pre-trained weights (default 0; the optimum does not depend on them when
        ``X_ft W_preᵀ = 0``).
    r : int, optional
        LoRA rank (default K̄, Assumption 2.2).  A warning is issued when ``r`` is below
        the rank of the optimum (the closed form then does not apply).
    optimizer : {"lbfgs", "sgd", "adam", "adamw"}
        ``"sgd"``: plain SGD with ``weight_decay = lam`` (the paper's optimiser), ``lr``,
        ``steps``.  ``"adam"``: Adam with coupled ``weight_decay = lam``.  ``"adamw"`` is
        refused (:func:`check_optimizer`) unless ``allow_decoupled`` (for demonstrations).
    reduction : {"mean", "sum"}
    init : {"standard", "random", "zeros"}
        ``"zeros"`` is refused (a stationary point).
    B0, A0 : ndarray, optional
        Warm start (overrides ``init``).
    grad_tol : float, optional
        Convergence threshold on the gradient max-norm (default :data:`LBFGS_GRAD_TOL`
        for L-BFGS, :data:`SGD_GRAD_TOL` otherwise).
    device : {"cpu", "cuda", "auto"}
    seed : int
    raise_on_fail : bool
        Raise :class:`NotConvergedError` when not converged (else return ``converged=False``).

    Returns
    -------
    LoRATrainResult

    Raises
    ------
    InputError
        ``lam <= 0``, ``init='zeros'``, bad shapes or labels.
    AssumptionError
        Decoupled AdamW without ``allow_decoupled``.
    NotConvergedError
        The gradient is still above ``grad_tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from lintheory.lora_margin import adapter
    >>> X, y = np.eye(8)[:6], np.repeat([0, 1, 2], 2)
    >>> res = train_lora(X, y, 5, 0.1, r=3)
    >>> bool(np.abs(res.Z - adapter(X, y, 5, 0.1)).max() < 1e-7)
    True
    """
    if not (np.isfinite(lam) and lam > 0):
        raise InputError(f"lam must be > 0 (no minimiser without the penalty on separable data), got {lam}")
    _check_reduction(reduction)
    yy = np.asarray(y_ft)
    if r is None:
        r = int(np.unique(yy).size)
    if check_rank and yy.size:
        seen, counts = np.unique(yy, return_counts=True)
        if counts.min() == counts.max() and seen.size <= n_classes:
            check_lora_rank(r, n_classes, seen.size, int(counts[0]), lam, reduction=reduction)
    Xt, yt, Wt, B, A, dev, K = _setup(X_ft, y_ft, n_classes, W_pre, r, init, seed, device, init_scale, B0, A0)
    # the matrices are tiny: intra-op threads only add synchronisation overhead
    with single_threaded(blas=False) if dev == "cpu" else contextlib.nullcontext():
        return _train(Xt, yt, Wt, B, A, dev, lam, reduction, optimizer, lr, steps, max_iter, grad_tol,
                      allow_decoupled, raise_on_fail)


def _train(Xt, yt, Wt, B, A, dev, lam, reduction, optimizer, lr, steps, max_iter, grad_tol,
           allow_decoupled, raise_on_fail):
    import torch
    import torch.nn.functional as F

    def penalised():
        logits = Xt @ (Wt + B @ A).T
        return F.cross_entropy(logits, yt, reduction=reduction) + 0.5 * lam * ((B * B).sum() + (A * A).sum())

    def gmax():
        B.grad = None
        A.grad = None
        loss = penalised()
        loss.backward()
        return float(loss.detach()), max(float(B.grad.abs().max()), float(A.grad.abs().max()))

    history = []
    its = 0
    if optimizer == "lbfgs":
        tol = LBFGS_GRAD_TOL if grad_tol is None else grad_tol
        opt = torch.optim.LBFGS([B, A], lr=1.0, max_iter=max_iter, tolerance_grad=tol, tolerance_change=0.0,
                                history_size=50, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = penalised()
            loss.backward()
            return loss

        for _ in range(4):  # torch's L-BFGS can stop on a flat step; restart it
            opt.step(closure)
            its = int(opt.state[opt._params[0]].get("n_iter", 0))
            loss, g = gmax()
            history.append(loss)
            if g <= tol:
                break
    elif optimizer in ("sgd", "adam", "adamw"):
        tol = SGD_GRAD_TOL if grad_tol is None else grad_tol
        if optimizer == "sgd":
            opt = torch.optim.SGD([B, A], lr=lr, weight_decay=lam)
        elif optimizer == "adam":
            opt = torch.optim.Adam([B, A], lr=lr, weight_decay=lam)
        else:
            opt = torch.optim.AdamW([B, A], lr=lr, weight_decay=lam)
        if not allow_decoupled:
            check_optimizer(opt)

        def ce_only():
            return F.cross_entropy(Xt @ (Wt + B @ A).T, yt, reduction=reduction)

        for t in range(int(steps)):
            opt.zero_grad()
            ce_only().backward()   # the penalty enters through weight_decay
            opt.step()
            its += 1
            if (t + 1) % 1000 == 0:
                loss, g = gmax()
                history.append(loss)
                if g <= tol:
                    break
        loss, g = gmax()
    else:
        raise InputError(f"optimizer must be 'lbfgs', 'sgd', 'adam' or 'adamw', got {optimizer!r}")
    loss, g = gmax()
    conv = g <= tol
    if not conv and raise_on_fail:
        raise NotConvergedError(f"{optimizer} stopped with gradient max-norm {g:.2e} > {tol:.1e} "
                                f"after {its} iterations (lam = {lam:g})")
    Bn, An = B.detach().cpu().numpy(), A.detach().cpu().numpy()
    return LoRATrainResult(B=Bn, A=An, Z=Bn @ An, loss=loss, grad_norm=g, converged=conv, iterations=its,
                           optimizer=optimizer, device=dev, history=history)


def train_lora_path(X_ft, y_ft, n_classes: int, lams, *, jitter: float = 1e-2, seed: int = 0, **kw) -> list:
    """Train along a λ path with warm starts (λ-continuation), largest λ first.

    Returns the results in the order of ``lams``.  For SGD the continuation is what makes
    small λ reachable in a practical number of steps (the shrinkage rate is ``lr·λ``).
    Each warm start is perturbed by ``jitter``-sized Gaussian noise: the factors of a
    rank-(K̄−1) intermediate-regime optimum are a saddle point of the low-regime problem
    (rank K̄), where an unperturbed warm start stays stuck (observed: Θ = 5.797 instead of
    4.928 for K = 3, K̄ = 2, n = 2, λ = 0.05 after a warm start from λ = 0.2).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.eye(6)[:4], np.repeat([0, 1], 2)
    >>> from lintheory.lora_margin import optimum
    >>> res = train_lora_path(X, y, 3, [0.2, 0.05])
    >>> [bool(abs(np.linalg.norm(r.Z) - optimum(3, 2, 2, l).theta) < 1e-6) for r, l in zip(res, [0.2, 0.05])]
    [True, True]
    """
    lams = np.asarray(lams, float)
    order = np.argsort(-lams)
    out = [None] * lams.size
    B0 = A0 = None
    rng = np.random.default_rng(seed)
    for i in order:
        res = train_lora(X_ft, y_ft, n_classes, float(lams[i]), B0=B0, A0=A0, seed=seed, **kw)
        out[i] = res
        if np.linalg.norm(res.Z) > 1e-6:   # a zero adapter is a stationary warm start: skip it
            B0 = res.B + jitter * rng.standard_normal(res.B.shape)
            A0 = res.A + jitter * rng.standard_normal(res.A.shape)
    return out
