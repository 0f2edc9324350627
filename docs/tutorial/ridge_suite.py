"""A lintheory suite for ridge regression: the closed form three ways, and a wrong printed variant."""
import numpy as np
import torch

from lintheory import Inconclusive, claim, sweep
from lintheory.certify import bound_violated, iv, iv_array, lower

SUITE = "ridge"  # every claim id starts with the suite's name
SOLVER_TOL, TRAIN_TOL = 1e-9, 1e-7  # one named tolerance per route


def ridge(X, y, lam, half=False):
    """argmin ||Xw - y||² + lam ||w||²: (XᵀX + lam I)⁻¹ Xᵀy (half=True: the printed lam/2)."""
    return np.linalg.solve(X.T @ X + (lam / 2 if half else lam) * np.eye(X.shape[1]), X.T @ y)


def instance(cfg):
    rng = np.random.default_rng(cfg["seed"])
    return rng.standard_normal((cfg["n"], cfg["d"])), rng.standard_normal(cfg["n"]), cfg["lam"]


def lstsq_route(X, y, lam):  # independent: least squares on the augmented system [X; √lam I]
    A = np.vstack([X, np.sqrt(lam) * np.eye(X.shape[1])])
    return np.linalg.lstsq(A, np.r_[y, np.zeros(X.shape[1])], rcond=None)[0]


def trained_route(X, y, lam, steps=5000):  # a torch model trained by gradient descent, float64
    Xt, yt = torch.tensor(X), torch.tensor(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    lr = 1.0 / (2 * (np.linalg.norm(X, 2) ** 2 + lam))  # 1/L of the objective
    for _ in range(steps):
        loss = ((Xt @ w - yt) ** 2).sum() + lam * (w ** 2).sum()
        (g,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            w -= lr * g
    if g.abs().max() > 1e-10:
        raise Inconclusive(f"gradient descent not converged: max |grad| = {g.abs().max():.2e}")
    return w.detach().numpy()


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def configs(ctx):
    rng = ctx.rng(0)
    for n, d in ctx.pick([(5, 2), (20, 5), (50, 10)], [(5, 2), (20, 5), (50, 10), (400, 40)]):
        for lam in (0.1, 1.0, 10.0):
            yield {"n": n, "d": d, "lam": lam, "seed": int(rng.integers(2**31))}


def gap(route, half=False):
    return lambda cfg: rel(ridge(*instance(cfg), half=half), route(*instance(cfg)))


@claim(id="ridge.closed_form.vs_lstsq", paper="ridge.txt", source="Eq. (1)", form="corrected",
       statement="w* = (XᵀX + λI)⁻¹Xᵀy", method="vs lstsq on [X; √λ I]", expected="holds",
       error="relative error", alternative="the printed λ/2")
def _(ctx):
    return sweep(configs(ctx), gap(lstsq_route), SOLVER_TOL, alternative=("λ/2", gap(lstsq_route, True)))


@claim(id="ridge.closed_form.vs_trained", paper="ridge.txt", source="Eq. (1)", form="corrected",
       statement="w* = (XᵀX + λI)⁻¹Xᵀy", method="vs torch gradient descent", expected="holds",
       error="relative error", alternative="the printed λ/2")
def _(ctx):
    return sweep(configs(ctx), gap(trained_route), TRAIN_TOL, alternative=("λ/2", gap(trained_route, True)))


def certify(cfg):  # the first-order condition at the printed w, in interval arithmetic
    X, y, lam = instance(cfg)
    w = ridge(X, y, lam, half=True)
    Xi, yi, wi = iv_array(X), iv_array(y), iv_array(w)
    grad = [abs(g) for g in Xi.T.dot(Xi.dot(wi) - yi) + wi * iv(lam)]  # zero at the minimiser
    return bound_violated(max(grad, key=lower), "<=", 1e-6, note="max |∇/2| at the printed w")


@claim(id="ridge.closed_form.printed", paper="ridge.txt", source="Eq. (1) as printed", form="printed",
       statement="w* = (XᵀX + λ/2 I)⁻¹Xᵀy", method="vs lstsq on [X; √λ I]", expected="fails",
       error="relative error")  # its quote, lines, hypotheses and erratum: ridge_suite.toml
def _(ctx):
    return sweep(configs(ctx), gap(lstsq_route, half=True), SOLVER_TOL, certify=certify)
