"""Derivation steps of AdaDARE-γ's supplementary proofs (``000_5a76694d997bb78d.txt``, A.1–A.21).

Each step of the proofs of Theorems 1 and 2 is checked with sympy and reported as a claim
``proofs.adadare.<step>``: ``holds`` when the residual simplifies to 0, ``fails`` (with the
remainder) otherwise.  A printed step that is wrong is registered with ``expected="fails"``
next to its corrected form.

Notation: per coordinate, ``c`` is :math:`H_{ii}\\delta_i^2`, :math:`\\alpha=\\gamma-1`, and
:math:`\\phi(p)=\\frac{(\\alpha+p)^2}{1-p}+p` is the paper's per-coordinate loss (A.6–A.9).
"""

from __future__ import annotations

import sympy as sp

from lintheory.claims import Evidence, claim

from . import step_evidence, symbolic_evidence  # noqa: F401

SEED = "000_5a76694d997bb78d.txt"

p, gamma, c, lam, n_ = sp.symbols("p gamma c lambda n", real=True)
delta, H = sp.symbols("delta H", real=True)
alpha = gamma - 1


def _phi(pp=p):
    return (alpha + pp) ** 2 / (1 - pp) + pp


@claim(id="proofs.adadare.a6_expectation", paper=SEED, source="A.6, first line (L37)",
       statement=r"$\mathbb E[H(\delta-m\gamma\delta/(1-p))^2]=H[(1-p)\delta^2(\frac{\gamma-(1-p)}{1-p})^2+p\delta^2]$, "
                 r"$m\sim\mathrm{Bern}(1-p)$",
       form="printed", method="sympy: expectation over the two mask values minus A.6 line 1", expected="holds")
def _a6_exp(ctx):
    kept = (delta - gamma * delta / (1 - p)) ** 2
    expect = H * ((1 - p) * kept + p * delta ** 2)
    line1 = H * ((1 - p) * delta ** 2 * ((gamma - (1 - p)) / (1 - p)) ** 2 + p * delta ** 2)
    return step_evidence(expect - line1)


@claim(id="proofs.adadare.a6_line2", paper=SEED, source="A.6, second line (L39)",
       statement=r"$(1-p)\delta^2(\frac{\gamma-(1-p)}{1-p})^2+p\delta^2=\delta^2(\frac{\alpha^2+2\alpha p+p^2}{1-p}+p)$",
       form="printed", method="sympy: line 1 minus line 2, alpha = gamma - 1", expected="holds")
def _a6_l2(ctx):
    line1 = (1 - p) * delta ** 2 * ((gamma - (1 - p)) / (1 - p)) ** 2 + p * delta ** 2
    line2 = delta ** 2 * ((alpha ** 2 + 2 * alpha * p + p ** 2) / (1 - p) + p)
    return step_evidence(line1 - line2)


@claim(id="proofs.adadare.a6_variance_bias", paper=SEED, source="A.6 (simplified; not in the paper)",
       statement=r"$\phi(p)=\gamma^2\frac{p}{1-p}+(1-\gamma)^2$: variance plus squared bias",
       form="derived", method="sympy: phi minus the variance-bias form", expected="holds")
def _a6_vb(ctx):
    return step_evidence(_phi() - (gamma ** 2 * p / (1 - p) + (1 - gamma) ** 2),
                         alternative=("bias weighted by the keep rate, (1-gamma)^2 (1-p)",
                                      _phi() - (gamma ** 2 * p / (1 - p) + (1 - gamma) ** 2 * (1 - p))))


@claim(id="proofs.adadare.a9_line2.printed", paper=SEED, source="A.9, second line (L57)",
       statement=r"$\phi'(p)=\frac{2(\alpha+p)(1-p)+(\alpha+p)^2}{(1-p)^2}$",
       form="printed",
       method="sympy: the printed line minus d phi/dp (the derivative of the '+p' term, i.e. +1, is missing)",
       expected="fails")
def _a9_l2(ctx):
    printed = (2 * (alpha + p) * (1 - p) + (alpha + p) ** 2) / (1 - p) ** 2
    return step_evidence(printed - sp.diff(_phi(), p))


@claim(id="proofs.adadare.a9_line2.corrected", paper=SEED, source="A.9, second line (corrected)",
       statement=r"$\phi'(p)=\frac{2(\alpha+p)(1-p)+(\alpha+p)^2+(1-p)^2}{(1-p)^2}$",
       form="corrected", method="sympy: corrected line minus d phi/dp", expected="holds")
