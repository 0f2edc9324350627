"""CoTo Figure 8 analog: Shapley shares across adapters, vanilla vs CoTo, with error bars."""

import numpy as np

from lintheory.coto.data import gain_problem
from lintheory.coto.experiments import compare_methods
from lintheory.coto.train import train_additive_gains
from lintheory.plotting import figure, legend_below


@figure("coto", "shapley_shares")
def make(ctx):
    """Left: additive adapters with gains c_i (vanilla ∝ c_i², CoTo near-uniform). Right: deep linear chain."""
    import matplotlib.pyplot as plt

    n_seeds = ctx.pick(8, 24)
    g = gain_problem(6, 4, 16, seed=ctx.seed)
    runs = [{"method": m, "seed": s} for m in ("vanilla", "coto") for s in range(n_seeds)]
    outs = train_additive_gains(g["W0"], g["X"], g["Y"], g["gains"], runs=runs, steps=ctx.pick(500, 3000), lr=0.03,
                                device=ctx.device)
    L = g["gains"].size
    x = np.arange(1, L + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for k, (m, off) in enumerate((("vanilla", -0.18), ("coto", 0.18))):
        S = np.array([o["shares"] for o in outs[k * n_seeds:(k + 1) * n_seeds]])
        axes[0].bar(x + off, S.mean(0), width=0.36, yerr=S.std(0, ddof=1) / np.sqrt(n_seeds), capsize=2,
                    label=f"{'LoRA' if m == 'vanilla' else 'LoRA-CoTo'} (mean ± s.e., {n_seeds} seeds)")
    axes[0].plot(x, g["gains"] ** 2 / np.sum(g["gains"] ** 2), "k.--", label=r"$c_i^2/\sum c^2$")
    axes[0].axhline(1 / L, color="grey", lw=0.8)
    axes[0].set_title("additive adapters, gains 0.5 → 2")
    res = compare_methods(None, n_seeds=ctx.pick(4, 10), steps=ctx.pick(600, 2000), seed=ctx.seed, device=ctx.device)
    for m, off in (("vanilla", -0.18), ("coto", 0.18)):
        S = np.array([mm["shares"] for mm in res[m]["metrics"]])
        axes[1].bar(x + off, S.mean(0), width=0.36, yerr=S.std(0, ddof=1) / np.sqrt(len(S)), capsize=2,
                    label="LoRA" if m == "vanilla" else "LoRA-CoTo")
    axes[1].axhline(1 / L, color="grey", lw=0.8)
    axes[1].set_title("deep linear chain (L = 6), exact Shapley")
    for ax in axes:
        ax.set_xlabel("adapter (layer)")
        ax.set_xticks(x)
    axes[0].set_ylabel(r"Shapley share $\varphi_i/\sum_k\varphi_k$")
    legend_below(axes[0], fontsize=8)
    legend_below(axes[1], fontsize=8)
    return fig
