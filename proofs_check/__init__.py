"""Step-by-step checks of the papers' derivations (sympy, plus small numeric probes).

Each module (one per paper: ``proofs_check/svm.py``, ``proofs_check/lora_margin.py``,
...) registers its steps as claims of paper ``proofs`` with ids
``proofs.<paper>.<step>``, so they appear in ``lintheory verify`` reports and run with
``lintheory proofs [--paper P]`` or ``python -m proofs_check [P]``.
"""

from __future__ import annotations

from lintheory.certify import exact
from lintheory.claims import Evidence


def symbolic_evidence(residual, *, details: dict | None = None) -> Evidence:
    """Evidence for a symbolic identity: it holds when ``residual`` simplifies to exactly 0.

    ``residual`` is a sympy expression (or a list of them); ``max_error`` is 0 when
    every residual simplifies to zero, else 1, with the unsimplified remainder in the
    details so a reader sees what is left.
    """
    import sympy as sp

    items = residual if isinstance(residual, (list, tuple)) else [residual]
    left = [sp.simplify(r) for r in items]
    nonzero = [str(r) for r in left if r != 0]
    det = dict(details or {})
    if nonzero:
        det["remainder"] = nonzero
    return Evidence(instances=len(items), max_error=float(bool(nonzero)), tolerance=0.0,
                    counterexample={"remainder": nonzero} if nonzero else None, details=det)


def witness_value(expr):
    """A nonzero exact value of a nonzero remainder: its free symbols set to small positive rationals."""
    import sympy as sp

    expr = sp.simplify(expr)
    syms = sorted(expr.free_symbols, key=lambda x: x.name)
    for shift in range(6):
        point = {x: sp.Rational(2 + k + shift, 7 + 2 * k) for k, x in enumerate(syms)}
        try:
            val = sp.nsimplify(sp.simplify(expr.subs(point)))
        except (ZeroDivisionError, ValueError):
            continue
        if val.is_finite and val != 0:
            return val, {str(k): str(v) for k, v in point.items()}
    raise ValueError(f"no rational witness found for the remainder {expr}")


def step_evidence(residual, *, alternative=None, details=None) -> Evidence:
    """:func:`symbolic_evidence` plus what the runner asks of a proof step.

    A failing step gets an ``exact`` certificate: the remainder evaluated at a rational point
    (nonzero, so the printed step is false there).  ``alternative=(name, residual_of_wrong_step)``
    records the discrimination: the nearest wrong step must leave a nonzero remainder.
    """
    import sympy as sp

    ev = symbolic_evidence(residual, details=details)
    if ev.counterexample is not None:
        items = residual if isinstance(residual, (list, tuple)) else [residual]
        first = next(r for r in (sp.simplify(x) for x in items) if r != 0)
        val, point = witness_value(first)
        ev.certificate = exact(sp.Abs(val), note=f"|remainder| at the rational point {point} is {val}",
                                           point=point)
    if alternative is not None:
        name, alt = alternative
        alt_items = alt if isinstance(alt, (list, tuple)) else [alt]
        nonzero = any(sp.simplify(x) != 0 for x in alt_items)
        ev.discrimination = {"alternative": name, "gap": 1.0 if nonzero else 0.0, "tolerance": 0.0,
                             "rejected": nonzero}
        if not nonzero and ev.counterexample is None:
            ev.inconclusive = f"the check cannot reject the alternative {name!r}"
    return ev
