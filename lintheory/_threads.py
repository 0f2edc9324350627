"""Thread limits for BLAS/OpenMP and torch, in one place.

lintheory's problems are small (a few hundred parameters, Gram matrices of tens of
rows): intra-op threads only add synchronisation, and on a shared 2-core machine they
made tiny solves 20–60× slower.  The thread count also changes the order of
floating-point reductions, so claims run single-threaded on every back end to keep
serial and parallel reports identical to the last bit (see :mod:`lintheory.executor`).
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["limited_threads", "single_threaded", "THREAD_ENV_VARS"]

#: environment variables read by BLAS/OpenMP libraries loaded later
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _blas_controller():
    """A fresh threadpoolctl controller: it must see every library loaded so far (a cached one
    misses those loaded later, e.g. torch's OpenMP). A scan costs ~1.5 ms."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def limited_threads(n: int = 1, *, blas: bool = True, torch: bool = True):
    """Run the block with ``n`` BLAS/OpenMP threads and ``n`` torch intra-op threads, then restore.

    Parameters
    ----------
    n : int
        Threads inside the block.
    blas : bool
        Limit the BLAS/OpenMP pools (threadpoolctl) and the thread environment variables
        (for libraries loaded inside the block).
    torch : bool
        Limit ``torch.set_num_threads`` when torch is already imported.  torch is never
        imported here (it costs about 2 s): a torch first imported inside the block reads
        ``OMP_NUM_THREADS``, which is ``n`` there, so it starts with ``n`` threads too, and
        keeps them after the block (its default is not known without it).

    Examples
    --------
    >>> import torch
    >>> with limited_threads(1):
    ...     torch.get_num_threads()
    1
    """
    n = int(n)
    saved_env = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    torch_mod = old_torch = None
    with contextlib.ExitStack() as stack:
        if blas or (torch and "torch" not in sys.modules):
            os.environ.update({k: str(n) for k in THREAD_ENV_VARS})
        if blas:
            controller = _blas_controller()
            stack.enter_context(controller.limit(limits=n, user_api="blas"))
            stack.enter_context(controller.limit(limits=n, user_api="openmp"))
        if torch and "torch" in sys.modules:
            torch_mod = sys.modules["torch"]
            old_torch = torch_mod.get_num_threads()
            if old_torch != n:
                torch_mod.set_num_threads(n)
        try:
            yield
        finally:
            if torch_mod is not None and torch_mod.get_num_threads() != old_torch:
                torch_mod.set_num_threads(old_torch)
            if blas or torch:
                for k, v in saved_env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v


def single_threaded(*, blas: bool = True, torch: bool = True):
    """:func:`limited_threads` with one thread."""
    return limited_threads(1, blas=blas, torch=torch)
