r"""Derivation steps and counterexamples of the S²FT theory (``003_6b1767d2fe2301ea.txt``), exact in sympy.

* the key reduction of Lemma F.9's proof: :math:`\mathcal R_n(f_{\ell,\Delta}) = \|K\Delta\hat A - \hat C\hat A^\dagger\|^2 + \text{const}`;
* the S²FT OOD identity (sharp form of Theorem 4.2);
* the LoRA half of Theorem 4.2 fails (a symbolic family containing CE1 of the note);
* Lemma F.14's middle inequality / Theorem F.7's LoRA bias gap fail when s > r (a family containing CE2).

Samples are columns here, as in the paper (``X`` is ``p × n``).
"""

from __future__ import annotations

import sympy as sp

from lintheory.claims import Evidence, claim

from . import symbolic_evidence


def _with_alternative(ev, wrong, name):
    """Record the discrimination of a symbolic identity: ``wrong`` is the residual of the nearest wrong
    expression, which must not simplify to 0 (its gap is 1 when it does not, 0 when it does)."""
    gap = float(sp.expand(wrong) != 0)       # polynomials (or one rational function): expand decides
    ev.discrimination = {"alternative": name, "gap": gap, "tolerance": 0.0, "rejected": gap > 0}
    return ev

SEED_003 = "003_6b1767d2fe2301ea.txt"


def _mat(name, m, n, **kw):
    return sp.Matrix(m, n, lambda i, j: sp.Symbol(f"{name}{i}{j}", **kw))


def _fro2(M):
    return sum(x ** 2 for x in M)


@claim(id="proofs.s2ft.lemmaF9.key_reduction_expansion", paper=SEED_003, source="proof of Lemma F.9, eq. (9), L617–646",
       statement=r"$\mathcal R_n(\Delta) - \mathcal R_n(0) = \operatorname{tr}(K\Delta\hat\Sigma_z\Delta^\top K^\top) - "
                 r"2\operatorname{tr}(\hat C^\top K\Delta)$ with $\hat C = \frac1n(Y-W^{pre}X)Z^\top$, $Z = W_{low}X$, "
                 r"$\hat\Sigma_z = \frac1n ZZ^\top$ (L = 3, ell = 2, all widths 2, n = 2, every entry a symbol).",
       form="derived", method="sympy: expand the difference of both sides as a polynomial in all entries",
       expected="holds")
def _key_expansion(ctx):
    W1, W2, W3 = _mat("a", 2, 2), _mat("b", 2, 2), _mat("c", 2, 2)
    D = _mat("d", 2, 2)
    X, Y = _mat("x", 2, 2), _mat("y", 2, 2)
    n = 2
    K, Wlow = W3, W1
    Wpre = K * W2 * Wlow
    Rn = lambda Delta: _fro2(Y - K * (W2 + Delta) * Wlow * X) / n  # noqa: E731
    Z = Wlow * X
    C = (Y - Wpre * X) * Z.T / n
    Sz = Z * Z.T / n
    rhs = (K * D * Sz * D.T * K.T).trace() - 2 * (C.T * K * D).trace()
    diff = Rn(D) - Rn(sp.zeros(2, 2))
    return _with_alternative(symbolic_evidence(sp.expand(diff - rhs)),
                             diff - rhs - 4 * (C.T * K * D).trace(), "+2 tr(C^T K Delta) (sign flipped)")


@claim(id="proofs.s2ft.lemmaF9.key_reduction_square", paper=SEED_003, source="proof of Lemma F.9, eq. (9)",
       statement=r"For invertible symmetric $\hat A$ with $\hat A^2 = \hat\Sigma_z$: "
                 r"$\|K\Delta\hat A - \hat C\hat A^{-1}\|_F^2 = \operatorname{tr}(K\Delta\hat\Sigma_z\Delta^\top K^\top) - "
                 r"2\operatorname{tr}(\hat C^\top K\Delta) + \operatorname{tr}(\hat C\hat\Sigma_z^{-1}\hat C^\top)$, "
                 r"so the ERM is a least-squares problem in $K\Delta\hat A$.",
       form="derived", method="sympy: symbolic 2×2 K, Δ, Ĉ and symmetric Â; simplify the difference", expected="holds")
