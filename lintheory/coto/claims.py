"""Claims of the CoTo paper (``004_bb9aedc7a8b2e8cb.txt``), decided by their checks.

Exact claims compare independent routes (per-mask forward passes vs the doubling tree,
enumeration vs closed forms, subset formula vs permutations vs Gauss–Legendre vs the
polynomial-time multilinear extension).  Training claims (at the end) train torch
LoRA chains vanilla vs CoTo over seeds and decide with intervals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ..claims import Evidence, Inconclusive, claim, sweep
from .closed_form import (additive_expected_mse, additive_fixed_p_optimum,
                          expected_prediction_deep_linear, quadratic_game_shapley,
                          shapley_deep_linear_mse, size_j_predictions_dp)
from .data import random_lora_chain
from .masks import (all_masks, binomial_weights, forward, forward_all_masks, jensen_chain,
                    loss_values, losses_all_masks, mask_probabilities, size_averages)
from .merging import ensemble_lora, fuse_lora, fusion_minus_ensemble, mask_index
from .shapley import (shapley_from_table, shapley_multilinear, shapley_owen_mc,
                      shapley_permutation_mc, shapley_permutations_exact)

SEED = "004_bb9aedc7a8b2e8cb.txt"

#: relative tolerance of exact (float64, enumeration vs closed form) routes
EXACT_TOL = 1e-12
#: relative tolerance for inequality checks evaluated in float64
INEQ_TOL = 1e-12
#: largest |estimate - exact| / stderr accepted for the Monte-Carlo Shapley estimators
MC_Z_TOL = 4.5


def _loss_fn(kind: str, shift: float):
    """Per-sample convex losses, vectorised; ``shift`` makes them negative somewhere."""
    if kind == "mse":
        return lambda P, Y: loss_values(P, Y, "mse") - shift
    if kind == "abs":
        return lambda P, Y: np.sum(np.abs(np.asarray(P) - Y), axis=(-1, -2)) / np.shape(P)[-2] - shift
    if kind == "ce":
        return lambda P, Y: loss_values(P, Y, "ce") - shift
    raise ValueError(kind)


def _targets(chain, kind):
    if kind == "ce":
        return np.arange(chain.X.shape[0]) % chain.X.shape[1]
    return chain.Y


# --------------------------------------------------------------------------- Theorem 3.1

def _thm31_solve(cfg):
    """An (approximate) minimiser of the fixed-p CoTo objective E_δ MSE over all ΔW_i (scipy L-BFGS, torch gradients)."""
    import torch
    chain = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=cfg["n"])
    L, d, p = cfg["L"], cfg["d"], cfg["p"]
    W = [torch.tensor(w) for w in chain.W]
    X, Y = torch.tensor(chain.X), torch.tensor(chain.Y)
    probs = torch.tensor(mask_probabilities(p, L))

    def fun(theta):
        th = torch.tensor(theta, requires_grad=True)
        dW = th.reshape(L, d, d)
        H = X[None]
        for i in range(L):  # doubling tree, as in losses_all_masks
            H = torch.cat([H @ W[i].T, H @ (W[i] + dW[i]).T], dim=0)
        val = probs @ (((H - Y) ** 2).sum(dim=(-1, -2)) / X.shape[0])
        val.backward()
        return float(val.detach()), th.grad.numpy().copy()

    res = optimize.minimize(fun, np.zeros(L * d * d), jac=True, method="L-BFGS-B", options={"maxiter": 25})
    return chain, res.x


def _thm31_configs(ctx, n_inst, shifted: bool):
    configs = []
    for k in range(n_inst):
        g = ctx.rng(k)
        L, d = int(g.integers(1, 4)), int(g.integers(1, 4))
        n, seed = int(g.integers(1, d + 1)), int(g.integers(2**31))
        ch = random_lora_chain(L, d, seed=seed, n=n)
        base = float(loss_values(forward(ch.W, ch.dW, ch.X, np.zeros(L, bool)), ch.Y))
        # the shift c is drawn on the scale of the base loss (c = 0: the paper's ℓ >= 0)
        shift = float(np.round(g.uniform(0.2, 3) * base, 3)) if shifted else 0.0
        configs.append({"L": L, "d": d, "n": n, "seed": seed, "p": float(np.round(g.uniform(0.05, 0.95), 3)),
                        "shift": shift})
    return configs


def _thm31_lhs(theta, cfg, chain, route="tree"):
    L, d = cfg["L"], cfg["d"]
    dW = list(theta.reshape(L, d, d))
    if route == "tree":
        tab = losses_all_masks(chain.W, dW, chain.X, chain.Y)
    else:
        tab = np.array([loss_values(forward(chain.W, dW, chain.X, m), chain.Y) for m in all_masks(L)])
    return float(mask_probabilities(cfg["p"], L) @ tab) - cfg["shift"]


@claim(id="coto.thm3_1.bound.printed", paper=SEED, source="Theorem 3.1 (§3.4)",
       statement=r"For convex $\ell\ge0$ (CE, MSE) and any fixed $p\in[0,1]$: $\min_{\Delta W}\mathbb E_\delta\ell(\hat y,y)"
                 r"\ge\min_{\Delta W}\sum_{j=1}^{L}w_j(p)\,\ell(\tilde y_j,y)$ (sum from $j=1$ as printed)",
       form="printed",
       method="random deep linear chains (L<=3, d<=3) with the MSE loss (ℓ >= 0, the losses §3.2 names); at the "
              "L-BFGS minimiser of the LHS and at the chain's own adapters, Σ_{j>=1} w_j ℓ(ỹ_j) - E_δ ℓ (relative, "
              "exact enumeration of the 2^L masks) must not be positive: the pointwise inequality at every ΔW gives "
              "the min-min form; negative-valued convex losses are outside the paper's setting and decided by "
              "coto.thm3_1.bound.negative_losses",
       expected="holds")
def _thm31_printed(ctx):
    def evaluate(cfg):
        chain, theta = _thm31_solve(cfg)
        err = 0.0
        for dW in (list(theta.reshape(cfg["L"], cfg["d"], cfg["d"])), chain.dW):
            P = forward_all_masks(chain.W, dW, chain.X)
            ch = jensen_chain(P, chain.Y, cfg["p"])
            s = max(1.0, abs(ch["expected_loss"]))
            err = max(err, (ch["rhs_printed"] - ch["expected_loss"]) / s)
        return err

    return sweep(_thm31_configs(ctx, ctx.pick(8, 150), shifted=False), evaluate, tolerance=INEQ_TOL,
                 size=lambda c: (c["L"], c["d"], c["n"]))


def _thm31_negative_certificate(cfg):
    """Exact certificate: min LHS <= E_δ ℓ(θ*) (rational arithmetic) < -c Σ_{j>=1} w_j <= min RHS."""
    from fractions import Fraction

    from ..certify import exact, to_fraction

    chain, theta = _thm31_solve(cfg)
    L, d = cfg["L"], cfg["d"]
    p, c = to_fraction(cfg["p"]), to_fraction(cfg["shift"])
    Wf = [np.vectorize(to_fraction, otypes=[object])(w) for w in chain.W]
    dWf = [np.vectorize(to_fraction, otypes=[object])(w) for w in theta.reshape(L, d, d)]
    Xf = np.vectorize(to_fraction, otypes=[object])(chain.X)
    Yf = np.vectorize(to_fraction, otypes=[object])(chain.Y)
    lhs = Fraction(0)
    for m in all_masks(L):
        H = Xf
        for i in range(L):
            H = H @ (Wf[i] + dWf[i] if m[i] else Wf[i]).T
        loss = sum(v * v for v in (H - Yf).ravel()) / Xf.shape[0] - c
        prob = Fraction(1)
        for b in m:
            prob *= p if b else 1 - p
        lhs += prob * loss
    rhs_lower = -c * (1 - (1 - p) ** L)          # ℓ >= -c and Σ_{j>=1} w_j = 1 - (1-p)^L
    return exact(rhs_lower - lhs, note="E_δ ℓ at the L-BFGS point (exact rationals) is below the lower bound "
                                       "-c(1-(1-p)^L) of every Σ_{j>=1} w_j ℓ(ỹ_j)",
                 lhs_at_point=float(lhs), rhs_lower_bound=float(rhs_lower))


@claim(id="coto.thm3_1.bound.negative_losses", paper=SEED, source="Theorem 3.1 (§3.4), outside its setting",
       statement=r"Theorem 3.1's $j=1$ form extended to convex losses that take negative values "
                 r"($\ell=\|u-y\|^2/n-c$, $c>0$): $\min\mathbb E_\delta\ell\ge\min\sum_{j\ge1}w_j\ell(\tilde y_j)$",
       form="derived",
       method="random deep linear chains (L<=3, d<=3), ℓ = ||u-y||^2/n - c with c > 0 on the scale of the base "
              "loss; an upper bound on min LHS (scipy L-BFGS with torch gradients from ΔW=0; re-checked by per-mask "
              "forward passes) vs the lower bound -c·Σ_{j>=1} w_j of min RHS; error = lower bound - upper bound; "
              "the counterexample is certified in exact rational arithmetic",
       expected="fails")
def _thm31_negative(ctx):
    def evaluate(cfg, route="tree"):
        chain, theta = _thm31_solve(cfg)
        rhs_lower = -cfg["shift"] * float(binomial_weights(cfg["p"], cfg["L"])[1:].sum())
        return rhs_lower - _thm31_lhs(theta, cfg, chain, route)

    ev = sweep(_thm31_configs(ctx, ctx.pick(6, 100), shifted=True), evaluate, tolerance=0.0,
               recheck=lambda c: evaluate(c, route="per-mask"), certify=_thm31_negative_certificate,
               size=lambda c: (c["L"], c["d"], c["n"]))
    ev.details["analytic_counterexample"] = "L=1, W=0, y=0, ℓ(u)=u²-1: min LHS = -1 < min RHS = -p"
    return ev


@claim(id="coto.thm3_1.bound.corrected", paper=SEED, source="Theorem 3.1 / Appendix D, Eq. (8)",
       statement=r"For every ΔW, sample set and $p\in[0,1]$, with $\ell$ convex in the prediction: "
                 r"$\mathbb E_\delta\ell(\hat y)=\sum_{j=0}^L w_j\overline{\ell}_j\ge\sum_{j=0}^{L}w_j(p)\,"
                 r"\ell(\tilde y_j)\ge\ell(\mathbb E_\delta\hat y)$ (sum from $j=0$; implies the min–min form)",
       form="corrected",
       method="exact enumeration of all 2^L masks (doubling tree) for random linear and ReLU chains, "
              "L<=8, losses MSE, CE, L1, each optionally shifted negative; p on a grid incl. 0 and 1; "
              "error = largest relative violation of either inequality",
       expected="holds")
def _thm31_corrected(ctx):
    n_inst = ctx.pick(30, 200)
    ps = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]

    def evaluate(cfg, key="rhs_corrected"):
        chain = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=cfg["n"],
                                  activation=cfg["activation"], adapter_scale=cfg["scale"])
        P = forward_all_masks(chain.W, chain.dW, chain.X, activation=chain.activation)
        Y = _targets(chain, cfg["loss"])
        lf = _loss_fn(cfg["loss"], cfg["shift"])
        err = 0.0
        for p in ps:
            ch = jensen_chain(P, Y, p, loss=lf)
            s = max(1.0, abs(ch["expected_loss"]), abs(ch["rhs_corrected"]))
            err = max(err, (ch[key] - ch["expected_loss"]) / s,
                      (ch["loss_of_mean"] - ch["rhs_corrected"]) / s if key == "rhs_corrected" else 0.0)
        return err

    configs = []
    for k in range(n_inst):
        g = ctx.rng(k)
        configs.append({"L": int(g.integers(1, 9)), "d": int(g.integers(2, 5)), "n": int(g.integers(1, 6)),
                        "seed": int(g.integers(2**31)), "activation": [None, "relu"][k % 2],
                        "loss": ["mse", "ce", "abs"][k % 3], "scale": float(g.uniform(0.1, 2.0)),
                        "shift": float(g.choice([0.0, 2.0]))})
    return sweep(configs, evaluate, tolerance=INEQ_TOL,
                 alternative=("the printed lower limit j = 1, applied to the same (possibly negative) losses",
                              lambda c: evaluate(c, "rhs_printed")))


@claim(id="coto.thm3_1.binomial_decomposition", paper=SEED, source="Appendix D, Eq. (8), first equality",
       statement=r"$\mathbb E_\delta\ell = \sum_{j=0}^{L} w_j(p)\,\binom Lj^{-1}\sum_{|S|=j}\ell(f_S)$: the CoTo "
                 r"objective *equals* the binomially weighted average size-j subnetwork loss",
       form="derived",
       method="route 1: Σ_m P_p(m) ℓ_m with a separate forward pass per mask; route 2: doubling-tree table, "
              "size averages and w_j(p); the z-scores of a 4000-mask Monte-Carlo estimate (what training "
              "samples) are reported in the details",
       expected="holds")
def _binomial(ctx):
    n_inst = ctx.pick(12, 60)

    def evaluate(cfg):
        chain = random_lora_chain(cfg["L"], 3, seed=cfg["seed"], n=4, activation=cfg["activation"])
        L, p = cfg["L"], cfg["p"]
        direct = sum(float(np.prod(np.where(m, p, 1 - p))) *
                     float(loss_values(forward(chain.W, chain.dW, chain.X, m, activation=chain.activation),
                                       chain.Y)) for m in all_masks(L))
        tab = losses_all_masks(chain.W, chain.dW, chain.X, chain.Y, activation=chain.activation)
        decomposed = float(binomial_weights(p, L) @ size_averages(tab))
        g = np.random.default_rng(cfg["seed"])
        idx = (g.random((4000, L)) < p).astype(np.int64) @ (1 << np.arange(L))
        mc = tab[idx]
        z = None  # z-scores are reported, not decided on: at extreme p the mean is far from normal
        if mc.std() > 0:
            z = abs(mc.mean() - decomposed) / (mc.std(ddof=1) / math.sqrt(mc.size))
        return abs(direct - decomposed) / max(1.0, abs(direct)), z

    def no_binomial(cfg):  # w_j = p^j (1-p)^(L-j): the binomial coefficient dropped
        chain = random_lora_chain(cfg["L"], 3, seed=cfg["seed"], n=4, activation=cfg["activation"])
        L, p = cfg["L"], cfg["p"]
        tab = losses_all_masks(chain.W, chain.dW, chain.X, chain.Y, activation=chain.activation)
        direct = float(mask_probabilities(p, L) @ tab)
        j = np.arange(L + 1)
        wrong = float((p ** j * (1 - p) ** (L - j)) @ size_averages(tab))
        return abs(direct - wrong) / max(1.0, abs(direct))

    configs = [{"L": int(ctx.rng(k).integers(1, 9)), "seed": int(ctx.rng(k).integers(2**31)),
                "p": float(ctx.rng(k, 1).uniform()), "activation": [None, "relu"][k % 2]}
               for k in range(n_inst)]
    ev = sweep(configs, evaluate, tolerance=EXACT_TOL,
               alternative=("w_j = p^j (1-p)^(L-j) without the binomial coefficient", no_binomial))
    zs = [z for z in ev.instance_data if z is not None]
    if zs:
        ev.details["mc_mask_sampling_max_z"] = float(max(zs))
        ev.details["mc_mask_sampling_within_3se"] = float(np.mean(np.array(zs) <= 3))
    return ev


@claim(id="coto.mean_network.deep_linear", paper=SEED, source="§3.4 (Eq. 5) in deep linear chains",
       statement=r"For a deep linear chain $\mathbb E_\delta f_\delta(x)=\prod_i(W_i+p\Delta W_i)x$, and "
                 r"$\tilde y_j=\binom Lj^{-1}[z^j]\prod_i(W_i+z(W_i+\Delta W_i))x$",
       form="derived",
       method="enumeration of all 2^L masked predictions (L<=10) vs the product closed form and the "
              "polynomial dynamic programme; ReLU chains recorded as a negative control (details)",
       expected="holds")
def _mean_network(ctx):
    n_inst = ctx.pick(20, 100)

    def evaluate(cfg):
        chain = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=5)
        P = forward_all_masks(chain.W, chain.dW, chain.X)
        scale = max(1.0, float(np.abs(P).max()))
        mean_enum = np.tensordot(mask_probabilities(cfg["p"], cfg["L"]), P, axes=1)
        e1 = np.abs(mean_enum - expected_prediction_deep_linear(chain.W, chain.dW, chain.X, cfg["p"])).max()
        e2 = np.abs(size_averages(P) - size_j_predictions_dp(chain.W, chain.dW, chain.X)).max()
        relu = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=5, activation="relu")
        Pr = forward_all_masks(relu.W, relu.dW, relu.X, activation="relu")
        H = relu.X
        for i, (w, dw) in enumerate(zip(relu.W, relu.dW)):
            H = H @ (w + cfg["p"] * dw).T
            H = np.maximum(H, 0) if i < cfg["L"] - 1 else H
        relu_gap = float(np.abs(np.tensordot(mask_probabilities(cfg["p"], cfg["L"]), Pr, axes=1) - H).max())
        return max(e1, e2) / scale, relu_gap

    def extremes(cfg):  # E f = p f(all on) + (1-p) f(all off): only the two extreme networks
        chain = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=5)
        P = forward_all_masks(chain.W, chain.dW, chain.X)
        mean_enum = np.tensordot(mask_probabilities(cfg["p"], cfg["L"]), P, axes=1)
        wrong = cfg["p"] * P[-1] + (1 - cfg["p"]) * P[0]
        return float(np.abs(mean_enum - wrong).max() / max(1.0, float(np.abs(P).max())))

    configs = [{"L": int(ctx.rng(k).integers(1, 11)), "d": int(ctx.rng(k).integers(1, 5)),
                "seed": int(ctx.rng(k).integers(2**31)), "p": float(ctx.rng(k, 1).uniform())}
               for k in range(n_inst)]
    ev = sweep(configs, evaluate, tolerance=EXACT_TOL,
               alternative=("E_δ f = p f(all on) + (1-p) f(all off) (the two extreme networks only)", extremes))
    relu_gaps = ev.instance_data
    ev.details["relu_negative_control_max_gap"] = max(relu_gaps) if relu_gaps else None
    return ev


# --------------------------------------------------------------------------- Shapley values

def _banzhaf(tab) -> np.ndarray:
    """Banzhaf values of a loss game given as a table over mask indices (bit i = player i)."""
    tab = np.asarray(tab, dtype=np.float64)
    L = int(round(math.log2(tab.size)))
    idx = np.arange(tab.size)
    return np.array([float(np.mean(tab[idx[(idx >> i) & 1 == 0] | (1 << i)] - tab[idx[(idx >> i) & 1 == 0]]))
                     for i in range(L)])


def _chain_table(cfg):
    chain = random_lora_chain(cfg["L"], cfg["d"], seed=cfg["seed"], n=6, activation=cfg.get("activation"))
    return chain, losses_all_masks(chain.W, chain.dW, chain.X, chain.Y, activation=chain.activation)


@claim(id="coto.shapley.exact_routes", paper=SEED, source="§3.5, Owen formula after Eq. (7)",
       statement=r"$\varphi_i=\int_0^1c_i(p)\,dp$ equals the subset-weighted and the all-permutations Shapley "
                 r"value; Gauss–Legendre with $\lceil L/2\rceil$ nodes is exact",
       form="derived",
       method="loss games of random linear/ReLU chains (L<=8): subset formula vs L! permutations vs "
              "Gauss–Legendre(ceil(L/2)) vs (linear MSE) the polynomial-time multilinear-extension route; "
              "max abs difference relative to max(1, |v|)",
       expected="holds")
def _shapley_exact(ctx):
    n_inst = ctx.pick(16, 80)

    def evaluate(cfg):
        chain, tab = _chain_table(cfg)
        ref = shapley_from_table(tab)
        errs = [np.abs(ref - shapley_permutations_exact(tab)).max(),
                np.abs(ref - shapley_multilinear(tab)).max(),
                abs(ref.sum() - (tab[-1] - tab[0]))]
        if cfg.get("activation") is None:
            errs.append(np.abs(ref - shapley_deep_linear_mse(chain.W, chain.dW, chain.X, chain.Y)).max())
        short = None  # Gauss-Legendre with one node too few: reported, not decided on
        if cfg["L"] >= 3:
            short = float(np.abs(ref - shapley_multilinear(tab, math.ceil(cfg["L"] / 2) - 1)).max())
        return max(errs) / max(1.0, float(np.abs(tab).max())), short

    def banzhaf(cfg):  # uniform subset weights 2^-(L-1) instead of |R|!(L-|R|-1)!/L!
        _, tab = _chain_table(cfg)
        ref = shapley_from_table(tab)
        return float(np.abs(ref - _banzhaf(tab)).max() / max(1.0, float(np.abs(tab).max())))

    configs = [{"L": int(ctx.rng(k).integers(1, 9)), "d": int(ctx.rng(k).integers(1, 4)),
                "seed": int(ctx.rng(k).integers(2**31)), "activation": [None, "relu"][k % 2]}
               for k in range(n_inst)]
    ev = sweep(configs, evaluate, tolerance=EXACT_TOL,
               alternative=("the Banzhaf value (uniform weights over the subsets R)", banzhaf))
    under = [u for u in ev.instance_data if u is not None]
    ev.details["gauss_legendre_one_node_short_max_error"] = max(under) if under else None
    return ev


@claim(id="coto.shapley.axioms", paper=SEED, source="§3.5 (Shapley, 1953)",
       statement="efficiency (Σφ = v(S) - v(∅)), null player (ΔW_i = 0 ⇒ φ_i = 0), symmetry (identical "
                 "additive adapters get equal φ), additivity (φ of a sum of games = sum of φ), and the "
                 "quadratic-game closed form φ_i = ⟨u_i, U - 2r⟩",
       form="derived",
       method="exact enumeration on deep linear chains and additive-adapter games (L<=8)",
       expected="holds")
def _axioms(ctx):
    n_inst = ctx.pick(16, 80)

    def evaluate(cfg):
        L = cfg["L"]
        chain = random_lora_chain(L, 3, seed=cfg["seed"], n=5)
        dW = chain.dW
        null = cfg["seed"] % L
        dW[null] = np.zeros_like(dW[null])
        t1 = losses_all_masks(chain.W, dW, chain.X, chain.Y)
        t2 = losses_all_masks(chain.W, dW, chain.X[::-1] * 0.5, chain.Y + 1.0)
        phi1, phi2 = shapley_from_table(t1), shapley_from_table(t2)
        scale = max(1.0, float(np.abs(t1).max()), float(np.abs(t2).max()))
        errs = [abs(phi1.sum() - (t1[-1] - t1[0])), abs(phi1[null]),
                np.abs(shapley_from_table(t1 + t2) - phi1 - phi2).max()]
        g = np.random.default_rng(cfg["seed"])
        r = g.standard_normal((4, 2))
        u = g.standard_normal((L, 4, 2))
        if L >= 2:
            u[1] = u[0]
        M = all_masks(L)
        tq = np.array([np.sum((r - u[m].sum(axis=0)) ** 2) for m in M])
        pq = shapley_from_table(tq)
        errs += [abs(pq[0] - pq[1]) if L >= 2 else 0.0, np.abs(pq - quadratic_game_shapley(r, u)).max()]
        return max(errs) / max(scale, float(np.abs(tq).max()))

    def banzhaf_efficiency(cfg):  # the Banzhaf value in place of Shapley's: efficiency fails
        chain = random_lora_chain(cfg["L"], 3, seed=cfg["seed"], n=5)
        t1 = losses_all_masks(chain.W, chain.dW, chain.X, chain.Y)
        return abs(_banzhaf(t1).sum() - (t1[-1] - t1[0])) / max(1.0, float(np.abs(t1).max()))

    configs = [{"L": int(ctx.rng(k).integers(1, 9)), "seed": int(ctx.rng(k).integers(2**31))}
               for k in range(n_inst)]
    return sweep(configs, evaluate, tolerance=EXACT_TOL,
                 alternative=("the Banzhaf value (its sum is not v(S) - v(∅))", banzhaf_efficiency))


@claim(id="coto.shapley.monte_carlo", paper=SEED, source="§3.5 (estimation by sampling p and subsets)",
       statement="the permutation and Owen (Gauss–Legendre nodes, ceil(L/2)) Monte-Carlo estimators agree with "
                 "the exact Shapley values within their standard errors",
       form="derived",
       method=f"loss games of random chains (L=4..8); max over players of |estimate - exact| / stderr "
              f"must stay below {MC_Z_TOL}; the coverage of ±2 stderr is reported",
       expected="holds")
def _mc(ctx):
    n_inst = ctx.pick(6, 30)
    n_perm, n_owen = ctx.pick(150, 600), ctx.pick(30, 120)

    def evaluate(cfg, target="shapley"):
        _, tab = _chain_table(cfg)
        if target == "shapley":
            exact = shapley_from_table(tab)
        else:  # leave-one-out contributions v(S) - v(S \ {i})
            full = tab.size - 1
            exact = np.array([tab[full] - tab[full ^ (1 << i)] for i in range(cfg["L"])])
        v = lambda m: tab[mask_index(m)]  # noqa: E731
        out, zs = 0.0, []
        for est in (shapley_permutation_mc(v, cfg["L"], n_perm, seed=cfg["seed"]),
                    shapley_owen_mc(v, cfg["L"], n_owen, seed=cfg["seed"] + 1)):
            se = np.maximum(est.stderr, 1e-15 * max(1.0, np.abs(exact).max()))
            z = np.abs(est.values - exact) / se
            zs.extend(z.tolist())
            out = max(out, float(z.max()))
        return out, zs

    configs = [{"L": int(ctx.rng(k).integers(4, 9)), "d": 3, "seed": int(ctx.rng(k).integers(2**31)),
                "activation": [None, "relu"][k % 2]} for k in range(n_inst)]
    ev = sweep(configs, evaluate, tolerance=MC_Z_TOL,
               alternative=("the estimators are centred on the leave-one-out contributions v(S) - v(S∖i)",
                            lambda c: evaluate(c, "leave_one_out")))
    zs = [z for zs_one in ev.instance_data for z in zs_one]
    if zs:
        ev.details["coverage_2se"] = float(np.mean(np.array(zs) <= 2.0))
        ev.details["n_z"] = len(zs)
    return ev


# --------------------------------------------------------------------------- merging, additive

@claim(id="coto.merging.fusion_identity", paper=SEED, source="§4.2, footnote 3 (fusion vs ensemble)",
       statement=r"$\Delta W_f-\Delta W_e=-\lambda(1-\lambda)(B_1-B_2)(A_1-A_2)$; the ensemble is invariant under "
                 r"$(B_2,A_2)\to(B_2P,P^{-1}A_2)$",
       form="derived",
       method="random adapters (m, n <= 8, r <= 4), λ in [-0.5, 1.5], random invertible P; max abs error "
              "relative to max(1, |ΔW|)",
       expected="holds")
def _fusion(ctx):
    def evaluate(cfg, sign=1.0):
        g = np.random.default_rng(cfg["seed"])
        m, n, r, lam = cfg["m"], cfg["n"], cfg["r"], cfg["lam"]
        B1, B2 = g.standard_normal((2, m, r))
        A1, A2 = g.standard_normal((2, r, n))
        P = g.standard_normal((r, r)) + 2 * np.eye(r)
        d = fuse_lora(B1, A1, B2, A2, lam) - ensemble_lora(B1, A1, B2, A2, lam)
        e1 = np.abs(d - sign * fusion_minus_ensemble(B1, A1, B2, A2, lam)).max()
        e2 = np.abs(ensemble_lora(B1, A1, B2 @ P, np.linalg.solve(P, A2), lam)
                    - ensemble_lora(B1, A1, B2, A2, lam)).max() / np.linalg.cond(P)
        return max(e1, e2) / max(1.0, float(np.abs(B1 @ A1).max()), float(np.abs(B2 @ A2).max()))

    configs = [{"m": int(ctx.rng(k).integers(1, 9)), "n": int(ctx.rng(k).integers(1, 9)),
                "r": int(ctx.rng(k).integers(1, 5)), "seed": int(ctx.rng(k).integers(2**31)),
                "lam": float(ctx.rng(k, 1).uniform(-0.5, 1.5))} for k in range(ctx.pick(100, 1000))]
    return sweep(configs, evaluate, tolerance=EXACT_TOL,
                 alternative=("+λ(1-λ)(B₁-B₂)(A₁-A₂) (sign flipped)", lambda c: evaluate(c, -1.0)))


@claim(id="coto.additive.fixed_p_optimum", paper=SEED, source="§3.4, Eq. (4) at fixed p (additive adapters)",
       statement=r"For additive adapters $\hat y=W_0x+\sum_i\delta_iu_i$ with MSE, $\mathbb E_\delta\|r-\sum\delta_iu_i\|^2"
                 r"=\|r-pU\|^2+p(1-p)\sum\|u_i\|^2$, minimised by $u_i=r/(1+p(L-1))$ (equal split)",
       form="derived",
       method="enumeration over 2^L masks assembles the quadratic's normal equations, solved by lstsq "
              "(independent of the closed form); compares minimiser and objective",
       expected="holds")
def _additive(ctx):
    def evaluate(cfg, naive=False):
        L, p = cfg["L"], cfg["p"]
        g = np.random.default_rng(cfg["seed"])
        r = g.standard_normal(cfg["k"])
        M = all_masks(L).astype(float)
        w = mask_probabilities(p, L)
        # E||r - Σ δ_i u_i||² is quadratic in u: Hessian (per coordinate) Σ_m w_m δ δᵀ, linear term Σ_m w_m δ r
        H = (M * w[:, None]).T @ M
        u_solver = np.linalg.lstsq(H, np.outer(M.T @ w, r), rcond=None)[0]
        u_closed = np.tile(r / L, (L, 1)) if naive else additive_fixed_p_optimum(r, L, p)
        tab = np.array([np.sum((r - u_closed[m.astype(bool)].sum(axis=0)) ** 2) for m in M])
        e_obj = abs(w @ tab - additive_expected_mse(r, u_closed, p))
        return max(np.abs(u_solver - u_closed).max(), e_obj) / max(1.0, float(np.abs(r).max()))

    configs = [{"L": int(ctx.rng(k).integers(1, 9)), "k": int(ctx.rng(k).integers(1, 5)),
                "p": float(ctx.rng(k, 1).uniform(0.05, 1.0)), "seed": int(ctx.rng(k).integers(2**31))}
               for k in range(ctx.pick(30, 200))]
    return sweep(configs, evaluate, tolerance=1e-10,
                 alternative=("u_i = r/L (the p = 1 split, no shrinkage)", lambda c: evaluate(c, naive=True)))


# --------------------------------------------------------------------------- trained models

def _manual_discrimination(ev: Evidence, name: str, gaps, tol: float) -> Evidence:
    """Record the alternative's largest error measured inside ``evaluate`` (no second training run)."""
    gap = max(gaps) if gaps else None
    ev.discrimination = {"alternative": name, "gap": gap, "tolerance": tol,
                         "rejected": gap is not None and gap > tol}
    if ev.verdict == "holds" and not ev.discrimination["rejected"]:
        ev.inconclusive = f"the check cannot reject the alternative {name!r}: its largest error {gap!r} <= {tol!r}"
    return ev


