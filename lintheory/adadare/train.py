"""The trained-model route for AdaDARE-γ: fine-tune a linear layer in torch, then drop and rescale.

A linear layer ``W`` (d_out, d_in) is fine-tuned from ``W_pre`` on a target task with the
summed squared error :math:`L(W)=\\|XW^\\top-Y\\|_F^2` (float64 conjugate gradient).  At the fine-tuned
minimiser the residual is orthogonal to the columns of ``X`` (normal equations), so for any
perturbation ``E`` of the weights

.. math:: L(W_{\\mathrm{sft}}-E)-L(W_{\\mathrm{sft}})=\\|XE^\\top\\|_F^2,

which is exactly the layer-wise loss A.1 of Theorem 1.  The *realised* loss increase of a
dropped-and-rescaled model is therefore an independent, trained-model measurement of A.1,
and its mean over masks must match :func:`~lintheory.adadare.closed_form.expected_layer_loss`.
(If the fine-tuning is only approximately stationary, the extra cross term
:math:`-2\\langle XW_{\\mathrm{sft}}^\\top-Y, XE^\\top\\rangle` has mean zero over masks when
:math:`\\gamma=1`, because then :math:`\\mathbb E E=0`.)  The curvature fed to
:func:`~lintheory.adadare.closed_form.drop_probabilities` is computed by torch autograd (the
exact Hessian diagonal by double backward, or the per-example empirical Fisher diagonal).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .._device import resolve_device
from .._threads import single_threaded
from .._validation import as_float_array
from ..errors import InputError, NotConvergedError

__all__ = ["fine_tune_linear", "curvature_diag", "realised_loss_increase"]


def _torch():
    import torch

    return torch


def _threads(device):
    """One torch thread on the CPU: these layers are a few hundred parameters, thread
    hand-offs cost far more than the arithmetic (30x slower on a busy 2-core machine)."""
    return single_threaded(blas=False) if device == "cpu" else contextlib.nullcontext()


def fine_tune_linear(X, Y, W_pre, *, device: str = "auto", max_iter: int = 2000,
                     grad_tol: float = 1e-9) -> np.ndarray:
    """Fine-tune ``W`` from ``W_pre`` minimising :math:`\\|XW^\\top-Y\\|_F^2/N` by float64 conjugate gradient.

    Full-batch nonlinear CG (Polak–Ribière+) with autograd gradients and a Newton step length
    from an autograd Hessian-vector product along each direction.

    Parameters
    ----------
    X : array_like, shape (N, d_in)
        Target-task inputs, samples as rows.
    Y : array_like, shape (N, d_out)
    W_pre : array_like, shape (d_out, d_in)
    device : {"auto", "cpu", "cuda"}
    max_iter : int
    grad_tol : float
        Converged when the max-abs gradient of the mean loss is below ``grad_tol`` times its value at ``W_pre``.

    Returns
    -------
    W_sft : ndarray, shape (d_out, d_in)

    Raises
    ------
    NotConvergedError

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(3); Y = np.array([[1.0], [2.0], [3.0]])
    >>> fine_tune_linear(X, Y, np.zeros((1, 3)), device="cpu").round(6).tolist()
    [[1.0, 2.0, 3.0]]
    """
    torch = _torch()
    Xa = as_float_array(X, "X", ndim=2)
    Ya = as_float_array(Y, "Y", ndim=2)
    Wp = as_float_array(W_pre, "W_pre", ndim=2)
    if Ya.shape[0] != Xa.shape[0] or Wp.shape != (Ya.shape[1], Xa.shape[1]):
        raise InputError(f"shapes do not match: X {Xa.shape}, Y {Ya.shape}, W_pre {Wp.shape}")
    dev = resolve_device(device)
    with _threads(dev):
        return _fine_tune(torch, Xa, Ya, Wp, dev, max_iter, grad_tol)


def _fine_tune(torch, Xa, Ya, Wp, dev, max_iter, grad_tol):
    # Nonlinear conjugate gradient (Polak-Ribiere+) with a Newton step length along each direction
    # from an autograd Hessian-vector product (double backward).  For this quadratic loss it is
    # linear CG; torch.optim is avoided on purpose: importing it pulls in torch._dynamo (seconds)
    # for a 100-parameter problem.
    Xt = torch.tensor(Xa, dtype=torch.float64, device=dev)
    Yt = torch.tensor(Ya, dtype=torch.float64, device=dev)
    N = Xa.shape[0]

    def loss_fn(W):
        return ((Xt @ W.T - Yt) ** 2).sum() / N

    def grad_hvp(W, d=None):
        W = W.detach().requires_grad_(True)
        g = torch.autograd.grad(loss_fn(W), W, create_graph=d is not None)[0]
        if d is None:
            return g, None
        return g.detach(), torch.autograd.grad((g * d).sum(), W)[0]

    W = torch.tensor(Wp, dtype=torch.float64, device=dev)
    g, _ = grad_hvp(W)
    g0n = float(g.abs().max())
    d = -g
    for _ in range(int(max_iter)):
        if float(g.abs().max()) <= grad_tol * g0n:
            break
        _, Hd = grad_hvp(W, d)
        curv = float((d * Hd).sum())
        if not curv > 0:
            raise NotConvergedError(f"non-positive curvature {curv:.3g} along the search direction")
        W = W + (-(g * d).sum() / curv) * d
        g_new, _ = grad_hvp(W)
        beta = max(0.0, float((g_new * (g_new - g)).sum() / (g * g).sum()))
        d = -g_new + beta * d
        g = g_new
    gn = float(g.abs().max())
    if not gn <= grad_tol * g0n:
        raise NotConvergedError(f"fine-tuning stopped with max |grad| {gn:.2e} > {grad_tol:.0e} x initial {g0n:.2e}")
    return W.cpu().numpy()


def curvature_diag(X, Y, W, *, kind: str = "hessian", device: str = "auto") -> np.ndarray:
    """Per-weight curvature diagonal of :math:`L(W)=\\|XW^\\top-Y\\|_F^2`, computed by torch.

    ``kind="hessian"``: the exact Hessian diagonal by autograd double backward (equals
    :math:`2(X^\\top X)_{cc}` for entry ``(r, c)``); ``kind="fisher"``: the empirical Fisher
    diagonal :math:`\\sum_n (\\partial_{W_{rc}}\\ell_n)^2` from per-example gradients (one
    backward pass through a per-example copy of ``W``), as merging methods approximate the Hessian.

    Parameters
    ----------
    X : (N, d_in), Y : (N, d_out), W : (d_out, d_in)

    Returns
    -------
    ndarray, shape (d_out, d_in)

    Examples
    --------
    >>> import numpy as np
    >>> curvature_diag([[1.0, 2.0]], [[0.0]], np.zeros((1, 2)), device="cpu").tolist()
    [[2.0, 8.0]]
    """
    torch = _torch()
    Xa = as_float_array(X, "X", ndim=2)
    Ya = as_float_array(Y, "Y", ndim=2)
    Wa = as_float_array(W, "W", ndim=2)
    if kind not in ("hessian", "fisher"):
        raise InputError(f"kind must be 'hessian' or 'fisher', got {kind!r}")
    dev = resolve_device(device)
    with _threads(dev):
        Xt = torch.tensor(Xa, dtype=torch.float64, device=dev)
        Yt = torch.tensor(Ya, dtype=torch.float64, device=dev)
        if kind == "hessian":
            # exact diagonal: row j of the Hessian by double backward, one entry kept per row
            w = torch.tensor(Wa, dtype=torch.float64, device=dev, requires_grad=True)
            g = torch.autograd.grad(((Xt @ w.T - Yt) ** 2).sum(), w, create_graph=True)[0].reshape(-1)
            diag = torch.stack([torch.autograd.grad(g[j], w, retain_graph=True)[0].reshape(-1)[j]
                                for j in range(g.numel())])
            return diag.reshape(Wa.shape).cpu().numpy()
        # per-example gradients in one backward pass: every example gets its own copy of W
        Wb = torch.tensor(Wa, dtype=torch.float64, device=dev).expand(Xa.shape[0], *Wa.shape).clone()
        Wb.requires_grad_(True)
        per_example = ((torch.einsum("nrc,nc->nr", Wb, Xt) - Yt) ** 2).sum()
        G = torch.autograd.grad(per_example, Wb)[0]
        return (G ** 2).sum(0).cpu().numpy()


def realised_loss_increase(X, Y, W_sft, probs, gamma, *, W_pre=None, n_masks: int = 200, seed=None,
                           device: str = "auto") -> np.ndarray:
    """Loss increase :math:`L(W_{\\mathrm{fusion}})-L(W_{\\mathrm{sft}})` of ``n_masks`` random drop-and-rescale models.

    :math:`W_{\\mathrm{fusion}}=W_{\\mathrm{pre}}+M\\odot\\gamma\\Delta/(1-P)` with independent
    masks ``M`` (``torch.Generator`` seeded by ``seed``), :math:`\\Delta=W_{\\mathrm{sft}}-W_{\\mathrm{pre}}`,
    and :math:`L(W)=\\|XW^\\top-Y\\|_F^2` (sum, not mean, to match A.1).

    Parameters
    ----------
    X : (N, d_in), Y : (N, d_out), W_sft, probs : (d_out, d_in)
    gamma : float
    W_pre : (d_out, d_in)
        Required.
    n_masks : int
    seed : int

    Returns
    -------
    ndarray, shape (n_masks,)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(2); Y = np.array([[1.0], [1.0]])
    >>> realised_loss_increase(X, Y, np.ones((1, 2)), np.zeros((1, 2)), 1.0, W_pre=np.zeros((1, 2)),
    ...                        n_masks=3, seed=0, device="cpu").tolist()
    [0.0, 0.0, 0.0]
    """
    torch = _torch()
    if W_pre is None or seed is None:
        raise InputError("realised_loss_increase needs W_pre and a seed")
    Xa = as_float_array(X, "X", ndim=2)
    Ya = as_float_array(Y, "Y", ndim=2)
    Ws = as_float_array(W_sft, "W_sft", ndim=2)
    Wp = as_float_array(W_pre, "W_pre", ndim=2)
    q = as_float_array(probs, "probs", ndim=2)
    if not (Ws.shape == Wp.shape == q.shape):
        raise InputError(f"W_sft {Ws.shape}, W_pre {Wp.shape} and probs {q.shape} must match")
    dev = resolve_device(device)
    t = {k: torch.tensor(v, dtype=torch.float64, device=dev)
         for k, v in dict(X=Xa, Y=Ya, Ws=Ws, Wp=Wp, q=q).items()}
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))
    delta = t["Ws"] - t["Wp"]
    keep_prob = 1 - t["q"]
    scaled = torch.where(keep_prob > 0, gamma * delta / torch.clamp(keep_prob, min=1e-300),
                         torch.zeros_like(delta))
    base = ((t["X"] @ t["Ws"].T - t["Y"]) ** 2).sum()
    U = torch.rand((n_masks,) + q.shape, generator=gen, dtype=torch.float64, device=dev)
    Wf = t["Wp"] + (U >= t["q"]).to(torch.float64) * scaled          # (n_masks, d_out, d_in)
    out = torch.einsum("nc,krc->knr", t["X"], Wf) - t["Y"]
    return (((out ** 2).sum(dim=(1, 2))) - base).cpu().numpy()
