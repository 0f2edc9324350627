"""Step-by-step checks of the papers' derivations (sympy, plus small numeric probes).

Each module (one per paper: ``proofs_check/svm.py``, ``proofs_check/lora_margin.py``,
...) registers its steps as claims of paper ``proofs`` with ids
``proofs.<paper>.<step>``, so they appear in ``lintheory verify`` reports and run with
``lintheory proofs [--paper P]`` or ``python -m proofs_check [P]``.
"""

from __future__ import annotations

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
