"""CoTo Theorem 3.1: the exact CoTo objective, the two Jensen lower bounds and ℓ(E ŷ) against p."""

import numpy as np

from lintheory.coto import forward_all_masks, jensen_chain
from lintheory.coto.data import random_lora_chain
from lintheory.plotting import figure


@figure("coto", "jensen_bounds")
def make(ctx):
    """E_δ loss ≥ Σ_{j≥0} w_j ℓ(ỹ_j) ≥ ℓ(E ŷ), and the printed Σ_{j≥1} bound (MSE and shifted MSE)."""
    import matplotlib.pyplot as plt

    c = random_lora_chain(8, 4, seed=ctx.seed, n=16)
    P = forward_all_masks(c.W, c.dW, c.X)
    ps = np.linspace(0, 1, ctx.pick(41, 201))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, shift, title in ((axes[0], 0.0, "MSE (ℓ ≥ 0)"), (axes[1], None, "MSE − c (convex, can be < 0)")):
        base = float(np.mean(np.sum((P[0] - c.Y) ** 2, axis=-1)))
        cshift = 1.2 * base if shift is None else shift
        loss = lambda pr, Y: np.sum((pr - Y) ** 2, axis=(-1, -2)) / pr.shape[-2] - cshift  # noqa: E731
        rows = [jensen_chain(P, c.Y, p, loss=loss) for p in ps]
        for key, lab, sty in (("expected_loss", r"$\mathbb{E}_\delta \ell$ (exact, $2^8$ masks)", "-"),
                              ("rhs_corrected", r"$\sum_{j\geq 0} w_j\,\ell(\tilde y_j)$ (corrected)", "--"),
                              ("rhs_printed", r"$\sum_{j\geq 1} w_j\,\ell(\tilde y_j)$ (printed)", ":"),
                              ("loss_of_mean", r"$\ell(\mathbb{E}_\delta \hat y)$", "-.")):
            ax.plot(ps, [r[key] for r in rows], sty, label=lab)
        ax.set_xlabel("activation probability p")
        ax.set_title(title + ("" if shift == 0.0 else f", c = {cshift:.2f}"))
    axes[0].set_ylabel("loss")
    axes[1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
