"""The trained-model route: sequential P&M in torch (float64) on linear, logistic and small MLP models.

For every task ``t`` the model is trained from the merged model :math:`\\hat\\theta_{t-1}` (optionally with the
three-point perturbation of Eq. 15–16), its curvature is taken at the optimum :math:`\\theta_t^*` (exact Hessian,
its diagonal, the diagonal empirical Fisher the paper uses, ...), and the merged model is
:math:`\\hat\\theta_t = \\hat\\theta_{t-1} + \\alpha_t\\Delta\\theta_t^*` with α from Eq. 8; a grid search and a
scipy line search over α on the **true** summed loss of the tasks seen so far are recorded beside it.

Parameters are handled as one flat float64 vector (``named_parameters()`` order); see
:mod:`lintheory.perturb_merge.fisher`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .._device import resolve_device
from .._threads import limited_threads
from ..errors import InputError, NotConvergedError
from .closed_form import PerturbationSchedule, optimal_alpha
from .data import Task
from .fisher import (empirical_fisher, empirical_fisher_diag, flat_loss, flat_params, hessian_matrix,
                     hvp_operator)

__all__ = ["torch_threads", "make_model", "loss_function", "task_loss_fn", "train_task", "run_sequence", "SequenceResult",
           "GRID", "CURVATURES"]

#: The default α grid of the grid-search route (step 0.01 over [-0.5, 1.5]).
GRID = np.round(np.linspace(-0.5, 1.5, 201), 12)
CURVATURES = ("hessian", "hessian_diag", "fisher", "fisher_diag", "hvp")


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous value afterwards.

    The models here are tiny: intra-op threading only adds synchronisation cost (20x slower per op on a loaded
    2-core machine), so the sequential experiments run single-threaded.
    """
    with limited_threads(n, blas=False):
        yield


def make_model(kind: str, d: int, *, n_out: int = 1, hidden: int = 16, seed: int = 0, device: str = "cpu",
               init_scale: float = 0.0):
    """A float64 torch model: ``"linear"`` (``Linear(d, n_out, bias=False)``) or ``"mlp"`` (tanh, one hidden
    layer).  Linear weights start at ``init_scale * N(0, 1)`` (default 0); the MLP uses torch's default init."""
    import torch

    torch.manual_seed(int(seed))
    if kind == "linear":
        m = torch.nn.Linear(d, n_out, bias=False)
        with torch.no_grad():
            m.weight.copy_(init_scale * torch.randn(n_out, d))
    elif kind == "mlp":
        m = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, n_out))
    else:
        raise InputError(f"kind must be 'linear' or 'mlp', got {kind!r}")
    return m.double().to(device)


def loss_function(name: str) -> Callable:
    """Per-batch mean losses that are negative log-likelihoods (up to constants):

    * ``"mse"``: :math:`\\tfrac12(f(x)-y)^2` (Gaussian, unit variance; Hessian :math:`X^\\top X/n` for a linear model);
    * ``"logistic"``: binary cross-entropy with logits, ``y`` in {0, 1};
    * ``"ce"``: softmax cross-entropy, ``y`` int64 labels.
    """
    import torch.nn.functional as F

    if name == "mse":
        return lambda out, y: 0.5 * ((out.squeeze(-1) - y) ** 2).mean()
    if name == "logistic":
        return lambda out, y: F.binary_cross_entropy_with_logits(out.squeeze(-1), y)
    if name == "ce":
        return lambda out, y: F.cross_entropy(out, y)
    raise InputError(f"loss must be 'mse', 'logistic' or 'ce', got {name!r}")


def _tensors(task: Task, device):
    import torch

    X = torch.as_tensor(np.asarray(task.X, np.float64), device=device)
    yy = np.asarray(task.y)
    y = torch.as_tensor(yy, dtype=torch.int64 if np.issubdtype(yy.dtype, np.integer) else torch.float64,
                        device=device)
    return X, y


def task_loss_fn(model, loss_fn: Callable, task: Task, device="cpu") -> Callable:
    """``theta (1-D tensor) -> mean loss of the task`` for the given model structure."""
    X, y = _tensors(task, device)
    return flat_loss(model, loss_fn, X, y)


