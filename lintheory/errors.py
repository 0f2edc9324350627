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


class AssumptionError(LintheoryError, ValueError):
    """The input violates an assumption of the theorem being applied.

    Parameters
    ----------
    assumption : str
        Which assumption, in words (e.g. ``"X rows are orthonormal (Assumption 2.3a)"``).
    violation : float, optional
        The measured size of the violation (e.g. ``max |X Xᵀ - I|``).
    tolerance : float, optional
        The tolerance the violation was compared with.
    hint : str, optional
        What to do instead (e.g. use the convex solver, which handles general data).
    """

    def __init__(self, assumption: str, violation: float | None = None,
                 tolerance: float | None = None, hint: str | None = None):
        self.assumption = assumption
        self.violation = violation
        self.tolerance = tolerance
        self.hint = hint
        msg = f"assumption violated: {assumption}"
        if violation is not None:
            msg += f": measured {violation:.3g}"
            if tolerance is not None:
                msg += f" > tolerance {tolerance:.3g}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


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