def _t_interval(x, level: float = 0.95):
    """Mean and two-sided t confidence interval of the mean."""
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    m = float(x.mean())
    if x.size < 2:
        return m, (-np.inf, np.inf)
    h = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, (m - h, m + h)


@claim(id="coto.train.gain_shares.vanilla", paper=SEED, source="§4.3, Figure 8 (vanilla LoRA: skewed contributions)",
       statement=r"Additive adapters $u_i=c_i\theta_i$ with gains $c_i$, trained by full-batch gradient descent "
                 r"from $\theta=0$ (vanilla): Shapley shares $=c_i^2/\sum_kc_k^2$ (top-heavy when gains grow with depth)",
       form="derived",
       method="torch float64 GD to convergence (train_additive_gains), exact Shapley values of the trained "
              "loss game by 2^L enumeration and by the quadratic closed form; error = max |share - c_i^2/Σc^2|",
       expected="holds")
def _gain_vanilla(ctx):
    from .data import gain_problem
    from .train import train_additive_gains

    L = 6
    steps = ctx.pick(500, 3000)

    def evaluate(cfg):
        g = gain_problem(L, 4, 16, seed=cfg["seed"])
        out, = train_additive_gains(g["W0"], g["X"], g["Y"], g["gains"],
                                    runs=[{"method": "vanilla", "seed": cfg["seed"]}], steps=steps, lr=0.03,
                                    device=ctx.device)
        if out["loss"] > 1e-8:
            raise Inconclusive(f"GD did not converge: final loss {out['loss']:.3g}")
        tab = np.array([np.sum((out["r"] - out["u"][m].sum(axis=0)) ** 2) / out["r"].shape[0]
                        for m in all_masks(L)])
        phi = shapley_from_table(tab)
        if np.abs(phi - out["shapley"]).max() > 1e-10 * max(1.0, np.abs(tab).max()):
            raise Inconclusive("enumeration and closed-form Shapley values disagree")
        target = g["gains"] ** 2 / np.sum(g["gains"] ** 2)
        linear = g["gains"] / np.sum(g["gains"])      # the alternative: shares ∝ c_i
        return float(np.abs(phi / phi.sum() - target).max()), float(np.abs(phi / phi.sum() - linear).max())

    tol = 1e-6
    ev = sweep([{"seed": int(ctx.rng(k).integers(2**31))} for k in range(ctx.pick(2, 6))], evaluate,
               tolerance=tol, details={"gains": np.linspace(0.5, 2.0, L).tolist()})
    return _manual_discrimination(ev, "Shapley shares ∝ c_i (gains, not squared gains)",
                                  [a for a in ev.instance_data if a is not None], tol)


