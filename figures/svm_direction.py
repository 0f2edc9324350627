"""The SVM on orthonormal data: exact QP vs closed forms (printed and corrected) vs a trained classifier."""

import numpy as np

from lintheory.plotting import figure
from lintheory.svm import hard_margin_svm, normalized_margin, orthonormal_svm
from lintheory.svm.closed_form import max_normalized_margin
from lintheory.svm.data import orthonormal_class_data
from lintheory.svm.printed import prop2_1_svm
from lintheory.svm.train import train_linear_classifier


@figure("svm", "direction")
def make(ctx):
    """Logit template of the SVM, and Frobenius norms: QP = corrected closed form ≠ printed."""
    import matplotlib.pyplot as plt

    Kb, n = 4, 3
    X, y = orthonormal_class_data(Kb, n, Kb * n + 4, seed=ctx.seed)
    qp = hard_margin_svm(X, y, method="cvxpy")
    W_c, W_p = orthonormal_svm(X, y), prop2_1_svm(X, y)
    W_t = train_linear_classifier(X, y, lam=0.1, seed=ctx.seed, device=ctx.device)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0), layout="constrained")
    im = axes[0].imshow(X @ qp.W.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    axes[0].set_title("QP logits $X W^T$ (rows: samples)")
    axes[0].set_xlabel("class"), axes[0].set_ylabel("sample")
    axes[0].grid(False)
    fig.colorbar(im, ax=axes[0])
    names = ["exact QP", "corrected\nclosed form", "printed\nProp. 2.1(i)"]
    norms = [np.linalg.norm(qp.W), np.linalg.norm(W_c), np.linalg.norm(W_p)]
    axes[1].bar(names, norms, color=["C0", "C2", "C1"])
    axes[1].axhline(np.sqrt(n * (Kb - 1)), ls="--", color="k", lw=1, label=r"$\sqrt{n(\bar K-1)}$")
    axes[1].set_title(r"$\|W\|_F$ (K̄ = 4, n = 3)")
    axes[1].legend()
    ns = np.arange(1, ctx.pick(6, 10))
    gam_qp = []
    for nn in ns:
        Xn, yn = orthonormal_class_data(Kb, int(nn), Kb * int(nn) + 2, seed=ctx.seed + int(nn))
        gam_qp.append(hard_margin_svm(Xn, yn, method="cvxpy").normalized_margin)
    axes[2].plot(ns, [max_normalized_margin(int(nn), Kb) for nn in ns], "-", label=r"$1/\sqrt{n(\bar K-1)}$")
    axes[2].plot(ns, gam_qp, "o", label="exact QP")
    axes[2].plot([n], [normalized_margin(W_t, X, y)], "s", label="trained (CE + ridge)")
    axes[2].set_xlabel("n (samples per class)"), axes[2].set_ylabel("normalised margin")
    axes[2].set_title("Theorem D.1")
    axes[2].legend()
    cos = float(np.sum(W_t * qp.W) / np.linalg.norm(W_t) / np.linalg.norm(qp.W))
    fig.suptitle(f"SVM on orthonormal data: trained direction 1 - cos = {1 - cos:.1e}")
    return fig