def train_task(f: Callable, start, *, schedule: PerturbationSchedule | None = None, stop_gradient: bool = False,
               expected: bool = True, optimizer: str = "lbfgs", steps: int = 500, lr: float = 0.1,
               grad_tol: float = 1e-7, seed: int = 0):
    """Train one task from ``start`` (= :math:`\\hat\\theta_{t-1}`) and return :math:`\\theta_t^*` (1-D tensor).

    The variable is the task vector :math:`\\Delta` (initialised at 0, like a LoRA with B = 0); the parameters are
    :math:`\\hat\\theta_{t-1}+\\Delta`.  With a ``schedule`` the loss is Eq. 15's perturbed loss:

    * ``stop_gradient=False`` (paper-faithful, Alg. 1): :math:`\\mathcal L(\\hat\\theta_{t-1}+(1+\\tilde\\epsilon)\\Delta)`,
      gradients flow through the perturbation;
    * ``stop_gradient=True`` (SAM-style): :math:`\\mathcal L(\\hat\\theta_{t-1}+\\Delta+\\tilde\\epsilon\\,\\mathrm{sg}(\\Delta))`.

    ``expected=True`` averages the three outcomes exactly (Eq. 14, deterministic); ``expected=False`` samples one
    :math:`\\tilde\\epsilon` per step (Eq. 15) and returns the average of the last half of the iterates.

    Parameters
    ----------
    f : callable ``theta -> 0-d tensor``
    start : 1-D tensor
    optimizer : {"lbfgs", "gd", "adam"}
        ``"lbfgs"`` needs a deterministic, true-gradient objective (not ``stop_gradient``, ``expected=True``).
    steps, lr : L-BFGS outer iterations / GD and Adam steps and learning rate.
    grad_tol : float
        Deterministic runs must end with a gradient max-norm below this, else :class:`NotConvergedError`.
    seed : int
        Seeds the draws of ε̃.

    Returns
    -------
    1-D tensor (detached), the trained parameters.
    """
    import torch

    start = start.detach()
    D = torch.zeros_like(start, requires_grad=True)
    gen = np.random.default_rng(int(seed))
    vals = None if schedule is None else schedule.values
    probs = None if schedule is None else schedule.probs

    def pert(e):
        return (1.0 + e) * D if not stop_gradient else D + e * D.detach()

    def objective(e=None):
        if schedule is None:
            return f(start + D)
        if e is not None:
            return f(start + pert(e))
        return sum(float(p) * f(start + pert(float(v))) for v, p in zip(vals, probs) if p > 0)

    stochastic = schedule is not None and not expected
    if optimizer == "lbfgs":
        if stochastic or stop_gradient:
            raise InputError("L-BFGS needs a deterministic objective with its true gradient "
                             "(use expected=True and stop_gradient=False, or optimizer='gd'/'adam')")
        def lbfgs():
            return torch.optim.LBFGS([D], lr=1.0, max_iter=steps, tolerance_grad=grad_tol * 1e-2,
                                     tolerance_change=0.0, history_size=50, line_search_fn="strong_wolfe")

        opt = lbfgs()

        def closure():
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        for k in range(6):  # torch's L-BFGS may stop early on a flat step; restart it
            if k:
                # with a fresh curvature history: a restart that kept the old one stalled at
                # the same point (gradient 1.4e-7 > 1e-7 on a linear regression, in one fresh
                # install and not in another)
                opt = lbfgs()
            opt.step(closure)
            closure()
            gmax = float(D.grad.abs().max())
            if gmax <= grad_tol:
                break
        else:
            raise NotConvergedError(f"L-BFGS stopped with gradient max-norm {gmax:.2e} > {grad_tol:.1e}")
        return (start + D).detach()
    if optimizer not in ("gd", "adam"):
        raise InputError(f"optimizer must be 'lbfgs', 'gd' or 'adam', got {optimizer!r}")
    opt = torch.optim.SGD([D], lr=lr) if optimizer == "gd" else torch.optim.Adam([D], lr=lr)
    avg = torch.zeros_like(start)
    n_avg = 0
    for k in range(steps):
        opt.zero_grad()
        e = float(gen.choice(vals, p=probs)) if stochastic else None
        loss = objective(e)
        loss.backward()
        opt.step()
        if stochastic and k >= steps // 2:
            avg += D.detach()
            n_avg += 1
    if stochastic:
        return (start + avg / n_avg).detach()
    if optimizer == "gd":
        opt.zero_grad()
        objective().backward()
        gmax = float(D.grad.abs().max())
        if gmax > grad_tol:
            raise NotConvergedError(f"gradient descent ended with gradient max-norm {gmax:.2e} > {grad_tol:.1e}")
    return (start + D).detach()


@dataclass
class SequenceResult:
    """Per-step record of a P&M run (lists of length T; thetas as float64 numpy vectors).

    ``total_loss[t]`` is :math:`\\sum_{i\\le t}\\mathcal L_i(\\hat\\theta_t)` at the α actually used;
    ``grid_alpha``/``grid_loss`` the best α on :data:`GRID` for that step's line and its loss; ``line_alpha``/
    ``line_loss`` scipy's minimiser of the true summed loss over α ∈ ℝ on the same line (at the same
    :math:`\\hat\\theta_{t-1}`).
    """

    alphas: list = field(default_factory=list)
    unconstrained: list = field(default_factory=list)
    grid_alpha: list = field(default_factory=list)
    grid_loss: list = field(default_factory=list)
    line_alpha: list = field(default_factory=list)
    line_loss: list = field(default_factory=list)
    total_loss: list = field(default_factory=list)
    merged: list = field(default_factory=list)
    optima: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)


