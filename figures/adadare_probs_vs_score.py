"""AdaDARE-γ Theorem 1: optimal (water-filling) vs printed (A.18) drop probabilities against the score s_i."""

import numpy as np

from lintheory.adadare import solve_drop_probabilities
from lintheory.adadare.data import heavy_tailed
from lintheory.adadare.solvers import cvxpy_drop_probabilities
from lintheory.plotting import figure


@figure("adadare", "probs_vs_score")
def make(ctx):
    """p_i against s_i = sqrt(H_ii)|delta_i|: water-filling = cvxpy; A.18 over-sparsifies when it clips."""
    import matplotlib.pyplot as plt

    n = ctx.pick(400, 2000)
    h, d = heavy_tailed(n, 2.0, seed=ctx.seed)
    s = np.sqrt(h) * np.abs(d)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    for ax, p in zip(axes, (0.5, 0.9)):
        w = solve_drop_probabilities(h, d, p)
        a = solve_drop_probabilities(h, d, p, method="paper")
        c = cvxpy_drop_probabilities(h, d, p)
        o = np.argsort(s)
        ax.plot(s[o], w.probs[o], "-", color="C0", lw=2, label=f"water-filling (mean {w.mean_sparsity:.3f})")
        ax.plot(s[o][::max(1, n // 60)], c.probs[o][::max(1, n // 60)], "o", ms=4, mfc="none", color="C2",
                label="cvxpy (Clarabel)")
        ax.plot(s[o], a.probs[o], "--", color="C1", lw=1.5,
                label=f"A.18 printed (mean {a.mean_sparsity:.3f}, {a.n_clipped} clipped)")
        ax.axvline(1 / w.kappa, color="0.5", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel(r"score $s_i=\sqrt{H_{ii}}\,|\delta_i|$")
        ax.set_ylabel(r"drop probability $p_i$")
        ratio = a.variance / w.variance
        ax.set_title(f"target p = {p}: loss (variance) A.18 / optimum = {ratio:.2f}")
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Theorem 1, log-normal $H_{{ii}}$ (σ = 2), n = {n}; dotted: $1/\\kappa$ (entries to its right are kept)")
    return fig