def _key_square(ctx):
    K, D, C = _mat("k", 2, 2), _mat("d", 2, 2), _mat("c", 2, 2)
    a, b, e = sp.symbols("a b e")
    A = sp.Matrix([[a, b], [b, e]])
    Ai = A.inv()
    lhs = _fro2(K * D * A - C * Ai)
    rhs = (K * D * A * A * D.T * K.T).trace() - 2 * (C.T * K * D).trace() + (C * Ai * Ai * C.T).trace()
    return _with_alternative(symbolic_evidence(sp.simplify(sp.together(sp.expand(lhs - rhs)))),
                             sp.together(sp.expand(lhs - rhs + (C * Ai * Ai * C.T).trace())),
                             "the square without the constant tr(C Sigma_z^{-1} C^T)")


@claim(id="proofs.s2ft.thm4_2.s2ft_ood_identity", paper=SEED_003, source="Theorem 4.2 / F.8; note §2.7",
       statement=r"For orthogonal projectors $P''$, $P$: $\|X_o - P''YP\|^2 = \|X_o\|^2 - \|P''X_oP\|^2 + \|P''(X_o-Y)P\|^2$ "
                 r"(hence $\mathcal E^{(o)}(\text{S²FT}_\infty) \le \mathcal E^{(o)}(f^{pre}) + \|P''_S(B^{(o)}-B^{(i)})\Sigma^{1/2}P\|^2$).",
       form="derived", method="sympy: by orthogonal invariance take P'' = diag(1,1,0), P = diag(1,1,0,0); symbolic "
       "3×4 X_o and Y; expand the difference", expected="holds")
def _ood_identity(ctx):
    Xo, Y = _mat("x", 3, 4), _mat("y", 3, 4)
    P2 = sp.diag(1, 1, 0)
    P = sp.diag(1, 1, 0, 0)
    lhs = _fro2(Xo - P2 * Y * P)
    rhs = _fro2(Xo) - _fro2(P2 * Xo * P) + _fro2(P2 * (Xo - Y) * P)
    return _with_alternative(symbolic_evidence(sp.expand(lhs - rhs)), lhs - rhs + _fro2(P2 * (Xo - Y) * P),
                             "the identity without the +||P''(X_o - Y)P||^2 term")


def _lora_family():
    """L = 1, W = I_2, Σ = I: D = diag(a, b) with a > b > 0, B_out - W = O (symbolic)."""
    a, b = sp.symbols("a b", positive=True)
    o = _mat("o", 2, 2, real=True)
    D = sp.diag(a + b, b)             # a + b > b: the top direction is e1 (strict eigengap a > 0)
    Delta_lora = sp.diag(a + b, 0)    # SVD_1(D) for the diagonal D with a strict gap
    E_out = _fro2(o - Delta_lora)
    shift = _fro2(o - D)
    return a, b, o, D, E_out, shift


@claim(id="proofs.s2ft.thm4_2.lora_half_family", paper=SEED_003, source="Theorem 4.2 / F.8 (LoRA half)",
       statement=r"With $L=1$, $W^{pre}=I_2$, $\Sigma_x=I$, $B^{(i)} = I + \mathrm{diag}(a+b, b)$ ($a, b > 0$, rank Σ_f = 2), "
                 r"$B^{(o)} = I + O$ and $r = 1$: $\|B^{(o)}-B^{(i)}\|^2 - \mathcal E^{(o)}(\text{LoRA}_\infty) = b(b - 2o_{11})$, "
                 r"which is positive whenever $o_{11} < b/2$.",
       form="derived", method="sympy: singular values of D from the eigenvalues of DᵀD (strict gap a > 0, so "
       "SVD_1(D) = diag(a+b, 0)), then the difference expanded", expected="holds")
