"""CoTo Figures 7/12 analog: test loss after removing k adapters, vanilla vs CoTo (deep linear and ReLU)."""

import numpy as np

from lintheory.coto.experiments import compare_methods
from lintheory.plotting import figure


@figure("coto", "pruning")
def make(ctx):
    """Average test loss over all subnetworks with k adapters removed (exact), mean ± s.e. over seeds."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, act in zip(axes, (None, "relu")):
        res = compare_methods(act, n_seeds=ctx.pick(4, 10), steps=ctx.pick(600, 2000), seed=ctx.seed,
                              device=ctx.device)
        for m in ("vanilla", "coto"):
            R = np.array([mm["by_removed"] for mm in res[m]["metrics"]])
            k = np.arange(R.shape[1])
            ax.errorbar(k, R.mean(0), yerr=R.std(0, ddof=1) / np.sqrt(len(R)), marker="o", capsize=2,
                        label="LoRA" if m == "vanilla" else "LoRA-CoTo")
        ax.set_yscale("log")
        ax.set_xlabel("adapters removed k")
        ax.set_title("deep linear chain" if act is None else "ReLU MLP chain")
    axes[0].set_ylabel("test MSE (mean over subsets)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