@claim(id="coto.train.gain_shares.coto_balanced", paper=SEED, source="§4.3, Figure 8 (CoTo: balanced contributions)",
       statement="With the same gains, CoTo (paper schedule) gives near-uniform Shapley shares: the spread "
                 "(max - min) of the seed-averaged shares is at most half of vanilla's c_i^2/Σc^2 spread",
       form="derived",
       method="torch float64 GD with CoTo masks (one per step) over seeds; exact Shapley values of each trained "
              "loss game; error = spread(CoTo mean shares) / spread(vanilla shares), tolerance 0.5",
       expected="holds")
def _gain_coto(ctx):
    from .data import gain_problem
    from .train import train_additive_gains

    L = 6
    n_seeds = ctx.pick(8, 24)
    g = gain_problem(L, 4, 16, seed=ctx.seed % 2**31)
    runs = [{"method": "vanilla", "seed": 0}] + [{"method": "coto", "seed": int(ctx.rng(k).integers(2**31))}
                                                 for k in range(n_seeds)]
    outs = train_additive_gains(g["W0"], g["X"], g["Y"], g["gains"], runs=runs, steps=ctx.pick(500, 3000),
                                lr=0.03, device=ctx.device)
    if max(o["loss"] for o in outs) > 1e-8:
        return Evidence(inconclusive=f"GD did not converge: max final loss {max(o['loss'] for o in outs):.3g}")
    van = outs[0]["shares"]
    coto = np.array([o["shares"] for o in outs[1:]])
    mean = coto.mean(axis=0)
    se = coto.std(axis=0, ddof=1) / math.sqrt(n_seeds)
    ratio = float((mean.max() - mean.min()) / (van.max() - van.min()))
    # the alternative "CoTo leaves the shares as vanilla's" predicts the spread ratio 1: its error is
    # |1 - 0| in units of the claim's ratio; a t-interval on the per-seed ratios must exclude 1
    per_seed = (coto.max(axis=1) - coto.min(axis=1)) / (van.max() - van.min())
    _, (_, hi) = _t_interval(per_seed)
    gap = float(1.0 - hi)
    disc = {"alternative": "CoTo leaves the shares as vanilla's (spread ratio 1)", "gap": 1.0 - ratio,
            "tolerance": 0.5, "rejected": bool(1.0 - ratio > 0.5 and hi < 1.0),
            "per_seed_ratio_ci95_upper": float(hi), "distance_of_upper_bound_from_1": gap}
    return Evidence(instances=n_seeds, max_error=ratio, tolerance=0.5, discrimination=disc,
                    details={"vanilla_shares": van.tolist(), "coto_mean_shares": mean.tolist(),
                             "coto_share_stderr": se.tolist(),
                             "coto_per_seed_spread": (coto.max(axis=1) - coto.min(axis=1)).tolist(),
                             "gains": g["gains"].tolist()})