def _lora_family_claim(ctx):
    a, b, o, D, E_out, shift = _lora_family()
    sv = sorted([sp.sqrt(sp.factor(ev)) for ev in (D.T * D).eigenvals()], key=lambda s: -s.subs({a: 1, b: 1}))
    trunc_check = [sv[0] - (a + b), sv[1] - b]
    return _with_alternative(symbolic_evidence(trunc_check + [sp.expand(shift - E_out - b * (b - 2 * o[1, 1]))]),
                             shift - E_out - b ** 2, "shift - E_out = b^2 (the cross term -2 b o_11 dropped)")


@claim(id="proofs.s2ft.thm4_2.lora_half.printed_on_ce1", paper=SEED_003, source="Theorem 4.2 / F.8 (LoRA half)",
       statement=r"CE1: $B^{(i)} = I + \mathrm{diag}(2,1)$, $B^{(o)} = I + \begin{pmatrix}0&1\\0&0\end{pmatrix}$, $r=1$, $s=2$ "
                 r"(all printed hypotheses hold, $\varepsilon^2 = 6$) satisfies $\mathcal E^{(o)}(\text{LoRA}_\infty) \ge "
                 r"\|(B^{(o)}-B^{(i)})\Sigma^{1/2}\|^2$ — as printed.",
       form="printed", method="exact rational evaluation of the family at a = b = 1, O = [[0,1],[0,0]]: 5 vs 6",
       expected="fails")
def _ce1(ctx):
    a, b, o, D, E_out, shift = _lora_family()
    vals = {a: 1, b: 1, o[0, 0]: 0, o[0, 1]: 1, o[1, 0]: 0, o[1, 1]: 0}
    e, s = sp.nsimplify(E_out.subs(vals)), sp.nsimplify(shift.subs(vals))
    det = {"E_out_lora": str(e), "label_shift": str(s)}
    if e < s:
        from fractions import Fraction

        from lintheory.certify import exact
        v = Fraction(int(sp.Rational(s - e).p), int(sp.Rational(s - e).q))
        return Evidence(instances=1, max_error=float(s - e), tolerance=0.0,
                        certificate=exact(v, note="sympy rationals: label shift 6, E_out(LoRA_inf) 5 on CE1"),
                        counterexample={"B_in": [[3, 0], [0, 2]], "B_out": [[1, 1], [0, 1]], "W": [[1, 0], [0, 1]],
                                        "sigma_x": [[1, 0], [0, 1]], "r": 1, "E_out_lora": str(e), "shift": str(s)},
                        details=det)
    return Evidence(instances=1, max_error=0.0, tolerance=0.0, details=det)


@claim(id="proofs.s2ft.lemmaF14.middle_family", paper=SEED_003, source="Lemma F.14; Theorem F.7",
       statement=r"$L=1$, $W^{pre}=0$, $\Sigma=I_4$, $B^{(i)} = \mathrm{diag}(a+b, b, 0, 0)$, $r=1$, $S=\{0,1\}$ ($\delta = 0$): "
                 r"$\mathcal E(\text{full}) = \mathcal E(\text{S²FT}) = 0$ but $\mathcal E(\text{LoRA}) = b^2 > 0$ "
                 r"(CE2: a = 0.1, b = 0.9 gives 0.81), so $T^2_{LoRA} \le T^2_{S^2FT}$ and $T^2_{LoRA} - \mathcal E(f^{full}) "
                 r"\lesssim \delta^2\mathcal E(f^{pre})$ both fail.",
       form="derived", method="sympy: exact projectors P''_S = diag(1,1,0,0), P' = I and the rank-1 truncation",
       expected="holds")
def _ce2(ctx):
    a, b = sp.symbols("a b", positive=True)
    D = sp.diag(a + b, b, 0, 0)
    P2 = sp.diag(1, 1, 0, 0)
    e_s2ft = _fro2(D - P2 * D)
    e_full = _fro2(D - D)
    e_lora = _fro2(D - sp.diag(a + b, 0, 0, 0))
    return _with_alternative(
        symbolic_evidence([e_s2ft, e_full, sp.expand(e_lora - b ** 2),
                           sp.nsimplify(e_lora.subs({a: sp.Rational(1, 10), b: sp.Rational(9, 10)})) - sp.Rational(81, 100)]),
        e_lora, "E(LoRA) = 0 on the family (the rank-1 truncation dropping nothing)")
