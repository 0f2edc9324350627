"""S²FT Theorem 4.2: ID vs OOD excess risk of pre / full / LoRA / S²FT along the channel-split sweep."""

import numpy as np

from lintheory.plotting import figure
from lintheory.s2ft import closed_form as cf
from lintheory.s2ft import printed as pr
from lintheory.s2ft.data import channel_split_instance


@figure("s2ft", "pareto")
def make(ctx):
    """ID/OOD trade-off as the spurious (outside-S) part of the ID shift grows, with printed and sharp bounds."""
    import matplotlib.pyplot as plt

    widths = ctx.pick((16, 12, 12, 10), (40, 32, 32, 24))
    d_l = widths[2]
    ts = np.linspace(0.0, 1.0, ctx.pick(11, 31))
    names = ("pre", "full", "lora", "s2ft")
    risks = {m: [] for m in names}
    printed, sharp, shift = [], [], []
    for t in ts:
        inst = channel_split_instance(ctx.seed, widths=widths, ell=2, r=2, channels=tuple(range(d_l // 4)),
                                      in_rows=(0, 1), out_rows=(d_l - 2, d_l - 1),
                                      spurious=float(t) / np.sqrt(widths[1]))
        R = inst.risks(inst.population_fits())
        for m in names:
            risks[m].append(R[m])
        a = (inst.layers, inst.ell, inst.channels, inst.B_in, inst.B_out, inst.sigma_in)
        printed.append(pr.thm4_2_s2ft_bound(*a))
        sharp.append(cf.s2ft_ood_bound_sharp(*a))
        shift.append(pr.thm4_2_lora_lower_bound(inst.B_in, inst.B_out, inst.sigma_in))
    risks = {m: np.array(v) for m, v in risks.items()}
    printed, sharp, shift = map(np.array, (printed, sharp, shift))
    fig, axes = plt.subplots(1, 3, figsize=(13, 5.2), layout="constrained")
    labels = {"pre": "pre-trained", "full": "full layer (= LoRA here: r ≥ rank of the shift)",
              "lora": "LoRA (r = 2)", "s2ft": f"S²FT (s = {d_l // 4})"}
    # Coinciding curves stay visible: the one below is thick and pale, the ones on top are
    # markers of another shape (full = LoRA exactly; the LoRA lower bound = LoRA's risk).
    style = {"pre": dict(color="C0", lw=1.6, marker="o", ms=4),
             "lora": dict(color="C2", lw=5, alpha=0.45, marker="o", ms=9),
             "full": dict(color="C1", ls="none", marker="x", ms=7, mew=1.6, zorder=3),
             "s2ft": dict(color="C3", lw=1.6, marker="o", ms=4)}
    ax = axes[0]
    for m in ("pre", "lora", "full", "s2ft"):
        ax.plot(risks[m][:, 0], risks[m][:, 1], label=labels[m], **style[m])
    ax.set_xlabel(r"ID excess risk $\mathcal{E}^{(i)}$ ($n=\infty$)")
    ax.set_ylabel(r"OOD excess risk $\mathcal{E}^{(o)}$")
    ax.set_xscale("symlog", linthresh=1e-2)
    ax.set_yscale("log")
    ax.set_title("trade-off along the sweep (one marker per t)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)

    ax = axes[1]
    for m in ("pre", "lora", "full", "s2ft"):
        ax.plot(ts, risks[m][:, 1], label=labels[m], **{**style[m], "marker": None if m in ("pre", "s2ft")
                                                         else style[m]["marker"]})
    ax.plot(ts, shift, ls="none", marker=".", ms=6, color="k", zorder=4,
            label=r"LoRA lower bound $\|(B^{(o)}-B^{(i)})\Sigma^{1/2}\|^2$ (= LoRA's risk)")
    ax.set_xlabel(r"spurious ID shift t outside S (times $1/\sqrt{d_1}$)")
    ax.set_ylabel(r"OOD excess risk $\mathcal{E}^{(o)}$ ($n=\infty$)")
    ax.set_yscale("log")
    ax.set_title("OOD risk: S²FT forgets least")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)

    ax = axes[2]
    pre_o = risks["pre"][:, 1]
    ax.plot(ts, printed - pre_o, "--", color="C4", marker="^", ms=5,
            label=r"printed bound $(1+3\varepsilon^2)\mathcal{E}^{(o)}(f^{pre})$")
    ax.plot(ts, sharp - pre_o, ":", color="C5", marker="v", ms=5,
            label=r"sharp bound $\mathcal{E}^{(o)}(f^{pre}) + \|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}P\|^2$")
    ax.set_xlabel(r"spurious ID shift t outside S (times $1/\sqrt{d_1}$)")
    ax.set_ylabel(r"S²FT bound $-\ \mathcal{E}^{(o)}(f^{pre})$")
    ax.set_yscale("log")
    ax.set_title(f"S²FT bounds sit just above the pre-trained\nOOD risk ({pre_o[0]:.3g}), above LoRA's risk")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    fig.suptitle("S²FT learns less ID and forgets less OOD; Thm 4.2's S²FT bound stays above LoRA's risk, "
                 "so nothing is certified here")
    return fig
