"""Derivation steps of Theorem D.1 (``002_caa97dd52c787aec.txt``, L954–998).

With the symmetric template :math:`V = aI - b\\mathbf 1\\mathbf 1^\\top` the normalised margin
of the K̄-class classifier on orthonormal data is

.. math::

    \\mathcal L(a, b) = \\frac{a}{\\sqrt{n\\bar K (a-b)^2 + n\\bar K(\\bar K-1) b^2}},

maximised over :math:`t = b/a` at :math:`t = 1/\\bar K` with value :math:`1/\\sqrt{n(\\bar K-1)}`.
"""

from __future__ import annotations

import sympy as sp

from lintheory.claims import claim

from . import symbolic_evidence

SEED_002 = "002_caa97dd52c787aec.txt"


def _margin_ratio():
    a, n, K = sp.symbols("a n Kbar", positive=True)
    t = sp.symbols("t", real=True)
    b = t * a
    L = a / sp.sqrt(n * K * (a - b) ** 2 + n * K * (K - 1) * b ** 2)
    return sp.simplify(L), t, n, K


@claim(id="proofs.svm.thmD1.stationary_ratio", paper=SEED_002, source="Theorem D.1 proof, L980–995",
       statement=r"$\partial_t \mathcal L(a, ta) = 0$ has the single solution $t = b/a = 1/\bar K$",
       form="derived", method="sympy: solve dL/dt = 0 symbolically", expected="holds")
def _stationary(ctx):
    L, t, n, K = _margin_ratio()
    sols = sp.solve(sp.Eq(sp.diff(L, t), 0), t)
    det = {"solutions": [str(s) for s in sols]}
    if len(sols) != 1:
        return symbolic_evidence(sp.Integer(1), details=det)
    return symbolic_evidence(sols[0] - 1 / K, details=det)


@claim(id="proofs.svm.thmD1.max_value", paper=SEED_002, source="Theorem D.1, eq. (18)",
       statement=r"$\mathcal L(a, a/\bar K) = 1/\sqrt{n(\bar K-1)}$",
       form="derived", method="sympy: substitute t = 1/Kbar and simplify the difference", expected="holds")
def _max_value(ctx):
    L, t, n, K = _margin_ratio()
    return symbolic_evidence(sp.simplify(L.subs(t, 1 / K) - 1 / sp.sqrt(n * (K - 1))))


@claim(id="proofs.svm.thmD1.is_maximum", paper=SEED_002, source="Theorem D.1 proof",
       statement=r"$1/\mathcal L^2 = n(\bar K - 1) + n(\bar K t - 1)^2$, so $t = 1/\bar K$ is the global maximum",
       form="derived", method="sympy: the identity for 1/L^2 (a perfect square plus a constant)",
       expected="holds")
def _is_max(ctx):
    L, t, n, K = _margin_ratio()
    return symbolic_evidence(sp.expand(1 / L ** 2 - (n * (K - 1) + n * (K * t - 1) ** 2)))
