"""The simplex ETF for m = 3 and m = 4: its vectors and their Gram matrices (Definition 2.1)."""

import numpy as np

from lintheory.geometry import simplex_etf
from lintheory.plotting import figure


def _plane_basis(m):
    """An orthonormal basis of the hyperplane 1ᵀx = 0 in R^m, as columns (m × (m-1))."""
    Q, _ = np.linalg.qr(np.column_stack([np.ones(m), np.eye(m)[:, : m - 1]]))
    return Q[:, 1:]


@figure("svm", "simplex_etf")
def make(ctx):
    """Simplex ETF vectors (m = 3 in the plane, m = 4 in 3-D) and Gram matrices."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 7.2), layout="constrained")
    M3, M4 = simplex_etf(3), simplex_etf(4)
    # coordinates in the hyperplane the ETF spans
    V3 = _plane_basis(3).T @ M3
    V4 = _plane_basis(4).T @ M4
    ax = fig.add_subplot(2, 2, 1)
    for j in range(3):
        ax.annotate("", xy=V3[:, j], xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=1.8, color=f"C{j}"))
        ax.text(*(1.12 * V3[:, j]), f"$m_{j + 1}$", ha="center", va="center")
    ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, ls=":", color="0.6"))
    ax.set_aspect("equal")
    ax.set_xlim(-1.3, 1.3), ax.set_ylim(-1.3, 1.3)
    ax.set_title("m = 3: unit vectors, pairwise angle 120°")
    ax3 = fig.add_subplot(2, 2, 2, projection="3d")
    for j in range(4):
        ax3.quiver(0, 0, 0, *V4[:, j], color=f"C{j}", arrow_length_ratio=0.1, lw=1.8)
        ax3.text(*(1.1 * V4[:, j]), f"$m_{j + 1}$")
    for a in "xyz":
        getattr(ax3, f"set_{a}lim")(-1, 1)
    ax3.set_title(f"m = 4: pairwise cosine {float(M4[:, 0] @ M4[:, 1]):.3f} = -1/3")
    for k, (M, m) in enumerate([(M3, 3), (M4, 4)]):
        axg = fig.add_subplot(2, 2, 3 + k)
        G = M.T @ M
        im = axg.imshow(G, cmap="RdBu_r", vmin=-1, vmax=1)
        for i in range(m):
            for j in range(m):
                axg.text(j, i, f"{G[i, j]:+.3f}", ha="center", va="center", fontsize=8)
        axg.set_xticks(range(m)), axg.set_yticks(range(m))
        axg.set_title(f"Gram $M_{m}^T M_{m}$ (rank {np.linalg.matrix_rank(M)})")
        axg.grid(False)
        fig.colorbar(im, ax=axg, shrink=0.8)
    fig.suptitle("Simplex equiangular tight frame (002, Definition 2.1)")
    return fig
