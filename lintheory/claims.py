"""Claims, evidence, verdicts: the registry and the runner.

A *claim* is one statement of a paper (or one corrected statement of ours) together
with the check that decides it on many instances.  A check is a function
``check(ctx) -> Evidence``; the runner turns the evidence into a verdict:

``holds``
    every instance is within tolerance;
``fails``
    a counterexample was found (checks re-check it with a tighter solver before
    reporting it, see :func:`sweep`);
``inconclusive``
    the independent route itself was not trustworthy (solver status not OPTIMAL,
    training not converged), or the check crashed;
``skipped``
    an optional dependency or a GPU is missing (the reason says which).

Register a claim with the :func:`claim` decorator::

    @claim(id="svm.etf.gram", paper=SEED_002, source="Definition 2.1",
           statement="M^T M = m/(m-1) (I - 11^T/m)", form="derived",
           method="numpy over m = 2..40 and random orthonormal P", expected="holds")
    def _(ctx):
        ...
        return Evidence(instances=..., max_error=..., tolerance=...)

Claims are discovered by importing ``lintheory.<paper>.claims`` for every paper
package, and every module of :mod:`proofs_check`.  Every claim gets its own seed,
derived from the run's seed and the claim id, so a claim's record does not depend on
which other claims ran, in which order, or in which process.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import json
import math
import pkgutil
import re
import time
import traceback
import zlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import ExecutorError, InputError, LintheoryError, NotConvergedError, SolverError

__all__ = [
    "PAPERS",
    "VERDICTS",
    "Claim",
    "Evidence",
    "Context",
    "Inconclusive",
    "claim",
    "registry",
    "load_claims",
    "select_claims",
    "claim_seed",
    "run_claim",
    "sweep",
    "evaluate_instance",
    "evaluate_instances",
    "calls_sweep",
    "replay",
    "jsonable",
]

PAPERS = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto", "proofs")
VERDICTS = ("holds", "fails", "inconclusive", "skipped")
FORMS = ("printed", "corrected", "derived")
PROFILES = ("quick", "full")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")


class Inconclusive(LintheoryError):
    """Raised inside a check when its independent route cannot be trusted."""


@dataclass(frozen=True)
class Claim:
    """One statement and the check that decides it.

    Attributes
    ----------
    id : str
        ``<paper>.<result>.<aspect>[.printed|.corrected]``.
    paper : str
        The seed file name the statement comes from.
    source : str
        Theorem / equation / line in the paper.
    statement : str
        The statement, plain text or LaTeX.
    form : {"printed", "corrected", "derived"}
    method : str
        How the check decides it (routes, sizes, tolerances).
    expected : {"holds", "fails"}
        The verdict the project has established; a different verdict is a regression.
    check : callable
        ``check(ctx: Context) -> Evidence``.
    """

    id: str
    paper: str
    source: str
    statement: str
    form: str
    method: str
    expected: str
    check: Callable[["Context"], "Evidence"] = field(repr=False, compare=False)

    @property
    def group(self) -> str:
        """The paper group of the id (``svm``, ``lora_margin``, ..., ``proofs``)."""
        return self.id.split(".", 1)[0]

    def describe(self) -> dict:
        return {k: getattr(self, k) for k in
                ("id", "paper", "source", "statement", "form", "method", "expected")}


@dataclass
class Evidence:
    """What a check returns.

    Attributes
    ----------
    instances : int
        How many instances were tried.
    max_error : float or None
        The largest error over the instances, in the units of ``tolerance``.
    tolerance : float or None
        The tolerance of the route that decides the claim.
    counterexample : dict or None
        The smallest failing instance, as plain JSON that replays it.
    details : dict
        Free-form, JSON-serialisable measurements.
    inconclusive : str or None
        Why the independent route could not be trusted.
    skipped : str or None
        Which dependency or device is missing.
    instance_data : list
        Set by :func:`sweep`: what ``evaluate`` returned beside the error, one entry
        per trusted instance in config order (``None`` where it returned the error
        alone).  Not part of the record; the check turns it into details.
    """

    instances: int = 0
    max_error: float | None = None
    tolerance: float | None = None
    counterexample: Any = None
    details: dict = field(default_factory=dict)
    inconclusive: str | None = None
    skipped: str | None = None
    instance_data: list = field(default_factory=list, repr=False, compare=False)

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        if self.counterexample is not None:
            return "fails"
        if self.max_error is not None and self.tolerance is not None and not (
                self.max_error <= self.tolerance):
            return "fails"
        if self.inconclusive:
            return "inconclusive"
        if self.instances <= 0:
            return "inconclusive"
        return "holds"


@dataclass(frozen=True)
class Context:
    """What a check is told about the run.

    Attributes
    ----------
    profile : {"quick", "full"}
    seed : int
        The claim's own seed (derived from the run seed and the claim id).
    device : {"cpu", "cuda"}
    """

    profile: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def rng(self, *keys: int) -> np.random.Generator:
        """A generator seeded by the claim seed and ``keys`` (e.g. an instance index)."""
        return np.random.default_rng([self.seed, *[int(k) for k in keys]])

    def pick(self, quick, full):
        """``quick`` under the quick profile, ``full`` otherwise."""
        return quick if self.profile == "quick" else full

    @property
    def full(self) -> bool:
        return self.profile == "full"


_REGISTRY: dict[str, Claim] = {}


def claim(*, id: str, paper: str, source: str, statement: str, form: str,
          method: str, expected: str) -> Callable:
    """Register the decorated function as the check of a claim (see module docstring)."""
    if not _ID_RE.match(id):
        raise ValueError(f"claim id {id!r} is not of the form <paper>.<result>.<aspect>")
    if id.split(".", 1)[0] not in PAPERS:
        raise ValueError(f"claim id {id!r} must start with one of {PAPERS}")
    if form not in FORMS:
        raise ValueError(f"claim {id}: form must be one of {FORMS}, got {form!r}")
    if expected not in ("holds", "fails"):
        raise ValueError(f"claim {id}: expected must be 'holds' or 'fails', got {expected!r}")

    def decorate(fn: Callable[[Context], Evidence]) -> Callable[[Context], Evidence]:
        if id in _REGISTRY and _REGISTRY[id].check.__qualname__ != fn.__qualname__:
            raise ValueError(f"claim id {id!r} registered twice")
        _REGISTRY[id] = Claim(id=id, paper=paper, source=source, statement=statement,
                              form=form, method=method, expected=expected, check=fn)
        return fn

    return decorate


def registry() -> dict[str, Claim]:
    """All registered claims, after discovery, by id (sorted)."""
    load_claims()
    return dict(sorted(_REGISTRY.items()))


_LOADED = False


def load_claims() -> None:
    """Import every ``lintheory.<paper>.claims`` module and every ``proofs_check`` module."""
    global _LOADED
    if _LOADED:
        return
    import lintheory

    for mod in pkgutil.iter_modules(lintheory.__path__):
        if mod.ispkg and importlib.util.find_spec(f"lintheory.{mod.name}.claims") is not None:
            importlib.import_module(f"lintheory.{mod.name}.claims")
    try:
        import proofs_check
    except ImportError:  # pragma: no cover - installed together
        proofs_check = None
    if proofs_check is not None:
        for mod in pkgutil.iter_modules(proofs_check.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"proofs_check.{mod.name}")
    _LOADED = True


def select_claims(papers: Sequence[str] | None = None,
                  ids: Sequence[str] | None = None) -> list[Claim]:
    """Claims filtered by paper group and/or id.

    An id may be exact or a prefix ending at a dot boundary (``svm.etf`` selects
    ``svm.etf.gram``, ...).  Unknown papers or ids raise :class:`InputError` listing
    close matches.
    """
    reg = registry()
    out = list(reg.values())
    if papers:
        for p in papers:
            if p not in PAPERS:
                close = difflib.get_close_matches(p, PAPERS, n=3)
                raise InputError(f"unknown paper {p!r}; known: {', '.join(PAPERS)}"
                                 + (f" (did you mean {', '.join(close)}?)" if close else ""))
        out = [c for c in out if c.group in papers]
    if ids:
        chosen: dict[str, Claim] = {}
        for i in ids:
            hits = [c for c in out if c.id == i or c.id.startswith(i + ".")]
            if not hits:
                close = difflib.get_close_matches(i, list(reg), n=5, cutoff=0.5)
                raise InputError(f"unknown claim id {i!r}"
                                 + (f"; close matches: {', '.join(close)}" if close else ""))
            chosen.update((c.id, c) for c in hits)
        out = sorted(chosen.values(), key=lambda c: c.id)
    return out


def claim_seed(run_seed: int, claim_id: str) -> int:
    """The claim's own seed: stable across processes, orders and Python versions."""
    return (int(run_seed) * 1_000_003 + zlib.crc32(claim_id.encode())) % (2**32)


