"""LoRA margin theory, Theorem 3.3: union margin of W_pre + α1 B1A1 + α2 B2A2 over an α grid (T = 2)."""

import numpy as np

from lintheory.lora_margin import adapter, merge_coefficients, thresholds
from lintheory.lora_margin.data import merging_problem
from lintheory.plotting import figure, legend_below
from lintheory.svm import multiclass_margin, normalized_margin


@figure("lora_margin", "merging_landscape")
def make(ctx):
    """Brute-force union margin of merged models on a grid wide enough to contain α* (it can exceed 1)."""
    import matplotlib.pyplot as plt

    K = 5
    P = merging_problem(K, [(5, 2), (3, 2)], rho_pre=12.0, seed=ctx.seed)
    lams = [0.3 * thresholds(K, 5, 2).lambda_zero, 0.05 * thresholds(K, 3, 2).lambda_zero]
    Zs = [adapter(t.X, t.y, K, lam, W_pre=P.W_pre) for t, lam in zip(P.tasks, lams)]
    C = np.array([multiclass_margin(Z, t.X, t.y) for Z, t in zip(Zs, P.tasks)])
    th = np.array([np.linalg.norm(Z) for Z in Zs])
    best = merge_coefficients(P.C_pre, C, rho_pre=P.rho_pre, task_thetas=th)
    m = ctx.pick(50, 120)
    g1 = np.linspace(0, 2.5 * best.alpha[0], m)[1:]
    g2 = np.linspace(0, 2.5 * best.alpha[1], m)[1:]
    Xall = np.vstack([P.X_pre] + [t.X for t in P.tasks])
    yall = np.concatenate([P.y_pre] + [t.y for t in P.tasks])
    U = np.empty((g2.size, g1.size))
    for i, a2 in enumerate(g2):
        for j, a1 in enumerate(g1):
            U[i, j] = normalized_margin(P.W_pre + a1 * Zs[0] + a2 * Zs[1], Xall, yall)
    i, j = np.unravel_index(np.argmax(U), U.shape)
    fig, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    im = ax.contourf(g1, g2, U, levels=30, cmap="viridis")
    fig.colorbar(im, ax=ax, label="union normalised margin (measured)")
    ax.plot(*best.alpha, "r*", ms=16, label=rf"$\alpha^*$ = ({best.alpha[0]:.2f}, {best.alpha[1]:.2f}), "
                                              rf"value {best.value:.4f}")
    ax.plot(g1[j], g2[i], "r^", ms=9, mfc="none", mew=2, label=f"grid argmax, value {U[i, j]:.4f}")
    ax.set_xlabel(r"$\alpha_1$ (task 1: $\bar K$=5)")
    ax.set_ylabel(r"$\alpha_2$ (task 2: $\bar K$=3, low regime)")
    ax.set_title("Merging two LoRA adapters (Theorem 3.3)")
    legend_below(ax, fontsize=8)
    return fig