def _a9_l2c(ctx):
    fixed = (2 * (alpha + p) * (1 - p) + (alpha + p) ** 2 + (1 - p) ** 2) / (1 - p) ** 2
    printed = (2 * (alpha + p) * (1 - p) + (alpha + p) ** 2) / (1 - p) ** 2
    return step_evidence(fixed - sp.diff(_phi(), p), alternative=("A.9 line 2 as printed", printed - sp.diff(_phi(), p)))


@claim(id="proofs.adadare.a9_final", paper=SEED, source="A.9, last lines (L59–61)",
       statement=r"$\phi'(p)=\frac{(\alpha+1)^2}{(1-p)^2}=\frac{\gamma^2}{(1-p)^2}$",
       form="printed", method="sympy: d phi/dp minus gamma^2/(1-p)^2", expected="holds")
def _a9_fin(ctx):
    return step_evidence(sp.diff(_phi(), p) - gamma ** 2 / (1 - p) ** 2)


@claim(id="proofs.adadare.convexity", paper=SEED, source="A.7–A.11 (convexity is not stated)",
       statement=r"$\phi''(p)=\frac{2\gamma^2}{(1-p)^3}\ge0$ on $p<1$: the problem is convex and KKT is sufficient",
       form="derived", method="sympy: second derivative identity, and its sign for q = 1-p > 0", expected="holds")
def _convex(ctx):
    q = sp.symbols("q", positive=True)
    second = sp.diff(_phi(), p, 2)
    res = [second - 2 * gamma ** 2 / (1 - p) ** 3]
    sign = sp.simplify(second.subs(p, 1 - q)).is_nonnegative
    if sign is not True:
        res.append(sp.Integer(1))
    return step_evidence(res, details={"phi_second_is_nonnegative": str(sign)},
                         alternative=("phi'' = 2 gamma^2/(1-p)^2", second - 2 * gamma ** 2 / (1 - p) ** 2))


def _a13(cc=c):
    return 1 - sp.sqrt(n_ * cc * gamma ** 2 / lam)


@claim(id="proofs.adadare.a12.printed", paper=SEED, source="A.12 → A.13 (L75–79)",
       statement=r"A.12, $\frac{H_{ii}\delta_i^2\gamma^2}{1-p_i^2}=\frac\lambda n$, yields A.13, "
                 r"$p_i=1-\sqrt{nH_{ii}\delta_i^2\gamma^2/\lambda}$; the denominator read literally ($1-p_i^2$) "
                 r"or with the brackets the conversion can lose restored ($(1-p_i)^2$, what A.9 gives)",
       form="printed",
       method="sympy: substitute A.13 into A.12 under each reading (positive symbols). Holds since the referee "
              "pass: with the brackets restored the step is exact; the literal 1 - p_i^2 leaves a nonzero "
              "remainder (exact witness) and is recorded as a failing reading, no erratum",
       expected="holds")
def _a12(ctx):
    from lintheory.claims import by_reading

    cc, g, L, n = sp.symbols("c gamma lambda n", positive=True)
    pi = 1 - sp.sqrt(n * cc * g ** 2 / L)
    literal = cc * g ** 2 / (1 - pi ** 2) - L / n
    restored = cc * g ** 2 / (1 - pi) ** 2 - L / n
    return by_reading({
        "literal 1 - p_i^2": step_evidence(literal, details={
            "example": "c=0.3, lambda/n=2: A.13 gives p=0.6127, literal A.12 gives 0.9220"}),
        "brackets restored (1 - p_i)^2 (lost in the conversion)": step_evidence(
            restored, alternative=("the literal 1 - p_i^2", literal)),
    })


@claim(id="proofs.adadare.a12.corrected", paper=SEED, source="A.12 with (1-p_i)^2 (A.8 with A.9)",
       statement=r"$\frac{H_{ii}\delta_i^2\gamma^2}{(1-p_i)^2}=\frac\lambda n$ (A.8 with A.9, $\mu_i=0$) yields A.13",
       form="derived", method="sympy: substitute A.13 into A.12 with (1-p_i)^2 (the bracket-restored reading)",
       expected="holds")