def _curvature(kind, model, loss_fn, task, theta, device):
    import torch

    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta, [p for p in model.parameters() if p.requires_grad])
    data = _tensors(task, device)
    if kind == "hessian":
        return hessian_matrix(model, loss_fn, data)
    if kind == "hessian_diag":
        return np.diag(hessian_matrix(model, loss_fn, data)).copy()
    if kind == "fisher":
        return empirical_fisher(model, loss_fn, data)
    if kind == "fisher_diag":
        return empirical_fisher_diag(model, loss_fn, data)
    if kind == "hvp":
        return hvp_operator(model, loss_fn, data)
    raise InputError(f"curvature must be one of {CURVATURES}, got {kind!r}")


def run_sequence(model, loss: str, tasks: Sequence[Task], *, curvature: str = "hessian",
                 schedule: PerturbationSchedule | None = None, stop_gradient: bool = False, expected: bool = True,
                 constrain: bool = True, optimizer: str = "lbfgs", steps: int = 500, lr: float = 0.1,
                 grad_tol: float = 1e-7, grid=GRID, line_search: bool = True, seed: int = 0,
                 device: str = "cpu") -> SequenceResult:
    """Run P&M over ``tasks`` and record α*, the grid/line-search α on the true loss, and the merged models.

    Parameters
    ----------
    model : torch.nn.Module (float64)
        Its current parameters are :math:`\\theta_0` (:func:`make_model`).  The parameters are overwritten.
    loss : {"mse", "logistic", "ce"}
    tasks : sequence of :class:`~lintheory.perturb_merge.data.Task`
    curvature : {"hessian", "hessian_diag", "fisher", "fisher_diag", "hvp"}
        What stands for :math:`H_i(\\theta_i^*)` in Eq. 8 (the paper: ``"fisher_diag"``).
    schedule, stop_gradient, expected, optimizer, steps, lr, grad_tol
        Passed to :func:`train_task`.
    constrain : bool
        Clip α* to [0, 1] (Eq. 3).
    grid : array or None
        α grid of the grid-search route (``None``: no grid search).
    line_search : bool
        Also record scipy's line minimiser of the true summed loss.
    device : {"auto", "cpu", "cuda"}

    Returns
    -------
    SequenceResult
    """
    with torch_threads(1):
        return _run_sequence(model, loss, tasks, curvature=curvature, schedule=schedule,
                             stop_gradient=stop_gradient, expected=expected, constrain=constrain,
                             optimizer=optimizer, steps=steps, lr=lr, grad_tol=grad_tol, grid=grid,
                             line_search=line_search, seed=seed, device=device)


def _run_sequence(model, loss, tasks, *, curvature, schedule, stop_gradient, expected, constrain, optimizer,
                  steps, lr, grad_tol, grid, line_search, seed, device):
    import torch

    from .solvers import line_minimiser

    device = resolve_device(device)
    model = model.to(device)
    lf = loss_function(loss)
    fs = [task_loss_fn(model, lf, t, device) for t in tasks]
    theta_hat = flat_params(model).clone()
    res = SequenceResult()
    optima, curvs = [], []
    grid_t = None if grid is None else torch.as_tensor(np.asarray(grid, np.float64), device=device)
    for t, task in enumerate(tasks):
        th_star = train_task(fs[t], theta_hat, schedule=schedule, stop_gradient=stop_gradient, expected=expected,
                             optimizer=optimizer, steps=steps, lr=lr, grad_tol=grad_tol, seed=seed * 1000 + t)
        v = (th_star - theta_hat)
        optima.append(th_star.cpu().numpy())
        curvs.append(_curvature(curvature, model, lf, task, th_star, device))
        r = optimal_alpha(theta_hat.cpu().numpy(), optima, curvs, v.cpu().numpy(), constrain=constrain)

        def total(a, _th=theta_hat, _v=v, _t=t):
            return sum(float(fs[i](_th + a * _v)) for i in range(_t + 1))

        if grid_t is not None:
            with torch.no_grad():
                gl = np.array([total(float(a)) for a in grid_t])
            res.grid_alpha.append(float(grid[int(np.argmin(gl))]))
            res.grid_loss.append(float(gl.min()))
        if line_search:
            la = line_minimiser(lambda a: total(a))
            res.line_alpha.append(la)
            res.line_loss.append(total(la))
        res.alphas.append(r.alpha)
        res.unconstrained.append(r.unconstrained)
        theta_hat = (theta_hat + r.alpha * v).detach()
        res.merged.append(theta_hat.cpu().numpy())
        res.optima.append(optima[-1])
        with torch.no_grad():
            res.total_loss.append(sum(float(fs[i](theta_hat)) for i in range(t + 1)))
            if loss in ("logistic", "ce"):
                accs = []
                for i in range(t + 1):
                    X, y = _tensors(tasks[i], device)
                    torch.nn.utils.vector_to_parameters(theta_hat, [p for p in model.parameters()
                                                                    if p.requires_grad])
                    out = model(X)
                    pred = (out.squeeze(-1) > 0).double() if loss == "logistic" else out.argmax(-1)
                    accs.append(float((pred == y).double().mean()))
                res.accuracy.append(float(np.mean(accs)))
    return res
