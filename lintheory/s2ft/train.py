r"""The trained-model route: a torch deep linear network with an adapter on layer ``ell``.

The pre-trained layers ``[W_1..W_L]`` are frozen; layer ``ell`` becomes :math:`W_\ell + \Delta` with

* ``method="lora"``: :math:`\Delta = UV^\top`, ``U`` (d_ell × r) initialised at 0 and ``V`` (d_{ell-1} × r)
  at ``init_scale · N(0, 1)`` (the LoRA initialisation);
* ``method="s2ft"``: rows ``channels`` of :math:`\Delta` trainable (:math:`\Delta = U_SV^\top`), initialised at 0;
* ``method="full"``: all of :math:`\Delta`, initialised at 0.

The loss is the empirical risk :math:`\frac1n\sum_i\|y_i - f(x_i)\|^2` (samples are rows: ``X`` (n, p),
``Y`` (n, q)), minimised by full-batch gradient descent (``optimizer="gd"``) or Adam, in float64.  GD from
zero keeps the S²FT / full update in the row space of the data, so it converges to the *minimum-norm*
ERM of :mod:`~lintheory.s2ft.closed_form` (Lemmas F.9, F.12 assume exactly this implicit bias); Adam's
coordinate-wise scaling breaks it, which matters only when the ERM is not unique (``n < d_{ell-1}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._device import resolve_device
from .._threads import single_threaded
from ..errors import InputError, NotConvergedError
from . import closed_form as cf

__all__ = ["TrainResult", "train_adapter"]


@dataclass
class TrainResult:
    """Outcome of :func:`train_adapter`.

    Attributes
    ----------
    F : ndarray (q, p)      end-to-end map of the trained network
    delta : ndarray (d_ell, d_{ell-1})   the trained update of layer ell
    loss : float            final empirical risk
    grad_norm : float       final gradient norm (all trainable parameters)
    steps : int
    losses : list of float  empirical risk every ``log_every`` steps
    """

    F: np.ndarray
    delta: np.ndarray
    loss: float
    grad_norm: float
    steps: int
    losses: list = field(default_factory=list)


def train_adapter(layers, ell, X, Y, *, method: str = "s2ft", channels=None, r: int | None = None,
                  optimizer: str = "gd", lr: float | None = None, steps: int = 5000,
                  grad_tol: float = 1e-10, init_scale: float = 1e-2, seed: int = 0, device: str = "auto",
                  log_every: int = 50, raise_on_fail: bool = True, restarts: int = 0,
                  restart_factor: float = 0.3) -> TrainResult:
    r"""Train a LoRA / S²FT / full adapter on layer ``ell`` of a frozen deep linear network.

    Parameters
    ----------
    layers : list of ndarray
        ``[W_1..W_L]``, ``W_j`` of shape ``(d_j, d_{j-1})``; frozen.
    ell : int
        1-based adapted layer.
    X : ndarray (n, p)
    Y : ndarray (n, q)
    method : {"lora", "s2ft", "full"}
    channels : list of int
        0-based rows of ``W_ell`` (S²FT).
    r : int
        LoRA rank.
    optimizer : {"gd", "adam"}
    lr : float, optional
        Step size.  Default for GD: :math:`1/(2\|K\|^2_{op}\|\hat\Sigma_z\|_{op})`, divided by
        :math:`1 + \|K^\top\hat C\|` for LoRA (the factorised objective's curvature grows with the
        solution); for Adam ``1e-2`` with a geometric decay to ``1e-2 · 1e-4`` over ``steps``.
    steps : int
        Maximum number of full-batch steps.
    grad_tol : float
        Training stops when the gradient norm is below ``grad_tol · (1 + ||K^T C||)`` (GD and Adam).
    restarts : int
        Adam only: when a cycle of ``steps`` steps (learning rate decayed geometrically by 1e-4)
        ends above the gradient tolerance, train on from the current iterate with a fresh Adam
        state at ``restart_factor`` times the previous initial rate, at most ``restarts`` times.
        (A decayed rate that runs out before convergence is the usual way Adam stalls on these
        quadratics; one restart reaches machine precision on the suite's instances.)
    restart_factor : float
        Factor on the initial Adam rate at each restart.
    init_scale : float
        Scale of LoRA's random ``V_0``.
    seed : int
    device : {"auto", "cpu", "cuda"}
    raise_on_fail : bool
        Raise :class:`NotConvergedError` when GD has not met ``grad_tol`` after ``steps``, or Adam
        after ``steps`` and every restart (for Adam only when ``restarts > 0``: without restarts
        Adam runs its fixed schedule and the caller judges the result).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 3)); Y = X @ np.diag([1., 2., 3.]).T
    >>> res = train_adapter([np.eye(3)], 1, X, Y, method="s2ft", channels=[2], device="cpu")
    >>> np.round(res.F.diagonal(), 6).tolist()
    [1.0, 1.0, 3.0]
    """
    import torch

    if method not in ("lora", "s2ft", "full"):
        raise InputError(f"method must be 'lora', 's2ft' or 'full', got {method!r}")
    if optimizer not in ("gd", "adam"):
        raise InputError(f"optimizer must be 'gd' or 'adam', got {optimizer!r}")
    parts = cf.network_parts(layers, ell)
    X, Y = cf._check_data(parts, X, Y)
    if method == "s2ft":
        if channels is None:
            raise InputError("method='s2ft' needs channels (0-based rows of W_ell)")
        channels = cf._check_channels(parts, channels)
    if method == "lora":
        if r is None:
            raise InputError("method='lora' needs the rank r")
        r = cf._check_rank(parts, r)
    dev = resolve_device(device)
    dt = torch.float64
    T = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dt, device=dev)  # noqa: E731
    Ws = [T(W) for W in layers]
    Xt, Yt = T(X), T(Y)
    n = X.shape[0]
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    d_l, d_in = parts.d_ell, parts.d_in

    if method == "lora":
        U = torch.zeros(d_l, r, dtype=dt, device=dev, requires_grad=True)
        V = (init_scale * torch.randn(d_in, r, generator=gen, dtype=dt)).to(dev).requires_grad_(True)
        params = [U, V]
        delta_fn = lambda: U @ V.T  # noqa: E731
    elif method == "s2ft":
        Vt = torch.zeros(len(channels), d_in, dtype=dt, device=dev, requires_grad=True)
        idx = torch.as_tensor(channels, device=dev)
        params = [Vt]
        delta_fn = lambda: torch.zeros(d_l, d_in, dtype=dt, device=dev).index_add(0, idx, Vt)  # noqa: E731
    else:
        D = torch.zeros(d_l, d_in, dtype=dt, device=dev, requires_grad=True)
        params = [D]
        delta_fn = lambda: D  # noqa: E731

    with torch.no_grad():                       # frozen layers below ell: their activations are fixed
        Z = Xt
        for W in Ws[:ell - 1]:
            Z = Z @ W.T

    def forward_from(z):
        h = z @ (Ws[ell - 1] + delta_fn()).T
        for W in Ws[ell:]:
            h = h @ W.T
        return h

    def loss_fn():
        return ((Yt - forward_from(Z)) ** 2).sum() / n

    C, Sz = cf.sample_stats(parts, X, Y)
    ktc = float(np.linalg.norm(parts.K.T @ C))
    tol = grad_tol * (1.0 + ktc)
    if optimizer == "gd":
        if lr is None:
            lr = 0.5 / (np.linalg.norm(parts.K, 2) ** 2 * np.linalg.norm(Sz, 2) + 1e-300)
            if method == "lora":
                lr /= 1.0 + ktc
        opt = torch.optim.SGD(params, lr=lr)
        sched = None
    else:
        lr = 1e-2 if lr is None else lr
    if restarts < 0 or not restart_factor > 0:
        raise InputError(f"restarts must be >= 0 and restart_factor > 0, got {restarts}, {restart_factor}")
    losses: list = []
    step = 0
    with single_threaded(blas=False):          # tiny matrices: threads only add synchronisation cost
        if optimizer == "gd":
            step, gnorm = _loop(opt, sched, params, loss_fn, steps, tol, optimizer, log_every, losses)
        else:
            for cycle in range(restarts + 1):
                opt = torch.optim.Adam(params, lr=lr * restart_factor ** cycle)
                sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(1e-4) ** (1.0 / max(steps, 1)))
                k, gnorm = _loop(opt, sched, params, loss_fn, steps, tol if restarts else -1.0, optimizer,
                                 log_every, losses)
                step += k
                if gnorm <= tol:
                    break
    with torch.no_grad():
        final = float(loss_fn())
        delta = delta_fn().cpu().numpy()
    if optimizer == "gd" and gnorm > tol and raise_on_fail:
        raise NotConvergedError(f"{method} GD: gradient norm {gnorm:.3g} > {tol:.3g} after {steps} steps")
    if optimizer == "adam" and restarts and gnorm > tol and raise_on_fail:
        raise NotConvergedError(f"{method} Adam: gradient norm {gnorm:.3g} > {tol:.3g} after {step} steps "
                                f"({restarts} restarts)")
    F = parts.W_pre + parts.K @ delta @ parts.W_low
    return TrainResult(F=F, delta=delta, loss=final, grad_norm=gnorm, steps=step, losses=losses)


def _loop(opt, sched, params, loss_fn, steps, tol, optimizer, log_every, losses):
    import torch

    gnorm = float("inf")
    step = 0
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        gnorm = float(torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in params)))
        if step % log_every == 1 or log_every == 1:
            losses.append(float(loss.detach()))
        if gnorm <= tol:                         # Adam without restarts passes tol < 0: fixed schedule
            break
        opt.step()
        if sched is not None:
            sched.step()
    return step, gnorm
