"""P&M Eq. 8: the merged model's true summed loss against α, with α* (closed form) and the grid minimum marked."""

import numpy as np

from lintheory.perturb_merge import data
from lintheory.perturb_merge.train import (GRID, loss_function, make_model, run_sequence, task_loss_fn,
                                           torch_threads)
from lintheory.plotting import figure, legend_below


def _curve(model, loss, tasks, res, t):
    import torch

    lf = loss_function(loss)
    fs = [task_loss_fn(model, lf, tk) for tk in tasks[:t + 1]]
    prev = torch.as_tensor(res.merged[t - 1])
    v = torch.as_tensor(res.optima[t]) - prev
    with torch.no_grad():
        return np.array([sum(float(f(prev + float(a) * v)) for f in fs) for a in GRID])


@figure("perturb_merge", "alpha_landscape")
def make(ctx):
    """Summed loss of tasks 1..t along the merge line: exact α* for linear regression, approximate otherwise."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(ctx.seed)
    cases = [
        ("linear regression (quadratic)", "mse", "linear", data.linear_regression_tasks(rng, 4, 60, 5), {}),
        ("logistic regression", "logistic", "linear", data.logistic_tasks(rng, 4, 200, 5, scale=1.5), {}),
        ("tanh MLP, 3 classes", "ce", "mlp", data.rotated_classification_tasks(rng, 3, 150, 4, 3, angle=1.0),
         {"optimizer": "adam", "steps": ctx.pick(200, 1000), "lr": 0.03}),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    with torch_threads(1):
        for ax, (title, loss, kind, tasks, kw) in zip(axes, cases):
            T = len(tasks)
            n_out = 3 if loss == "ce" else 1
            curvs = ["hessian", "fisher_diag"] if kind == "linear" else ["fisher_diag"]
            m = make_model(kind, tasks[0].X.shape[1], n_out=n_out, hidden=8, seed=ctx.seed)
            res = run_sequence(m, loss, tasks, curvature=curvs[0], line_search=False, seed=ctx.seed,
                               constrain=False, grid=None, **kw)
            t = T - 1
            y = _curve(m, loss, tasks, res, t)
            ax.plot(GRID, y, color="0.2", lw=1.5, label=f"summed loss of tasks 1..{T} (true)")
            ig = int(np.argmin(y))
            ax.plot(GRID[ig], y[ig], "s", ms=9, mfc="none", color="C2", label=f"grid minimum α = {GRID[ig]:.2f}")
            for j, cv in enumerate(curvs):
                a = res.unconstrained[t] if cv == curvs[0] else None
                if a is None:
                    # α* with the other curvature on the same line (same θ̂_{t-1}, same task vector)
                    from lintheory.perturb_merge import empirical_fisher_diag, optimal_alpha
                    from lintheory.perturb_merge.train import _tensors
                    import torch
                    curv = []
                    for i in range(t + 1):
                        with torch.no_grad():
                            torch.nn.utils.vector_to_parameters(torch.as_tensor(res.optima[i]), m.parameters())
                        curv.append(empirical_fisher_diag(m, loss_function(loss), _tensors(tasks[i], "cpu")))
                    prev = res.merged[t - 1]
                    a = optimal_alpha(prev, res.optima[:t + 1], curv, res.optima[t] - prev,
                                      constrain=False).unconstrained
                ya = np.interp(a, GRID, y)
                lab = {"hessian": "α* exact Hessian", "fisher_diag": "α* diagonal empirical Fisher"}[cv]
                ax.axvline(a, color=f"C{j}", ls="--", lw=1.2, label=f"{lab} = {a:.3f}")
                ax.plot(a, ya, "o", color=f"C{j}")
            ax.axvspan(GRID[0], 0, color="0.9", zorder=0)
            ax.axvspan(1, GRID[-1], color="0.9", zorder=0)
            ax.set_xlabel(r"merging coefficient $\alpha_{%d}$" % T)
            ax.set_ylabel(r"$\sum_{i\leq t}\mathcal{L}_i(\hat\theta_{t-1}+\alpha\,\Delta\theta_t^*)$")
            ax.set_title(title)
            legend_below(ax, fontsize=8)
    fig.suptitle("P&M Eq. 8 at the last task: α* vs the grid minimum (shaded: outside [0, 1], Eq. 3)")
    return fig