def run_claim(c: Claim | str, profile: str = "quick", seed: int = 0,
              device: str = "cpu") -> dict:
    """Run one claim's check and return its JSON-ready record (the report contract)."""
    if isinstance(c, str):
        c = registry()[c]
    if profile not in PROFILES:
        raise InputError(f"profile must be one of {PROFILES}, got {profile!r}")
    cseed = claim_seed(seed, c.id)
    ctx = Context(profile=profile, seed=cseed, device=device)
    t0 = time.perf_counter()
    token = _SWEEP_STATE.set({"next": 0, "replay": None, "replay_sweep": None})
    try:
        ev = c.check(ctx)
        if not isinstance(ev, Evidence):
            raise TypeError(f"check of {c.id} returned {type(ev).__name__}, not Evidence")
    except (Inconclusive, SolverError, NotConvergedError) as exc:
        ev = Evidence(inconclusive=f"{type(exc).__name__}: {exc}")
    except ExecutorError:  # a lost worker says nothing about the claim: stop the run
        raise
    except Exception as exc:  # a crashing check is reported, never hidden
        ev = Evidence(inconclusive=f"check crashed: {type(exc).__name__}: {exc}",
                      details={"traceback": traceback.format_exc(limit=8)})
    finally:
        _SWEEP_STATE.reset(token)
    seconds = time.perf_counter() - t0
    details = dict(ev.details)
    if ev.inconclusive:
        details.setdefault("inconclusive_reason", ev.inconclusive)
    if ev.skipped:
        details.setdefault("skipped_reason", ev.skipped)
    rec = c.describe()
    rec.update(
        verdict=ev.verdict,
        instances=int(ev.instances),
        max_error=ev.max_error,
        tolerance=ev.tolerance,
        counterexample=ev.counterexample,
        seconds=round(seconds, 4),
        seed=cseed,
        details=details,
    )
    return jsonable(rec)


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if obj is None or isinstance(obj, (str, int)):
        return obj
    return str(obj)


def _default_size(config: dict) -> tuple:
    return (sum(abs(int(v)) for v in config.values()
                if isinstance(v, (int, np.integer)) and not isinstance(v, bool)),)


def sweep(configs: Iterable[dict], evaluate: Callable[[dict], float], tolerance: float, *,
          size: Callable[[dict], Any] | None = None,
          recheck: Callable[[dict], float] | None = None,
          details: dict | None = None) -> Evidence:
    """Decide a claim over many instances.

    Parameters
    ----------
    configs : iterable of dict
        Plain-JSON instance descriptions, each holding its own seed, so that any one
        of them can be replayed by calling ``evaluate(config)``.
    evaluate : callable
        ``evaluate(config) -> error`` or ``-> (error, data)``; the error is compared
        with ``tolerance``, ``data`` (anything picklable) is collected in
        ``Evidence.instance_data``.  It raises :class:`Inconclusive` (or
        :class:`~lintheory.errors.SolverError`) when its independent route cannot be
        trusted on that instance.  It must be a pure function of its config: with
        ``--jobs`` or Dask it runs in other processes, where side effects (appending to
        a list of the check) are lost — return such measurements as ``data`` instead.
    tolerance : float
        The route's tolerance.
    size : callable, optional
        Orders failing instances; the smallest is reported.  Default: the sum of the
        integer fields of the config (except seeds).
    recheck : callable, optional
        Re-evaluates a failing instance with a tighter solver; the instance counts as
        a counterexample only if the re-check also exceeds ``tolerance``.
    details : dict, optional
        Extra details to attach.

    Returns
    -------
    Evidence
    """
    size = size or (lambda cfg: _default_size({k: v for k, v in cfg.items() if k != "seed"}))
    state = _SWEEP_STATE.get()
    index = 0
    if state is not None:
        index = state["next"]
        state["next"] += 1
        if state["replay"] is not None and state["replay_sweep"] == index:
            raise _Replayed(_replay_one(state["replay"], evaluate, tolerance, index))
    instance_map = _INSTANCE_MAP.get()
    if instance_map is None:  # in this process, one instance after the other
        outcomes: Iterable = ((cfg, evaluate_instance(evaluate, cfg)) for cfg in configs)
    else:  # the executor spreads the instances over its workers, results in config order
        cfgs = list(configs)
        outcomes = zip(cfgs, instance_map(evaluate, cfgs))
    n = 0
    max_err = 0.0
    failing: list[tuple[Any, dict, float]] = []
    untrusted: list[str] = []
    instance_data = []
    for cfg, (trusted, value, data) in outcomes:
        n += 1
        if not trusted:
            untrusted.append(value)
            continue
        err = value
        instance_data.append(data)
        max_err = max(max_err, err)
        if err > tolerance:
            failing.append((size(cfg), cfg, err))
    det = dict(details or {})
    det["untrusted_instances"] = len(untrusted)
    if untrusted:
        det["untrusted_examples"] = untrusted[:3]
    counterexample = None
    if failing:
        failing.sort(key=lambda t: t[0])
        for _, cfg, err in failing:
            if recheck is not None:
                err2 = float(recheck(cfg))
                if not err2 > tolerance:
                    continue
                det["recheck_error"] = err2
            counterexample = dict(cfg, error=err)
            det["counterexample_sweep"] = index
            break
        det["failing_instances"] = len(failing)
    ev = Evidence(instances=n, max_error=max_err if n > len(untrusted) else None,
                  tolerance=tolerance, counterexample=counterexample, details=det,
                  instance_data=instance_data)
    if counterexample is None and failing:
        # Every failure disappeared under the tighter re-check: the fast route was
        # not trustworthy, so no verdict either way.
        ev.max_error = None
        ev.inconclusive = "failures did not survive the tighter re-check"
    elif counterexample is None and untrusted:
        ev.inconclusive = f"{len(untrusted)} of {n} instances had an untrusted route"
    return ev


def evaluate_instance(evaluate: Callable[[dict], Any], config: dict) -> tuple[bool, Any, Any]:
    """Evaluate one instance of a sweep.

    The one place where an instance's outcome is decided, wherever it runs (this process,
    a worker process, a Dask worker), so that a sweep's evidence does not depend on the
    back end.  Exceptions other than an untrusted route (a crashing check) propagate.

    Returns
    -------
    tuple
        ``(True, error, data)`` or ``(False, why untrusted, None)``; ``data`` is the
        second item when ``evaluate`` returned ``(error, data)``, else ``None``.
    """
    try:
        out = evaluate(config)
        out, data = out if isinstance(out, tuple) else (out, None)
        err = float(out)
    except (Inconclusive, SolverError, NotConvergedError) as exc:
        return False, f"{json.dumps(jsonable(config))}: {exc}", None
    if not math.isfinite(err):
        return False, f"{json.dumps(jsonable(config))}: non-finite error {err}", None
    return True, err, data


def evaluate_instances(evaluate: Callable[[dict], float], configs: Sequence[dict]) -> list:
    """:func:`evaluate_instance` over a batch of configs, in order (one unit of work)."""
    return [evaluate_instance(evaluate, cfg) for cfg in configs]


def calls_sweep(fn: Callable) -> bool:
    """Whether ``fn`` (a check) decides its claim with :func:`sweep`.

    Follows the names the function's code (and its nested functions') looks up, the
    functions it closes over, and the functions of lintheory / proofs_check it calls.
    The executor runs the body of such a claim in the coordinating process and spreads
    its sweeps' instances over the workers; other claims go to a worker whole.  A wrong
    answer costs speed only, never a different record.
    """
    return _calls_sweep(fn, set())


def _calls_sweep(fn: Any, seen: set) -> bool:
    code = getattr(fn, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    glb = getattr(fn, "__globals__", {})
    stack = [code]
    called = []
    while stack:
        co = stack.pop()
        for name in co.co_names:
            obj = glb.get(name)
            if obj is sweep:
                return True
            if callable(obj) and getattr(obj, "__module__", "").split(".")[0] in _OWN_PACKAGES:
                called.append(obj)
        stack.extend(c for c in co.co_consts if hasattr(c, "co_names"))
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            called.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return any(_calls_sweep(f, seen) for f in called)


_OWN_PACKAGES = ("lintheory", "proofs_check")


# ------------------------------------------------------------------------ replay

_SWEEP_STATE: ContextVar[dict | None] = ContextVar("lintheory_sweep_state", default=None)
#: Set by the executor while it runs a claim's body in the coordinating process:
#: ``instance_map(evaluate, configs) -> [evaluate_instance(evaluate, c) for c in configs]``
#: computed on the workers.  Unset: :func:`sweep` evaluates its instances here.
_INSTANCE_MAP: ContextVar[Callable | None] = ContextVar("lintheory_instance_map", default=None)


class _Replayed(Exception):
    def __init__(self, result: dict):
        self.result = result


def _replay_one(config: dict, evaluate, tolerance: float, index: int) -> dict:
    cfg = {k: v for k, v in config.items() if k != "error"}
    trusted, value, _ = evaluate_instance(evaluate, cfg)
    if trusted:
        err, status = value, ("holds" if value <= tolerance else "fails")
    else:
        err, status = None, f"inconclusive: {value}"
    return {"config": cfg, "error": err, "tolerance": tolerance, "verdict": status, "sweep": index}


def replay(claim_id: str, config: dict, *, sweep_index: int | None = None, profile: str = "quick",
           seed: int = 0, device: str = "cpu") -> dict:
    """Re-evaluate one instance (e.g. a stored counterexample) of a claim.

    The claim's check is run until it reaches its ``sweep_index``-th call of :func:`sweep`
    (0-based; counterexamples record it as ``details["counterexample_sweep"]``), which
    then evaluates only ``config`` and returns.  The config rebuilds the instance from
    its own seed, so the run seed does not matter for the instance itself.

    Returns
    -------
    dict
        ``{"claim", "config", "error", "tolerance", "verdict", "sweep"}``.

    Raises
    ------
    InputError
        The claim does not decide its statement with :func:`sweep` (nothing to replay).
    """
    c = registry()[claim_id] if claim_id in registry() else select_claims(ids=[claim_id])[0]
    token = _SWEEP_STATE.set({"next": 0, "replay": dict(config), "replay_sweep": int(sweep_index or 0)})
    try:
        c.check(Context(profile=profile, seed=claim_seed(seed, c.id), device=device))
    except _Replayed as done:
        return {"claim": c.id, **jsonable(done.result)}
    finally:
        _SWEEP_STATE.reset(token)
    raise InputError(f"claim {c.id} has no sweep number {sweep_index or 0} to replay an instance with")
