"""Derivation steps of P&M (``001_9d292d09fb11dca7.txt``): Appendix A.1 (Eq. 18–24), A.2 (Eq. 25–31), the
finite-difference Taylor expansion behind Eq. 13 and the perturbation expectation of Eq. 14–16, checked with sympy.

Symbolic vectors are 2-dimensional and tasks t = 2 (the identities are polynomial, so a generic small instance with
independent symbols checks the algebra of each step); the Cauchy–Schwarz step is checked through Lagrange's identity.
"""

from __future__ import annotations

import sympy as sp

from lintheory.claims import Evidence, claim

from . import step_evidence, symbolic_evidence  # noqa: F401

SEED_001 = "001_9d292d09fb11dca7.txt"


def _setup():
    """Symbols: θ̂_{t-1} (p), optima θ_1, θ_2, task vector v, symmetric H_1, H_2, and α."""
    al = sp.Symbol("alpha", real=True)
    p = sp.Matrix(sp.symbols("p1 p2", real=True))
    v = sp.Matrix(sp.symbols("v1 v2", real=True))
    th = [sp.Matrix(sp.symbols(f"th{i}_1 th{i}_2", real=True)) for i in (1, 2)]
    Hs = []
    for i in (1, 2):
        a, b, c = sp.symbols(f"h{i}a h{i}b h{i}c", real=True)
        Hs.append(sp.Matrix([[a, b], [b, c]]))
    A = sum(((p - t).T * H * (p - t))[0] for t, H in zip(th, Hs))
    C = sum(((p - t).T * H * v)[0] for t, H in zip(th, Hs))
    B = sum((v.T * H * v)[0] for H in Hs)
    J = sum((sp.Rational(1, 2) * ((p + al * v - t).T * H * (p + al * v - t)))[0] for t, H in zip(th, Hs))
    return al, p, v, th, Hs, A, B, C, J


@claim(id="proofs.perturb_merge.eq21_expansion", paper=SEED_001, source="Appendix A.1, Eq. 19–21",
       statement=r"$J(\alpha)=\tfrac12\sum_i(\hat\theta_{t-1}+\alpha v-\theta_i^*)^\top H_i(\cdot)"
                 r"=\tfrac12A+\alpha C+\tfrac12\alpha^2B$ for symmetric $H_i$",
       form="printed", method="sympy: expand both sides (d = 2, t = 2, symbolic symmetric H_i)", expected="holds")
def _expansion(ctx):
    al, p, v, th, Hs, A, B, C, J = _setup()
    return step_evidence(sp.expand(J - (A / 2 + al * C + al ** 2 * B / 2)))


@claim(id="proofs.perturb_merge.eq24_stationary_point", paper=SEED_001, source="Appendix A.1, Eq. 22–24 = Eq. 8",
       statement=r"$J'(\alpha)=0\iff\alpha=-C/B$ (Eq. 8), and $J''=B$, so it is the minimiser iff $B>0$",
       form="printed", method="sympy: solve dJ/dα = 0; second derivative", expected="holds")
def _stationary(ctx):
    al, p, v, th, Hs, A, B, C, J = _setup()
    dJ = sp.expand(sp.diff(J, al))
    # dJ is linear in α: its root is -(constant term)/(α coefficient)
    if sp.degree(dJ, al) != 1:
        return step_evidence(sp.Integer(1), details={"derivative": str(dJ)})
    slope, const = dJ.coeff(al, 1), dJ.coeff(al, 0)
    return step_evidence([sp.expand(const - C), sp.expand(slope - B), sp.expand(sp.diff(J, al, 2) - B)])


@claim(id="proofs.perturb_merge.eq18_as_printed", paper=SEED_001, source="Appendix A.1, Eq. 18 (L322)",
       statement=r"Eq. 18 as printed, $\sum_i\tfrac12(\hat\theta_{t-1}-\theta_i^*)^\top H_i(\hat\theta_{t-1}-\theta_i^*)$, "
                 r"is the objective whose stationary point gives Eq. 8 (it must read $\hat\theta_t$)",
       form="printed", method="sympy: dJ_printed/dα − dJ/dα must vanish; the printed objective has no α",
       expected="fails")
def _eq18(ctx):
    al, p, v, th, Hs, A, B, C, J = _setup()
    printed = A / 2
    return step_evidence(sp.expand(sp.diff(printed, al) - sp.diff(J, al)))


@claim(id="proofs.perturb_merge.eq11_value", paper=SEED_001, source="Eq. 11 / Appendix A.2, Eq. 25–27",
       statement=r"$J(-C/B)=\tfrac12A-C^2/(2B)$", form="printed",
       method="sympy: substitute α = −C/B into the parabola of Eq. 21 (scalars A, B > 0, C)", expected="holds")
