r"""Derivation steps of the LoRA margin paper (``002_caa97dd52c787aec.txt``), checked step by step.

Symbols (mean CE): :math:`g=\lambda\sqrt n`, :math:`s=\sqrt{(K-\bar K)/K}`, :math:`\sigma = 1/s`;
template gaps ``p`` (seen), ``q`` (unseen); kink variable :math:`t=\bar Kq-(\bar K-1)p`.

Steps: Lemma C.2 (variational nuclear norm), the nuclear norm of the symmetric template
and the minimisation of the shift ``a`` (the reduction of (6) to a 2-D convex problem),
the stationarity (KKT) conditions that give the low and intermediate regimes and the two
thresholds, Pythagoras in (12), and the optimum of Theorem 3.3.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import functools

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional; only a speed-up
    import contextlib

    def threadpool_limits(limits=None):
        return contextlib.nullcontext()

from lintheory.claims import Evidence
from lintheory.claims import claim as _register

from . import symbolic_evidence

SEED = "002_caa97dd52c787aec.txt"


def claim(**kw):
    """Register a check that runs with one BLAS thread (tiny matrices; see lintheory.lora_margin.claims)."""
    def deco(fn):
        @functools.wraps(fn)
        def one_thread(ctx):
            with threadpool_limits(limits=1):
                return fn(ctx)
        return _register(**kw)(one_thread)
    return deco
#: numeric probes (SVD / optimisation in float64)
PROBE_TOL = 1e-9


def _with_alternative(ev: Evidence, name: str, alt_residual) -> Evidence:
    """Record the discrimination of a symbolic step: the nearest wrong step must leave a nonzero remainder."""
    items = alt_residual if isinstance(alt_residual, (list, tuple)) else [alt_residual]
    nonzero = any(sp.simplify(x) != 0 for x in items)
    ev.discrimination = {"alternative": name, "gap": 1.0 if nonzero else 0.0, "tolerance": 0.0, "rejected": nonzero}
    if not nonzero and ev.counterexample is None:
        ev.inconclusive = f"the check cannot reject the alternative {name!r}"
    return ev


def _numeric_alternative(ev: Evidence, name: str, gap: float) -> Evidence:
    """Record the discrimination of a numeric probe: the wrong formula's largest error must exceed the tolerance."""
    ev.discrimination = {"alternative": name, "gap": float(gap), "tolerance": ev.tolerance,
                         "rejected": bool(gap > ev.tolerance)}
    if not gap > ev.tolerance and ev.counterexample is None:
        ev.inconclusive = f"the check cannot reject the alternative {name!r} (gap {gap!r})"
    return ev


@claim(id="proofs.lora_margin.lemmaC2.am_gm", paper=SEED, source="Lemma C.2 (L858)",
       statement=r"$\frac12(\|B\|_F^2+\|A\|_F^2)\ge\|BA\|_*$, with equality at $B=U\Sigma^{1/2}$, $A=\Sigma^{1/2}V^\top$: "
                 r"per singular direction $\frac{b^2+a^2}2-ab=\frac{(b-a)^2}2$",
       form="derived",
       method="sympy identity for the scalar step, plus a numeric probe: balanced SVD factors attain ||Z||_* and "
              "200 random factorisations B A = Z never go below it",
       expected="holds")
def _c2(ctx):
    a, b = sp.symbols("a b", real=True)
    sym = symbolic_evidence((b ** 2 + a ** 2) / 2 - a * b - (b - a) ** 2 / 2)
    rng = ctx.rng(0)
    worst = 0.0
    for _ in range(20):
        K, d, r = 4, 6, 5
        Z = rng.standard_normal((K, 3)) @ rng.standard_normal((3, d))
        U, S, Vt = np.linalg.svd(Z, full_matrices=False)
        nuc = S.sum()
        B, A = U * np.sqrt(S), np.sqrt(S)[:, None] * Vt
        worst = max(worst, abs(0.5 * (np.sum(B ** 2) + np.sum(A ** 2)) - nuc) / nuc)
        for _ in range(10):
            Bq = rng.standard_normal((K, r))
            A2 = np.linalg.lstsq(Bq, Z, rcond=None)[0]
            if np.abs(Bq @ A2 - Z).max() < 1e-9:
                worst = max(worst, max(0.0, nuc - 0.5 * (np.sum(Bq ** 2) + np.sum(A2 ** 2))) / nuc)
    ev = Evidence(instances=sym.instances + 20, max_error=max(sym.max_error, worst), tolerance=PROBE_TOL,
                  counterexample=sym.counterexample, details={"numeric_worst": worst})
    return _with_alternative(ev, "(b^2 + a^2)/2 - ab = (b - a)^2 (the 1/2 dropped)",
                             (b ** 2 + a ** 2) / 2 - a * b - (b - a) ** 2)