#: the pruning comparison trains more seeds while its interval straddles 0 (never more than this)
PRUNING_MAX_SEEDS = 16


def _pruning_experiment(ctx, activation):
    """Train vanilla and CoTo over seeds; while the 95 % interval of the paired relative
    improvement contains 0 the comparison is undecided, so it doubles the seeds (the first
    ones are kept) up to ``PRUNING_MAX_SEEDS``; still undecided is inconclusive, not fails."""
    n_seeds = ctx.pick(4, 10)
    while True:
        ev = _pruning_run(ctx, activation, n_seeds)
        lo, hi = ev.details["relative_improvement_ci95"]
        if lo > 0 or hi < 0 or n_seeds >= PRUNING_MAX_SEEDS:
            break
        n_seeds = min(2 * n_seeds, PRUNING_MAX_SEEDS)
    if lo <= 0 <= hi:
        ev.max_error = None
        ev.inconclusive = (f"the 95% interval [{lo:.3g}, {hi:.3g}] of the relative improvement contains 0 "
                           f"after {n_seeds} seeds")
    elif hi < 0:
        ev.counterexample = {"activation": activation, "seeds": n_seeds, "steps": ev.details["steps"],
                             "relative_improvement_ci95": [lo, hi]}
    return ev


def _pruning_run(ctx, activation, n_seeds):
    from .data import teacher_student_chain
    from .train import chain_metrics, distance_from_init, fusion_path, train_lora_chains

    steps = ctx.pick(600, 2000)
    P = teacher_student_chain(6, 8, n_train=64, n_test=256, seed=ctx.seed % 2**31, activation=activation)
    seeds = [int(ctx.rng(k).integers(2**31)) for k in range(n_seeds + 1)]
    methods = ["vanilla", "coto"] + (["coto_official"] if ctx.full else [])
    runs = [{"method": "coto" if m.startswith("coto") else "vanilla",
             "schedule": "official" if m == "coto_official" else "paper", "seed": s}
            for m in methods for s in seeds]
    res = train_lora_chains(P["W"], P["X_train"], P["Y_train"], runs=runs, steps=steps, lr=1e-2,
                            activation=activation, device=ctx.device)
    by = {m: res[k * len(seeds):(k + 1) * len(seeds)] for k, m in enumerate(methods)}
    out = {}
    for m in methods:
        mets = [chain_metrics(P["W"], r.dW, P["X_test"], P["Y_test"], activation=activation) for r in by[m]]
        bars = [fusion_path(P["W"], by[m][k], by[m][k + 1], P["X_test"], P["Y_test"],
                            lams=np.linspace(0, 1, 5), activation=activation)["fusion_barrier"]
                for k in range(n_seeds)]
        out[m] = {"pruned": np.array([x["pruned_mean"] for x in mets[:n_seeds]]),
                  "full": np.array([x["full"] for x in mets[:n_seeds]]),
                  "share_spread": np.array([np.ptp(x["shares"]) for x in mets[:n_seeds]]),
                  "fusion_barrier": np.array(bars),
                  "distance_from_init": np.array([distance_from_init(r) for r in by[m][:n_seeds]])}
    rel = (out["vanilla"]["pruned"] - out["coto"]["pruned"]) / out["vanilla"]["pruned"]
    mean, (lo, hi) = _t_interval(rel)
    det = {"relative_improvement_mean": mean, "relative_improvement_ci95": [lo, hi], "seeds": n_seeds,
           "steps": steps, "base_loss": float(losses_all_masks(P["W"], [np.zeros_like(w) for w in P["W"]], P["X_test"],
                                                               P["Y_test"], activation=activation)[0])}
    for m in methods:
        for k, v in out[m].items():
            mu, ci = _t_interval(v)
            det[f"{m}.{k}"] = {"mean": mu, "ci95": list(ci)}
    disc = {"alternative": "CoTo prunes no better than vanilla (relative improvement 0)", "gap": float(lo),
            "tolerance": 0.0, "rejected": bool(lo > 0)}
    return Evidence(instances=n_seeds, max_error=-lo, tolerance=0.0, details=det, discrimination=disc)


