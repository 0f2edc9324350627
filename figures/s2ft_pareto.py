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
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    labels = {"pre": "pre-trained", "full": "full layer", "lora": "LoRA (r = 2)", "s2ft": f"S²FT (s = {d_l // 4})"}
    for j, m in enumerate(names):
        e = np.array(risks[m])
        style = "--x" if m == "full" else "-o"          # full coincides with LoRA here (r >= rank of the shift)
        axes[0].plot(e[:, 0], e[:, 1], style, ms=4, color=f"C{j}", label=labels[m])
        axes[1].plot(ts, e[:, 1], style[:-1] if m != "full" else "--", color=f"C{j}", label=labels[m])
    axes[0].set_xlabel(r"ID excess risk $\mathcal{E}^{(i)}$ ($n=\infty$)")
    axes[0].set_ylabel(r"OOD excess risk $\mathcal{E}^{(o)}$")
    axes[0].set_xscale("symlog", linthresh=1e-2)
    axes[0].set_yscale("symlog", linthresh=1e-2)
    axes[0].set_title("trade-off along the sweep (markers: spurious size t)")
    axes[0].legend(fontsize=8)
    axes[1].plot(ts, printed, "--", color="C3", label=r"S²FT bound, printed $(1+3\varepsilon^2)\mathcal{E}^{(o)}(f^{pre})$")
    axes[1].plot(ts, sharp, ":", color="C3", label=r"S²FT bound, sharp $\mathcal{E}^{(o)}(f^{pre}) + \|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}P\|^2$")
    axes[1].plot(ts, shift, "--", color="C2", label=r"LoRA lower bound $\|(B^{(o)}-B^{(i)})\Sigma^{1/2}\|^2$")
    axes[1].set_xlabel(r"size t of the spurious ID shift outside the channels S (scaled by $1/\sqrt{d_1}$)")
    axes[1].set_ylabel(r"OOD excess risk $\mathcal{E}^{(o)}$ ($n=\infty$)")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7)
    fig.suptitle("S²FT learns less ID and forgets less OOD; here Thm 4.2's S²FT bound stays above LoRA's risk, so nothing is certified")
    return fig
