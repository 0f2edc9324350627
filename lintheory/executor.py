"""How claim runs are spread over processes and machines, and how they are resumed.

Two kinds of unit of work, each a pure function of its configuration:

* a whole claim, :math:`(\\text{claim id}, \\text{profile}, \\text{run seed},
  \\text{device}) \\mapsto \\text{record}`, since every claim derives its own seed from the
  run seed and its id (:func:`lintheory.claims.claim_seed`);
* a batch of one sweep's instances, :math:`(\\text{evaluate}, [\\text{config}, \\dots])
  \\mapsto [\\text{outcome}, \\dots]`, since every instance config carries its own seed and
  :func:`lintheory.claims.evaluate_instance` decides its outcome wherever it runs.

A report therefore does not depend on how the work was split: serially, over ``jobs``
local processes (joblib's loky pool), or over the workers of an existing Dask cluster.
Only the ``seconds`` field of a record (wall time) differs between runs.

:func:`run_many` sends claims to the workers whole, and runs the body of other claims
that sweep in this process, shipping their sweeps' instances to the workers in batches,
so that one claim with many instances uses every worker; the last claims that sweep are
always this process's.
:func:`map_unordered` is the plain version (any picklable function over a list of
configs), used by ``lintheory figures --jobs``.

Every unit runs with one BLAS/OpenMP thread and one torch thread on every back end
(:func:`single_threaded`): thread counts change the order of floating-point sums, and
the records must be identical bit for bit.

:class:`RecordStore` writes each finished record to ``DIR/records/<claim id>.json``
atomically, tagged with the profile, seed, device, lintheory version and a digest of
the claim, so that an interrupted run keeps what it finished and ``--resume`` reruns
only the rest.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ._threads import THREAD_ENV_VARS as _THREAD_VARS
from ._threads import single_threaded
from .claims import (_INSTANCE_MAP, Claim, calls_sweep, evaluate_instance, evaluate_instances,
                     run_claim, uses_torch)
from .errors import ExecutorError, InputError

__all__ = [
    "EXECUTORS",
    "WorkConfig",
    "run_config",
    "map_unordered",
    "run_many",
    "connect_dask",
    "single_threaded",
    "RecordStore",
]

EXECUTORS = ("local", "dask")
#: Seconds to wait for a Dask scheduler (and for its first worker) before giving up.
DEFAULT_CONNECT_TIMEOUT = 3.0

@dataclass(frozen=True)
class WorkConfig:
    """One unit of work: everything a record depends on.

    Attributes
    ----------
    claim_id : str
        The claim to run.
    profile : {"quick", "full"}
    seed : int
        The *run* seed; the claim derives its own seed from it and its id.
    device : {"cpu", "cuda"}
        An already resolved device (never ``"auto"``).
    module : str, optional
        The suite that registers the claim (its module name, or the path of a suite
        file given with ``--suite``; see :func:`lintheory.suites.suite_spec`): a worker
        imports only that suite instead of all of them.  A start-up hint; the record
        does not depend on it.

    Examples
    --------
    >>> cfg = WorkConfig("svm.etf.gram", "quick", 0, "cpu")
    >>> rec = run_config(cfg)
    >>> rec["id"], rec["verdict"], rec["seed"] == run_config(cfg.as_dict())["seed"]
    ('svm.etf.gram', 'holds', True)
    """

    claim_id: str
    profile: str = "quick"
    seed: int = 0
    device: str = "cpu"
    module: str | None = None

    def as_dict(self) -> dict:
        """Plain JSON (what travels to a worker)."""
        return asdict(self)


def run_config(config: WorkConfig | dict) -> dict:
    """Run one unit of work and return the claim's JSON-ready record.

    Parameters
    ----------
    config : WorkConfig or dict
        ``claim_id``, ``profile``, ``seed``, ``device``.

    Returns
    -------
    dict
        The record of the report contract (see :func:`lintheory.claims.run_claim`).
    """
    cfg = config if isinstance(config, WorkConfig) else WorkConfig(**config)
    c = _find_claim(cfg)
    return run_claim(c, profile=cfg.profile, seed=cfg.seed, device=cfg.device)


def _find_claim(cfg: WorkConfig) -> Claim:
    """The registered claim of ``cfg``, importing only its module when that is known."""
    from . import claims as C

    if cfg.module and cfg.claim_id not in C._REGISTRY:
        from .suites import load_suite

        load_suite(cfg.module)  # a suite's module name or file path (see suites.suite_spec)
    c = C._REGISTRY.get(cfg.claim_id)
    if c is None:
        c = C.registry([cfg.claim_id.split(".", 1)[0]]).get(cfg.claim_id)
    if c is None:
        raise InputError(f"unknown claim id {cfg.claim_id!r} on this worker "
                         "(is the same lintheory version installed here?)")
    return c


def _has_train_module(spec: str) -> bool:
    """Whether the package of an installed suite has a ``train`` module (it trains with torch)."""
    import importlib.util

    from .suites import _entry_points

    module = _entry_points().get(spec, spec)
    if module.endswith(".py") or "/" in module or "." not in module:
        return False
    try:
        return importlib.util.find_spec(module.rsplit(".", 1)[0] + ".train") is not None
    except (ImportError, ValueError):
        return False


def _suite_spec_of(c: Claim) -> str | None:
    """How a worker loads the suite of ``c``: its module name, or the file given to --suite."""
    from .suites import _entry_points, suite_spec

    if c.group in _entry_points():  # an installed suite: its name (load_suite maps it to its module)
        return c.group
    return suite_spec(c.group) or getattr(c.check, "__module__", None)


def _cap_worker_threads() -> None:
    """One BLAS/OpenMP thread and one torch thread in this (worker) process.

    The environment variables cover libraries loaded later; threadpoolctl covers
    those already loaded; torch keeps its own pool.
    """
    for k in _THREAD_VARS:
        os.environ[k] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        pass
    else:
        threadpool_limits(limits=1)
    torch = sys.modules.get("torch")  # never imported here: a later import reads the env
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _worker_run(config: dict) -> dict:
    """:func:`run_config` in a worker process, after capping its threads."""
    cfg = config if isinstance(config, WorkConfig) else WorkConfig(**config)
    c = _find_claim(cfg)  # import the suite (and its BLAS) first, then cap every pool
    _cap_worker_threads()
    return run_claim(c, profile=cfg.profile, seed=cfg.seed, device=cfg.device)


def _worker_evaluate(evaluate: Callable[[dict], float], configs: list) -> list:
    """One batch of a sweep's instances in a worker process, after capping its threads."""
    _cap_worker_threads()
    return evaluate_instances(evaluate, configs)