@claim(id="coto.train.pruning_robustness.deep_linear", paper=SEED, source="§4.3, Figures 7, 10, 12 (structured pruning)",
       statement="In deep linear LoRA chains (L = 6, d = 8, rank 2) CoTo lowers the test loss after structured "
                 "pruning (mean over EveryOther×2, Low, Middle, High) relative to vanilla LoRA",
       form="derived",
       method="torch float64 Adam (cosine), vanilla vs CoTo (paper schedule) over seeds on a planted-teacher "
              "task; exact pruned losses; holds when the 95% t-interval of the paired relative improvement "
              "lies above 0 (error = -lower bound); while it contains 0 the seeds are doubled (4 -> 8 -> 16 in "
              "the quick profile), still undecided is inconclusive; full loss, fusion barrier, share spread and distance from "
              "init are reported with intervals",
       expected="holds")
def _prune_linear(ctx):
    return _pruning_experiment(ctx, None)


@claim(id="coto.train.pruning_robustness.relu", paper=SEED, source="§4.3, Figures 7, 10, 12 (structured pruning)",
       statement="The same pruning-robustness comparison for a ReLU MLP chain (L = 6, d = 8, rank 2)",
       form="derived",
       method="as coto.train.pruning_robustness.deep_linear with ReLU between layers (exploratory: the "
              "expected verdict is what this check establishes)",
       expected="holds")
