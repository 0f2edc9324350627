"""Ctrl-C that a solver takes for itself, given back to Python.

SCS installs its own SIGINT handler for the length of each solve (its ``ctrlc.c``): a
Ctrl-C that lands during a solve stops SCS with status ``SCS_SIGINT`` ("interrupted"),
which cvxpy reports as a solver failure, and Python never sees the signal.  Measured on
``lintheory verify --paper lora_margin --profile full --jobs 2``: the run went on to the
end after Ctrl-C, and the claims being solved at that moment were recorded as
*inconclusive* -- verdicts made by the keyboard, saved to disk for ``--resume``.
:func:`solver_interrupts_raise` turns that status into the KeyboardInterrupt it stands
for.  (Clarabel does not take SIGINT; its long solves are what the watchdog of
``lintheory verify`` is for, see ``lintheory.cli._InterruptFlag``.)
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["solver_interrupts_raise"]


@contextlib.contextmanager
def solver_interrupts_raise():
    """Inside the block, an SCS solve stopped by SIGINT raises :class:`KeyboardInterrupt`.

    cvxpy looks ``scs.solve`` up at each call, so the block wraps that one function and
    restores it on the way out.  Nothing is imported here (``import scs`` costs 0.2 s):
    SCS is wrapped when it is loaded already, which it is wherever a cvxpy problem is
    solved (``import cvxpy`` loads it).  lintheory's own cvxpy solves use this block
    directly.  The runner also wraps every claim check and every batch of sweep
    instances, for users' suites that solve with SCS themselves: there it takes effect
    from the first claim that starts with cvxpy already loaded.

    Examples
    --------
    >>> import cvxpy as cp
    >>> x = cp.Variable()
    >>> with solver_interrupts_raise():
    ...     _ = cp.Problem(cp.Minimize(cp.square(x - 1))).solve(solver=cp.SCS)
    >>> round(float(x.value), 3)
    1.0
    """
    scs = sys.modules.get("scs")
    if scs is None:
        yield
        return
    solve = scs.solve
    if getattr(solve, "_lintheory_sigint", False):  # nested blocks: wrapped once
        yield
        return
    interrupted = getattr(scs, "SIGINT", -5)  # status_val of a solve stopped by Ctrl-C

    def wrapped(*args, **kwargs):
        result = solve(*args, **kwargs)
        info = result.get("info", {}) if isinstance(result, dict) else {}
        if info.get("status_val", info.get("statusVal")) == interrupted:
            raise KeyboardInterrupt("SCS was interrupted by SIGINT (Ctrl-C)")
        return result

    wrapped._lintheory_sigint = True
    scs.solve = wrapped
    try:
        yield
    finally:
        scs.solve = solve
