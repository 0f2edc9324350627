"""Test configuration: ``slow`` tests run with ``--runslow``; ``gpu`` tests need CUDA.

One serial quick-profile run of the claims is shared by every test that needs records
(:func:`quick_records`, session scope), and the session's summary says how much of its
wall time went into running claims (``claim runs`` below the test results).
"""

import os
import time
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Wall seconds spent running claims, by what ran them (reported at the end of the session).
CLAIM_RUN_SECONDS: dict = defaultdict(float)
_SESSION_START = [time.perf_counter()]


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (training-heavy)")


def pytest_sessionstart(session):
    _SESSION_START[0] = time.perf_counter()


def pytest_collection_modifyitems(config, items):
    from lintheory._device import cuda_available  # without importing torch on a CPU machine

    skip_slow = pytest.mark.skip(reason="slow: pass --runslow to run")
    skip_gpu = pytest.mark.skip(reason="gpu: torch sees no CUDA device")
    has_gpu = None
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords:
            if has_gpu is None:
                has_gpu = cuda_available()
            if not has_gpu:
                item.add_marker(skip_gpu)


def pytest_terminal_summary(terminalreporter):
    if not CLAIM_RUN_SECONDS:
        return
    wall = time.perf_counter() - _SESSION_START[0]
    spent = sum(CLAIM_RUN_SECONDS.values())
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(CLAIM_RUN_SECONDS.items()))
    terminalreporter.write_line(f"claim runs: {spent:.1f} s of {wall:.1f} s session wall time "
                                f"({100 * spent / max(wall, 1e-9):.0f} %): {parts}")
    path = os.environ.get("LINTHEORY_TEST_TIMING")  # read by benchmarks/run_all.py's table
    if path:
        import json

        stats = terminalreporter.stats
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "session_wall_s": round(wall, 1), "claim_runs_s": round(spent, 1),
                       "claim_runs_share": round(spent / max(wall, 1e-9), 3),
                       "parts_s": {k: round(v, 1) for k, v in CLAIM_RUN_SECONDS.items()},
                       "passed": len(stats.get("passed", [])), "failed": len(stats.get("failed", [])),
                       "loadavg_1min_at_end": round(os.getloadavg()[0], 2)}, fh, indent=1)


class QuickRecords:
    """Serial quick-profile records (run seed 0, CPU), computed once per session.

    ``get(ids)`` returns ``{claim id: record}``; the first call runs, in one serial
    :func:`~lintheory.executor.run_many`, every claim that the session's selected tests
    ask for (their ``claim_id`` parameter) together with ``ids``; later calls reuse them.
    ``get()`` without ids: the claims the session asks for, or every registered claim
    when it asks for none (e.g. only the ``--jobs`` equality test is selected).
    """

    def __init__(self, wanted):
        self.wanted = sorted(set(wanted))
        self._records: dict = {}

    def get(self, ids=None) -> dict:
        from lintheory.claims import registry
        from lintheory.executor import run_many

        ids = sorted(set(ids)) if ids is not None else (self.wanted or sorted(registry()))
        missing = [c for c in ids if c not in self._records]
        if missing:
            todo = sorted(set(missing) | {c for c in self.wanted if c not in self._records})
            reg = registry()
            t0 = time.perf_counter()
            for rec in run_many([reg[c] for c in todo], profile="quick", seed=0):
                self._records[rec["id"]] = rec
            CLAIM_RUN_SECONDS["serial quick profile (shared)"] += time.perf_counter() - t0
        return {c: self._records[c] for c in ids}


@pytest.fixture(scope="session")
def quick_records(request):
    """The session's one serial quick-profile run (see :class:`QuickRecords`)."""
    wanted = {item.callspec.params["claim_id"] for item in request.session.items
              if hasattr(item, "callspec") and "claim_id" in item.callspec.params
              and "quick_records" in getattr(item, "fixturenames", ())}
    return QuickRecords(wanted)


@pytest.fixture(scope="session", autouse=True)
def _stop_loky_workers_at_the_end():
    """Shut joblib's reusable workers down when the session ends (they idle for minutes)."""
    yield
    from joblib.externals.loky import reusable_executor

    if reusable_executor._executor is not None:
        reusable_executor._executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def claim_run_seconds():
    """Add the wall seconds of a test's own claim runs here (reported at the session's end)."""
    return CLAIM_RUN_SECONDS


@pytest.fixture
def rng():
    """A seeded generator; every random draw in the tests goes through a seed."""
    return np.random.default_rng(20261125)