def _a12c(ctx):
    cc, g, L, n = sp.symbols("c gamma lambda n", positive=True)
    pi = 1 - sp.sqrt(n * cc * g ** 2 / L)
    return step_evidence(cc * g ** 2 / (1 - pi) ** 2 - L / n,
                         alternative=("A.12 read literally, 1 - p_i^2", cc * g ** 2 / (1 - pi ** 2) - L / n))


def _three():
    cs = sp.symbols("c1:4", positive=True)
    g, L = sp.symbols("gamma lambda", positive=True)
    pp = sp.symbols("p", positive=True)
    return cs, g, L, pp, 3


#: readings of A.15 ``\sum_{i=0}^{n} 1 - \sqrt{X_i} = n(1-p)``: the lower index 0 and the missing brackets may
#: be conversion artefacts.  (Sum_i 1) - Sum_i sqrt(X_i) is the same equation as Sum_i (1 - sqrt(X_i)).
A15_READINGS = ("sum over i = 1..n of (1 - sqrt(.)) (index 0 and brackets taken as conversion artefacts)",
                "sum over i = 0..n of 1, minus the n terms sqrt(.) (index 0 literal: n + 1 ones)")


@claim(id="proofs.adadare.a15.printed", paper=SEED, source="A.15 (L88)",
       statement=r"A.15, $\sum_{i}\big(1-\sqrt{nH_{ii}\delta_i^2\gamma^2/\lambda}\big)=n(1-p)$, imposes the sparsity "
                 r"constraint $\frac1n\sum_ip_i=p$ of A.14, under every reading of its lower index and brackets",
       form="printed",
       method="sympy, n = 3: solve A.15 for lambda under each reading (i = 1..n with (1 - sqrt) summed -- the same "
              "equation as Sum 1 - Sum sqrt; or the lower index 0 literal, n + 1 ones), plug into A.13, mean p_i "
              "minus p. Every reading sums 1 - sqrt(.) = p_i (by A.13) where A.14 sums 1 - p_i = sqrt(.), so it "
              "imposes mean p_i = 1 - p (or 1 - p - 1/n), not p: fails under every reading (exact witnesses)",
       expected="fails")
def _a15(ctx):
    from lintheory.claims import by_reading

    cs, g, L, pp, n = _three()
    roots = [sp.sqrt(n * ci * g ** 2 / L) for ci in cs]
    out = {}
    for name, ones in zip(A15_READINGS, (n, n + 1)):
        sol = sp.solve(sp.Eq(ones - sum(roots), n * (1 - pp)), L)
        if len(sol) != 1:
            out[name] = step_evidence(sp.Integer(1), details={"solutions": [str(s) for s in sol]})
            continue
        mean_p = sum(1 - r.subs(L, sol[0]) for r in roots) / n
        out[name] = step_evidence(sp.simplify(mean_p - pp), details={"mean_p_literal": str(sp.simplify(mean_p))})
    return by_reading(out)


@claim(id="proofs.adadare.a16", paper=SEED, source="A.14 → A.16 (L84, L92–94)",
       statement=r"From $\sum_i(1-p_i)=n(1-p)$ and A.13: $\lambda=n\gamma^2\big(\frac{\sum_i\sqrt{H_{ii}\delta_i^2}}{n(1-p)}\big)^2$",
       form="printed", method="sympy, n = 3: solve the corrected sparsity equation for lambda, compare with A.16",
       expected="holds")
def _a16(ctx):
    cs, g, L, pp, n = _three()
    roots = [sp.sqrt(n * ci * g ** 2 / L) for ci in cs]
    sol = sp.solve(sp.Eq(sum(roots), n * (1 - pp)), L)
    a16 = n * g ** 2 * (sum(sp.sqrt(ci) for ci in cs) / (n * (1 - pp))) ** 2
    if len(sol) != 1:
        return step_evidence(sp.Integer(1), details={"solutions": [str(s) for s in sol]})
    return step_evidence(sol[0] - a16)


@claim(id="proofs.adadare.a17", paper=SEED, source="A.16 → A.17 (L97–99)",
       statement=r"A.16 in A.13 gives $p_i=1-\frac{n(1-p)\sqrt{H_{ii}\delta_i^2}}{\sum_j\sqrt{H_{jj}\delta_j^2}}$",
       form="printed", method="sympy, n = 3: substitute A.16 into A.13 for each i", expected="holds")
