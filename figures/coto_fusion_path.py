"""CoTo Figures 3/4 analog: loss along the linear fusion path between two independently trained adapters."""

import numpy as np

from lintheory.coto.experiments import compare_methods
from lintheory.plotting import figure, legend_below


@figure("coto", "fusion_path")
def make(ctx):
    """Fusion (interpolate A and B) and ensemble (interpolate BA) paths, vanilla vs CoTo, mean ± s.e. over pairs."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    for ax, act in zip(axes, (None, "relu")):
        res = compare_methods(act, n_seeds=ctx.pick(4, 10), steps=ctx.pick(600, 2000), seed=ctx.seed,
                              device=ctx.device)
        for m, col in (("vanilla", "C0"), ("coto", "C1")):
            lams = res[m]["fusion"][0]["lams"]
            for kind, sty in (("fusion", "-"), ("ensemble", ":")):
                F = np.array([f[kind] for f in res[m]["fusion"]])
                ax.errorbar(lams, F.mean(0), yerr=F.std(0, ddof=1) / np.sqrt(len(F)), fmt=sty, color=col,
                            capsize=2, label=f"{'LoRA' if m == 'vanilla' else 'LoRA-CoTo'} {kind}")
        ax.set_xlabel(r"$\lambda$")
        ax.set_title("deep linear chain" if act is None else "ReLU MLP chain")
    axes[0].set_ylabel("test MSE")
    legend_below(axes[0], ncol=2, fontsize=8)
    return fig
