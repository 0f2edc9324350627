"""Derivation steps of Theorem D.1 (``002_caa97dd52c787aec.txt``, L954–998).

With the symmetric template :math:`V = aI - b\\mathbf 1\\mathbf 1^\\top` the normalised margin
of the K̄-class classifier on orthonormal data is

.. math::

    \\mathcal L(a, b) = \\frac{a}{\\sqrt{n\\bar K (a-b)^2 + n\\bar K(\\bar K-1) b^2}},

maximised over :math:`t = b/a` at :math:`t = 1/\\bar K` with value :math:`1/\\sqrt{n(\\bar K-1)}`.

Every step names the nearest plausible wrong version (an off-by-one in K̄, a dropped term)
and shows that its symbolic remainder is not zero, so the check can tell them apart; error
kinds and alternatives are in ``svm.toml`` beside this file.
"""

from __future__ import annotations

import sympy as sp

from lintheory.claims import claim

from . import symbolic_evidence

SEED_002 = "002_caa97dd52c787aec.txt"


def _discriminate(ev, name: str, alt_residual):
    """Attach the alternative's symbolic remainder (nonzero = rejected) to a step's evidence."""
    items = alt_residual if isinstance(alt_residual, (list, tuple)) else [alt_residual]
    left = [sp.simplify(r) for r in items]
    rejected = any(r != 0 for r in left)
    ev.discrimination = {"alternative": name, "gap": 1.0 if rejected else 0.0, "tolerance": 0.0,
                         "rejected": rejected,
                         "remainder": [str(r) for r in left if r != 0][:2]}
    if ev.verdict == "holds" and not rejected:
        ev.inconclusive = f"the step cannot reject the alternative {name!r}: its remainder is 0 too"
    return ev


def _margin_ratio():
    a, n, K = sp.symbols("a n Kbar", positive=True)
    t = sp.symbols("t", real=True)
    b = t * a
    L = a / sp.sqrt(n * K * (a - b) ** 2 + n * K * (K - 1) * b ** 2)
    return sp.simplify(L), t, n, K


@claim(id="proofs.svm.thmD1.margin_expression", paper=SEED_002, source="Theorem D.1 proof, L985 (first line)",
       statement=r"for $A = (aI - b\mathbf 1\mathbf 1^\top)\otimes\mathbf 1_n^\top$: margin $= a$ and "
                 r"$\|A\|_F^2 = n\bar K(a-b)^2 + n\bar K(\bar K-1)b^2$",
       form="derived", method="sympy on the explicit K̄ × K̄n logit matrix, K̄ = 2..5, n = 1..3, symbolic a, b",
       expected="holds")
def _margin_expression(ctx):
    a, b = sp.symbols("a b", positive=True)
    res, alt = [], []
    for K in range(2, 6):
        for n in range(1, 4):
            V = a * sp.eye(K) - b * sp.ones(K, K)
            A = sp.kronecker_product(V, sp.ones(1, n))
            col = [A[:, c * n] for c in range(K)]
            margins = [col[c][c] - col[c][k] for c in range(K) for k in range(K) if k != c]
            res += [sp.expand(m - a) for m in margins]
            norm2 = sum(x ** 2 for x in A)
            res.append(sp.expand(norm2 - (n * K * (a - b) ** 2 + n * K * (K - 1) * b ** 2)))
            alt.append(sp.expand(norm2 - (n * K * (a - b) ** 2 + n * K * K * b ** 2)))
    return _discriminate(symbolic_evidence(res), "‖A‖² with nK̄²b² (K̄ off-diagonal entries per column)", alt)


@claim(id="proofs.svm.thmD1.second_line", paper=SEED_002, source="Theorem D.1 proof, L986 (second line)",
       statement=r"$1/\mathcal L^2 = n\bar K + n\bar K^2 t^2 - 2n\bar K t$ with $t = b/a$",
       form="derived", method="sympy: expand 1/L^2 minus the printed second line", expected="holds")
def _second_line(ctx):
    L, t, n, K = _margin_ratio()
    ev = symbolic_evidence(sp.expand(1 / L ** 2 - (n * K + n * K ** 2 * t ** 2 - 2 * n * K * t)))
    return _discriminate(ev, "n K̄ + n K̄² t² - n K̄ t (the factor 2 of the cross term dropped)",
                         sp.expand(1 / L ** 2 - (n * K + n * K ** 2 * t ** 2 - n * K * t)))


@claim(id="proofs.svm.thmD1.stationary_ratio", paper=SEED_002, source="Theorem D.1 proof, L980–995",
       statement=r"$\partial_t \mathcal L(a, ta) = 0$ has the single solution $t = b/a = 1/\bar K$",
       form="derived", method="sympy: solve dL/dt = 0 symbolically", expected="holds")
def _stationary(ctx):
    L, t, n, K = _margin_ratio()
    sols = sp.solve(sp.Eq(sp.diff(L, t), 0), t)
    det = {"solutions": [str(s) for s in sols]}
    if len(sols) != 1:
        return symbolic_evidence(sp.Integer(1), details=det)
    ev = symbolic_evidence(sols[0] - 1 / K, details=det)
    return _discriminate(ev, "t = 1/(K̄-1)", sols[0] - 1 / (K - 1))


@claim(id="proofs.svm.thmD1.max_value", paper=SEED_002, source="Theorem D.1, eq. (18)",
       statement=r"$\mathcal L(a, a/\bar K) = 1/\sqrt{n(\bar K-1)}$",
       form="derived", method="sympy: substitute t = 1/Kbar and simplify the difference", expected="holds")
def _max_value(ctx):
    L, t, n, K = _margin_ratio()
    ev = symbolic_evidence(sp.simplify(L.subs(t, 1 / K) - 1 / sp.sqrt(n * (K - 1))))
    return _discriminate(ev, "1/sqrt(n K̄)", L.subs(t, 1 / K) - 1 / sp.sqrt(n * K))


@claim(id="proofs.svm.thmD1.is_maximum", paper=SEED_002, source="Theorem D.1 proof",
       statement=r"$1/\mathcal L^2 = n(\bar K - 1) + n(\bar K t - 1)^2$, so $t = 1/\bar K$ is the global maximum",
       form="derived", method="sympy: the identity for 1/L^2 (a perfect square plus a constant)",
       expected="holds")
def _is_max(ctx):
    L, t, n, K = _margin_ratio()
    ev = symbolic_evidence(sp.expand(1 / L ** 2 - (n * (K - 1) + n * (K * t - 1) ** 2)))
    return _discriminate(ev, "n K̄ + n (K̄ t - 1)² (constant off by n)",
                         sp.expand(1 / L ** 2 - (n * K + n * (K * t - 1) ** 2)))
