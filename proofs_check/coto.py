"""Derivation steps of the CoTo paper (``004_bb9aedc7a8b2e8cb.txt``): Appendix D and §3.5.

* the binomial decomposition (first line of Eq. 8): summing the mask probabilities of all
  masks of size ``j`` gives ``w_j(p)``, so E_δ ℓ = Σ_j w_j · (average size-j loss);
* the Jensen step for MSE is the within-size variance identity (so it is ≥ 0);
* the mean deep-linear network (multilinearity in independent masks);
* the fixed-p additive-adapter optimum ``u_i = r / (1 + p(L-1))`` and its Hessian;
* the fusion-minus-ensemble identity of §4.2;
* Owen's integral reproduces the Shapley subset weights (Beta integrals), and Gauss–Legendre
  with ``ceil(L/2)`` nodes integrates every ``p^k (1-p)^(L-1-k)`` exactly (high-precision
  numeric probe; one node fewer does not).
"""

from __future__ import annotations

import itertools
import math

import sympy as sp

from lintheory.claims import Evidence, claim

from . import symbolic_evidence

SEED_004 = "004_bb9aedc7a8b2e8cb.txt"


def _discriminate(ev, name: str, alt_residual):
    """Attach the alternative's symbolic remainder (nonzero = rejected) to a step's evidence."""
    items = alt_residual if isinstance(alt_residual, (list, tuple)) else [alt_residual]
    left = [sp.simplify(r) for r in items]
    rejected = any(r != 0 for r in left)
    ev.discrimination = {"alternative": name, "gap": 1.0 if rejected else 0.0, "tolerance": 0.0,
                         "rejected": rejected, "remainder": [str(r) for r in left if r != 0][:2]}
    if ev.verdict == "holds" and not rejected:
        ev.inconclusive = f"the step cannot reject the alternative {name!r}: its remainder is 0 too"
    return ev


@claim(id="proofs.coto.binomial_decomposition", paper=SEED_004, source="Appendix D, Eq. (8), first equality",
       statement=r"$\sum_{\delta\in\{0,1\}^L}\prod_ip^{\delta_i}(1-p)^{1-\delta_i}\,a_{\|\delta\|_1}"
                 r"=\sum_{j=0}^L\binom Lj p^j(1-p)^{L-j}a_j$ for any per-size values $a_j$",
       form="derived", method="sympy, symbolic p and a_0..a_L, L = 1..6", expected="holds")
def _binomial(ctx):
    p = sp.symbols("p")
    res, alt = [], []
    for L in range(1, 7):
        a = sp.symbols(f"a0:{L + 1}")
        lhs = sum(sp.Mul(*[p if b else 1 - p for b in m]) * a[sum(m)]
                  for m in itertools.product((0, 1), repeat=L))
        rhs = sum(sp.binomial(L, j) * p ** j * (1 - p) ** (L - j) * a[j] for j in range(L + 1))
        res.append(sp.expand(lhs - rhs))
        alt.append(sp.expand(lhs - sum(p ** j * (1 - p) ** (L - j) * a[j] for j in range(L + 1))))
    return _discriminate(symbolic_evidence(res), "weights without the binomial coefficient", alt)


@claim(id="proofs.coto.jensen_mse_step", paper=SEED_004, source="Appendix D, Eq. (8), the inequality",
       statement=r"for MSE the Jensen step is exact: $\frac1k\sum_s(f_s-y)^2-(\bar f-y)^2=\frac1k\sum_s(f_s-\bar f)^2\ge0$",
       form="derived", method="sympy identity for k = 1..5 symbolic values", expected="holds")
def _jensen(ctx):
    y = sp.symbols("y")
    res, alt = [], []
    for k in range(1, 6):
        f = sp.symbols(f"f0:{k}")
        fbar = sum(f) / k
        res.append(sp.expand(sum((fi - y) ** 2 for fi in f) / k - (fbar - y) ** 2
                             - sum((fi - fbar) ** 2 for fi in f) / k))
        if k >= 2:
            alt.append(sp.expand(sum((fi - y) ** 2 for fi in f) / k - (fbar - y) ** 2
                                 - sum((fi - fbar) ** 2 for fi in f) / (k - 1)))
    return _discriminate(symbolic_evidence(res), "the gap is the sample variance (divisor k - 1)", alt)


