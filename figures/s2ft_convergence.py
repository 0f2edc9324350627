"""S²FT finite-n theory: Monte Carlo excess risk minus its n = ∞ value against n, with the exact variance."""

import numpy as np

from lintheory.plotting import figure
from lintheory.s2ft import closed_form as cf
from lintheory.s2ft import solvers as sv
from lintheory.s2ft.data import channel_split_instance


@figure("s2ft", "convergence")
def make(ctx):
    """log-log E_n - E_inf vs n for full / S²FT / LoRA (mean ± 95% CI) and the exact predictions."""
    import matplotlib.pyplot as plt

    widths = ctx.pick((12, 10, 10, 8), (40, 32, 32, 24))
    d_l = widths[2]
    inst = channel_split_instance(ctx.seed, widths=widths, ell=2, r=2, channels=tuple(range(d_l // 2)),
                                  in_rows=(0, 1), out_rows=(d_l - 2, d_l - 1), noise=0.5)
    ns = np.array(ctx.pick([30, 60, 120, 240, 480, 960], [100, 200, 400, 800, 1600, 3200, 6400]))
    reps = ctx.pick(300, 200)
    a = (inst.layers, inst.ell)
    e_inf = {m: cf.excess_risk(F, inst.B_in, inst.sigma_in) for m, F in inst.population_fits().items()}
    lim = cf.lora_variance_limit(*a, inst.r, inst.B_in, inst.sigma_in, float(inst.sigma_eps[0, 0]))
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    rng = np.random.default_rng(ctx.seed)
    for j, m in enumerate(("full", "s2ft", "lora")):
        mean, ci = [], []
        for n in ns:
            e = sv.monte_carlo_risks(inst, int(n), reps, int(rng.integers(2**31)), methods=(m,))[f"E_in_{m}"]
            mean.append(e.mean() - e_inf[m])
            ci.append(1.96 * e.std(ddof=1) / np.sqrt(reps))
        ax.errorbar(ns, mean, yerr=ci, fmt="o", ms=4, color=f"C{j}", capsize=2, label=f"{m}: Monte Carlo")
        if m == "lora":
            ax.plot(ns, lim / ns, "--", color=f"C{j}", label=r"LoRA limit $\sigma^2 r(q'+d'-r)/n$")
        else:
            ex = [cf.expected_id_risk_exact(*a, inst.B_in, inst.sigma_in, inst.sigma_eps, int(n),
                                            channels=None if m == "full" else inst.channels)["variance"] for n in ns]
            ax.plot(ns, ex, "-", color=f"C{j}", label=fr"{m}: exact $\mathrm{{tr}}(\Pi\Sigma_\epsilon)d'/(n-d'-1)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sample size n")
    ax.set_ylabel(r"$\mathbb{E}\,\mathcal{E}^{(i)}_n - \mathcal{E}^{(i)}_\infty$")
    ax.set_title(f"rate 1/n with exact constants ({reps} reps, widths {widths})")
    ax.legend(fontsize=8)
    return fig