def _a17(ctx):
    cs, g, L, _, n = _three()
    pp = 1 - sp.symbols("q", positive=True)             # p < 1
    S = sum(sp.sqrt(ci) for ci in cs)
    a16 = n * g ** 2 * (S / (n * (1 - pp))) ** 2
    res = [(1 - sp.sqrt(n * ci * g ** 2 / a16)) - (1 - n * (1 - pp) * sp.sqrt(ci) / S) for ci in cs]
    return step_evidence(res)


@claim(id="proofs.adadare.a18_kkt.printed", paper=SEED, source="A.18 (L102–105): 'enforcing non-negativity'",
       statement=r"Clipping A.17 at 0 with $\lambda$ from A.16 unchanged still satisfies the KKT conditions A.8–A.11",
       form="printed",
       method="exact rationals: s = (1, 1, 1, 9), p = 1/2, gamma = 1; stationarity on free entries, mu_i >= 0, and "
              "complementary slackness lambda (p - mean p_i) = 0",
       expected="fails")
def _a18(ctx):
    s = [sp.Integer(1), sp.Integer(1), sp.Integer(1), sp.Integer(9)]
    n = len(s)
    pp = sp.Rational(1, 2)
    S = sum(s)
    L = n * (S / (n * (1 - pp))) ** 2                            # A.16 with gamma = 1
    probs = [sp.Max(0, 1 - n * (1 - pp) * si / S) for si in s]  # A.18
    res = []
    mus = []
    for si, pi in zip(s, probs):
        mu = si ** 2 / (1 - pi) ** 2 - L / n                     # A.8 with A.9
        if pi > 0:
            res.append(mu)                                       # stationarity, mu_i = 0
        else:
            mus.append(mu)
    slack = L * (pp - sum(probs) / n)                            # A.10 for the sparsity constraint
    res.append(slack)
    neg_mu = [m for m in mus if m < 0]
    res.extend(neg_mu)
    return step_evidence(res, details={"lambda": str(L), "probs": [str(q) for q in probs],
                                           "mean_p": str(sum(probs) / n), "mu_clipped": [str(m) for m in mus]})


@claim(id="proofs.adadare.waterfill_kkt", paper=SEED, source="Theorem 1 (corrected): water-filling",
       statement=r"$1-p_i=\min(1,\kappa s_i)$ satisfies KKT with $\lambda=n\gamma^2/\kappa^2$: free entries have "
                 r"$\mu_i=0$; clipped entries ($\kappa s_i\ge1$, $p_i=0$) have $\mu_i=\gamma^2(s_i^2-1/\kappa^2)\ge0$; and "
                 r"without clipping $\kappa=n(1-p)/\sum_js_j$ makes $\lambda$ equal A.16",
       form="derived",
       method="sympy: stationarity residual on free entries, the sign of mu on clipped entries "
              "(t = kappa s - 1 >= 0), and lambda vs A.16",
       expected="holds")
def _wf(ctx):
    s, k, g, t = sp.symbols("s kappa gamma t", positive=True)
    n, S = sp.symbols("n S", positive=True)
    pp = sp.symbols("p", nonnegative=True)
    L = n * g ** 2 / k ** 2
    free = s ** 2 * g ** 2 / (k * s) ** 2 - L / n                # A.8 with mu = 0, 1 - p = kappa s
    s_clip = (1 + t) / k                                          # kappa s = 1 + t >= 1
    mu = sp.simplify(s_clip ** 2 * g ** 2 / 1 - L / n)           # p_i = 0
    res = [free, mu - g ** 2 * t * (t + 2) / k ** 2]
    sign = sp.simplify(g ** 2 * t * (t + 2) / k ** 2).is_nonnegative
    if sign is not True:
        res.append(sp.Integer(1))
    kap = n * (1 - pp) / S
    res.append(L.subs(k, kap) - n * g ** 2 * (S / (n * (1 - pp))) ** 2)
    # the wrong step: lambda kept at A.16's value while kappa moves (what A.18 does)
    wrong_free = s ** 2 * g ** 2 / (k * s) ** 2 - (n * g ** 2 * (S / (n * (1 - pp))) ** 2) / n
    return step_evidence(res, details={"mu_clipped": str(mu), "mu_nonnegative": str(sign)},
                         alternative=("lambda of A.16 kept after clipping", wrong_free))


def _sign_changing_gap():
    """E|X| - |EX| for a coordinate that can change sign: two merged deltas (1, -4/5), p = 1/2."""
    half = sp.Rational(1, 2)
    d1, d2 = sp.Integer(1), sp.Rational(-4, 5)
    vals = [m1 * d1 / half + m2 * d2 / half for m1 in (0, 1) for m2 in (0, 1)]
    return sum(abs(v) for v in vals) / 4 - abs(sum(vals) / 4)