@claim(id="proofs.coto.mean_network", paper=SEED_004, source="§3.4 (deep linear chains)",
       statement=r"$\mathbb E_\delta\prod_{i}(w_i+\delta_i\Delta_i)=\prod_i(w_i+p\Delta_i)$ for independent "
                 r"Bernoulli(p) masks (non-commuting 2×2 matrices, L = 3)",
       form="derived", method="sympy with symbolic 2×2 matrices, expectation over all 8 masks", expected="holds")
def _mean(ctx):
    p = sp.symbols("p")
    L = 3
    Ws = [sp.Matrix(2, 2, sp.symbols(f"w{i}_0:4")) for i in range(L)]
    Ds = [sp.Matrix(2, 2, sp.symbols(f"d{i}_0:4")) for i in range(L)]
    E = sp.zeros(2, 2)
    for m in itertools.product((0, 1), repeat=L):
        prob = sp.Mul(*[p if b else 1 - p for b in m])
        M = sp.eye(2)
        for i in range(L):
            M = (Ws[i] + m[i] * Ds[i]) * M
        E += prob * M
    C = sp.eye(2)
    on, off = sp.eye(2), sp.eye(2)
    for i in range(L):
        C = (Ws[i] + p * Ds[i]) * C
        on, off = (Ws[i] + Ds[i]) * on, Ws[i] * off
    return _discriminate(symbolic_evidence([sp.expand(e) for e in (E - C)]),
                         "E f = p f(all on) + (1-p) f(all off)",
                         [sp.expand(e) for e in (E - p * on - (1 - p) * off)])


@claim(id="proofs.coto.additive_optimum", paper=SEED_004, source="Eq. (4) at fixed p, additive adapters",
       statement=r"$\mathbb E\|r-\sum_i\delta_iu_i\|^2=\|r-pU\|^2+p(1-p)\sum_i\|u_i\|^2$; its gradient vanishes at "
                 r"$u_i=r/(1+p(L-1))$ and its Hessian $2(p^2\mathbf 1\mathbf 1^\top+p(1-p)I)$ is positive definite for $p\in(0,1)$",
       form="derived", method="sympy, scalar adapters, L = 2..5, symbolic p and r", expected="holds")
def _additive(ctx):
    p, r = sp.symbols("p r")
    res, alt = [], []
    for L in range(2, 6):
        u = sp.symbols(f"u0:{L}")
        E = sum(sp.Mul(*[p if b else 1 - p for b in m]) * (r - sum(b * ui for b, ui in zip(m, u))) ** 2
                for m in itertools.product((0, 1), repeat=L))
        closed = (r - p * sum(u)) ** 2 + p * (1 - p) * sum(ui ** 2 for ui in u)
        res.append(sp.expand(E - closed))
        opt = {ui: r / (1 + p * (L - 1)) for ui in u}
        res += [sp.cancel(sp.diff(closed, ui).subs(opt)) for ui in u]
        alt += [sp.cancel(sp.diff(closed, ui).subs({uj: r / (1 + p * L) for uj in u})) for ui in u]
        H = sp.hessian(closed, u)
        # eigenvalues: 2p(1-p) (multiplicity L-1) and 2p(1-p) + 2Lp^2
        res += list(sp.expand(H - 2 * (p ** 2 * sp.ones(L, L) + p * (1 - p) * sp.eye(L))))
    return _discriminate(symbolic_evidence(res), "u_i = r/(1 + pL)", alt)