def _eq11(ctx):
    # Eq. 21 (checked above) reduces J to the parabola A/2 + αC + α²B/2 in the three scalars A, B, C
    A, C = sp.symbols("A C", real=True)
    B = sp.Symbol("B", positive=True)
    al = sp.Symbol("alpha", real=True)
    J = A / 2 + al * C + al ** 2 * B / 2
    return step_evidence(sp.simplify(J.subs(al, -C / B) - (A / 2 - C ** 2 / (2 * B))))


@claim(id="proofs.perturb_merge.eq30_cauchy_schwarz", paper=SEED_001, source="Appendix A.2, Eq. 28–31",
       statement=r"with $H_i=L_iL_i^\top$: $\sum_ia_i^\top H_iv=\langle u,w\rangle$ for the stacked $u_i=L_i^\top a_i$, "
                 r"$w_i=L_i^\top v$, and $AB-C^2=\sum_{k<l}(u_kw_l-u_lw_k)^2\ge0$ (Lagrange's identity)",
       form="printed", method="sympy: factorised inner product (2×2 L_i, t = 2) and Lagrange's identity in R^4",
       expected="holds")
def _cs(ctx):
    a = [sp.Matrix(sp.symbols(f"a{i}_1 a{i}_2", real=True)) for i in (1, 2)]
    v = sp.Matrix(sp.symbols("v1 v2", real=True))
    Ls = [sp.Matrix(2, 2, sp.symbols(f"l{i}_1:5", real=True)) for i in (1, 2)]
    C = sum((ai.T * L * L.T * v)[0] for ai, L in zip(a, Ls))
    A = sum((ai.T * L * L.T * ai)[0] for ai, L in zip(a, Ls))
    B = sum((v.T * L * L.T * v)[0] for L in Ls)
    u = sp.Matrix.vstack(*[L.T * ai for ai, L in zip(a, Ls)])
    w = sp.Matrix.vstack(*[L.T * v for L in Ls])
    lag = sum((u[k] * w[m] - u[m] * w[k]) ** 2 for k in range(4) for m in range(k + 1, 4))
    return step_evidence([sp.expand(C - (u.T * w)[0]), sp.expand(A * B - C ** 2 - lag)])


@claim(id="proofs.perturb_merge.alpha2_unit_interval", paper=SEED_001, source="Eq. 8 at t = 2 (not in the paper)",
       statement=r"with $\hat\theta_1=\theta_1^*$: $\alpha_2^*=a_2/(a_2+c_1)$, $a_2=v^\top H_2v$, $c_1=v^\top H_1v$, "
                 r"so $\alpha_2^*\in[0,1]$ for PSD curvatures",
       form="derived", method="sympy: Eq. 8 with θ̂₁ = θ₁*, θ₂* = θ̂₁ + v", expected="holds")
def _alpha2(ctx):
    al, p, v, th, Hs, A, B, C, J = _setup()
    sub = {th[0][k]: p[k] for k in range(2)}
    sub.update({th[1][k]: p[k] + v[k] for k in range(2)})
    alpha = (-C / B).subs(sub)
    a2 = (v.T * Hs[1] * v)[0]
    c1 = (v.T * Hs[0] * v)[0]
    return step_evidence(sp.simplify(alpha - a2 / (a2 + c1)),
                         alternative=("alpha_2 = c1/(a2 + c1) (the tasks swapped)", sp.simplify(alpha - c1 / (a2 + c1))))


@claim(id="proofs.perturb_merge.common_hessian_one_over_t", paper=SEED_001, source="Eq. 8 (not in the paper)",
       statement=r"if all $H_i=H$ and $\hat\theta_{t-1}=\frac1{t-1}\sum_{i<t}\theta_i^*$, then $\alpha_t^*=1/t$ "
                 r"and $\hat\theta_t=\frac1t\sum_{i\le t}\theta_i^*$ (t = 4, d = 2, symbolic H)",
       form="derived", method="sympy: Eq. 8 with a shared symmetric H", expected="holds")
def _common(ctx):
    th = [sp.Matrix(sp.symbols(f"c{i}_1 c{i}_2", real=True)) for i in range(4)]
    a, b, c = sp.symbols("ha hb hc", real=True)
    H = sp.Matrix([[a, b], [b, c]])
    prev = (th[0] + th[1] + th[2]) / 3
    v = th[3] - prev
    num = -sum(((prev - t).T * H * v)[0] for t in th)
    den = 4 * (v.T * H * v)[0]
    alpha = sp.simplify(num / den)
    merged = prev + alpha * v
    return step_evidence([alpha - sp.Rational(1, 4)] + list(sp.simplify(merged - (th[0] + th[1] + th[2] + th[3]) / 4)),
                         alternative=("alpha_t = 1/(t-1) (off by one)", alpha - sp.Rational(1, 3)))


