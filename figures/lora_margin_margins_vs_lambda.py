"""LoRA margin theory, Theorem 3.2: pre-training, fine-tuning and union margins against λ (three routes)."""

import numpy as np

from lintheory.lora_margin import forgetting_margins, optimal_lambda, thresholds
from lintheory.lora_margin.data import lora_problem
from lintheory.lora_margin.printed import zero_threshold
from lintheory.lora_margin.solvers import solve_logit_space
from lintheory.lora_margin.train import train_lora_path
from lintheory.plotting import figure
from lintheory.svm import multiclass_margin, normalized_margin


@figure("lora_margin", "margins_vs_lambda")
def make(ctx):
    """Normalised margins of W_pre + B*A* vs λ: closed form (lines), cvxpy (circles), torch LoRA (crosses)."""
    import matplotlib.pyplot as plt

    K, Kb, n = 6, 3, 2
    P = lora_problem(K, Kb, n, 24, rho_pre=1.5, seed=ctx.seed)
    t = thresholds(K, Kb, n)
    star = optimal_lambda(K, Kb, n, P.C_pre, rho_pre=P.rho_pre)
    lams = np.geomspace(t.lambda_zero * 1e-4, t.lambda_zero * 2, 400)
    m = forgetting_margins(K, Kb, n, lams, rho_pre=P.rho_pre, gamma_pre=P.gamma_pre)
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    cols = {"pre": "C0", "ft": "C1", "union": "k"}
    names = {"pre": r"$\gamma(W;D_{pre})$", "ft": r"$\gamma(W;D_{ft})$", "union": r"$\gamma(W;D_{pre}\cup D_{ft})$"}
    for k in ("pre", "ft", "union"):
        ax.plot(lams, m[k], color=cols[k], lw=2.2 if k == "union" else 1.5, label=names[k] + " closed form",
                ls="-" if k != "union" else "--")
    # cvxpy route: logits from the nuclear-norm problem, margins by Pythagoras with measured Θ, C_ft
    y = np.repeat(np.arange(Kb), n)
    lc = t.lambda_zero * np.geomspace(1e-3, 1.3, ctx.pick(7, 16))
    pts = {"pre": [], "ft": []}
    for lam in lc:
        Zh = solve_logit_space(y, K, lam).Z
        th = np.linalg.norm(Zh)
        C = multiclass_margin(Zh, np.eye(Zh.shape[1]), y) if th > 1e-7 else 0.0
        den = np.sqrt(P.rho_pre ** 2 + th ** 2)
        pts["pre"].append(P.C_pre / den)
        pts["ft"].append(C / den)
    for k in pts:
        ax.plot(lc, pts[k], "o", mfc="none", color=cols[k], ms=7, label=f"cvxpy ({k})")
    # torch route: trained (B, A) on the actual data; brute-force margins of W_pre + BA
    lt = t.lambda_zero * np.array(ctx.pick([0.02, 0.2, 0.6, 1.2], [0.005, 0.02, 0.08, 0.2, 0.4, 0.6, 0.9, 1.2]))
    res = train_lora_path(P.X_ft, P.y_ft, K, lt, W_pre=P.W_pre, r=Kb, seed=ctx.seed, device=ctx.device)
    for lam, r in zip(lt, res):
        W = P.W_pre + r.Z
        ax.plot(lam, normalized_margin(W, P.X_pre, P.y_pre), "x", color=cols["pre"], ms=9, mew=2)
        ax.plot(lam, normalized_margin(W, P.X_ft, P.y_ft), "x", color=cols["ft"], ms=9, mew=2)
    ax.plot([], [], "kx", label="torch LoRA (L-BFGS)")
    top = ax.get_ylim()[1]
    for (x, lab, st), h in zip([(t.lambda_zero, r"$\lambda_0=1/(\bar K\sqrt{n})$", "-"),
                                (t.lambda_crit, r"$\lambda_{crit}$", "-."),
                                (zero_threshold(K, Kb, n), r"$1/(K\sqrt{n})$ (K for $\bar K$)", ":"),
                                (star.lam, r"$\lambda^*$", "--")], (0.98, 0.98, 0.62, 0.62)):
        ax.axvline(x, color="0.4", ls=st, lw=1)
        ax.text(x, top * h, lab + " ", rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\lambda$ (mean CE)")
    ax.set_ylabel("normalised margin")
    ax.set_title(rf"K={K}, $\bar K$={Kb}, n={n}: max union margin {star.value:.4f} at $\lambda^*$={star.lam:.3g}")
    ax.legend(fontsize=8, loc="center left")
    return fig
