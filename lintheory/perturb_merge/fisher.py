"""Curvature of a torch model at its parameters: the paper's diagonal empirical Fisher and exact Hessians.

Eq. 9–10 (L100–106): :math:`\\hat F(\\theta) = \\frac1N\\sum_n \\nabla_\\theta\\log p_\\theta(y_n|x_n)
\\nabla_\\theta\\log p_\\theta(y_n|x_n)^\\top` with the **ground-truth** labels (empirical Fisher); P&M keeps only
its diagonal :math:`\\frac1N\\sum_n(\\partial_j\\ell_n)^2`.  Those are **per-example** squared gradients, computed
here with ``torch.func.vmap(torch.func.grad(...))``; the squared mini-batch gradient is a different estimator.

Parameters are flattened in ``model.named_parameters()`` order, so every function returns a numpy vector of length
``d = sum(p.numel())`` that :func:`lintheory.perturb_merge.optimal_alpha` accepts directly.  All computations run in
the model's dtype; pass a float64 model when a verdict depends on the result.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._validation import as_float_array
from ..errors import InputError

__all__ = [
    "param_spec",
    "flat_params",
    "flat_loss",
    "empirical_fisher_diag",
    "empirical_fisher_diag_loop",
    "empirical_fisher",
    "hessian_matrix",
    "hessian_diag",
    "hvp_operator",
]


def param_spec(model):
    """``[(name, shape, numel), ...]`` of the trainable parameters, in ``named_parameters()`` order."""
    return [(n, tuple(p.shape), p.numel()) for n, p in model.named_parameters() if p.requires_grad]


def flat_params(model):
    """The trainable parameters of ``model`` concatenated into one detached 1-D tensor (length d)."""
    import torch

    return torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters() if p.requires_grad])


def _unflatten(model, theta):
    out, i = {}, 0
    for name, shape, k in param_spec(model):
        out[name] = theta[i:i + k].reshape(shape)
        i += k
    if i != theta.shape[0]:
        raise InputError(f"theta has length {theta.shape[0]}, the model has {i} parameters")
    return out


def flat_loss(model, loss_fn: Callable, X, y) -> Callable:
    """``theta -> loss_fn(model_theta(X), y)``: the model's loss as a function of its flat parameter vector.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable ``(outputs, targets) -> scalar`` (mean over the batch)
    X : tensor of shape (n, ...)
    y : tensor of shape (n, ...)

    Returns
    -------
    callable taking a 1-D tensor of length d and returning a 0-d tensor (differentiable).
    """
    from torch.func import functional_call

    def f(theta):
        return loss_fn(functional_call(model, _unflatten(model, theta), (X,)), y)

    return f


def _check_data(data):
    import torch

    try:
        X, y = data
    except (TypeError, ValueError):
        raise InputError("data must be a pair (X, y) of tensors with the same first dimension") from None
    try:
        X = torch.as_tensor(X)
        y = torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"data must be a pair (X, y) of numeric tensors: {exc}") from None
    for nm, t in (("X", X), ("y", y)):
        if t.ndim == 0:
            raise InputError(f"{nm} must have a first (example) dimension, got a 0-d tensor")
        if t.is_complex():
            raise InputError(f"{nm} has complex dtype {t.dtype}; lintheory works on real tensors")
    if y.is_floating_point() and not torch.isfinite(y).all():
        raise InputError("y has non-finite entries")
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X has {X.shape[0]} examples but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise InputError("data has no examples")
    if X.is_floating_point() and not torch.isfinite(X).all():
        raise InputError("X has non-finite entries")
    return X, y


def empirical_fisher_diag(model, loss_fn: Callable, data, *, chunk_size: int | None = None) -> np.ndarray:
    """Diagonal of the empirical Fisher (Eq. 10) from per-example gradients (``torch.func`` vmap of grad).

    .. math:: \\mathrm{diag}\\hat F_j = \\frac1N\\sum_{n=1}^N\\big(\\partial_{\\theta_j}\\,\\ell(f_\\theta(x_n), y_n)\\big)^2

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated at its current parameters (the task optimum :math:`\\theta_t^*` in P&M).
    loss_fn : callable ``(outputs, targets) -> scalar``
        The per-example negative log-likelihood, called on batches of one example (e.g.
        ``torch.nn.functional.cross_entropy``); its squared gradient is the Fisher summand.
    data : pair (X, y)
        X of shape (N, ...), y of shape (N, ...), as tensors or arrays.
    chunk_size : int, optional
        Passed to ``torch.func.vmap`` to bound memory.

    Returns
    -------
    ndarray of shape (d,), float64, in ``named_parameters()`` order.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(2, 1, bias=False).double()
    >>> _ = m.weight.data.zero_()
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64); y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> mse = lambda out, t: 0.5 * ((out.squeeze(-1) - t) ** 2).mean()
    >>> empirical_fisher_diag(m, mse, (X, y)).tolist()   # residual -1: gradients (-1, 0) and (0, -2)
    [0.5, 2.0]
    """
    import torch
    from torch.func import functional_call, grad, vmap

    X, y = _check_data(data)
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}

    def one(p, x, t):
        return loss_fn(functional_call(model, p, (x.unsqueeze(0),)), t.unsqueeze(0))

    g = vmap(grad(one), in_dims=(None, 0, 0), chunk_size=chunk_size)(params, X, y)
    return torch.cat([(g[n].double() ** 2).mean(0).reshape(-1) for n in params]).cpu().numpy()


def empirical_fisher_diag_loop(model, loss_fn: Callable, data) -> np.ndarray:
    """The same diagonal as :func:`empirical_fisher_diag` by a Python loop of ``torch.autograd.grad`` calls.

    The slow reference route (one backward pass per example), used by the tests and the benchmark.

    Returns
    -------
    ndarray of shape (d,), float64
    """
    import torch

    X, y = _check_data(data)
    params = [p for _, p in model.named_parameters() if p.requires_grad]
    acc = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    for i in range(X.shape[0]):
        gs = torch.autograd.grad(loss_fn(model(X[i:i + 1]), y[i:i + 1]), params)
        for a, g in zip(acc, gs):
            a += g.double() ** 2
    return torch.cat([(a / X.shape[0]).reshape(-1) for a in acc]).cpu().numpy()


def empirical_fisher(model, loss_fn: Callable, data) -> np.ndarray:
    """The full empirical Fisher matrix (Eq. 10), shape (d, d), from per-example gradients (small models only)."""
    import torch
    from torch.func import functional_call, grad, vmap

    X, y = _check_data(data)
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}

    def one(p, x, t):
        return loss_fn(functional_call(model, p, (x.unsqueeze(0),)), t.unsqueeze(0))

    g = vmap(grad(one), in_dims=(None, 0, 0))(params, X, y)
    G = torch.cat([g[n].reshape(X.shape[0], -1) for n in params], dim=1).double()
    return (G.T @ G / X.shape[0]).cpu().numpy()


def hessian_matrix(model, loss_fn: Callable, data) -> np.ndarray:
    """The exact Hessian of the mean loss at the model's parameters (``torch.func.hessian``), shape (d, d).

    Meant for small models (d up to a few hundred): memory and time grow like d².

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64); y = torch.zeros(2, dtype=torch.float64)
    >>> mse = lambda out, t: 0.5 * ((out.squeeze(-1) - t) ** 2).mean()
    >>> hessian_matrix(m, mse, (X, y)).tolist()    # X^T X / n
    [[0.5, 0.0], [0.0, 2.0]]
    """
    from torch.func import hessian

    X, y = _check_data(data)
    f = flat_loss(model, loss_fn, X, y)
    return hessian(f)(flat_params(model)).double().cpu().numpy()


def hessian_diag(model, loss_fn: Callable, data) -> np.ndarray:
    """Diagonal of :func:`hessian_matrix`, shape (d,): the exact counterpart of :func:`empirical_fisher_diag`."""
    return np.diag(hessian_matrix(model, loss_fn, data)).copy()


def hvp_operator(model, loss_fn: Callable, data) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> H v`` for the mean loss at the model's current parameters (forward-over-reverse, no d×d matrix).

    Returns a numpy callable ``(d,) -> (d,)`` accepted by :func:`optimal_alpha` as a curvature.
    """
    import torch
    from torch.func import grad, jvp

    X, y = _check_data(data)
    f = flat_loss(model, loss_fn, X, y)
    theta = flat_params(model).clone()

    def hv(v):
        v = as_float_array(v.detach().cpu() if hasattr(v, "detach") else v, "v", shape=tuple(theta.shape))
        vt = torch.as_tensor(v, dtype=theta.dtype, device=theta.device)
        return jvp(grad(f), (theta,), (vt,))[1].double().cpu().numpy()

    return hv
