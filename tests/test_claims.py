"""Every registered claim reaches its expected verdict under the quick profile.

This is the suite-level regression test: a claim whose verdict differs from the
verdict the project established (``expected``) fails here, with its record.  The
records come from the session's one serial run (``quick_records`` in conftest.py, the
CLI's one-thread numerics).  The same claims run again with ``jobs=2`` must give the
same records, bit for bit, since a report may not depend on how the work was split;
that second run covers a representative subset (:func:`jobs_subset`: in every suite the
cheapest claim that sweeps, the cheapest that does not, the cheapest refuted one, then
the cheapest others up to ``JOBS_SUBSET_SHARE`` (10 %) of the serial run's time), so that the
session runs the claims about once and a quarter instead of twice.
``LINTHEORY_JOBS_TEST=all`` runs every claim again instead.  Every claim's check is
scanned for side effects statically as well (``test_sweep_purity.py``).
"""

import json

import pytest

from lintheory.claims import registry, replay
from lintheory.executor import run_many

ALL_CLAIMS = sorted(registry())


#: Share of the serial run's claim time that the ``jobs=2`` run re-spends (beyond the
#: claims that cover every suite and kind), see :func:`jobs_subset`.
JOBS_SUBSET_SHARE = 0.10


@pytest.fixture(scope="module")
def serial_records(quick_records):
    return quick_records.get()


def jobs_subset(records: dict, share: float = JOBS_SUBSET_SHARE) -> list[str]:
    """Claims for the ``jobs=2`` equality run: every suite and kind, then the cheapest.

    In every paper group: the cheapest claim that sweeps (its instances are shipped to
    the worker in batches), the cheapest that does not (it runs on the worker whole), and
    the cheapest refuted one (its counterexample must survive the trip); then the
    cheapest remaining claims while their serial seconds stay within ``share`` of the
    serial run's total.
    """
    from lintheory.claims import calls_sweep

    reg = registry()
    by_cost = sorted(records.values(), key=lambda r: (r["seconds"], r["id"]))
    chosen: list[str] = []
    kinds = {"sweep": lambda r: calls_sweep(reg[r["id"]].check),
             "whole": lambda r: not calls_sweep(reg[r["id"]].check),
             "refuted": lambda r: r["verdict"] == "fails"}
    for group in sorted({r["id"].split(".", 1)[0] for r in by_cost}):
        for is_kind in kinds.values():
            pick = next((r["id"] for r in by_cost if r["id"].split(".", 1)[0] == group
                         and is_kind(r)), None)
            if pick is not None and pick not in chosen:
                chosen.append(pick)
    budget = share * sum(r["seconds"] for r in by_cost)
    spent = sum(records[c]["seconds"] for c in chosen)
    for r in by_cost:
        if r["id"] not in chosen and spent + r["seconds"] <= budget:
            chosen.append(r["id"])
            spent += r["seconds"]
    return sorted(chosen)


@pytest.mark.parametrize("claim_id", ALL_CLAIMS)
def test_claim_reaches_expected_verdict(claim_id, serial_records):
    rec = serial_records[claim_id]
    assert rec["verdict"] == rec["expected"], json.dumps(rec, indent=1)[:4000]
    assert rec["instances"] > 0
    if rec["verdict"] == "fails":
        # a refuted statement must come with a replayable counterexample
        assert rec["counterexample"] is not None
        json.dumps(rec["counterexample"])
        if "counterexample_sweep" in rec["details"]:
            # the stored counterexample replays, from its own seed, to the same error
            again = replay(claim_id, rec["counterexample"], sweep_index=rec["details"]["counterexample_sweep"])
            assert again["verdict"] == "fails"
            err = rec["counterexample"]["error"]
            assert abs(again["error"] - err) <= 1e-9 * max(1.0, abs(err)), again


def test_jobs_2_gives_the_serial_records(serial_records, monkeypatch, record_property, claim_run_seconds):
    """Whole claims on a worker, sweeps' instances shipped in batches: the same records."""
    import os
    import time

    from lintheory import executor

    # Leave every batch to the worker, so that every instance of a sweep of two or more runs
    # in another process: a check whose evaluate keeps results by side effect (lost there)
    # gives a different record and fails here.
    monkeypatch.setattr(executor, "SHIP_EVERY_INSTANCE", True)
    monkeypatch.setattr(executor, "LOCAL_SWEEP_SECONDS", 0.0)
    reg = registry()
    ids = sorted(serial_records) if os.environ.get("LINTHEORY_JOBS_TEST") == "all" \
        else jobs_subset(serial_records)
    record_property("jobs_2_claims", f"{len(ids)} of {len(serial_records)}")
    t0 = time.perf_counter()
    parallel = run_many([reg[c] for c in ids], profile="quick", seed=0, jobs=2)
    claim_run_seconds[f"jobs=2 run ({len(ids)} of {len(serial_records)} claims)"] += time.perf_counter() - t0

    def strip(r):
        return {k: v for k, v in r.items() if k != "seconds"}

    differ = [r["id"] for r in parallel if strip(r) != strip(serial_records[r["id"]])]
    assert [r["id"] for r in parallel] == ids and not differ, differ


def test_jobs_subset_covers_every_suite_and_kind(serial_records):
    from lintheory.claims import calls_sweep

    reg = registry()
    sub = jobs_subset(serial_records)
    groups = {c.split(".", 1)[0] for c in serial_records}
    assert {c.split(".", 1)[0] for c in sub} == groups
    assert any(calls_sweep(reg[c].check) for c in sub)
    assert any(serial_records[c]["verdict"] == "fails" for c in sub) == any(
        r["verdict"] == "fails" for r in serial_records.values())
    # the share bounds only what is added beyond the per-suite picks
    assert jobs_subset(serial_records, share=0.0) == sorted(set(jobs_subset(serial_records, 0.0)))
    assert set(jobs_subset(serial_records, share=0.0)) <= set(sub)


def test_every_paper_group_is_known():
    from lintheory.claims import PAPERS

    assert {cid.split(".")[0] for cid in ALL_CLAIMS} <= set(PAPERS)
    assert "svm" in {cid.split(".")[0] for cid in ALL_CLAIMS}
