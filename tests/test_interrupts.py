"""Ctrl-C during an SCS solve stays Ctrl-C (lintheory._interrupts)."""
import os
import signal
import sys
import threading

import numpy as np
import pytest

cp = pytest.importorskip("cvxpy")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")


def _endless_scs_problem():
    """A nuclear-norm problem SCS cannot finish at eps 1e-15: it runs until it is interrupted."""
    rng = np.random.default_rng(0)
    Z = cp.Variable((30, 30))
    M = rng.standard_normal((30, 30))
    return cp.Problem(cp.Minimize(cp.sum_squares(Z - M) + cp.normNuc(Z)))


def _interrupt_soon(delay=0.5):
    t = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    t.start()
    return t


def _solve(prob):
    prob.solve(solver=cp.SCS, eps_abs=1e-15, eps_rel=1e-15, max_iters=10**9)


def test_scs_swallows_ctrl_c_without_the_block():
    """Why the block exists: SCS takes SIGINT and cvxpy reports a solver failure."""
    prob = _endless_scs_problem()
    t = _interrupt_soon()
    with pytest.raises(cp.error.SolverError):
        _solve(prob)
    t.join()


def test_scs_interrupt_raises_keyboard_interrupt_inside_the_block():
    from lintheory._interrupts import solver_interrupts_raise

    import scs

    before = scs.solve
    prob = _endless_scs_problem()
    t = _interrupt_soon()
    with pytest.raises(KeyboardInterrupt, match="SCS was interrupted"):
        with solver_interrupts_raise():
            _solve(prob)
    t.join()
    assert scs.solve is before  # restored on the way out