@claim(id="proofs.lora_margin.reduction.template_nuclear_norm", paper=SEED, source="note §2.9 (reduction of (6))",
       statement=r"for $V$ of (7) with gaps p, q and true logit a: $\|V\|_*=(\bar K-1)|p|+\sqrt{(\bar Ka-(\bar K-1)p)^2"
                 r"+\bar K(K-\bar K)(q-a)^2}$",
       form="derived", method="numeric SVD of V for 300 random (K, Kb, a, p, q); relative error",
       expected="holds")
def _vnuc(ctx):
    from lintheory.lora_margin import template

    rng = ctx.rng(1)
    worst, alt = 0.0, 0.0
    for _ in range(300):
        K = int(rng.integers(2, 12))
        Kb = int(rng.integers(1, K + 1))
        a, p, q = rng.normal(0, 2, 3)
        V = template(K, Kb, a, p - a, q - a)
        num = np.linalg.svd(V, compute_uv=False).sum()
        form = (Kb - 1) * abs(p) + np.sqrt((Kb * a - (Kb - 1) * p) ** 2 + Kb * (K - Kb) * (q - a) ** 2)
        wrong = (Kb - 1) * abs(p) + np.sqrt((Kb * a - (Kb - 1) * p) ** 2 + (K - Kb) * (q - a) ** 2)
        worst = max(worst, abs(num - form) / max(1.0, num))
        alt = max(alt, abs(num - wrong) / max(1.0, num))
    return _numeric_alternative(Evidence(instances=300, max_error=worst, tolerance=PROBE_TOL),
                                "unseen block weighted (K - Kb) instead of Kb (K - Kb)", alt)


@claim(id="proofs.lora_margin.reduction.shift_minimisation", paper=SEED, source="note §2.9",
       statement=r"$\min_a\big[(\bar Ka-(\bar K-1)p)^2+\bar K(K-\bar K)(q-a)^2\big] = s^2(\bar Kq-(\bar K-1)p)^2$ at "
                 r"$a=((\bar K-1)p+(K-\bar K)q)/K$ (so $\|Z\|_*=\sqrt n[(\bar K-1)|p|+s|t|]$ and CE does not depend on a)",
       form="derived", method="sympy: the derivative vanishes at a*, and the value identity simplifies to 0",
       expected="holds")
def _shift(ctx):
    a, p, q = sp.symbols("a p q", real=True)
    K, Kb = sp.symbols("K Kbar", positive=True)
    f = (Kb * a - (Kb - 1) * p) ** 2 + Kb * (K - Kb) * (q - a) ** 2
    astar = ((Kb - 1) * p + (K - Kb) * q) / K
    ev = symbolic_evidence([sp.diff(f, a).subs(a, astar),
                            f.subs(a, astar) - (K - Kb) / K * (Kb * q - (Kb - 1) * p) ** 2])
    return _with_alternative(ev, "minimum Kb/K (Kb q - (Kb-1) p)^2 (s^2 read as Kb/K)",
                             f.subs(a, astar) - Kb / K * (Kb * q - (Kb - 1) * p) ** 2)


def _smooth_parts(K, Kb, g, s, p, t):
    q = ((Kb - 1) * p + t) / Kb
    D = 1 + (Kb - 1) * sp.exp(-p) + (K - Kb) * sp.exp(-q)
    return sp.log(D) + g * ((Kb - 1) * p + s * t), q


