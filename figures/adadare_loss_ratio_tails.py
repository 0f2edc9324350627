"""AdaDARE-γ Theorem 1: expected-loss ratio of A.18 (and of uniform DARE) to the optimum against tail heaviness."""

import numpy as np

from lintheory.adadare import solve_drop_probabilities
from lintheory.adadare.data import heavy_tailed
from lintheory.plotting import figure, legend_below


@figure("adadare", "loss_ratio_tails")
def make(ctx):
    """Variance ratio printed/optimal vs the log-normal σ of H_ii, for several target sparsities (median, IQR)."""
    import matplotlib.pyplot as plt

    n = ctx.pick(1000, 5000)
    reps = ctx.pick(10, 40)
    sigmas = np.linspace(0, 3, ctx.pick(13, 25))
    rng = np.random.default_rng(ctx.seed)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), layout="constrained")
    for j, p in enumerate((0.3, 0.5, 0.9)):
        med, lo, hi, clip, dmed = [], [], [], [], []
        for sg in sigmas:
            rr, cf, dr = [], [], []
            for _ in range(reps):
                h, d = heavy_tailed(n, float(sg), seed=rng)
                w = solve_drop_probabilities(h, d, p)
                a = solve_drop_probabilities(h, d, p, method="paper")
                s2 = h * d * d
                rr.append(a.variance / w.variance)
                dr.append(np.sum(s2) * p / (1 - p) / w.variance)
                cf.append(a.n_clipped / n)
            med.append(np.median(rr)), lo.append(np.percentile(rr, 25)), hi.append(np.percentile(rr, 75))
            clip.append(np.mean(cf)), dmed.append(np.median(dr))
        axes[0].plot(sigmas, med, "-o", ms=3, color=f"C{j}", label=f"A.18 / optimum, p = {p}")
        axes[0].fill_between(sigmas, lo, hi, color=f"C{j}", alpha=0.2)
        axes[0].plot(sigmas, dmed, ":", color=f"C{j}", label=f"uniform DARE / optimum, p = {p}")
        axes[1].plot(sigmas, clip, "-o", ms=3, color=f"C{j}", label=f"p = {p}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel(r"tail heaviness: log-normal σ of $H_{ii}$")
    axes[0].set_ylabel("expected-loss ratio (variance term)")
    axes[0].axhline(1, color="k", lw=0.8)
    legend_below(axes[0], ncol=2, fontsize=8)
    axes[0].set_title(f"median and IQR over {reps} draws, n = {n}")
    axes[1].set_xlabel(r"log-normal σ of $H_{ii}$")
    axes[1].set_ylabel("fraction of entries A.18 clips")
    axes[1].set_title("clipping in A.18 (ratio = 1 exactly when none)")
    legend_below(axes[1], fontsize=8)
    fig.suptitle(r"Theorem 1: A.18 is optimal only without clipping; $\delta_i\sim N(0,1)$")
    return fig