def _prune_relu(ctx):
    return _pruning_experiment(ctx, "relu")


# --------------------------------------------------------------------------- schedules and compute

@claim(id="coto.schedule.compute_saving", paper=SEED, source="§3.3 and Table 7 (training-time savings)",
       statement="Under the paper schedule (ρ = 3/4) adapters run on a fraction ρ/2 + (1 - ρ) = 0.625 of steps in "
                 "expectation, so CoTo saves at most 37.5 % of adapter compute (official schedule: 33.75 %); Table "
                 "7's wall-clock savings 7.20 / 23.69 / 24.21 % respect the bound",
       form="derived",
       method="closed form vs the schedule summed over T steps (T = 10..4e5; discretisation allowance 1/T) vs the "
              "active fraction of masks sampled with L = 12 (binomial z-score must stay <= 5); Table 7's savings "
              "are compared with the bound",
       expected="holds")
def _compute(ctx):
    from .schedules import expected_compute_fraction, sample_masks

    closed = {"paper": 0.75 / 2 + 0.25, "official": 0.75 * (0.1 + 0.45) + 0.25}

    def evaluate(cfg, table=None):
        T, sch = cfg["T"], cfg["schedule"]
        frac = expected_compute_fraction(sch, T=T)
        err = max(0.0, abs(frac - (table or closed)[sch]) - 1.0 / T)  # discretisation of the step sum is O(1/T)
        g = np.random.default_rng(cfg["seed"])
        from .schedules import activation_probability
        ps = np.asarray(activation_probability(np.arange(1, T + 1), T, schedule=sch))
        active = sum(int(sample_masks(p, 12, 1, seed=g).sum()) for p in ps) if T <= 2000 else None
        if active is not None:
            var = 12 * float(np.sum(ps * (1 - ps)))
            z = abs(active - 12 * ps.sum()) / math.sqrt(max(var, 1e-12))
            err = max(err, z / 5.0 - 1.0)
        return err

    configs = [{"schedule": s, "T": T, "seed": int(ctx.rng(k).integers(2**31))}
               for k, (s, T) in enumerate((s, T) for s in ("paper", "official")
                                          for T in ctx.pick((10, 200, 2000, 100_000), (10, 200, 2000, 20_000, 400_000)))]
    # the alternative: the stochastic phase counted at its mean p without the always-on phase (ρ/2)
    wrong = {"paper": 0.75 / 2, "official": 0.75 * (0.1 + 0.45)}
    ev = sweep(configs, evaluate, tolerance=0.0, size=lambda c: (c["T"],),
               alternative=("fraction ρ·mean p without the (1-ρ) always-on phase", lambda c: evaluate(c, wrong)))
    table7 = {"LoRA": 7.20, "DoRA": 23.69, "HiRA": 24.21}
    ev.details["table7_saving_percent"] = table7
    ev.details["max_saving_percent"] = {k: 100 * (1 - v) for k, v in closed.items()}
    if max(table7.values()) > 100 * (1 - closed["paper"]):
        ev.counterexample = {"table7": table7}
    return ev
