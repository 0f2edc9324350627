"""LoRA margin theory, Theorem 3.1: regime map over (K̄/K, λ√n), true thresholds vs their converted reading (K where the paper has K̄)."""

import numpy as np

from lintheory.lora_margin import optimum, thresholds
from lintheory.plotting import figure


@figure("lora_margin", "regime_map")
def make(ctx):
    """Regimes of the optimum (colours) with the true λ0, λ_crit and the converted reading 1/(K√n) (bar over K lost in the PDF-to-text step; with K̄ the paper is right); hatched: where that reading is wrong."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    K, n = 20, 1
    kbs = np.arange(1, K + 1)
    g = np.geomspace(1e-6, 2.0, ctx.pick(300, 800))
    R = np.empty((g.size, kbs.size))
    code = {"high": 0, "intermediate": 1, "low": 2}
    for j, Kb in enumerate(kbs):
        reg = optimum(K, int(Kb), n, g)
        R[:, j] = [code[r] for r in reg.regime]
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    x = kbs / K
    cmap = ListedColormap(["#dddddd", "#9ecae1", "#fdae6b"])
    ax.pcolormesh(x, g, R, cmap=cmap, vmin=0, vmax=2, shading="nearest")
    lam0 = [thresholds(K, int(Kb), n).lambda_zero for Kb in kbs]
    lc = [thresholds(K, int(Kb), n).lambda_crit for Kb in kbs]
    ax.plot(x, lam0, "k-", lw=2, label=r"true $\lambda_0\sqrt{n} = 1/\bar K$")
    ax.plot(x, lc, "k-.", lw=1.5, label=r"true $\lambda_{crit}\sqrt{n}$")
    ax.axhline(1 / K, color="r", ls=":", lw=2, label=r"$1/(K\sqrt{n})$: K for $\bar K$ (conversion)")
    wrong = (g[:, None] >= 1 / K) & (R > 0)        # the converted reading says Z* = 0, truth is nonzero
    ax.contourf(x, g, wrong.astype(float), levels=[0.5, 1.5], colors="none", hatches=["//"])
    # Explicit swatches with a dark edge: the legend sits outside the map, on white, so the
    # pale "high" and "low" colours show (inside the map the "low" swatch vanished on its own colour).
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(facecolor=c, edgecolor="0.35", lw=0.8, label=lab) for lab, c in
                (("high (Z* = 0)", "#dddddd"), ("intermediate (c = 0, rank K̄-1)", "#9ecae1"),
                 ("low (c > 0, rank K̄)", "#fdae6b"),
                 ("hatched: the K-reading says Z* = 0, truth is not", "white"))]
    handles[-1].set_hatch("//")
    ax.set_yscale("log")
    ax.set_ylim(g[0], g[-1])
    ax.set_xlabel(r"$\bar K/K$ (K = 20)")
    ax.set_ylabel(r"$\lambda\sqrt{n}$ (mean CE)")
    ax.set_title("Regimes of the LoRA optimum: true thresholds and the K-for-K̄ reading")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig
