"""Claims of the S²FT deep-linear theory (seed ``003_6b1767d2fe2301ea.txt``, Section 4, Appendices F–G).

Every claim draws small random instances (dims ≤ 8) from plain-JSON configs that hold their own seed,
so each counterexample replays with :func:`build`.  Errors of inequalities are
``(lhs - rhs) / (1 + |rhs|)`` (positive = violated); of identities ``|lhs - rhs| / (1 + |rhs|)``.
"""

from __future__ import annotations

import numpy as np

from ..claims import Evidence, Inconclusive, OutsideHypotheses, by_reading, claim, sweep
from ..errors import AssumptionError, NotConvergedError
from . import closed_form as cf
from . import printed as pr
from . import solvers as sv
from .data import Instance, channel_split_instance, random_instance, sample_id

SEED = "003_6b1767d2fe2301ea.txt"

#: two exact linear-algebra routes (closed form vs lstsq / whitened / identity), relative
EXACT_TOL = 1e-9
#: gradient descent on (U, V) vs closed form, max-abs on F relative to 1 + max|F|
GD_TOL = 1e-6
#: Adam route: gradient tolerance (relative to 1 + ||K^T C||) and restarts of its decayed schedule
ADAM_GRAD_TOL = 1e-9
ADAM_RESTARTS = 6
#: Adam route vs the min-norm ERM: relative loss gap / map gap
ADAM_TOL = 1e-5
#: Monte Carlo: largest |mean - exact| in standard errors
MC_Z = 4.0
#: Monte Carlo: |slope + 1| allowed on the log-log fit (plus 3 bootstrap SEs)
SLOPE_TOL = 0.15
#: Monte Carlo: relative error of n (E_n - E_inf) against the LoRA limit at the largest n (plus 3 SE);
#: the instance has r / (q' + d' - r) = 1/2, so dropping the -r moves the limit by 50 % (33 % of the wrong one)
LORA_LIMIT_RTOL = 0.10

_GEN_KEYS = ("max_dim", "min_dim", "depth", "factored", "covariate_shift", "bottleneck",
             "singular_sigma", "shift_scale", "d_rank")


def build(cfg: dict):
    """The instance of a claim config (``seed`` plus :func:`~lintheory.s2ft.data.random_instance` options)."""
    inst = random_instance(cfg["seed"], **{k: cfg[k] for k in _GEN_KEYS if k in cfg})
    if "r" in cfg:
        inst.r = int(cfg["r"])
    if "channels" in cfg:
        inst.channels = list(cfg["channels"])
    if cfg.get("reflect_out"):      # B_out = 2 W_pre - B_in: the OOD task undoes the ID shift (S²FT hurts OOD)
        inst.B_out = 2 * inst.parts.W_pre - inst.B_in
    return inst


def _size(cfg):
    inst = build(cfg)
    return (sum(W.size for W in inst.layers), inst.parts.p + inst.parts.q)


def _ineq(lhs, rhs):
    return (lhs - rhs) / (1.0 + abs(rhs))


def _ident(lhs, rhs):
    return abs(lhs - rhs) / (1.0 + abs(rhs))


def _configs(ctx, n_quick, n_full, **kw):
    n = ctx.pick(n_quick, n_full)
    out = []
    for i in range(n):
        rng = ctx.rng(i)
        cfg = {"seed": int(rng.integers(2**31))}
        for k, v in kw.items():
            cfg[k] = v(rng) if callable(v) else v
        out.append(cfg)
    return out


def _population(inst):
    try:
        return inst.risks(inst.population_fits())
    except AssumptionError as exc:     # e.g. a LoRA tie: the estimator is set-valued there
        raise Inconclusive(str(exc)) from None


def _instance_json(inst):
    r = lambda a: np.round(np.asarray(a), 6).tolist()  # noqa: E731
    return {"layers": [r(W) for W in inst.layers], "ell": inst.ell, "channels": inst.channels, "r": inst.r,
            "B_in": r(inst.B_in), "B_out": r(inst.B_out), "sigma_x": r(inst.sigma_in)}


def _attach_instance(ev):
    if ev.counterexample is not None:
        ev.details["counterexample_instance"] = _instance_json(build(ev.counterexample))
    return ev


_coin = lambda rng: bool(rng.integers(2))  # noqa: E731


# ----------------------------------------------------------------------------- exact certificates
# Every float of an instance is an exact binary rational, so the population objects that involve no square
# root are rational: C = D Sigma W_low^T, Sigma_z = W_low Sigma W_low^T and its pseudo-inverse, P' = K K^+,
# P''_S, the full-layer and S²FT fits (W_pre + P C Sigma_z^+ W_low) and every ID/OOD risk of a rational map
# (tr((B - F) Sigma (B - F)^T)).  LoRA needs the top-r eigen-structure of the rational q x q matrix
# H = P' C Sigma_z^+ C^T P' (= M M^T): its eigenvalues are enclosed by exact real-root isolation of the
# characteristic polynomial (sympy), its top-r eigenprojector by a rational projector plus the Davis-Kahan
# sin-theta bound.  Identity (13), E(LoRA_inf) = E(full) + sum_{j>r} lambda_j(H), is the Pythagorean split.
def _qm(a):
    import sympy as sp

    a = np.atleast_2d(np.asarray(a, dtype=float))
    return sp.Matrix(a.shape[0], a.shape[1], [sp.Rational(float(x)) for x in a.ravel()])


def _exact_pop(inst):
    import sympy as sp

    p = inst.parts
    K, Wl, Wp = _qm(p.K), _qm(p.W_low), _qm(p.W_pre)
    S, Bi = _qm(inst.sigma_in), _qm(inst.B_in)
    C = (Bi - Wp) * S * Wl.T
    Szp = (Wl * S * Wl.T).pinv()
    P1 = K * K.pinv()
    KS = K[:, list(inst.channels)]
    P2 = KS * KS.pinv()
    N = P1 * C * Szp * Wl
    risk = lambda F, B, Sig: ((B - F) * Sig * (B - F).T).trace()  # noqa: E731
    return {"K": K, "W_low": Wl, "W_pre": Wp, "S": S, "B_in": Bi, "P1": P1, "N": N, "H": N * S * Wl.T * Szp * C.T * P1,
            "F_full": Wp + N, "F_s2ft": Wp + P2 * C * Szp * Wl, "risk": risk, "sp": sp}


def _root_intervals(Mx):
    """Isolating intervals (rational endpoints, width <= 1e-15 relative) of the eigenvalues of a symmetric
    rational matrix, with multiplicity, largest first."""
    import sympy as sp

    lam = sp.Symbol("lam")
    poly = sp.Poly(Mx.charpoly(lam).as_expr(), lam, domain="QQ")
    out = []
    scale = max(1, int(abs(float(Mx.trace()))) + 1)
    for (a, b), mult in poly.intervals(eps=sp.Rational(1, 10 ** 15) * scale):
        out += [(sp.Rational(a), sp.Rational(b))] * int(mult)
    return sorted(out, key=lambda ab: -(ab[0] + ab[1]))


def _fr(x):
    from fractions import Fraction

    x = x if not hasattr(x, "p") else Fraction(int(x.p), int(x.q))
    return Fraction(x)


def _lora_tail_lower(ex, r):
    """A rational lower bound of sum_{j>r} lambda_j(H) = ||M - SVD_r(M)||_F^2."""
    iv = _root_intervals(ex["H"])
    top = sum((b for _, b in iv[:r]), ex["sp"].Integer(0))
    return ex["H"].trace() - top


def _exact_cert(viol, **kw):
    """certify.exact on a short dyadic rational <= the exact violation (the exact one can have 500 digits)."""
    import math
    from fractions import Fraction

    from ..certify import exact

    v = _fr(viol)
    lb = Fraction(math.floor(v * 2 ** 64), 2 ** 64)
    return exact(lb if lb > 0 else v, **kw)


def _sqrt_up(x):
    """A rational >= sqrt(x) for a rational x >= 0."""
    import math
    from fractions import Fraction

    x = _fr(x)
    if x <= 0:
        return Fraction(0)
    u = Fraction(math.sqrt(float(x))) * Fraction(1 + 10 ** 9, 10 ** 9) + Fraction(1, 10 ** 300)
    while u * u < x:
        u *= 2
    return u


def _lora_out_enclosure(inst, ex):
    """E_out(LoRA_inf) (no covariate shift) enclosed as (value at a rational projector, rigorous error bound)."""
    sp = ex["sp"]
    r = inst.r
    H, N, S = ex["H"], ex["N"], ex["S"]
    q = H.shape[0]
    w, V = np.linalg.eigh(np.array(H.evalf(30).tolist(), dtype=float))
    Qh = _qm(V[:, np.argsort(w)[::-1][:r]])
    G = Qh.T * Qh
    Pi = Qh * G.inv() * Qh.T                                       # an exact orthogonal projector of rank r
    Bo, Wp = _qm(inst.B_out), ex["W_pre"]
    D0 = Bo - Wp
    e_hat = ex["risk"](Wp + Pi * N, Bo, _qm(inst.sigma_out))
    R = (sp.eye(q) - Pi) * H * Pi
    ritz = _root_intervals(G.inv() * Qh.T * H * Qh)                # the r Ritz values (similar to Q^T H Q)
    alpha = min(a for a, _ in ritz)
    lam = _root_intervals(H)
    beta = lam[r][1] if r < len(lam) else sp.Integer(0)
    delta = alpha - beta
    if not delta > 0:
        return e_hat, None
    sin_f = _sqrt_up((R.T * R).trace()) / _fr(delta)                # Davis-Kahan: ||E_1^T Q||_F <= ||R||_F / delta
    dpi = sin_f * _sqrt_up(2)                                      # ||Pi_r - Pi||_F
    So = _qm(inst.sigma_out)
    Gm, J = N * So * N.T, N * So * D0.T
    bound = dpi * (2 * _sqrt_up((J.T * J).trace()) + 2 * _sqrt_up(((Gm * Pi).T * (Gm * Pi)).trace())) \
        + dpi ** 2 * _sqrt_up((Gm.T * Gm).trace())
    return e_hat, bound


# ----------------------------------------------------------------------------- Lemmas F.9 / F.12 / F.17
@claim(id="s2ft.lemmaF12.closed_form_equals_lstsq.corrected", paper=SEED, source="Lemma F.12, eq. (19); Lemma F.17",
       statement=r"The minimum-norm S²FT ERM is $F = W^{pre} + P''_S\hat C\hat\Sigma_z^\dagger W_{low}$ with "
                 r"$V^\top = (KU_S)^\dagger\hat C\hat\Sigma_z^\dagger$ (printed $V$ is dimensionally invalid: "
                 r"transpose corrected); same for full-layer FT with $K$.",
       form="corrected", method="closed form vs numpy.linalg.lstsq (min-norm) on the Kronecker form "
       "(Z^T ⊗ K U_S) vec(V^T) = vec(R); random instances with bottlenecks, singular Σ, n random in [3, 40]",
       expected="holds")
def _f12(ctx):
    def ev(cfg):
        inst = build(cfg)
        X, Y = sample_id(inst, cfg["n"], cfg["seed"] + 1)
        a = (inst.layers, inst.ell)
        F1, V1 = cf.s2ft_fit(*a, inst.channels, X, Y), cf.s2ft_adapter(*a, inst.channels, X, Y)
        F2, V2 = sv.s2ft_lstsq(*a, inst.channels, X, Y)
        G1, G2 = cf.full_fit(*a, X, Y), sv.full_lstsq(*a, X, Y)[0]
        sc = 1 + np.abs(F1).max() + np.abs(V1).max()
        return max(np.abs(F1 - F2).max(), np.abs(V1 - V2).max(), np.abs(G1 - G2).max()) / sc

    def wrong(cfg):   # V^T = (K U_S)^+ C^ A^+ : one dagger of (A^+)^2 lost, as in the printed proof of F.17
        inst = build(cfg)
        X, Y = sample_id(inst, cfg["n"], cfg["seed"] + 1)
        p = inst.parts
        C, Sz = cf.sample_stats(p, X, Y)
        Fw = p.W_pre + cf.projector(p.K[:, inst.channels], "K U_S") @ C @ cf._sz_inverse(Sz)[1] @ p.W_low
        F2 = sv.s2ft_lstsq(inst.layers, inst.ell, inst.channels, X, Y)[0]
        return np.abs(Fw - F2).max() / (1 + np.abs(F2).max())
    return sweep(_configs(ctx, 80, 2000, bottleneck=_coin, singular_sigma=_coin,
                          n=lambda g: int(g.integers(3, 41))), ev, EXACT_TOL, size=_size,
                 alternative=("V^T = (K U_S)^+ C^ A^+ (one dagger of (A^+)^2 lost)", wrong))


@claim(id="s2ft.lemmaF9.closed_form_equals_gd", paper=SEED, source="Lemma F.9",
       statement=r"The rank-r LoRA ERM reached by gradient descent on $(U,V)$ (from $U_0=0$) equals "
                 r"$W^{pre} + \mathrm{SVD}_r(P'\hat C\hat A^\dagger)\hat A^\dagger W_{low}$.",
       form="printed", method="numpy GD on (U, V) (fixed step, halved on any increase) vs the closed form; "
       "well-specified instances (rank D~ = r), n = 200; only instances with (sigma_r(M) - sigma_{r+1}(M))/sigma_1(M) >= 0.2 (GD's "
       "linear rate needs it) and kappa(K)^2 kappa(Sigma_z) <= 100 (GD's step-size regime); tolerance on "
       "max|F_GD - F_cf|/(1+max|F|)", expected="holds")
def _f9(ctx):
    def ev(cfg):
        inst = build(cfg)
        X, Y = sample_id(inst, 200, cfg["seed"] + 1)
        a = (inst.layers, inst.ell, inst.r)
        F1 = cf.lora_fit(*a, X, Y)
        try:
            F2 = sv.lora_gd(*a, X, Y, seed=cfg["seed"], max_iter=30_000)[0]
        except NotConvergedError as exc:
            raise Inconclusive(str(exc)) from None
        return np.abs(F1 - F2).max() / (1 + np.abs(F1).max())

    cfgs = []
    for cfg in _configs(ctx, 40, 300, depth=lambda g: int(g.integers(1, 3)), max_dim=6):
        inst0 = build(cfg)
        cfg["d_rank"] = inst0.r
        inst = build(cfg)
        X, Y = sample_id(inst, 200, cfg["seed"] + 1)
        C, Sz = cf.sample_stats(inst.parts, X, Y)
        M = cf.projector(inst.parts.K) @ C @ cf._sz_inverse(Sz)[1]
        s = np.linalg.svd(M, compute_uv=False)
        k = min(inst.r, s.size)
        nxt = s[k] if k < s.size else 0.0
        sk = np.linalg.svd(inst.parts.K, compute_uv=False)
        wz = np.linalg.eigvalsh(Sz)
        curvature_cond = (sk[0] / sk[sk > cf.RANK_RTOL * sk[0]][-1]) ** 2 * wz[-1] / wz[wz > cf.RANK_RTOL * wz[-1]][0]
        if s[k - 1] - nxt >= 0.2 * s[0] and curvature_cond <= 100:
            cfgs.append(cfg)
        if len(cfgs) >= ctx.pick(6, 60):
            break
    return sweep(cfgs, ev, GD_TOL, size=_size)


@claim(id="s2ft.lemmaF17.full_risk_identity", paper=SEED, source="Lemma F.17; note §1.6",
       statement=r"$\mathcal E^{(i)}(f^{full}_\ell) = \|D\Sigma^{1/2}(I-P)\|^2 + \|(I-P')D\Sigma^{1/2}P\|^2$, and all "
                 r"population risks equal their whitened forms.",
       form="printed", method="population closed forms vs the whitened formulas of note §1.6 (second "
       "implementation) and the Lemma F.17 two-term formula; bottlenecks, singular Σ, covariate shift",
       expected="holds")
def _f17(ctx):
    def ev(cfg):
        inst = build(cfg)
        R = _population(inst)
        W = sv.whitened_population_risks(inst)
        err = max(_ident(R[k][j], W[k][j]) for k in R for j in (0, 1))
        p = inst.parts
        h = cf.psd_sqrt(inst.sigma_in)
        P = h @ p.W_low.T @ cf._sz_inverse(p.W_low @ inst.sigma_in @ p.W_low.T)[0] @ p.W_low @ h
        Y = (inst.B_in - p.W_pre) @ h
        f17 = np.sum((Y - Y @ P) ** 2) + np.sum(((np.eye(p.q) - cf.projector(p.K)) @ Y @ P) ** 2)
        return max(err, _ident(R["full"][0], f17))
    return sweep(_configs(ctx, 80, 3000, bottleneck=_coin, singular_sigma=_coin, covariate_shift=_coin,
                          factored=_coin), ev, EXACT_TOL, size=_size)


# ----------------------------------------------------------------------------- Theorem 4.2, S²FT half
def _s2ft_half(ctx, factored, which):
    def ev(cfg):
        inst = build(cfg)
        a = (inst.layers, inst.ell, inst.channels, inst.B_in, inst.B_out, inst.sigma_in)
        lhs = _population(inst)["s2ft"][1]
        if which == "printed":
            return _ineq(lhs, pr.thm4_2_s2ft_bound(*a))
        d = cf.s2ft_ood_identity(*a)
        e2 = cf.epsilon2_min(*a)
        return max(_ident(lhs, d["rhs"]), _ineq(lhs, cf.s2ft_ood_bound_sharp(*a)),
                   _ineq(cf.s2ft_ood_bound_sharp(*a), (1 + e2) * d["E_pre"]))

    def wrong(cfg):
        inst = build(cfg)
        a = (inst.layers, inst.ell, inst.channels, inst.B_in, inst.B_out, inst.sigma_in)
        lhs = _population(inst)["s2ft"][1]
        d = cf.s2ft_ood_identity(*a)
        if which == "sharp":      # the identity without its + ||P''(X_o - Y) P||^2 term
            return _ident(lhs, d["E_pre"] - d["minus"])
        return _ineq(lhs, d["E_pre"])   # the bound with 1 in place of 1 + 3 eps^2
    alt = ("the identity without + ||P''_S (X_o - Y) P||^2" if which == "sharp" else
           "E_out(S²FT) <= E_out(pre) (the eps term dropped)")
    # every fourth instance has B_out = 2 W_pre - B_in, where learning the ID shift costs OOD risk
    cfgs = _configs(ctx, 80, 3000, factored=factored, bottleneck=_coin, reflect_out=lambda g: bool(g.integers(4) == 0))
    return sweep(cfgs, ev, EXACT_TOL, size=_size,
                 alternative=None if which == "printed" and factored is True else (alt, wrong))


@claim(id="s2ft.thm4_2.s2ft_half.printed", paper=SEED, source="Theorem 4.2 / F.8 (L146–148, L576–580)",
       statement=r"Under Assumption 4.1, $n\to\infty$, factored $B^{(i)}$: "
                 r"$\mathcal E^{(o)}(\text{S²FT}_\infty) \le (1+3\varepsilon^2)\mathcal E^{(o)}(f^{pre})$.",
       form="printed", method="exact population risks, smallest admissible ε² (Assumption 4.1), factored B^(i), "
       "any s (the printed s ≤ rank Σ_f is not needed)", expected="holds")
def _t42s_p(ctx):
    return _s2ft_half(ctx, True, "printed")


@claim(id="s2ft.thm4_2.s2ft_half.unstructured", paper=SEED, source="Theorem 4.2 / F.8",
       statement=r"The $(1+3\varepsilon^2)$ bound holds also without the structural condition on $B^{(i)}$.",
       form="derived", method="as the printed claim, unfactored B^(i) (random q×p shift)", expected="holds")
def _t42s_u(ctx):
    return _s2ft_half(ctx, False, "printed")


@claim(id="s2ft.thm4_2.s2ft_half.sharp", paper=SEED, source="Theorem 4.2 / F.8; note §2.7",
       statement=r"Exactly $\mathcal E^{(o)}(\text{S²FT}_\infty) = \mathcal E^{(o)}(f^{pre}) - \|P''_SX_oP\|^2 + "
                 r"\|P''_S(X_o-Y)P\|^2 \le \mathcal E^{(o)}(f^{pre}) + \|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}P\|^2 \le "
                 r"(1+\varepsilon^2)\mathcal E^{(o)}(f^{pre})$, any $B^{(i)}$, any $S$.",
       form="corrected", method="exact identity and both inequalities on factored and unfactored instances",
       expected="holds")
def _t42s_s(ctx):
    return _s2ft_half(ctx, lambda g: bool(g.integers(2)), "sharp")


# ----------------------------------------------------------------------------- Theorem 4.2, LoRA half
def _lora_half_cfgs(ctx, corrected):
    cfgs = []
    for cfg in _configs(ctx, 200, 3000, factored=True, max_dim=lambda g: int(g.integers(2, 7)),
                        depth=lambda g: int(g.integers(1, 3))):
        inst = build(cfg)
        c = pr.thm4_2_conditions(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in)
        if corrected:
            if inst.r < c["rank_sigma_f"]:
                cfg["r"] = min(c["rank_sigma_f"], inst.parts.d_ell, inst.parts.d_in)
                inst = build(cfg)
                c = pr.thm4_2_conditions(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in)
            if c["factored"] and inst.r >= c["rank_sigma_f"]:
                cfgs.append(cfg)
        elif c["factored"] and c["r_le_rank"] and c["s_le_rank"]:
            cfgs.append(cfg)
    if not corrected:
        # the paper's sparsity level s = floor(r (d_l + d_in) / d_in) (L126, L490), S a random s-subset of [d_l]
        out = []
        for cfg in cfgs:
            inst = build(cfg)
            d_l, d_in = inst.parts.d_ell, inst.parts.d_in
            s = inst.r * (d_l + d_in) // d_in
            if s > d_l:
                continue
            cfg["channels"] = sorted(np.random.default_rng(cfg["seed"] + 5).choice(d_l, s, replace=False).tolist())
            inst = build(cfg)
            c = pr.thm4_2_conditions(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in)
            if c["s_le_rank"] and c["r_le_rank"]:
                cfg.update(d_l=d_l, d_in=d_in, s=s, r=inst.r, rank_sigma_f=c["rank_sigma_f"])
                out.append(cfg)
        cfgs = out
    return cfgs


def _assumption_4_1(inst):
    """Assumption 4.1 needs some eps > 0 with ||P''_S (B_o - B_i) Sigma^{1/2}||^2 <= eps^2 E_out(pre): any eps works
    when E_out(pre) > 0; when E_out(pre) = 0 the shift in channels S must vanish."""
    if cf.excess_risk(inst.parts.W_pre, inst.B_out, inst.sigma_in) <= 1e-12:
        P2 = cf.projector(inst.parts.K[:, inst.channels], "K U_S")
        if np.linalg.norm(P2 @ (inst.B_out - inst.B_in) @ cf.psd_sqrt(inst.sigma_in)) > 1e-9:
            raise OutsideHypotheses("Assumption 4.1: E_out(pre) = 0 but the shift in channels S is not 0")


def _lora_whitened_recheck(cfg):
    inst = build(cfg)
    e_out = sv.whitened_population_risks(inst)["lora"][1]
    return _ineq(pr.thm4_2_lora_lower_bound(inst.B_in, inst.B_out, inst.sigma_in), e_out)


@claim(id="s2ft.thm4_2.lora_half.printed", paper=SEED, source="Theorem 4.2 / F.8",
       statement=r"Under Assumption 4.1, factored $B^{(i)}$ and $s, r \le \operatorname{rank}\Sigma_f^{(i)}$: "
                 r"$\mathcal E^{(o)}(\text{LoRA}_\infty) \ge \|(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|_F^2$.",
       form="printed", method="random factored instances meeting every printed hypothesis; exact population "
       "risks; a violation is re-checked with the whitened formulas (independent route); the smallest failing "
       "instance is stored", expected="fails")
def _t42l_p(ctx):
    def ev(cfg):
        inst = build(cfg)
        _assumption_4_1(inst)
        return _ineq(pr.thm4_2_lora_lower_bound(inst.B_in, inst.B_out, inst.sigma_in), _population(inst)["lora"][1])
    return _attach_instance(sweep(_lora_half_cfgs(ctx, False), ev, EXACT_TOL, size=_size,
                                  recheck=_lora_whitened_recheck, certify=_lora_half_certify))


def _lora_half_certify(cfg):
    from ..certify import exact

    inst = build(cfg)
    ex = _exact_pop(inst)
    e_hat, bound = _lora_out_enclosure(inst, ex)
    if bound is None:
        return {"method": "exact", "violation_lower_bound": 0.0, "note": "no certified eigengap lambda_r > lambda_r+1"}
    D = _qm(inst.B_out) - ex["B_in"]
    shift = _fr((D * ex["S"] * D.T).trace())
    viol = shift - _fr(e_hat) - bound
    return _exact_cert(viol, note="rational arithmetic: label shift ||(B_o - B_i) Sigma^{1/2}||^2 exact; E_out(LoRA_inf) "
                 "enclosed by its value at a rational rank-r projector plus a Davis-Kahan bound (eigenvalues of "
                 "H = M M^T isolated exactly); violation = shift - upper enclosure of E_out",
                 shift=float(shift), E_out_upper=float(_fr(e_hat) + bound))


@claim(id="s2ft.thm4_2.lora_half.corrected", paper=SEED, source="Theorem 4.2 / F.8; note §2.7",
       statement=r"If $\Sigma^{(i)}=\Sigma^{(o)}$, $B^{(i)} = K\tilde BW_{low}$ and $r \ge \operatorname{rank}\Sigma_f^{(i)}$, "
                 r"then $\mathcal E^{(o)}(\text{LoRA}_\infty) = \|(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|_F^2$ (equality).",
       form="corrected", method="random factored instances with r raised to rank Σ_f; |E_out - shift|",
       expected="holds")
def _t42l_c(ctx):
    def ev(cfg):
        inst = build(cfg)
        return _ident(_population(inst)["lora"][1], pr.thm4_2_lora_lower_bound(inst.B_in, inst.B_out, inst.sigma_in))

    def wrong(cfg):   # the printed regime r <= rank Sigma_f: the same equality one rank below the corrected boundary
        if cfg.get("r", 1) <= 1:
            raise Inconclusive("no rank below 1")
        return ev(dict(cfg, r=cfg["r"] - 1))
    return sweep(_lora_half_cfgs(ctx, True), ev, EXACT_TOL, size=_size,
                 alternative=("the equality at r = rank Sigma_f - 1 (the printed regime r <= rank Sigma_f)", wrong))


# ----------------------------------------------------------------------------- Lemma F.14 / Theorem F.7
def _ce2_cfgs(ctx):
    # s > r as under the paper's parameter matching s = floor(r (d_l + d_in) / d_in) >= r
    cfgs = []
    for cfg in _configs(ctx, 150, 3000, depth=lambda g: int(g.integers(1, 3)), max_dim=6):
        inst = build(cfg)
        d_l, d_in = inst.parts.d_ell, inst.parts.d_in
        r = inst.r
        s = r * (d_l + d_in) // d_in
        if s <= r or s > d_l:          # no s-subset of [d_l] exists when the matched s exceeds d_l
            continue
        cfg["r"] = r
        cfg["channels"] = sorted(np.random.default_rng(cfg["seed"]).choice(d_l, s, replace=False).tolist())
        cfg.update(d_l=d_l, d_in=d_in, s=s)
        cfgs.append(cfg)
    return cfgs


@claim(id="s2ft.lemmaF14.chain.printed", paper=SEED, source="Lemma F.14 (L890–904)",
       statement=r"$\mathcal E(f^{full}_\ell) \le T^2_{LoRA} \le T^2_{S^2FT} \le \mathcal E(f^{full}_\ell) + "
                 r"\delta^2\kappa_*^2(\overline W_{\ell+1})\mathcal E(f^{pre})$ (parameter-matched $s > r$).",
       form="printed", method="population ID risks (T²_bias = E_inf) on random instances with s = floor(r(d_l+"
       "d_in)/d_in) > r; error = worst violation of the three inequalities; re-checked with whitened formulas",
       expected="fails")
def _f14(ctx):
    def chain_err(inst, lora):
        ch = pr.lemma_f14_chain(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in)
        return max(_ineq(ch["full"], lora), _ineq(lora, ch["s2ft"]), _ineq(ch["s2ft"], ch["upper"]))

    def ev(cfg):
        inst = build(cfg)
        _population(inst)
        return chain_err(inst, cf.excess_risk(inst.population_fits()["lora"], inst.B_in, inst.sigma_in))

    def recheck(cfg):
        inst = build(cfg)
        return chain_err(inst, sv.whitened_population_risks(inst)["lora"][0])
    return _attach_instance(sweep(_ce2_cfgs(ctx), ev, EXACT_TOL, size=_size, recheck=recheck, certify=_f14_certify))


def _f14_certify(cfg):
    from ..certify import exact

    inst = build(cfg)
    ex = _exact_pop(inst)
    e_full = ex["risk"](ex["F_full"], ex["B_in"], ex["S"])
    e_s2ft = ex["risk"](ex["F_s2ft"], ex["B_in"], ex["S"])
    lora_lower = e_full + _lora_tail_lower(ex, inst.r)
    viol = _fr(lora_lower - e_s2ft)
    return _exact_cert(viol, note="rational arithmetic: E(full), E(S²FT) exact; E(LoRA_inf) = E(full) + sum_{j>r} "
                 "lambda_j(M M^T) bounded below by exact real-root isolation; violation of the middle inequality "
                 "T²_LoRA <= T²_S2FT", E_full=float(_fr(e_full)), E_s2ft=float(_fr(e_s2ft)),
                 E_lora_lower=float(_fr(lora_lower)))


@claim(id="s2ft.lemmaF14.outer_bounds", paper=SEED, source="Lemma F.14 (outer inequalities)",
       statement=r"$\mathcal E(f^{full}_\ell) \le \min(T^2_{LoRA}, T^2_{S^2FT})$ and "
                 r"$T^2_{S^2FT} \le \mathcal E(f^{full}_\ell) + \delta^2(S)\kappa_*^2(K)\mathcal E(f^{pre})$.",
       form="corrected", method="same instances as the printed chain, middle inequality dropped", expected="holds")
def _f14o(ctx):
    def ev(cfg):
        inst = build(cfg)
        R = _population(inst)
        ch = pr.lemma_f14_chain(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in)
        return max(_ineq(ch["full"], min(R["lora"][0], ch["s2ft"])), _ineq(ch["s2ft"], ch["upper"]))

    def wrong(cfg):   # the printed chain with its middle inequality T²_LoRA <= T²_S2FT
        inst = build(cfg)
        R = _population(inst)
        return _ineq(R["lora"][0], R["s2ft"][0])
    return sweep(_ce2_cfgs(ctx), ev, EXACT_TOL, size=_size,
                 alternative=("the middle inequality T²_LoRA <= T²_S2FT of the printed chain", wrong))


def _f7_make(cfg):
    rng = np.random.default_rng(cfg["seed"])
    w = cfg["widths"]
    layers = [rng.normal(size=(w[j + 1], w[j])) / np.sqrt(w[j]) for j in range(len(w) - 1)]
    p = cf.network_parts(layers, cfg["ell"])
    Dt = np.zeros((p.d_ell, p.d_in))
    Dt[cfg["channels"]] = rng.normal(size=(len(cfg["channels"]), p.d_in))
    return layers, p, p.W_pre + p.K @ Dt @ p.W_low


def _f7_instance(cfg):
    layers, p, Bi = _f7_make(cfg)
    S = np.eye(p.p)
    return Instance(layers, cfg["ell"], Bi, Bi.copy(), S, S.copy(), S[:p.q, :p.q].copy() if p.q <= p.p else
                    np.eye(p.q), list(cfg["channels"]), cfg["r"])


def _f7_certify(cfg):
    from ..certify import exact

    inst = _f7_instance(cfg)
    ex = _exact_pop(inst)
    # delta(S) = 0 exactly: the rows of K^+ D Sigma^{1/2} (Sigma = I) outside S vanish in rationals
    R = ex["K"].pinv() * (ex["B_in"] - ex["W_pre"])
    off = [a for a in range(R.shape[0]) if a not in set(inst.channels)]
    delta2_num = sum((R[a, j] ** 2 for a in off for j in range(R.shape[1])), ex["sp"].Integer(0))
    if delta2_num != 0:
        return {"method": "exact", "violation_lower_bound": 0.0, "note": f"delta^2 numerator {delta2_num} != 0"}
    e_pre = ex["risk"](ex["W_pre"], ex["B_in"], ex["S"])
    viol = _fr(_lora_tail_lower(ex, inst.r) / e_pre)
    return _exact_cert(viol, note="rational arithmetic: delta(S) = 0 exactly; (T²_LoRA - E(full)) / E(pre) = "
                 "sum_{j>r} lambda_j(M M^T) / E(pre) bounded below by exact real-root isolation; the printed "
                 "right side delta² E(pre) is 0 for any hidden constant")


@claim(id="s2ft.thmF7.lora_bias_gap.printed", paper=SEED, source="Theorem F.7 (L568–574)",
       statement=r"$0 \le (T^{LoRA}_{bias})^2 - \mathcal E^{(i)}(f^{full}_\ell) \lesssim \delta^2\mathcal E^{(i)}(f^{pre})$ "
                 r"with $S \supset S_0$; at $\delta = 0$ the right side is 0 for any hidden constant.",
       form="printed", method="instances with δ(S) = 0 exactly (B^(i) = W_pre + K U_S D~ W_low: the ID shift lives "
       "in channels S), s > r; error = T²_LoRA - E(full) relative to E(pre) (any positive value refutes ≲ 0)",
       expected="fails")
def _f7(ctx):
    def ev(cfg):
        layers, p, Bi = _f7_make(cfg)
        S = np.eye(p.p)
        d2 = cf.channel_sparsity_delta2(layers, cfg["ell"], cfg["channels"], Bi, S)
        if d2 > 1e-20:
            raise OutsideHypotheses(f"F.4 with delta = 0 needs delta^2 = 0, got {d2:g}")
        # F.3 (eigengap) at index r, and at the printed index s (lambda_s > lambda_{s+1}, lambda_s > 0)
        C, Sz = cf.population_stats(p, Bi, S)
        sv_M = np.linalg.svd(cf.projector(p.K, "K") @ C @ cf._sz_inverse(Sz)[1], compute_uv=False)
        sv_M = np.concatenate([sv_M, np.zeros(cfg["s"] + 2)])
        for k in (cfg["r"], cfg["s"]):
            if not (sv_M[k - 1] - sv_M[k] > 1e-6 * (1 + sv_M[0])):
                raise OutsideHypotheses(f"F.3: no eigengap at index {k} (lambda_k = {sv_M[k - 1]:.3g}, "
                                        f"lambda_k+1 = {sv_M[k]:.3g})")
        try:
            lora = cf.excess_risk(cf.lora_population(layers, cfg["ell"], cfg["r"], Bi, S), Bi, S)
        except AssumptionError as exc:
            raise Inconclusive(str(exc)) from None
        full = cf.excess_risk(cf.full_population(layers, cfg["ell"], Bi, S), Bi, S)
        return (lora - full) / cf.excess_risk(p.W_pre, Bi, S)

    cfgs = []
    for i in range(ctx.pick(40, 400)):
        rng = ctx.rng(i)
        L = int(rng.integers(1, 3))
        w = [int(x) for x in rng.integers(2, 7, size=L + 1)]
        ell = int(rng.integers(1, L + 1))
        d_l, d_in = w[ell], w[ell - 1]
        r = int(rng.integers(1, min(d_l, d_in) + 1))
        s = r * (d_l + d_in) // d_in
        if s <= r or s > d_l:          # the matched s must be a subset size of [d_l]
            continue
        cfgs.append({"seed": int(rng.integers(2**31)), "widths": w, "ell": ell, "r": r, "d_l": d_l, "d_in": d_in,
                     "s": s, "channels": sorted(rng.choice(d_l, s, replace=False).tolist())})
    size = lambda c: (sum(c["widths"]), c["r"])  # noqa: E731
    return sweep(cfgs, ev, EXACT_TOL, size=size, certify=_f7_certify)


@claim(id="s2ft.thmF10_F13.bias_bounds", paper=SEED, source="Theorem F.10 eq. (11); Theorem F.13 eq. (21); Cor. F.18",
       statement=r"$T^2_{LoRA} \le \frac{0\vee(\operatorname{rank}\Sigma_f-r)}{\operatorname{rank}\Sigma_f}\kappa_*^2(\Sigma_f)"
                 r"\mathcal E(f^{pre}) + \mathcal E(f^{full}_\ell)$; $T^2_{S^2FT} \le \|(P'-P''_S)\Phi_*\|^2_{op}\mathcal E(f^{pre})"
                 r" + \mathcal E(f^{full}_\ell)$; F.18 with both op-norms squared (sharper than printed).",
       form="printed", method="exact population ID risks vs the explicit right-hand sides", expected="holds")
def _f10(ctx):
    def ev(cfg):
        inst = build(cfg)
        R = _population(inst)
        a = (inst.layers, inst.ell)
        return max(_ineq(R["lora"][0], pr.thm_f10_bias_bound(*a, inst.r, inst.B_in, inst.sigma_in)),
                   _ineq(R["s2ft"][0], pr.thm_f13_bias_bound(*a, inst.channels, inst.B_in, inst.sigma_in)),
                   _ineq(R["full"][0], pr.cor_f18_bound(*a, inst.B_in, inst.sigma_in, squared=True)),
                   _ineq(R["full"][0], pr.cor_f18_bound(*a, inst.B_in, inst.sigma_in)))
    return sweep(_configs(ctx, 80, 3000, bottleneck=_coin, factored=_coin, singular_sigma=_coin), ev,
                 EXACT_TOL, size=_size)


# ----------------------------------------------------------------------------- covariate shift
@claim(id="s2ft.thmF15.covariate_shift", paper=SEED, source="Theorem F.15 (L910–912); Remark F.16",
       statement=r"$\mathcal E^{(o)}(\text{S²FT}_\infty) \le \mathcal E^{(o)}(f^{pre}) + 3\|P''_S(B^{(o)}-B^{(i)})\Sigma_o^{1/2}\|^2"
                 r" + 3\|B^{(i)}(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|^2 + 3\|\overline W_\ell\|^2_{op}\|W_{low}(\Sigma_o^{1/2}-"
                 r"\Sigma_i^{1/2}G)\|^2$ ($\Sigma^{(i,o)}$ read as $\Sigma_i^{1/2}G$).",
       form="printed", method="exact population OOD risk with Σ_out ≠ Σ_in, singular Σ_in and bottlenecks included",
       expected="holds")
def _f15(ctx):
    def ev(cfg):
        inst = build(cfg)
        lhs = _population(inst)["s2ft"][1]
        return _ineq(lhs, cf.s2ft_ood_bound_covshift(inst.layers, inst.ell, inst.channels, inst.B_in,
                                                     inst.B_out, inst.sigma_in, inst.sigma_out))
    return sweep(_configs(ctx, 80, 3000, covariate_shift=True, bottleneck=_coin, singular_sigma=_coin,
                          factored=_coin), ev, EXACT_TOL, size=_size)


#: Theorem F.11's upper bound: the explicit constant its proof gives, (x + y + z + w)^2 <= 4 (x^2 + y^2 + z^2 + w^2)
F11_UPPER_CONSTANT = 4.0
#: the scales t of the one-layer family on which the as-converted upper bound's ratio E / RHS is followed
F11_SCALES = (1.0, 8.0, 64.0, 512.0)


def _f11_upper_family(cfg, t):
    """L = 1, W = I_2, Sigma_in = diag(1, 0), Sigma_out = I, B_in = I + [d e1^T], B_out = B_in + t v e2^T:
    x = y = w = 0 (P' = I, r = 1 >= rank Sigma_f = 1, B_out = B_in on the support of Sigma_in) and
    z = t ||v|| while E_out(LoRA) = t^2 ||v||^2, so E / (x^2 + y^2 + z + w^2) = t ||v|| grows without bound."""
    rng = np.random.default_rng(cfg["seed"])
    d = np.round(rng.uniform(0.5, 2.0, 2) * 64) / 64
    v = np.round(rng.uniform(0.5, 2.0, 2) * 64) / 64
    I = np.eye(2)
    Bi = I.copy()
    Bi[:, 0] += d
    Bo = Bi.copy()
    Bo[:, 1] += t * v
    return Instance([I.copy()], 1, Bi, Bo, np.diag([1.0, 0.0]), I.copy(), I.copy(), [0], 1)


def _f11_upper_err(squared):
    def ev(cfg):
        if cfg.get("family") == "scaling":
            # a universal constant C exists only if E / RHS stays bounded along the family: error = the log-log
            # slope of E / RHS in t (0 when bounded, 1 when it grows like t)
            ratios = []
            for t in F11_SCALES:
                inst = _f11_upper_family(cfg, t)
                e_out = _population(inst)["lora"][1]
                a = pr.thm_f11_upper_terms(inst.layers, 1, 1, inst.B_in, inst.B_out, inst.sigma_in, inst.sigma_out)
                rhs = a["x"] ** 2 + a["y"] ** 2 + (a["z"] ** 2 if squared else a["z"]) + a["w"] ** 2
                ratios.append(e_out / rhs)
            return float(np.polyfit(np.log(F11_SCALES), np.log(ratios), 1)[0])
        inst = build(cfg)
        e_out = _population(inst)["lora"][1]
        a = pr.thm_f11_upper_terms(inst.layers, inst.ell, inst.r, inst.B_in, inst.B_out, inst.sigma_in,
                                   inst.sigma_out)
        rhs = a["x"] ** 2 + a["y"] ** 2 + (a["z"] ** 2 if squared else a["z"]) + a["w"] ** 2
        return _ineq(e_out, F11_UPPER_CONSTANT * rhs)
    return ev


def _f11_upper_certify(squared):
    def cert(cfg):
        from fractions import Fraction

        if cfg.get("family") != "scaling" or squared:
            return {"method": "exact", "violation_lower_bound": 0.0, "note": "no exact route for this instance"}
        # exactly: E_out(t) = t^2 ||v||^2 and x = y = w = 0, z = t ||v||, so log(E / RHS) = log t + log ||v||
        return _exact_cert(Fraction(1), note="one-layer scaling family in rationals: E_out(LoRA_inf) = t^2 ||v||^2, "
                           "x = y = w = 0, z = t ||v||; E / (x^2 + y^2 + z + w^2) = t ||v|| has log-log slope exactly "
                           "1 in t, so no universal constant bounds it")
    return cert


@claim(id="s2ft.thmF11.upper_bound.printed", paper=SEED, source="Theorem F.11, upper bound (L750-752)",
       statement=r"$\mathcal E^{(o)}(\text{LoRA}_\infty) \lesssim \|(I-P')B^{(o)}\Sigma_o^{1/2}\|^2 + \|(B^{(o)}-B^{(i)})"
                 r"\Sigma_i^{1/2}\|^2\|G\|^2_{op} + \|(B^{(o)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|_F + \rho\|G\|^2_{op}$ "
                 r"(third term not squared as converted).",
       form="printed", method="two readings: as converted (third term unsquared), decided on a one-layer scaling "
       "family where E / RHS = t ||v|| (error = log-log slope of E / RHS in t; a universal constant needs slope 0); and "
       "with the third term squared (lost in the conversion), decided on random covariate-shift instances against the "
       "constant 4 its proof gives (sqrt E <= x + y + z + w); exact population risks", expected="holds")
def _f11_upper(ctx):
    rand = _configs(ctx, 40, 2000, covariate_shift=True, bottleneck=_coin, singular_sigma=_coin, factored=_coin)
    fam = [{"family": "scaling", "seed": int(ctx.rng(20_000 + i).integers(2**31))} for i in range(ctx.pick(10, 100))]
    size = lambda c: (0,) if c.get("family") else (1,) + _size(c)  # noqa: E731
    evs = {"as converted: third term unsquared": sweep(fam, _f11_upper_err(False), EXACT_TOL, size=size,
                                                       certify=_f11_upper_certify(False)),
           "third term squared (superscript lost in the conversion)": sweep(rand + fam, _f11_upper_err(True),
                                                                            EXACT_TOL, size=size,
                                                                            certify=_f11_upper_certify(True))}
    return by_reading(evs)


@claim(id="s2ft.remarkF16.no_covariate_shift.printed", paper=SEED, source="Remark F.16 (L914-916)",
       statement=r"Without covariate shift: $\mathcal E^{(o)}(\text{S²FT}_\infty) \le \mathcal E^{(o)}(f^{pre}) + "
                 r"3\|P''_S(B^{(o)}-B^{(i)})\Sigma_x^{1/2}\|^2 + 3\|B^{(i)}\Sigma_x^{1/2}(I-P)\|^2$ (any fixed S).",
       form="printed", method="exact population OOD risk of S²FT on random instances without covariate shift "
       "(bottlenecks, singular Sigma, factored and unfactored B^(i)) vs the printed right side", expected="holds")
def _f16(ctx):
    def ev(cfg):
        inst = build(cfg)
        lhs = _population(inst)["s2ft"][1]
        return _ineq(lhs, pr.remark_f16_bound(inst.layers, inst.ell, inst.channels, inst.B_in, inst.B_out,
                                              inst.sigma_in))
    return sweep(_configs(ctx, 80, 3000, bottleneck=_coin, singular_sigma=_coin, factored=_coin), ev, EXACT_TOL,
                 size=_size)


@claim(id="s2ft.thmF11.covariate_shift.corrected", paper=SEED, source="Theorem F.11 (L750–762); note §2.11",
       statement=r"$\sqrt{\mathcal E^{(o)}(\text{LoRA}_\infty)} \le \|(I-P')B^{(o)}\Sigma_o^{1/2}\| + \|(B^{(o)}-B^{(i)})"
                 r"\Sigma_i^{1/2}\|\|G\|_{op} + \|(B^{(o)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\| + \|G\|_{op}\sqrt\rho$ "
                 r"and the lower bound with $\rho\|G\|^2_{op}$, $\eta \in \{0.1, 0.5, 0.9\}$.",
       form="corrected", method="exact population OOD risk of LoRA with covariate shift vs both explicit bounds",
       expected="holds")
def _f11(ctx):
    def ev(cfg):
        inst = _f11_build(cfg)
        _population(inst)
        err = -np.inf
        for eta in (0.1, 0.5, 0.9):
            b = cf.lora_ood_bounds_covshift(inst.layers, inst.ell, inst.r, inst.B_in, inst.B_out,
                                            inst.sigma_in, inst.sigma_out, eta)
            err = max(err, _ineq(np.sqrt(b["E_out"]), b["upper_sqrt"]), _ineq(b["lower"], b["E_out"]))
        return err
    cfgs = _configs(ctx, 60, 3000, covariate_shift=True, bottleneck=_coin, singular_sigma=_coin, factored=_coin)
    cfgs += _f11_family_cfgs(ctx)
    return sweep(cfgs, ev, EXACT_TOL, size=_size_f11,
                 alternative=("the lower bound with rho ||G||_op (the converted print) for rho ||G||_op^2",
                              _f11_lower_err(1)))


def _f11_family(cfg):
    """One-layer instance with E_out(LoRA) = 0 and ||G||_op = c > 1: W = I_p, Sigma_in = I, Sigma_out = c^2 I,
    B_in = I + diag(d) (d dyadic in [1, 1.25], strictly decreasing), B_out = I + diag(d_1..d_r, 0..0) (the LoRA
    fit).  The as-converted lower bound (rho ||G||_op) is positive when c > 3 rho / (eta sum_{j>r} d_j^2), which
    c >= 14, eta >= 0.9 guarantee (rho / sum_{j>r} d_j^2 <= 3.9 here); with ||G||_op^2 it never is."""
    rng = np.random.default_rng(cfg["seed"])
    p, r = cfg["p"], cfg["r"]
    while True:
        d = np.sort(np.round(rng.uniform(1.0, 1.25, p) * 64) / 64)[::-1]    # kappa_*^2(Sigma_f) <= 2.45
        if np.all(np.diff(d) < 0):
            break
    I = np.eye(p)
    d_out = np.where(np.arange(p) < r, d, 0.0)
    return Instance([I.copy()], 1, I + np.diag(d), I + np.diag(d_out), I.copy(), cfg["c"] ** 2 * I, I.copy(),
                    [0], r), d


def _f11_build(cfg):
    return _f11_family(cfg)[0] if cfg.get("family") == "one_layer" else build(cfg)


def _f11_family_cfgs(ctx):
    out = []
    for i in range(ctx.pick(40, 400)):
        g = ctx.rng(10_000 + i)
        p = int(g.integers(2, 5))
        out.append({"family": "one_layer", "seed": int(g.integers(2**31)), "p": p, "r": int(g.integers(1, p)),
                    "c": int(g.integers(14, 25)), "eta": float(g.choice([0.9, 0.95]))})
    return out


def _size_f11(cfg):
    return (0, cfg["p"], cfg["c"]) if cfg.get("family") else (1,) + _size(cfg)


def _f11_lower_err(g_power):
    def ev(cfg):
        inst = _f11_build(cfg)
        e_out = _population(inst)["lora"][1]
        etas = (cfg["eta"],) if "eta" in cfg else (0.1, 0.5, 0.9)
        return max(_ineq(pr.thm_f11_lower_bound(inst.layers, inst.ell, inst.r, inst.B_in, inst.B_out, inst.sigma_in,
                                                inst.sigma_out, eta, g_power), e_out) for eta in etas)
    return ev


def _f11_certify(g_power):
    def cert(cfg):
        from fractions import Fraction as Fr

        from ..certify import exact
        if cfg.get("family") != "one_layer":
            return {"method": "exact", "violation_lower_bound": 0.0,
                    "note": "no exact route for a random instance (only the one-layer family is certified)"}
        _, d = _f11_family(cfg)
        d = [Fr(float(x)) for x in d]
        p, r, c, eta = cfg["p"], cfg["r"], Fr(cfg["c"]), Fr(cfg["eta"]).limit_denominator(1000)
        # L = 1, W = I, Sigma_in = I: P' = I, G = c I, Sigma_in^{1/2} G = Sigma_out^{1/2}; SVD_r(D) keeps d_1..d_r,
        # so the LoRA fit is B_out and E_out = 0 exactly
        e_out = Fr(0)
        shift = c ** 2 * sum(x ** 2 for x in d[r:])                   # ||(B_out - B_in) Sigma_out^{1/2}||^2
        rho = Fr(p - r, p) * (d[0] / d[-1]) ** 4 * sum(x ** 2 for x in d)  # kappa_*^2(Sigma_f) = (d_1/d_p)^4
        lower = (1 - eta) * shift - 3 * (1 / eta - 1) * rho * c ** g_power
        return exact(lower - e_out, note=f"one-layer family in rationals: E_out(LoRA) = 0, printed lower bound "
                     f"(||G||_op^{g_power}) = {float(lower):.6g} (eta = {eta}, ||G||_op = {c})")
    return cert


@claim(id="s2ft.thmF11.lower_bound.printed", paper=SEED, source="Theorem F.11, eq. (16) (L756-760)",
       statement=r"For any $\eta\in(0,1)$: $\mathcal E^{(o)}(\text{LoRA}_\infty) \ge (1-\eta)\|(B^{(o)}-B^{(i)})\Sigma_o^{1/2}\|^2"
                 r" - 3(\eta^{-1}-1)[\|(I-P')B^{(i)}\Sigma_o^{1/2}\|^2 + \|(B^{(i)}-W^{pre})(\Sigma_o^{1/2}-\Sigma_i^{1/2}G)\|^2"
                 r" + \rho\|G\|_{op}\,]$ (as converted; the proof needs $\|G\|^2_{op}$).",
       form="printed", method="two readings, each on random covariate-shift instances (eta = 0.1, 0.5, 0.9; bottlenecks, "
       "singular Sigma_in) plus a one-layer family with E_out(LoRA) = 0 and ||G||_op = c in 14..24 (eta = 0.9, 0.95); "
       "exact population risks; a violation is certified in rationals on the family", expected="holds")
def _f11_lower(ctx):
    cfgs = _configs(ctx, 40, 2000, covariate_shift=True, bottleneck=_coin, singular_sigma=_coin, factored=_coin)
    cfgs += _f11_family_cfgs(ctx)
    evs = {name: sweep(cfgs, _f11_lower_err(gp), EXACT_TOL, size=_size_f11, certify=_f11_certify(gp))
           for name, gp in (("as converted: rho ||G||_op", 1), ("||G||_op^2 (superscript lost in the conversion)", 2))}
    return by_reading(evs)


# ----------------------------------------------------------------------------- structural facts
@claim(id="s2ft.no_free_lunch.all_estimators", paper=SEED, source="note §0 (consequence of F.2's risk formula)",
       statement=r"Without covariate shift every predictor has $\sqrt{\mathcal E^{(i)}}+\sqrt{\mathcal E^{(o)}} \ge "
                 r"\|(B^{(o)}-B^{(i)})\Sigma^{1/2}\|_F$: S²FT's OOD gain is what it does not learn ID.",
       form="derived", method="pre / full / LoRA / S²FT population fits and S²FT / LoRA fits at n in [5, 60]",
       expected="holds")
def _nfl(ctx):
    def ev(cfg):
        inst = build(cfg)
        fits = dict(inst.population_fits())
        X, Y = sample_id(inst, cfg["n"], cfg["seed"] + 7)
        fits["s2ft_n"] = cf.s2ft_fit(inst.layers, inst.ell, inst.channels, X, Y)
        fits["full_n"] = cf.full_fit(inst.layers, inst.ell, X, Y)
        shift = np.sqrt(cf.label_shift(inst.B_in, inst.B_out, inst.sigma_in))
        return max(-cf.no_free_lunch_slack(F, inst.B_in, inst.B_out, inst.sigma_in) / (1 + shift)
                   for F in fits.values())

    def wrong(cfg):   # without the square roots: E_in + E_out >= ||shift||^2 (false at the midpoint map)
        inst = build(cfg)
        sh = cf.label_shift(inst.B_in, inst.B_out, inst.sigma_in)
        mid = (inst.B_in + inst.B_out) / 2
        fits = dict(inst.population_fits(), midpoint=mid)
        return max((sh - cf.excess_risk(F, inst.B_in, inst.sigma_in) - cf.excess_risk(F, inst.B_out, inst.sigma_in))
                   / (1 + sh) for F in fits.values())
    return sweep(_configs(ctx, 80, 3000, bottleneck=_coin, factored=_coin, n=lambda g: int(g.integers(5, 61))),
                 ev, EXACT_TOL, size=_size,
                 alternative=("E_in + E_out >= ||(B_o - B_i) Sigma^{1/2}||^2 (no square roots)", wrong))


@claim(id="s2ft.order.monotone_and_ranked", paper=SEED, source="note §3.1 (Lemma F.14 / F.17 consequences)",
       statement=r"ID at $n=\infty$: S²FT is monotone in $S$ ($S\subset S'$ ⇒ risk no larger), LoRA monotone in $r$, "
                 r"and $\mathcal E(\text{full}) \le \mathcal E(\text{LoRA}), \mathcal E(\text{S²FT}) \le \mathcal E(\text{pre})$.",
       form="derived", method="nested random channel sets and every r on random instances", expected="holds")
def _order(ctx):
    def ev(cfg):
        inst = build(cfg)
        a = (inst.layers, inst.ell)
        R = _population(inst)
        errs = [_ineq(R["full"][0], R["lora"][0]), _ineq(R["full"][0], R["s2ft"][0]),
                _ineq(R["lora"][0], R["pre"][0]), _ineq(R["s2ft"][0], R["pre"][0])]
        perm = np.random.default_rng(cfg["seed"]).permutation(inst.parts.d_ell)
        prev = None
        for k in range(1, inst.parts.d_ell + 1):
            e = cf.excess_risk(cf.s2ft_population(*a, sorted(perm[:k].tolist()), inst.B_in, inst.sigma_in),
                               inst.B_in, inst.sigma_in)
            if prev is not None:
                errs.append(_ineq(e, prev))
            prev = e
        prev = None
        for r in range(1, min(inst.parts.d_ell, inst.parts.d_in) + 1):
            try:
                e = cf.excess_risk(cf.lora_population(*a, r, inst.B_in, inst.sigma_in), inst.B_in, inst.sigma_in)
            except AssumptionError:
                continue
            if prev is not None:
                errs.append(_ineq(e, prev))
            prev = e
        return max(errs)

    def wrong(cfg):   # the ranking of Lemma F.14's middle inequality: E(LoRA_r) <= E(S²FT_S)
        R = _population(build(cfg))
        return _ineq(R["lora"][0], R["s2ft"][0])
    return sweep(_configs(ctx, 60, 2000, bottleneck=_coin, factored=_coin), ev, EXACT_TOL, size=_size,
                 alternative=("E(LoRA) <= E(S²FT) in distribution (F.14's middle inequality)", wrong))


@claim(id="s2ft.lemmaG1.explicit_constant", paper=SEED, source="Lemma G.1 (L973–996)",
       statement=r"$\|\mathrm{SVD}_s(B)-\mathrm{SVD}_s(A)\|_F \le m(1+6\sqrt2\|A\|^2_{op}/(\lambda_s^2-\lambda_{s+1}^2))$, "
                 r"$m = \sqrt s\|B-A\|_{op}\wedge\|B-A\|_F$, when $\|B-A\|_{op}\le\|A\|_{op}$.",
       form="derived", method="random A (half with near-degenerate gaps) and perturbations of every size up to "
       "||A||_op", expected="holds")
def _g1(ctx):
    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        m, n = cfg["m"], cfg["n"]
        U, _ = np.linalg.qr(rng.normal(size=(m, m)))
        V, _ = np.linalg.qr(rng.normal(size=(n, n)))
        k = min(m, n)
        sv_ = np.sort(rng.uniform(0.1, 2.0, k))[::-1]
        s = int(rng.integers(1, k)) if k > 1 else 1
        if cfg["near_tie"] and s < k:
            sv_[s] = sv_[s - 1] * (1 - 10 ** rng.uniform(-6, -1))
        A = (U[:, :k] * sv_) @ V[:, :k].T
        E = rng.normal(size=(m, n))
        E *= rng.uniform(0, 1) * sv_[0] / np.linalg.norm(E, 2)
        b = pr.lemma_g1_bound(A, A + E, s)
        if not b["applies"]:
            raise Inconclusive("hypotheses of Lemma G.1 not met")
        if cfg.get("wrong"):     # truncation taken as 1-Lipschitz: ||SVD_s(B) - SVD_s(A)||_F <= m
            m_ = min(np.sqrt(s) * np.linalg.norm(E, 2), np.linalg.norm(E))
            return _ineq(b["lhs"], m_)
        return _ineq(b["lhs"], b["rhs"])
    return sweep(_configs(ctx, 300, 20000, m=lambda g: int(g.integers(2, 7)), n=lambda g: int(g.integers(2, 7)),
                          near_tie=_coin), ev, EXACT_TOL,
                 alternative=("||SVD_s(B) - SVD_s(A)||_F <= m (no eigengap factor)", lambda c: ev(dict(c, wrong=True))))


# ----------------------------------------------------------------------------- finite n: Monte Carlo
def _mc_instance(ctx):
    widths = ctx.pick((8, 6, 6, 5), (40, 32, 32, 24))
    d_l = widths[2]
    inst = channel_split_instance(ctx.seed, widths=widths, ell=2, r=2, channels=tuple(range(d_l // 2)),
                                  in_rows=(0, 1), out_rows=(d_l - 2, d_l - 1), noise=0.5)
    return inst


def _mc_backend(ctx):
    # the full profile runs the batched Monte Carlo in torch on CUDA when the run has a GPU
    if ctx.full and ctx.device == "cuda":
        return {"backend": "torch", "device": "cuda"}
    return {}


def _fit_slope(ns, means, draws):
    x = np.log(ns)
    slope = np.polyfit(x, np.log(means), 1)[0]
    boots = [np.polyfit(x, np.log(d), 1)[0] for d in draws if np.all(d > 0)]
    return float(slope), float(np.std(boots)) if boots else float("inf")


@claim(id="s2ft.variance.exact_and_rate", paper=SEED, source="Theorems F.7 / F.13 (finite n); note §3.1",
       statement=r"For Gaussian data and factored $B^{(i)}$: $\mathbb E\,\mathcal E^{(i)}(\hat F_n) = \mathcal E^{(i)}(F_\infty) + "
                 r"\operatorname{tr}(\Pi\Sigma_\epsilon)\,d'/(n-d'-1)$ ($\Pi = P''_S$ for S²FT, $P'$ for full), so the excess "
                 r"decays at rate $1/n$ (log-log slope $-1$); the paper's $s\,d_{\ell-1}\log^2(n+p+q)/n$ is rate-only.",
       form="corrected", method="batched Monte Carlo (channel-split instance; quick: widths (8,6,6,5), n = 20..320, "
       "400 reps; full: (40,32,32,24), n = 100..6400, 200 reps, torch on CUDA when present); error = max |mean - exact| / SE (tolerance 4) "
       "and |slope - slope of the exact excess over the same n| against 0.15 + 3 bootstrap SE (the exact excess is 1/n "
       "only asymptotically: its slope is about -1.15 at n = 20..320)", expected="holds")
def _var(ctx):
    inst = _mc_instance(ctx)
    ns = ctx.pick([20, 40, 80, 160, 320], [100, 200, 400, 800, 1600, 3200, 6400])
    reps = ctx.pick(400, 200)
    rng = ctx.rng(99)
    zs, zs_alt, det = [], [], {"n": ns}
    exc = {"full": [], "s2ft": []}
    exc_exact = {"full": [], "s2ft": []}
    boot = {"full": [], "s2ft": []}
    for n in ns:
        out = sv.monte_carlo_risks(inst, n, reps, int(rng.integers(2**31)), methods=("full", "s2ft"),
                                   **_mc_backend(ctx))
        for m in ("full", "s2ft"):
            ref = cf.expected_id_risk_exact(inst.layers, inst.ell, inst.B_in, inst.sigma_in, inst.sigma_eps, n,
                                            channels=None if m == "full" else inst.channels)
            e = out[f"E_in_{m}"]
            se = e.std(ddof=1) / np.sqrt(reps)
            zs.append(abs(e.mean() - ref["expected"]) / se)
            # the nearest wrong formula: the asymptotic variance tr(Pi Sigma_eps) d'/n (no finite-n correction)
            d1 = ref["d_prime"]
            alt = ref["E_inf"] + ref["variance"] * (n - d1 - 1) / n
            zs_alt.append(abs(e.mean() - alt) / se)
            exc[m].append(e.mean() - ref["E_inf"])
            exc_exact[m].append(ref["variance"])
            idx = np.random.default_rng(n).integers(0, reps, size=(200, reps))
            boot[m].append(e[idx].mean(axis=1) - ref["E_inf"])
            det.setdefault(f"{m}_mean", []).append(float(e.mean()))
            det.setdefault(f"{m}_exact", []).append(ref["expected"])
            det.setdefault(f"{m}_ci95", []).append(1.96 * float(se))
    slope_err = 0.0
    for m in ("full", "s2ft"):
        slope, se = _fit_slope(ns, np.array(exc[m]), np.array(boot[m]).T)
        # the exact excess d'/(n - d' - 1) tr(Pi Sigma_eps) is 1/n only as n -> oo: over the sampled n its
        # log-log slope is steeper (about -1.15 at n = 20..320), so the Monte Carlo slope is held against it
        exact_exc = np.array(exc_exact[m])
        slope_exact = float(np.polyfit(np.log(ns), np.log(exact_exc), 1)[0])
        det[f"{m}_slope"], det[f"{m}_slope_se"], det[f"{m}_slope_exact"] = slope, se, slope_exact
        slope_err = max(slope_err, abs(slope - slope_exact) - 3 * se)
    det["max_z"] = float(max(zs))
    det["slope_excess_over_tol"] = slope_err
    rate = pr.thm_f7_variance_rates(inst.layers, inst.ell, inst.channels, inst.r, inst.B_in, inst.sigma_in,
                                    inst.sigma_eps, ns[-1])
    det["paper_rate_s2ft_at_max_n"] = rate["s2ft"]
    err = max(max(zs) / MC_Z, slope_err / SLOPE_TOL)
    gap = max(zs_alt) / MC_Z
    return Evidence(instances=len(ns) * reps, max_error=err, tolerance=1.0, details=det,
                    discrimination={"alternative": "asymptotic variance tr(Pi Sigma_eps) d'/n (no finite-n "
                                    "correction)", "gap": gap, "tolerance": 1.0, "rejected": bool(gap > 1.0)})


def _lora_mc_instance(ctx):
    # q' = d' = 3 and r = 2: r (q' + d' - r) = 8 sigma^2 against 12 sigma^2 without the -r (33 % apart)
    return channel_split_instance(ctx.seed, widths=(5, 3, 3, 3), ell=2, r=2, channels=(0,), in_rows=(0,),
                                  out_rows=(2,), noise=0.5)


@claim(id="s2ft.variance.lora_limit", paper=SEED, source="Theorem F.10 (variance); note §3.1",
       statement=r"Well-specified LoRA with $\Sigma_\epsilon=\sigma^2I$: $n(\mathbb E\mathcal E^{(i)}_n - \mathcal E^{(i)}_\infty) "
                 r"\to \sigma^2 r(q'+d'-r)$, at rate $1/n$.",
       form="derived", method="batched Monte Carlo on a small channel-split instance, widths (5,3,3,3), so q' = d' = 3 "
       "and rank M = r = 2 (limit 8 sigma^2; dropping the -r gives 12 sigma^2); quick: n = 40..320, 400 reps; full: "
       "n = 80..1280, 2000 reps (torch on CUDA when present); relative error of n·(mean excess) at the largest n "
       "(tolerance 0.10 plus 3 SE) and log-log slope", expected="holds")
def _lora_var(ctx):
    inst = _lora_mc_instance(ctx)
    sigma2 = float(inst.sigma_eps[0, 0])
    lim = cf.lora_variance_limit(inst.layers, inst.ell, inst.r, inst.B_in, inst.sigma_in, sigma2)
    q1 = int(np.linalg.matrix_rank(inst.parts.K))
    d1 = int(np.linalg.matrix_rank(inst.parts.W_low @ inst.sigma_in @ inst.parts.W_low.T))
    lim_alt = sigma2 * inst.r * (q1 + d1)          # the nearest wrong formula: the -r dropped
    e_inf = cf.excess_risk(cf.lora_population(inst.layers, inst.ell, inst.r, inst.B_in, inst.sigma_in),
                           inst.B_in, inst.sigma_in)
    ns = ctx.pick([40, 80, 160, 320], [80, 160, 320, 640, 1280])
    reps = ctx.pick(400, 2000)
    rng = ctx.rng(7)
    scaled, ses = [], []
    for n in ns:
        e = sv.monte_carlo_risks(inst, n, reps, int(rng.integers(2**31)), methods=("lora",),
                                 **_mc_backend(ctx))["E_in_lora"]
        scaled.append(n * (e.mean() - e_inf))
        ses.append(n * e.std(ddof=1) / np.sqrt(reps))

    def limit_err(target):
        rel = abs(scaled[-1] - target) / target
        return max(0.0, rel - 3 * ses[-1] / target) / LORA_LIMIT_RTOL

    err = limit_err(lim)
    slope = float(np.polyfit(np.log(ns), np.log(np.array(scaled) / np.array(ns)), 1)[0])
    det = {"n": ns, "n_times_excess": scaled, "se": ses, "limit": lim, "limit_without_minus_r": lim_alt,
           "q_prime": q1, "d_prime": d1, "slope": slope}
    err = max(err, (abs(slope + 1) - SLOPE_TOL) / SLOPE_TOL + 1.0 if abs(slope + 1) > SLOPE_TOL else 0.0)
    gap = limit_err(lim_alt)
    return Evidence(instances=len(ns) * reps, max_error=err, tolerance=1.0, details=det,
                    discrimination={"alternative": "sigma^2 r (q' + d') (the -r of the manifold dimension dropped)",
                                    "gap": gap, "tolerance": 1.0, "rejected": bool(gap > 1.0)})


# ----------------------------------------------------------------------------- trained torch networks
def _train_instance(ctx):
    widths = ctx.pick((6, 5, 5, 4), (12, 10, 10, 8))
    d_l = widths[2]
    return channel_split_instance(ctx.seed, widths=widths, ell=2, r=2, channels=tuple(range(d_l // 2 + 1)),
                                  in_rows=(0, 1), out_rows=(d_l - 2, d_l - 1), noise=0.5)


@claim(id="s2ft.train.gd_equals_min_norm", paper=SEED, source="Lemmas F.9, F.12, F.17 (implicit bias of GD)",
       statement="A torch deep linear network whose layer ell is adapted by LoRA (U0 = 0), S²FT or full FT "
                 "(from 0) and trained by full-batch GD converges to the minimum-norm closed form, also when "
                 "n < d_{ell-1} (many ERMs; GD picks the minimum-norm one).",
       form="derived", method="float64 torch, full-batch GD to gradient norm 1e-10·(1+||K^T C||); n = 40 "
       "(unique ERM) and n = 3 < d_{ell-1} (S²FT, full); error = max|F_GD - F_cf| / (1 + max|F_cf|)",
       expected="holds")
def _train_gd(ctx):
    from .train import train_adapter

    inst = _train_instance(ctx)
    a = (inst.layers, inst.ell)
    errs, det, alt = [], {}, []
    for n in (ctx.pick(40, 200), 3):
        X, Y = sample_id(inst, n, ctx.seed + n)
        refs = {"full": cf.full_fit(*a, X, Y), "s2ft": cf.s2ft_fit(*a, inst.channels, X, Y)}
        if n >= inst.parts.d_in:
            refs["lora"] = cf.lora_fit(*a, inst.r, X, Y)
        for m, ref in refs.items():
            try:
                res = train_adapter(*a, X, Y, method=m, channels=inst.channels, r=inst.r, steps=30_000,
                                    device=ctx.device, seed=ctx.seed)
            except NotConvergedError as exc:
                raise Inconclusive(str(exc)) from None
            e = float(np.abs(res.F - ref).max() / (1 + np.abs(ref).max()))
            det[f"{m}_n{n}"] = {"error": e, "steps": res.steps}
            errs.append(e)
            if m in ("s2ft", "full"):   # the other adapter's min-norm map standing for this one's
                other = refs["full" if m == "s2ft" else "s2ft"]
                alt.append(float(np.abs(res.F - other).max() / (1 + np.abs(other).max())))
    gap = min(alt) / GD_TOL
    return Evidence(instances=len(errs), max_error=max(errs), tolerance=GD_TOL, details=det,
                    discrimination={"alternative": "the full-layer min-norm map for S²FT's (and S²FT's for full)",
                                    "gap": gap * GD_TOL, "tolerance": GD_TOL, "rejected": bool(gap > 1)})


@claim(id="s2ft.train.adam_same_erm", paper=SEED, source="note §3.2 (what survives without the min-norm bias)",
       statement="Adam reaches the same empirical risk as the minimum-norm ERM, and the same end-to-end map when "
                 "the ERM is unique (n >= d_{ell-1}); for n < d_{ell-1} its map differs (min-norm bias lost).",
       form="derived", method="full-layer adapter trained with Adam (lr 0.05, geometric decay 1e-4 over 1000 steps quick, "
       "6000 full; a cycle that ends above the gradient tolerance 1e-9·(1+||K^T C||) restarts from its iterate at 0.3x "
       "the rate, at most 6 times, else the claim is inconclusive) at n = 40 and n = 3; error = max(relative loss gap, "
       "relative map gap when unique) against 1e-5", expected="holds")
def _train_adam(ctx):
    from .train import train_adapter

    inst = _train_instance(ctx)
    a = (inst.layers, inst.ell)
    det, errs = {}, []
    for n in (ctx.pick(40, 200), 3):
        X, Y = sample_id(inst, n, ctx.seed + n)
        ref = cf.full_fit(*a, X, Y)
        loss_ref = float(np.mean(np.sum((Y - X @ ref.T) ** 2, axis=1)))
        try:
            res = train_adapter(*a, X, Y, method="full", optimizer="adam", lr=0.05, steps=ctx.pick(1000, 6000),
                                device=ctx.device, seed=ctx.seed, grad_tol=ADAM_GRAD_TOL, restarts=ADAM_RESTARTS)
        except NotConvergedError as exc:   # missed its convergence criterion: no verdict, never "fails"
            raise Inconclusive(str(exc)) from None
        gap_map = float(np.abs(res.F - ref).max())
        det[f"n{n}"] = {"loss_gap": res.loss - loss_ref, "map_gap": gap_map, "steps": res.steps,
                        "grad_norm": res.grad_norm,
                        "E_out_adam": cf.excess_risk(res.F, inst.B_out, inst.sigma_out),
                        "E_out_min_norm": cf.excess_risk(ref, inst.B_out, inst.sigma_out)}
        errs.append(abs(res.loss - loss_ref) / (1 + loss_ref))
        if n >= inst.parts.d_in:
            errs.append(gap_map / (1 + np.abs(ref).max()))
        else:
            alt_gap = gap_map / (1 + np.abs(ref).max())
    return Evidence(instances=len(errs), max_error=max(errs), tolerance=ADAM_TOL, details=det,
                    discrimination={"alternative": "Adam reaching the min-norm map also when n < d_{ell-1}",
                                    "gap": alt_gap, "tolerance": ADAM_TOL, "rejected": bool(alt_gap > ADAM_TOL)})
