"""P&M Eq. 3 vs Eq. 8: how often the closed-form α* leaves [0, 1] over random task sequences."""

import numpy as np

from lintheory.perturb_merge import data
from lintheory.perturb_merge.closed_form import pm_linear_regression
from lintheory.plotting import figure


@figure("perturb_merge", "alpha_distribution")
def make(ctx):
    """Histogram of the unconstrained α_t* (t ≥ 3) in sequential linear regression, four regimes."""
    import matplotlib.pyplot as plt

    n_seq = ctx.pick(80, 1000)
    settings = [(100, 8, 0.0, "n > d, independent targets"), (100, 8, 0.9, "n > d, 90 % shared target"),
                (10, 30, 0.0, "n < d, independent targets"), (10, 30, 0.9, "n < d, 90 % shared target")]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained", sharey=True)
    bins = np.linspace(-1.0, 1.3, 47)
    for k, (ax, (n, d, sh, title)) in enumerate(zip(axes, settings)):
        al = []
        for s in range(n_seq):
            rng = np.random.default_rng([ctx.seed, k, s])
            tasks = data.linear_regression_tasks(rng, 6, n, d, shared=sh)
            al += pm_linear_regression(tasks, np.zeros(d))["unconstrained"][2:]
        al = np.array(al)
        ax.hist(np.clip(al, bins[0], bins[-1]), bins=bins, color="C0", alpha=0.8)
        ax.axvspan(bins[0], 0, color="C3", alpha=0.12)
        ax.axvspan(1, bins[-1], color="C3", alpha=0.12)
        ax.set_title(f"{title}\n{np.mean(al < 0):.1%} below 0, {np.mean(al > 1):.1%} above 1 "
                     f"(min {al.min():.2f}, max {al.max():.2f})", fontsize=9)
        ax.set_xlabel(r"unconstrained $\alpha_t^*$, $t = 3..6$")
    axes[0].set_ylabel(f"count ({n_seq} sequences × 4 steps)")
    fig.suptitle("Eq. 8 with exact Hessians (exact for squared loss) leaves the interval [0, 1] of Eq. 3; "
                 "clip(α*, 0, 1) is the constrained optimum")
    return fig
