"""P&M Eq. 13: finite-difference curvature error against ε (log-log), float64 and float32."""

import numpy as np

from lintheory.perturb_merge import data, fd_quadratic_form
from lintheory.perturb_merge.solvers import loglog_slope
from lintheory.perturb_merge.train import torch_threads
from lintheory.plotting import figure, legend_below


@figure("perturb_merge", "fd_error")
def make(ctx):
    """|FD_ε − vᵀHv| for a logistic loss (slope 2, coefficient ∇⁴L/12) and a quadratic (round-off only)."""
    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F
    from torch.func import grad, jvp

    eps = np.geomspace(1e-6, 1.0, ctx.pick(25, 49))
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    with torch_threads(1):
        for j in range(ctx.pick(2, 6)):
            rng = np.random.default_rng([ctx.seed, j])
            task = data.logistic_tasks(rng, 1, 100, 4)[0]
            X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
            th = torch.as_tensor(rng.standard_normal(4) * 0.5)
            v = torch.as_tensor(rng.standard_normal(4))
            f = lambda w: F.binary_cross_entropy_with_logits(X @ w, y)  # noqa: E731
            vhv = float(v @ jvp(grad(f), (th,), (v,))[1])
            g = lambda s: f(th + s * v)  # noqa: E731
            d4 = float(grad(grad(grad(grad(g))))(torch.tensor(0.0, dtype=torch.float64)))
            err = np.array([abs(float(fd_quadratic_form(f, th, v, e)) - vhv) for e in eps])
            sel = (eps >= 0.0125) & (eps <= 0.1)
            sl = loglog_slope(eps[sel], err[sel])
            ax.loglog(eps, err, "-", color=f"C{j}", lw=1.3, label=f"logistic, float64 (slope {sl:.3f} on [0.0125, 0.1])")
            ax.loglog(eps, abs(d4) / 12 * eps ** 2, ":", color=f"C{j}", lw=1)
            if j == 0:
                X32, y32, th32, v32 = X.float(), y.float(), th.float(), v.float()
                f32 = lambda w: F.binary_cross_entropy_with_logits(X32 @ w, y32)  # noqa: E731
                e32 = np.array([abs(float(fd_quadratic_form(f32, th32, v32, e)) - vhv) for e in eps])
                ax.loglog(eps, np.maximum(e32, 1e-17), "--", color="C3", lw=1.3, label="same loss in float32")
                Xn = X.numpy()
                q = lambda w: 0.5 * float(np.mean((Xn @ w - task.y) ** 2))  # noqa: E731
                H = Xn.T @ Xn / len(Xn)
                eq = np.array([abs(fd_quadratic_form(q, th.numpy(), v.numpy(), e) - v.numpy() @ H @ v.numpy())
                               for e in eps])
                ax.loglog(eps, np.maximum(eq, 1e-17), "-", color="0.5", lw=1, label="quadratic loss (exact up to round-off)")
    ax.axvline(0.5, color="0.3", ls="-.", lw=0.8)
    ax.text(0.5, 1e-15, " paper: ε = 0.5", fontsize=8)
    ax.set_xlabel(r"$\epsilon$")
    ax.set_ylabel(r"$|\mathrm{FD}_\epsilon - v^\top H v|$")
    ax.set_ylim(1e-17, 10)
    ax.set_title("Eq. 13: error = ε²/12 ∇⁴L[v,v,v,v] (dotted) + round-off ∝ 1/ε²")
    legend_below(ax, fontsize=8)
    return fig