def _probe_threads(_: Any = None) -> dict:
    """Thread pools of a worker after :func:`_cap_worker_threads` (used by the tests)."""
    import torch
    from threadpoolctl import threadpool_info

    from .claims import load_claims

    load_claims()
    _cap_worker_threads()
    return {"torch": torch.get_num_threads(),
            "blas": {f"{i['internal_api']}:{i['filepath']}": i["num_threads"]
                     for i in threadpool_info()}}


def _worker_info() -> dict:
    """What a Dask worker reports before work is sent to it."""
    import platform

    import lintheory

    return {"lintheory": lintheory.__version__, "python": platform.python_version()}


def map_unordered(fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = 1,
                  client: Any = None) -> Iterator[Any]:
    """Yield ``fn(item)`` for every item, in completion order.

    Parameters
    ----------
    fn : callable
        A module-level (importable, picklable) function of one plain-JSON argument.
        Each call must be a pure function of its argument, so that the results do not
        depend on the back end.
    items : sequence
        The arguments.
    jobs : int
        ``1``: serial, in this process, in order.  ``N > 1``: ``N`` loky worker
        processes (joblib) with one BLAS/OpenMP/torch thread each.  Ignored when
        ``client`` is given.
    client : distributed.Client, optional
        Run on the workers of this Dask cluster (see :func:`connect_dask`).

    Yields
    ------
    object
        ``fn(item)`` as each one finishes.  An exception raised by ``fn`` is re-raised.

    Examples
    --------
    >>> sorted(map_unordered(abs, [-2, 1, -3]))
    [1, 2, 3]
    """
    items = list(items)
    if jobs < 1:
        raise InputError(f"jobs must be a positive integer, got {jobs}")
    if client is not None:
        yield from _map_dask(fn, items, client)
    elif jobs == 1 or len(items) <= 1:
        for it in items:
            yield fn(it)
    else:
        yield from _map_loky(fn, items, jobs)


def _loky_pool(workers: int):
    """joblib's reusable loky process pool, its workers started with one BLAS/OpenMP thread.

    The one pool of this process: :func:`map_unordered` and :func:`run_many` share it,
    so that a second call reuses the started workers instead of paying their start-up.
    """
    from joblib.externals.loky import get_reusable_executor

    # A run stopped hard by the Ctrl-C watchdog (cli._InterruptFlag) leaves the pool's
    # semaphores to loky's resource tracker, which removes them and then warns on the
    # user's terminal under the one-line message; the tracker (started with the first
    # pool) inherits this one filter, for that one warning.
    saved = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [saved, _TRACKER_WARNING_FILTER]))
    try:
        return get_reusable_executor(max_workers=workers, env={k: "1" for k in _THREAD_VARS},
                                     initializer=_worker_init, timeout=WORKER_IDLE_TIMEOUT)
    finally:
        if saved is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = saved


#: ``-W`` syntax: loky's resource tracker on semaphores it cleaned up after a hard stop.
_TRACKER_WARNING_FILTER = "ignore:resource_tracker:UserWarning"


#: Seconds a loky worker may idle before it exits (loky's default is 10 s).  A worker
#: idles while the coordinator runs the parts of its sweep claims that do not ship, often
#: for more than 10 s; a worker that had exited then paid its start-up again (Python,
#: numpy, scipy, lintheory, the suites, torch: 2-5 s) in the middle of the run, with the
#: coordinator waiting for its first batch.
WORKER_IDLE_TIMEOUT = 300.0


def _worker_init() -> None:
    """Start-up of a loky worker: Ctrl-C to the coordinator, and lintheory's core imported."""
    _ignore_sigint()
    from . import claims  # noqa: F401  (numpy and the runner, before the first unit arrives)


def _worker_preload(specs: tuple, torch: bool = False) -> int:
    """Import the suites of a run in a worker, once, before its first unit (see :func:`run_many`).

    Sent as the first unit of each worker slot, so that a worker imports every suite of
    the run (and torch, when a suite trains models: 2 s, more on a loaded machine) while
    the coordinator starts its own work, instead of one at a time in the middle of the
    run, where the coordinator may be waiting for the batch that needs it (measured: a
    sweep of two training instances left the coordinator waiting 22 s for the worker's
    instance, which began with torch's import).  A suite that fails to import here is
    left alone: the unit that needs it raises.
    """
    from .suites import load_suite

    if torch:
        try:
            import torch as _torch  # noqa: F401  (one thread: the worker's env says so)
        except ImportError:  # pragma: no cover - core dependency
            pass
        _cap_worker_threads()
    n = 0
    for spec in specs:
        try:
            load_suite(spec)
            n += 1
        except Exception:  # reported by the unit that needs the suite
            pass
    return n


def kill_workers(wait: bool = False) -> None:
    """Stop this process's loky workers at once (after Ctrl-C: they ignore SIGINT).

    Parameters
    ----------
    wait : bool
        Also wait until they are gone.  ``lintheory verify`` does so once its claims are
        done: an idle worker left to the interpreter's exit held the exit up by 0.5-1 s
        (a worker still importing its suites when a short run ended, 2-3 s).
    """
    from joblib.externals.loky import reusable_executor

    pool = reusable_executor._executor
    if pool is not None:
        pool.shutdown(wait=wait, kill_workers=True)


def _ignore_sigint() -> None:
    """In a worker: leave Ctrl-C to the coordinating process (no traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map_loky(fn, items, jobs):
    from concurrent.futures import as_completed as cf_as_completed

    pool = _loky_pool(min(jobs, len(items)))
    futs = [pool.submit(fn, it) for it in items]
    try:
        for f in cf_as_completed(futs):
            yield f.result()
    finally:
        for f in futs:
            f.cancel()


def _map_dask(fn, items, client):
    from distributed import as_completed as dask_as_completed

    futs = client.map(fn, items, pure=False)
    try:
        for fut in dask_as_completed(futs, loop=client.loop):
            yield fut.result()
    finally:
        client.cancel([f for f in futs if not f.done()])


def connect_dask(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT):
    """Connect to an existing Dask scheduler and check its workers can run lintheory.

    Parameters
    ----------
    address : str
        The scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout : float
        Seconds to wait for the scheduler, and again for at least one worker.

    Returns
    -------
    distributed.Client

    Raises
    ------
    InputError
        ``distributed`` is not installed; the scheduler cannot be reached within
        ``timeout`` seconds; it has no worker; or its workers cannot import lintheory
        or run another version of it.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise InputError("--executor dask needs dask.distributed "
                         "(pip install 'lintheory[dist]')") from exc
    import lintheory

    if not address:
        raise InputError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    try:
        client = Client(address, timeout=f"{float(timeout)}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                         f"({type(exc).__name__}); is `dask scheduler` running there and is "
                         "the address right?") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=float(timeout))
        except (TimeoutError, OSError) as exc:
            raise InputError(f"the Dask scheduler at {address} has no workers "
                             f"after {timeout:g} s; start some with `dask worker {address}`") from exc
        try:
            infos = client.run(_worker_info)
        except Exception as exc:
            raise InputError(f"Dask workers at {address} cannot import lintheory "
                             f"({type(exc).__name__}: {exc}); install lintheory "
                             f"{lintheory.__version__} on every worker") from exc
        bad = {w: i["lintheory"] for w, i in infos.items()
               if i["lintheory"] != lintheory.__version__}
        if bad:
            raise InputError(f"Dask workers run another lintheory version than this client "
                             f"({lintheory.__version__}): {bad}")
    except BaseException:
        client.close()
        raise
    return client


def run_many(claims: Sequence[Claim], *, profile: str = "quick", seed: int = 0,
             device: str = "cpu", jobs: int = 1, client: Any = None,
             on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Run ``claims`` serially, over ``jobs`` local processes, or on a Dask cluster.

    With more than one worker, two kinds of work share the workers:

    * a claim goes to a worker whole: first those that use torch
      (:func:`~lintheory.claims.uses_torch`; the workers import torch once, and this
      process need not), then those whose check does not call
      :func:`~lintheory.claims.sweep` (a derivation), which cannot be split and should
      not be the last work left, then the other claims that sweep, while more of them
      are left than there are workers;
    * the other claims that decide their statement with ``sweep`` run their body here,
      one after the other, and each of their sweeps hands its instances to the workers
      in batches (:func:`~lintheory.claims.evaluate_instances`), so that one claim with
      thousands of instances uses every worker.  A sweep estimated (from its first
      instance) to cost less than :data:`LOCAL_SWEEP_SECONDS` stays here.

    A free worker takes a claim that uses torch, else a whole claim that does not
    sweep, else a batch, else a claim that sweeps.  At most one unit per worker is on
    the back end at a time, so the order is kept.

    Parameters
    ----------
    claims : sequence of Claim
    profile, seed, device
        As for :func:`lintheory.claims.run_claim` (``device`` already resolved).
    jobs : int
        Local worker processes (``1`` = this process).  Ignored when ``client`` is set.
    client : distributed.Client, optional
        Run on this Dask cluster (see :func:`connect_dask`).
    on_record : callable, optional
        Called with each record as soon as it is finished (in completion order),
        e.g. to save it (:class:`RecordStore`) and to move a progress bar.

    Returns
    -------
    list of dict
        The records, sorted by claim id; identical (except ``seconds``) whatever the
        back end: each instance is a pure function of its config, and every process
        runs with one BLAS/torch thread.

    Raises
    ------
    ExecutorError
        A worker process died or a Dask worker was lost.
    """
    if jobs < 1:
        raise InputError(f"jobs must be a positive integer, got {jobs}")
    configs = [WorkConfig(c.id, profile, int(seed), device,
                          _suite_spec_of(c)).as_dict() for c in claims]
    records: list[dict] = []

    def emit(rec: dict) -> None:
        records.append(rec)
        if on_record:
            on_record(rec)

    if client is None and (jobs <= 1 or len(configs) == 0):
        # The same one-thread numerics as the workers: thread counts change the order of
        # floating-point sums, hence the last bits of the records.
        with single_threaded():
            for cfg in configs:
                emit(run_config(cfg))
    else:
        # This process works too (sweep claims, batches while it waits, whole claims at the
        # end), so N local jobs are this process and N - 1 workers.
        backend = _Backend.dask(client) if client is not None else _Backend.loky(jobs - 1)
        _run_split(claims, configs, backend, emit)
    return sorted(records, key=lambda r: r["id"])


#: Batches per worker and sweep: several, so that unequal instances even out.
BATCHES_PER_WORKER = 4
#: A sweep whose instances would take less than this (seconds, estimated from its first
#: instance) is evaluated where its claim runs: a batch's round trip to a worker costs a
#: few milliseconds, and the quick profile has many sweeps of a few instances.  ``0``:
#: every sweep of two or more instances is shipped.
LOCAL_SWEEP_SECONDS = 0.1
#: For the tests: every claim that sweeps runs its body here (no worker takes one whole),
#: and the batches of its sweeps are left to the workers (this process evaluates none).
#: With ``LOCAL_SWEEP_SECONDS = 0`` too, every instance of a sweep of two or more runs in
#: another process, so that an ``evaluate`` that keeps results by side effect, lost
#: there, gives a different record.
SHIP_EVERY_INSTANCE = False


class _Backend:
    """``submit(fn, *args) -> future`` and the number of work slots of a back end."""

    def __init__(self, submit: Callable, slots: int, name: str):
        self.submit, self.slots, self.name = submit, max(1, int(slots)), name

    @classmethod
    def loky(cls, jobs: int) -> "_Backend":
        # Workers start with one BLAS/OpenMP thread (env), and cap again per unit.
        return cls(_loky_pool(jobs).submit, jobs, "loky")

    @classmethod
    def dask(cls, client: Any) -> "_Backend":
        slots = sum(client.nthreads().values()) or 1
        return cls(lambda fn, *args: client.submit(fn, *args, pure=False), slots, "dask")


def _is_executor_failure(exc: BaseException) -> bool:
    """A failure of the machinery (lost worker, cancelled task), not of the check."""
    from concurrent.futures import BrokenExecutor, CancelledError

    if isinstance(exc, (BrokenExecutor, CancelledError)):
        return True
    return type(exc).__name__ in ("TerminatedWorkerError", "KilledWorker", "CommClosedError",
                                  "FutureCancelledError")


class _Dispatcher:
    """Keeps at most one unit per slot on the back end, taken from named queues.

    A free worker takes from :attr:`WORKER_ORDER`: claims that use torch (the workers
    import it once, so that the coordinator need not; first, so that they are not the
    last work left), claims that do not sweep (they cannot be split), batches of the
    sweep the coordinator is in, and the other claims that sweep, whole, while more than
    ``reserve`` of them are left, so that the last ones are the coordinator's to split
    over every worker.

    Finished futures are reported through :attr:`events` (``(tag, future)``), which
    only the coordinating thread reads; back-end callbacks never run lintheory code.
    The coordinator takes units that are not on the back end yet with :meth:`take` and
    runs them itself.
    """

    KINDS = ("torch", "torch_sweep", "whole", "batch", "sweep")
    WORKER_ORDER = KINDS

    def __init__(self, backend: _Backend, reserve: int = 0):
        self.backend = backend
        self.reserve = int(reserve)
        self.events: "queue.Queue[tuple]" = queue.Queue()
        self._queues: dict[str, deque] = {k: deque() for k in self.KINDS}
        self._running = 0
        self._lock = threading.Lock()
        self._closed = False

    def add(self, kind: str, tag: tuple, fn: Callable, *args: Any) -> None:
        """Queue ``fn(*args)`` as a unit of ``kind`` (one of :attr:`KINDS`)."""
        with self._lock:
            self._queues[kind].append((tag, fn, args))
        self._pump()

    def take(self, *kinds: str) -> tuple | None:
        """The first unit no worker has yet of the first of ``kinds`` that has one (or ``None``)."""
        with self._lock:
            for kind in kinds:
                if self._queues[kind]:
                    return self._queues[kind].popleft()
        return None

    def _for_a_worker(self) -> tuple | None:
        for kind in self.WORKER_ORDER:
            if self._queues[kind] and (kind != "sweep" or len(self._queues[kind]) > self.reserve):
                return self._queues[kind].popleft()
        return None

    def _pump(self) -> None:
        while True:
            with self._lock:
                if self._closed or self._running >= self.backend.slots:
                    return
                unit = self._for_a_worker()
                if unit is None:
                    return
                tag, fn, args = unit
                self._running += 1
            try:
                fut = self.backend.submit(fn, *args)
            except BaseException as exc:  # a broken pool: tell the coordinator
                self.events.put((("error",), exc))
                return
            fut.add_done_callback(lambda f, tag=tag: self._done(tag, f))

    def _done(self, tag: tuple, fut: Any) -> None:
        with self._lock:
            self._running -= 1
        self.events.put((tag, fut))
        self._pump()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for q in self._queues.values():
                q.clear()


class _Evaluated:
    """The outcome of a batch the coordinator evaluated itself (a future's interface)."""

    def __init__(self, fn: Callable, args: tuple):
        try:
            self._value, self._exc = fn(*args), None
        except Exception as exc:  # re-raised where the sweep reads it, as from a worker
            self._value, self._exc = None, exc

    def result(self) -> Any:
        if self._exc is not None:
            raise self._exc
        return self._value


def _result(fut: Any) -> Any:
    try:
        return fut.result()
    except BaseException as exc:
        if _is_executor_failure(exc) and "SIGINT" in str(exc):
            # The worker died of Ctrl-C (its exit code is SIGINT), not of a crash.
            raise KeyboardInterrupt from exc
        if _is_executor_failure(exc):
            raise ExecutorError(f"a worker was lost ({type(exc).__name__}: {exc}); "
                                "no record was written for the unit it ran") from exc
        raise


def _run_split(claims: Sequence[Claim], configs: list[dict], backend: _Backend,
               emit: Callable[[dict], None]) -> None:
    """Every claim is a unit a worker may take; the sweeps the coordinator runs are split.

    Workers take claims in the order of :attr:`_Dispatcher.WORKER_ORDER`; the coordinator
    takes them the other way round: claims that sweep (their instances shipped in
    batches), claims that do not, and claims that use torch only once nothing else is
    left.  The last claims that sweep are thus the coordinator's, and split over every
    worker at the end of the run.
    """
    # The last claim that sweeps per worker stays here, to be split at the end (a claim
    # that is not split, if the last one, leaves the workers waiting for it).
    reserve = len(configs) if SHIP_EVERY_INSTANCE else backend.slots
    disp = _Dispatcher(backend, reserve=reserve)
    batch_results: dict[tuple, list] = {}
    claims_left = 0

    def handle(tag: tuple, fut: Any) -> None:
        nonlocal claims_left
        if tag[0] == "error":  # ``fut`` is the exception the back end raised on submit
            raise ExecutorError(f"a worker was lost or the {backend.name} back end refused work "
                                f"({type(fut).__name__}: {fut})") from fut
        if tag[0] == "claim":
            claims_left -= 1
            emit(_result(fut))
        elif tag[0] == "preload":
            _result(fut)  # a lost worker shows here; the preload itself never raises
        else:
            batch_results[tag] = fut  # its result (or its exception) is read by its sweep

    sweep_no = itertools.count()

    def instance_map(evaluate: Callable, cfgs: list) -> list:
        if len(cfgs) <= 1:
            return [evaluate_instance(evaluate, c) for c in cfgs]
        first: list = []
        if LOCAL_SWEEP_SECONDS > 0:
            # A sweep that costs less than a few round trips to a worker stays here: its
            # first instance, timed, tells (it also pays the sweep's warm-up, if any).
            t0 = time.perf_counter()
            first = evaluate_instances(evaluate, cfgs[:1])
            if (time.perf_counter() - t0) * len(cfgs) < LOCAL_SWEEP_SECONDS:
                return first + evaluate_instances(evaluate, cfgs[1:])
        rest = cfgs[len(first):]
        # Queued at once, so that a free worker starts right away; the coordinator
        # evaluates batches too while it waits (it counts as a worker).  Round robin:
        # instances that grow with their index spread.
        n_batches = min(len(rest), BATCHES_PER_WORKER * (backend.slots + 1))
        key = next(sweep_no)
        tags = [("batch", key, b) for b in range(n_batches)]
        for b, tag in enumerate(tags):
            disp.add("batch", tag, _worker_evaluate, evaluate, rest[b::n_batches])
        while not all(t in batch_results for t in tags):
            mine = None if SHIP_EVERY_INSTANCE else disp.take("batch")
            if mine is not None:
                tag, _, args = mine  # no thread capping here: this process already is
                batch_results[tag] = _Evaluated(evaluate_instances, args)
            else:
                handle(*disp.events.get())
        out: list = [None] * len(rest)
        for b, t in enumerate(tags):
            out[b::n_batches] = _result(batch_results.pop(t))
        return first + out

    try:
        specs = tuple(sorted({cfg["module"] for cfg in configs if cfg.get("module")}))
        if backend.name == "loky" and specs:
            # One per worker slot, first: each worker imports the run's suites while this
            # process starts on its own claims (the start-up overlaps the work).
            trains = any(_has_train_module(spec) for spec in specs)
            for k in range(backend.slots):
                disp.add("torch", ("preload", k), _worker_preload, specs, trains)
        for c, cfg in zip(claims, configs):
            claims_left += 1
            sweeps = calls_sweep(c.check)
            if not sweeps:
                kind = "torch" if uses_torch(c.check) else "whole"
            elif uses_torch(c.check) and not SHIP_EVERY_INSTANCE:  # (those tests split every sweep)
                kind = "torch_sweep"
            else:
                kind = "sweep"
            disp.add(kind, ("claim", cfg["claim_id"], sweeps), _worker_run, cfg)
        with single_threaded():
            # What the workers would take last first; torch only when nothing else is left.
            while claims_left:
                mine = disp.take("sweep", "whole", "torch_sweep", "torch")
                if mine is None:
                    handle(*disp.events.get())
                    continue
                tag, _, args = mine
                if tag[0] == "preload":  # not needed here: this process has its suites
                    continue
                _, _, sweeps = tag
                token = _INSTANCE_MAP.set(instance_map) if sweeps else None  # split its sweeps
                try:
                    claims_left -= 1
                    emit(run_config(args[0]))
                finally:
                    if token is not None:
                        _INSTANCE_MAP.reset(token)
                while not disp.events.empty():  # records of the workers' claims, as they come
                    handle(*disp.events.get())
    finally:
        disp.close()


def claim_digest(c: Claim) -> str:
    """A short hash of a claim's description and check source (stale records are rerun)."""
    try:
        src = inspect.getsource(c.check)
    except (OSError, TypeError):  # pragma: no cover - built in or generated checks
        src = getattr(c.check, "__qualname__", "")
    blob = json.dumps(c.describe(), sort_keys=True) + "\n" + src
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class RecordStore:
    """One JSON file per finished claim, ``DIR/records/<claim id>.json``.

    Each file holds ``{"tag": {...}, "record": {...}}``; the tag names what the record
    depends on (lintheory version, profile, run seed, device, claim digest).  Files are
    written atomically (temporary file + rename), so a killed run leaves only whole
    records.

    Parameters
    ----------
    out_dir : path
        The report folder (``--out``); nothing is created until the first save.

    Examples
    --------
    >>> import tempfile
    >>> from lintheory.claims import registry
    >>> c = registry()["svm.etf.gram"]
    >>> store = RecordStore(tempfile.mkdtemp())
    >>> store.save(run_config(WorkConfig(c.id)), profile="quick", seed=0, device="cpu").name
    'svm.etf.gram.json'
    >>> sorted(store.load([c], profile="quick", seed=0, device="cpu"))
    ['svm.etf.gram']
    >>> store.load([c], profile="quick", seed=1, device="cpu")
    {}
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.dir = Path(out_dir) / "records"

    def path(self, claim_id: str) -> Path:
        return self.dir / f"{claim_id}.json"

    @staticmethod
    def tag(c: Claim | None, *, profile: str, seed: int, device: str) -> dict:
        from . import __version__

        t = {"lintheory": __version__, "profile": profile, "seed": int(seed), "device": device}
        if c is not None:
            t["claim"] = claim_digest(c)
        return t

    def save(self, record: dict, *, profile: str, seed: int, device: str) -> Path:
        """Write ``record`` atomically, tagged with the run's configuration."""
        from . import claims as C
        from .report import atomic_write_text

        # the claim that made the record is registered already: no discovery of every suite
        c = C._REGISTRY.get(record["id"]) or C.registry().get(record["id"])
        payload = {"tag": self.tag(c, profile=profile, seed=seed, device=device),
                   "record": record}
        p = self.path(record["id"])
        atomic_write_text(p, json.dumps(payload, indent=1, allow_nan=False) + "\n")
        return p

    def load(self, claims: Iterable[Claim], *, profile: str, seed: int,
             device: str) -> dict[str, dict]:
        """The saved records of ``claims`` whose tag matches this run (by claim id).

        Files that are missing, unreadable, or tagged differently are ignored (their
        claims are run again and the files overwritten).
        """
        out: dict[str, dict] = {}
        for c in claims:
            p = self.path(c.id)
            if not p.is_file():
                continue
            try:
                payload = json.loads(p.read_text(encoding="utf-8"))
                tag, rec = payload["tag"], payload["record"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if tag == self.tag(c, profile=profile, seed=seed, device=device) \
                    and isinstance(rec, dict) and rec.get("id") == c.id:
                out[c.id] = rec
        return out