@claim(id="proofs.coto.fusion_identity", paper=SEED_004, source="§4.2, footnote 3",
       statement=r"$(\lambda B_1+(1-\lambda)B_2)(\lambda A_1+(1-\lambda)A_2)-\lambda B_1A_1-(1-\lambda)B_2A_2"
                 r"=-\lambda(1-\lambda)(B_1-B_2)(A_1-A_2)$",
       form="derived", method="sympy with symbolic 2×2 factors (non-commuting)", expected="holds")
def _fusion(ctx):
    lam = sp.symbols("lambda")
    B1, B2, A1, A2 = (sp.Matrix(2, 2, sp.symbols(f"{n}_0:4")) for n in ("b1", "b2", "a1", "a2"))
    diff = ((lam * B1 + (1 - lam) * B2) * (lam * A1 + (1 - lam) * A2) - lam * B1 * A1 - (1 - lam) * B2 * A2
            + lam * (1 - lam) * (B1 - B2) * (A1 - A2))
    flipped = diff - 2 * lam * (1 - lam) * (B1 - B2) * (A1 - A2)
    return _discriminate(symbolic_evidence([sp.expand(e) for e in diff]), "+λ(1-λ)(B1-B2)(A1-A2) (sign flipped)",
                         [sp.expand(e) for e in flipped])


@claim(id="proofs.coto.owen_weights", paper=SEED_004, source="§3.5, Owen formula after Eq. (7)",
       statement=r"$\int_0^1p^k(1-p)^{L-1-k}\,dp=\frac{k!(L-1-k)!}{L!}$, so $\int_0^1c_i(p)\,dp$ is the Shapley value",
       form="derived", method="sympy exact integration, L = 1..9, all k", expected="holds")
def _owen(ctx):
    p = sp.symbols("p")
    res, alt = [], []
    for L in range(1, 10):
        for k in range(L):
            antider = sp.Poly(sp.expand(p ** k * (1 - p) ** (L - 1 - k)), p).integrate()
            val = antider.eval(1) - antider.eval(0)
            res.append(val - sp.factorial(k) * sp.factorial(L - 1 - k) / sp.factorial(L))
            alt.append(val - sp.factorial(k) * sp.factorial(L - 1 - k) / sp.factorial(L - 1))
    return _discriminate(symbolic_evidence(res), "k!(L-1-k)!/(L-1)! (the Beta integral's L! off by one)", alt)


@claim(id="proofs.coto.gauss_legendre_exactness", paper=SEED_004, source="§3.5 (quadrature of Owen's integral)",
       statement=r"$m=\lceil L/2\rceil$ Gauss–Legendre nodes integrate $p^k(1-p)^{L-1-k}$ exactly ($2m-1\ge L-1$); "
                 r"$m-1$ nodes do not (for L ≥ 3)",
       form="derived",
       method="nodes/weights at 60 digits (sympy gauss_legendre) vs exact Beta integrals, L = 1..12; error = max "
              "abs error with m nodes; details: min over k of the max error with m-1 nodes",
       expected="holds")
def _gl(ctx):
    from sympy.integrals.quadrature import gauss_legendre

    worst, short = 0.0, []
    for L in range(1, 13):
        def err(m):
            x, w = gauss_legendre(m, 60)
            ps = [(xi + 1) / 2 for xi in x]
            ws = [wi / 2 for wi in w]
            return max(abs(sum(wk * pk ** k * (1 - pk) ** (L - 1 - k) for pk, wk in zip(ps, ws))
                           - sp.Rational(math.factorial(k) * math.factorial(L - 1 - k), math.factorial(L)))
                       for k in range(L))
        m = math.ceil(L / 2)
        worst = max(worst, float(err(m)))
        if L >= 3 and m > 1:
            short.append(float(err(m - 1)))
    gap = min(short)
    return Evidence(instances=12, max_error=worst, tolerance=1e-40,
                    details={"min_error_with_one_node_fewer": gap},
                    discrimination={"alternative": "ceil(L/2) - 1 nodes", "gap": gap, "tolerance": 1e-40,
                                    "rejected": gap > 1e-40})