@claim(id="proofs.adadare.thm2_abs_step.printed", paper=SEED, source="Theorem 2 proof, A.20 3rd -> 4th line (L117)",
       statement=r"$\mathbb E|\Theta_{fusion,i}-\Theta_{pre,i}|=|p_i\Theta_{pre,i}+(1-p_i)(\Theta_{pre,i}+"
                 r"\frac{\gamma}{1-p_i}\delta_i)-\Theta_{pre,i}|$ for the paper's coordinate "
                 r"$\Theta_{fusion,i}=\Theta_{pre,i}+m_i\gamma\delta_i/(1-p_i)$, $m_i\sim\mathrm{Bern}(1-p_i)$",
       form="printed",
       method="sympy with q = 1 - p > 0: E|X_i| over the two mask values minus the printed 4th line. The step writes "
              "|E X_i| for E|X_i|; it is valid because X_i takes the values 0 and gamma delta_i/(1-p_i) only (no sign "
              "change). An earlier version checked 'E|X| = |EX|' as a general rule with two merged deltas; the paper "
              "never uses such a coordinate, so that counterexample is the alternative here, not a refutation",
       expected="holds")
def _thm2_step(ctx):
    q = sp.symbols("q", positive=True)
    g, d, T = sp.symbols("gamma delta Theta", real=True)
    e_abs = q * sp.Abs(g * d / q)                               # m = 1 with probability q, 0 otherwise
    line4 = sp.Abs((1 - q) * T + q * (T + g / q * d) - T)
    return step_evidence(e_abs - line4, alternative=("E|X| = |EX| for a sign-changing coordinate",
                                                     _sign_changing_gap()))


@claim(id="proofs.adadare.thm2_abs_step.two_point", paper=SEED, source="Theorem 2 proof, A.20 (why the step holds)",
       statement=r"For $X_i\in\{0,\gamma\delta_i/(1-p_i)\}$ (one delta, no sign change) $\mathbb E|X_i|=|\mathbb EX_i|="
                 r"|\gamma\delta_i|$; the exchange of $|\cdot|$ and $\mathbb E$ is not a general rule (merged deltas "
                 r"(1, -4/5), p = 1/2: E|X| = 1, |EX| = 1/5)",
       form="derived", method="sympy with q = 1 - p > 0: E|X| - |EX| and |EX| - |gamma delta|; the sign-changing "
                              "coordinate as the alternative", expected="holds")
def _thm2_two(ctx):
    q = sp.symbols("q", positive=True)
    g, d = sp.symbols("gamma delta", real=True)
    x = g * d / q
    E_abs = q * sp.Abs(x)
    abs_E = sp.Abs(q * x)
    return step_evidence([E_abs - abs_E, abs_E - sp.Abs(g * d)],
                         alternative=("E|X| = |EX| for any coordinate", _sign_changing_gap()))


@claim(id="proofs.adadare.thm2_bound", paper=SEED, source="A.20 → A.21 (L119–121)",
       statement=r"$\sum_i|\gamma\delta_i|<\eta$ with $L=\sum_i|\delta_i|>0$ gives $|\gamma|<\eta/L$, hence A.21's "
                 r"$\gamma\le\eta/L$ (the printed '≤' is weaker; the sign of $\gamma$ needs $|\cdot|$)",
       form="derived",
       method="sympy: |gamma delta_i| - |gamma| |delta_i| for each i (n = 4), and the rearrangement eta/L - |gamma| "
              "= (eta - |gamma| L)/L",
       expected="holds")
def _thm2_bound(ctx):
    g = sp.symbols("gamma", real=True)
    ds = sp.symbols("d1:5", real=True)
    eta, L = sp.symbols("eta L", positive=True)
    # term by term (the sum of the residuals is the residual of the sums)
    res = [sp.Abs(g * d) - sp.Abs(g) * sp.Abs(d) for d in ds]
    res.append((eta / L - sp.Abs(g)) - (eta - sp.Abs(g) * L) / L)
    return step_evidence(res, alternative=("|gamma delta_i| = gamma |delta_i| (no |gamma|)",
                                           [sp.Abs(g * d) - g * sp.Abs(d) for d in ds]))


__all__ = ["Evidence"]