@claim(id="proofs.perturb_merge.eq13_fd_taylor", paper=SEED_001, source="Eq. 13 (L119–121)",
       statement=r"$\frac{g(\epsilon)+g(-\epsilon)-2g(0)}{\epsilon^2}=g''(0)+\frac{\epsilon^2}{12}g^{(4)}(0)"
                 r"+\frac{\epsilon^4}{360}g^{(6)}(0)+O(\epsilon^6)$, $g(s)=\mathcal L(\theta+sv)$: "
                 r"exact for quadratics, error $O(\epsilon^2)$ otherwise",
       form="derived", method="sympy: Taylor polynomial of degree 7 with symbolic coefficients", expected="holds")
def _fd(ctx):
    e = sp.Symbol("epsilon", positive=True)
    c = sp.symbols("c0:8", real=True)
    g = lambda s: sum(c[k] * s ** k / sp.factorial(k) for k in range(8))  # noqa: E731
    fd = (g(e) + g(-e) - 2 * g(0)) / e ** 2
    return step_evidence(sp.expand(fd - (c[2] + e ** 2 * c[4] / 12 + e ** 4 * c[6] / 360)),
                         alternative=("leading error eps^2/24 times the 4th derivative", sp.expand(fd - (c[2] + e ** 2 * c[4] / 24
                                                                                      + e ** 4 * c[6] / 360))))


@claim(id="proofs.perturb_merge.eq16_expectation", paper=SEED_001, source="Eq. 14–16 (L124–134)",
       statement=r"$p_0\mathcal L_0+p_+\mathcal L_++p_-\mathcal L_-=\mathcal L_0+\lambda(\mathcal L_++\mathcal L_-"
                 r"-2\mathcal L_0)/\epsilon^2$ with $p_\pm=\lambda/\epsilon^2$, $p_0=1-2\lambda/\epsilon^2$; with "
                 r"$p_+\ne p_-$ a first-order term $(p_+-p_-)\epsilon\,g'(1)$ appears",
       form="printed", method="sympy: identity in the three loss values; a quadratic g for the asymmetric case",
       expected="holds")
def _expect(ctx):
    L0, Lp, Lm, lam, e = sp.symbols("L0 Lp Lm lambda epsilon", positive=True)
    p = lam / e ** 2
    r1 = (1 - 2 * p) * L0 + p * (Lp + Lm) - (L0 + lam * (Lp + Lm - 2 * L0) / e ** 2)
    # asymmetric probabilities on a quadratic g(s) = g0 + g1 (s-1) + g2 (s-1)^2 / 2 along the task vector
    g0, g1, g2, pp, pm = sp.symbols("g0 g1 g2 pp pm", real=True)
    g = lambda s: g0 + g1 * (s - 1) + g2 * (s - 1) ** 2 / 2  # noqa: E731
    ex = (1 - pp - pm) * g(1) + pp * g(1 + e) + pm * g(1 - e)
    r2 = sp.expand(ex - (g0 + (pp - pm) * e * g1 + (pp + pm) * e ** 2 * g2 / 2))
    return step_evidence([sp.simplify(r1), r2])


@claim(id="proofs.perturb_merge.perturb_quadratic_fixed_point", paper=SEED_001, source="Alg. 1 lines 6–9 (our derivation)",
       statement=r"for $\mathcal L=\tfrac12h(\theta-\theta^*)^2$ along the task vector: the expected through-gradient "
                 r"$\mathbb E[(1+\tilde\epsilon)h((1+\tilde\epsilon)\Delta-D)]=h((1+2\lambda)\Delta-D)$ (fixed point "
                 r"$D/(1+2\lambda)$), the stop-gradient one $h(\Delta-D)$ (fixed point $D$)",
       form="derived", method="sympy: expectation over ε̃ ∈ {0, ±ε} with p± = λ/ε²", expected="holds")
def _fixed(ctx):
    h, D, De, lam, e = sp.symbols("h D Delta lambda epsilon", positive=True)
    p = lam / e ** 2
    outcomes = [(0, 1 - 2 * p), (e, p), (-e, p)]
    through = sum(q * (1 + s) * h * ((1 + s) * De - D) for s, q in outcomes)
    stop = sum(q * h * ((1 + s) * De - D) for s, q in outcomes)
    fp = sp.solve(sp.Eq(through, 0), De)
    return step_evidence([sp.expand(through - h * ((1 + 2 * lam) * De - D)), sp.expand(stop - h * (De - D)),
                              sp.simplify(fp[0] - D / (1 + 2 * lam))],
                         alternative=("fixed point D/(1+lambda)", sp.simplify(fp[0] - D / (1 + lam))))
