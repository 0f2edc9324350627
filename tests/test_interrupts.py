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


@pytest.fixture
def interrupt_inside_scs(monkeypatch):
    """SIGINT 0.3 s after SCS itself starts (not during cvxpy's canonicalisation, which is
    Python and would take the signal the ordinary way on a slow machine)."""
    import scs

    timers = []
    solve = scs.solve

    def solve_then_interrupt(*args, **kwargs):
        t = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        timers.append(t)
        t.start()
        return solve(*args, **kwargs)

    monkeypatch.setattr(scs, "solve", solve_then_interrupt)
    yield scs
    for t in timers:
        t.join()


def _solve(prob):
    prob.solve(solver=cp.SCS, eps_abs=1e-15, eps_rel=1e-15, max_iters=10**9)


def test_scs_swallows_ctrl_c_without_the_block(interrupt_inside_scs):
    """Why the block exists: SCS takes SIGINT and cvxpy reports a solver failure."""
    with pytest.raises(cp.error.SolverError):
        _solve(_endless_scs_problem())


def test_scs_interrupt_raises_keyboard_interrupt_inside_the_block(interrupt_inside_scs):
    from lintheory._interrupts import solver_interrupts_raise

    before = interrupt_inside_scs.solve
    with pytest.raises(KeyboardInterrupt, match="SCS was interrupted"):
        with solver_interrupts_raise():
            _solve(_endless_scs_problem())
    assert interrupt_inside_scs.solve is before  # restored on the way out
