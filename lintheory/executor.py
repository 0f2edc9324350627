"""How claim runs are spread over processes.

Each unit of work is a pure function of its configuration -- ``(claim id, profile,
run seed, device) -> record`` -- and every claim derives its own seed from the run
seed and its id (:func:`lintheory.claims.claim_seed`), so a report does not depend on
how the work was split.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Sequence

from .claims import Claim, run_claim

__all__ = ["run_many"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _run_by_id(claim_id: str, profile: str, seed: int, device: str) -> dict:
    from .claims import registry

    return run_claim(registry()[claim_id], profile=profile, seed=seed, device=device)


def run_many(claims: Sequence[Claim], *, profile: str = "quick", seed: int = 0,
             device: str = "cpu", jobs: int = 1,
             on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Run ``claims`` serially (``jobs=1``) or in ``jobs`` worker processes.

    Workers are started with one BLAS/OpenMP thread each so that ``jobs`` workers do
    not oversubscribe the cores.
    """
    records: list[dict] = []
    if jobs <= 1 or len(claims) <= 1:
        for c in claims:
            rec = run_claim(c, profile=profile, seed=seed, device=device)
            records.append(rec)
            if on_record:
                on_record(rec)
        return records
    import multiprocessing as mp

    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = [pool.submit(_run_by_id, c.id, profile, seed, device) for c in claims]
            for f in as_completed(futs):
                rec = f.result()
                records.append(rec)
                if on_record:
                    on_record(rec)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return sorted(records, key=lambda r: r["id"])