@claim(id="proofs.lora_margin.kkt.low_regime", paper=SEED, source="Theorem 3.1(iii) corrected (note §2.9)",
       statement=r"low regime ($t>0$): the gradient of the smooth 2-D objective vanishes at "
                 r"$p=\log\frac{1-g(\bar K-1+s)}{g(1-s)}$, $q=p-\log(1+\sigma)$",
       form="derived",
       method="sympy: substitute the closed form into both partial derivatives and simplify, for "
              "(K, Kb) in {(3,1),(6,3)} (quick) / {(3,1),(3,2),(5,2),(6,3),(10,7)} (full) with g symbolic",
       expected="holds")
def _kkt_low(ctx):
    g = sp.symbols("g", positive=True)
    p, t = sp.symbols("p t", real=True)
    res = []
    for K, Kb in ctx.pick([(3, 1), (6, 3)], [(3, 1), (3, 2), (5, 2), (6, 3), (10, 7)]):
        s = sp.sqrt(sp.Rational(K - Kb, K))
        f, q = _smooth_parts(K, Kb, g, s, p, t)
        pc = sp.log((1 - g * (Kb - 1 + s)) / (g * (1 - s)))
        qc = pc - sp.log(1 + 1 / s)
        tc = Kb * qc - (Kb - 1) * pc
        for var in ((p, t) if Kb > 1 else (t,)):
            r = sp.diff(f, var).subs({p: pc, t: tc})
            res.append(sp.simplify(sp.expand_log(sp.exp(0) * r, force=True)))
    K, Kb = 6, 3
    s = sp.sqrt(sp.Rational(K - Kb, K))
    f, _ = _smooth_parts(K, Kb, g, s, p, t)
    pc = sp.log((1 - g * (Kb - 1 + s)) / (g * (1 - s)))
    tw = Kb * (pc - sp.log(1 / s)) - (Kb - 1) * pc           # q = p - log(sigma)
    wrong = sp.diff(f, t).subs({p: pc, t: tw}).subs(g, sp.Rational(1, 20))
    return _with_alternative(symbolic_evidence(res), "q = p - log(sigma) (the 1 + dropped), K=6, Kb=3, g=1/20",
                             sp.nsimplify(sp.N(wrong, 30), rational=True))


@claim(id="proofs.lora_margin.kkt.intermediate_and_crit", paper=SEED, source="Theorem 3.1(ii) corrected; eq. (28)",
       statement=r"on the kink $t=0$: $\partial_p=0$ iff $g=\frac{e^{-p}+\frac{K-\bar K}{\bar K}e^{-(\bar K-1)p/\bar K}}"
                 r"{1+(\bar K-1)e^{-p}+(K-\bar K)e^{-(\bar K-1)p/\bar K}}$; the subgradient condition in t is "
                 r"$|\partial_t \mathrm{CE}|\le gs$ and becomes tight exactly at $u=e^{-p/\bar K}=1/(1+\sigma)$, "
                 r"where $g=g_{crit}=1/(\bar K-1+s+(1-s)(1+\sigma)^{\bar K})$; at $p=0$, $g=1/\bar K$",
       form="derived",
       method="sympy for (K, Kb) = (6,3) (quick) / {(3,2),(5,2),(6,3),(9,4)} (full): the p-derivative equation, the value of the "
              "t-derivative at u = 1/(1+sigma), g_crit, and g(p=0)",
       expected="holds")
def _kkt_mid(ctx):
    g = sp.symbols("g", positive=True)
    p, t = sp.symbols("p t", real=True)
    res = []
    for K, Kb in ctx.pick([(6, 3)], [(3, 2), (5, 2), (6, 3), (9, 4)]):
        s = sp.sqrt(sp.Rational(K - Kb, K))
        sig = 1 / s
        f, q = _smooth_parts(K, Kb, g, s, p, t)
        D = 1 + (Kb - 1) * sp.exp(-p) + (K - Kb) * sp.exp(-(Kb - 1) * p / Kb)
        rhs = (sp.exp(-p) + sp.Rational(K - Kb, Kb) * sp.exp(-(Kb - 1) * p / Kb)) / D
        dp = sp.diff(f, p).subs(t, 0)
        res.append(sp.simplify(dp.subs(g, rhs)))
        pcrit = Kb * sp.log(1 + sig)
        dt_ce = sp.diff(f, t).subs(t, 0) - g * s           # derivative of the CE part in t
        gcrit = 1 / (Kb - 1 + s + (1 - s) * (1 + sig) ** Kb)
        res.append(sp.nsimplify(sp.simplify(rhs.subs(p, pcrit) - gcrit)))
        res.append(sp.simplify(-dt_ce.subs(p, pcrit) - gcrit * s))
        res.append(sp.simplify(rhs.subs(p, 0) - sp.Rational(1, Kb)))
    K, Kb = 6, 3
    s = sp.sqrt(sp.Rational(K - Kb, K))
    sig = 1 / s
    D = 1 + (Kb - 1) * sp.exp(-p) + (K - Kb) * sp.exp(-(Kb - 1) * p / Kb)
    rhs = (sp.exp(-p) + sp.Rational(K - Kb, Kb) * sp.exp(-(Kb - 1) * p / Kb)) / D
    wrong = rhs.subs(p, Kb * sp.log(1 + sig)) - 1 / (Kb - 1 + s + (1 - s) * (1 + sig) ** (Kb - 1))
    return _with_alternative(symbolic_evidence(res), "g_crit with (1 + sigma)^(Kb-1), K=6, Kb=3",
                             sp.nsimplify(sp.N(wrong, 30), rational=True))


@claim(id="proofs.lora_margin.kkt.zero_threshold", paper=SEED, source="Theorem 3.1(i) corrected",
       statement=r"$\|\nabla_Z\mathrm{CE}(0)\|_2 = 1/(\bar K\sqrt n)$ for $\bar K\ge2$ (mean CE) and "
                 r"$\sqrt{(K-1)/K}/\sqrt n$ for $\bar K=1$, so Z = 0 is optimal iff $\lambda\ge$ this value",
       form="derived", method="numeric spectral norm of the logit-space gradient at 0 over K <= 12, Kb <= K, n <= 6",
       expected="holds")
def _zero(ctx):
    from lintheory.lora_margin import thresholds
    from lintheory.lora_margin.solvers import mean_ce_grad

    worst, cnt, alt = 0.0, 0, 0.0
    for K in range(2, 13):
        for Kb in range(1, K + 1):
            for n in (1, 2, 6):
                y = np.repeat(np.arange(Kb), n)
                G = mean_ce_grad(np.zeros((K, Kb * n)), y=y, n_classes=K)
                lam0 = thresholds(K, Kb, n).lambda_zero
                worst = max(worst, abs(np.linalg.norm(G, 2) - lam0) / lam0)
                if Kb >= 2:
                    alt = max(alt, abs(np.linalg.norm(G, 2) - 1 / (K * np.sqrt(n))) / lam0)
                cnt += 1
    return _numeric_alternative(Evidence(instances=cnt, max_error=worst, tolerance=PROBE_TOL),
                                "the printed 1/(K sqrt n)", alt)


@claim(id="proofs.lora_margin.thm3_2.pythagoras", paper=SEED, source="Theorem 3.2 proof (eq. (12))",
       statement=r"$W_{pre}X_{ft}^\top=0$ and rows of $Z$ in span$(X_{ft})$ give $\langle W_{pre},Z\rangle_F=0$, hence "
                 r"$\|W_{pre}+Z\|_F^2=\rho_{pre}^2+\Theta^2$, $ZX_{pre}^\top=0$; and the invariant "
                 r"$(\gamma_{pre}(\lambda)/\gamma_{pre})^2+(\gamma_{ft}(\lambda)/\gamma_{ft,\lambda})^2=1$",
       form="derived", method="sympy for the invariant (C/sqrt(rho^2+Theta^2) forms); numeric probe on generated problems",
       expected="holds")
def _pyth(ctx):
    from lintheory.lora_margin import adapter
    from lintheory.lora_margin.data import lora_problem

    rho, th, Cp, Cf = sp.symbols("rho Theta C_pre C_ft", positive=True)
    den = sp.sqrt(rho ** 2 + th ** 2)
    inv = ((Cp / den) / (Cp / rho)) ** 2 + ((Cf / den) / (Cf / th)) ** 2 - 1
    sym = symbolic_evidence(inv)
    worst = 0.0
    for seed in range(3):
        P = lora_problem(6, 3, 2, seed=seed, rho_pre=2.0)
        Z = adapter(P.X_ft, P.y_ft, 6, 0.05)
        worst = max(worst, abs(np.linalg.norm(P.W_pre + Z) ** 2 - 4.0 - np.linalg.norm(Z) ** 2),
                    float(np.abs(Z @ P.X_pre.T).max()))
    ev = Evidence(instances=4, max_error=max(sym.max_error, worst), tolerance=PROBE_TOL,
                  counterexample=sym.counterexample, details={"numeric_worst": worst})
    return _with_alternative(ev, "the invariant without squares",
                             (Cp / den) / (Cp / rho) + (Cf / den) / (Cf / th) - 1)


@claim(id="proofs.lora_margin.thm3_3.optimum", paper=SEED, source="Theorem 3.3, proof H",
       statement=r"at $\alpha_i=C_{pre}/C_i$ all margins equal $C_{pre}/\sqrt{\rho^2+\sum_i(C_{pre}\Theta_i/C_i)^2}"
                 r"=(\gamma_{pre}^{-2}+\sum_i\gamma_i^{-2})^{-1/2}$, and the printed "
                 r"$\alpha_i=\rho_{pre}\gamma_{pre}/(\gamma_i\Theta_i)$ is the same point",
       form="derived", method="sympy identities for T = 1, 2, 3",
       expected="holds")
def _merge(ctx):
    res = []
    rho, Cp = sp.symbols("rho C_pre", positive=True)
    for T in (1, 2, 3):
        C = sp.symbols(f"C1:{T + 1}", positive=True)
        th = sp.symbols(f"Theta1:{T + 1}", positive=True)
        alpha = [Cp / c for c in C]
        den = sp.sqrt(rho ** 2 + sum((a * t) ** 2 for a, t in zip(alpha, th)))
        gpre = Cp / rho
        gam = [c / t for c, t in zip(C, th)]
        target = (gpre ** -2 + sum(g ** -2 for g in gam)) ** sp.Rational(-1, 2)
        res.append(sp.simplify((Cp / den) ** 2 - target ** 2))
        res += [sp.simplify(a * c / den - Cp / den) for a, c in zip(alpha, C)]
        res += [sp.simplify(rho * gpre / (g * t) - a) for g, t, a in zip(gam, th, alpha)]
    C1, C2 = sp.symbols("C1:3", positive=True)[:2]
    t1, t2 = sp.symbols("Theta1:3", positive=True)[:2]
    aw = [(Cp / rho) / (c / t) for c, t in ((C1, t1), (C2, t2))]          # gamma_pre / gamma_i
    denw = sp.sqrt(rho ** 2 + sum((a * t) ** 2 for a, t in zip(aw, (t1, t2))))
    return _with_alternative(symbolic_evidence(res), "alpha_i = gamma_pre/gamma_i (norm ratio dropped), T = 2",
                             aw[0] * C1 / denw - Cp / denw)


@claim(id="proofs.lora_margin.thm3_2.lambda_star_full_classes", paper=SEED, source="Theorem 3.2 corrected (Kb = K)",
       statement=r"for $\bar K=K$, $p_\lambda=\log(1/(\lambda\sqrt n)-K+1)$, so $p_{\lambda^*}=C_{pre}$ gives "
                 r"$\lambda^*=1/(\sqrt n(K-1+e^{C_{pre}}))$, and the intermediate equation reduces to it",
       form="derived", method="sympy: substitute and simplify",
       expected="holds")
def _lamstar(ctx):
    K, n, C, lam, p = sp.symbols("K n C lambda p", positive=True)
    lamstar = 1 / (sp.sqrt(n) * (K - 1 + sp.exp(C)))
    r1 = sp.simplify(sp.log(1 / (lamstar * sp.sqrt(n)) - K + 1) - C)
    Kb = K
    D = 1 + (Kb - 1) * sp.exp(-p)
    rhs = sp.exp(-p) / D                  # the intermediate equation with K - Kb = 0
    r2 = sp.simplify(rhs.subs(p, sp.log(1 / lam - K + 1)) - lam)
    wrong = 1 / (sp.sqrt(n) * (K + sp.exp(C)))
    return _with_alternative(symbolic_evidence([r1, r2]), "lambda* = 1/(sqrt(n)(K + e^C)) (off by one)",
                             sp.log(1 / (wrong * sp.sqrt(n)) - K + 1) - C)
