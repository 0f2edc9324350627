"""The exceptions lintheory raises.

One small hierarchy so that callers can catch everything from the toolkit with
:class:`LintheoryError`, or one kind of failure precisely:

* :class:`AssumptionError` -- the input violates an assumption of a theorem (the
  message names the assumption and the size of the violation);
* :class:`InputError` -- the input is malformed (NaN, wrong shape, bad labels);
* :class:`SolverError` -- an independent solver did not return an OPTIMAL status;
  :class:`InfeasibleError` is the special case of a provably infeasible problem;
* :class:`NotConvergedError` -- a trainer stopped before its tolerance was met.

``AssumptionError`` and ``InputError`` are also ``ValueError`` so that generic
callers that catch ``ValueError`` keep working.
"""

from __future__ import annotations

import math

__all__ = [
    "LintheoryError",
    "InputError",
    "ExecutorError",
    "AssumptionError",
    "SolverError",
    "InfeasibleError",
    "NotConvergedError",
]


class LintheoryError(Exception):
    """Base class of every exception raised by lintheory."""


class InputError(LintheoryError, ValueError):
    """Malformed input: non-finite entries, wrong shapes, labels out of range."""


#: the relations a measured value may be required to satisfy against its bound, and the phrase that
#: states the violated relation ("measured 0 <= bound 0" for a required ``> 0``)
_VIOLATED = {
    "<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "==",
}
_HOLDS = {
    "<=": lambda v, t: v <= t, "<": lambda v, t: v < t, ">=": lambda v, t: v >= t,
    ">": lambda v, t: v > t, "==": lambda v, t: v == t, "!=": lambda v, t: v != t,
}


def _fmt_pair(v: float, t: float) -> tuple[str, str]:
    """Format ``v`` and ``t`` with 3 significant digits, more when they would print alike but differ."""
    for digits in (3, 6, 10, 17):
        a, b = f"{v:.{digits}g}", f"{t:.{digits}g}"
        if a != b or v == t:
            return a, b
    return a, b


def describe_violation(violation: float, tolerance: float | None, relation: str | None) -> str:
    """The ``measured ...`` clause of an :class:`AssumptionError` (see there)."""
    v = float(violation)
    if not math.isfinite(v):
        clause = f"measured {v:g}, which is not finite"
        return clause if tolerance is None else f"{clause} (required {relation or '<='} {float(tolerance):.3g})"
    if tolerance is None:
        return f"measured {v:.3g}"
    t = float(tolerance)
    a, b = _fmt_pair(v, t)
    rel = relation or "<="
    if rel not in _VIOLATED:
        raise ValueError(f"unknown relation {relation!r}; use one of {sorted(_VIOLATED)}")
    if _HOLDS[rel](v, t):
        # the caller reports a value that satisfies the stated relation: state both, claim nothing false
        return f"measured {a} (required {rel} {b})"
    word = "tolerance" if rel in ("<=", "<") else "bound" if rel in (">=", ">") else "required"
    if rel == "!=":
        word = "excluded value"
    return f"measured {a} {_VIOLATED[rel]} {word} {b}"


class AssumptionError(LintheoryError, ValueError):
    """The input violates an assumption of the theorem being applied.

    The message reads ``assumption violated: <assumption>: measured <v> <violated relation> <bound>``,
    e.g. ``measured 0.01 > tolerance 1e-08`` (required ``<=``) or ``measured 0 <= bound 0`` (required
    ``> 0``); a non-finite measurement reads ``measured nan, which is not finite``.  The numbers get
    more digits when 3 would print two different values alike, and a measurement that satisfies the
    stated relation is printed as ``measured v (required rel t)`` instead of a false comparison.

    Parameters
    ----------
    assumption : str
        Which assumption, in words (e.g. ``"X rows are orthonormal (Assumption 2.3a)"``).
    violation : float, optional
        The measured quantity (e.g. ``max |X Xᵀ - I|``, or ``C_pre`` for ``C_pre > 0``).
    tolerance : float, optional
        The bound it was compared with.
    hint : str, optional
        What to do instead (e.g. use the convex solver, which handles general data).
    relation : {"<=", "<", ">=", ">", "==", "!="}, optional
        The relation the assumption *requires* between ``violation`` and ``tolerance``; default ``"<="``
        (a deviation that must stay within a tolerance).
    """

    def __init__(self, assumption: str, violation: float | None = None,
                 tolerance: float | None = None, hint: str | None = None, *, relation: str | None = None):
        self.assumption = assumption
        self.violation = violation
        self.tolerance = tolerance
        self.hint = hint
        self.relation = relation or "<="
        msg = f"assumption violated: {assumption}"
        if violation is not None:
            msg += ": " + describe_violation(violation, tolerance, relation)
        if hint:
            msg += f". {hint}"
        super().__init__(msg)

    def __reduce__(self):
        return (_rebuild_assumption_error, (self.assumption, self.violation, self.tolerance, self.hint,
                                            self.relation))


def _rebuild_assumption_error(assumption, violation, tolerance, hint, relation):
    return AssumptionError(assumption, violation, tolerance, hint, relation=relation)


class SolverError(LintheoryError, RuntimeError):
    """An independent numerical route failed; ``status`` is the solver's own status."""

    def __init__(self, message: str, status: str | None = None):
        self.status = status
        super().__init__(message if status is None else f"{message} (solver status: {status})")


class InfeasibleError(SolverError):
    """The problem is provably infeasible (e.g. non-separable data for a hard-margin SVM)."""


class NotConvergedError(LintheoryError, RuntimeError):
    """A trainer or iterative method did not reach its tolerance."""


class ExecutorError(LintheoryError, RuntimeError):
    """The machinery that runs the work failed (a worker process died, a Dask worker was
    lost), not the check: the run stops instead of recording a verdict."""
