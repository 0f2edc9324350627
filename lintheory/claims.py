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

Claims are grouped in *suites*: a suite is any module whose import registers claims
whose ids start with the suite's name.  Suites are discovered through the entry-point
group ``lintheory.suites`` (name -> module); the five built-in papers and
:mod:`proofs_check` register there like any user's suite, and ``--suite PATH_OR_MODULE``
loads one for a single run (see :mod:`lintheory.suites`).  A suite is imported only
when one of its claims is selected.  Data that describes a paper (verbatim quotes, seed
lines, stated hypotheses, readings, errata, the index of its results) lives beside the
suite's code in a TOML file (``paper.toml`` beside a ``claims.py``, or ``<module>.toml``
beside any other module) and is merged into each claim at registration.  Every claim gets its own seed,
derived from the run's seed and the claim id, so a claim's record does not depend on
which other claims ran, in which order, or in which process.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import importlib.util
import inspect
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
from ._interrupts import solver_interrupts_raise

__all__ = [
    "PAPERS",
    "VERDICTS",
    "ERRATUM_KINDS",
    "Claim",
    "Evidence",
    "Context",
    "Inconclusive",
    "OutsideHypotheses",
    "ContractError",
    "claim",
    "registry",
    "load_claims",
    "select_claims",
    "claim_seed",
    "run_claim",
    "sweep",
    "by_reading",
    "evaluate_instance",
    "evaluate_instances",
    "calls_sweep",
    "uses_torch",
    "replay",
    "jsonable",
]

#: the built-in suites (the five papers' suites and the derivation steps); any suite
#: registered under the entry-point group ``lintheory.suites`` is known as well
PAPERS = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto", "proofs")
VERDICTS = ("holds", "fails", "inconclusive", "skipped")
FORMS = ("printed", "corrected", "derived")
PROFILES = ("quick", "full")
#: what an erratum can say of a printed statement
ERRATUM_KINDS = ("typo", "wrong constant", "false under its stated hypotheses",
                 "missing hypothesis", "holds only in a narrower regime")
#: shortest verbatim quote a printed claim may carry
MIN_QUOTE = 20

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")


class Inconclusive(LintheoryError):
    """Raised inside a check when its independent route cannot be trusted."""


class OutsideHypotheses(LintheoryError):
    """Raised by ``evaluate`` when an instance violates the statement's stated hypotheses.

    Such an instance never counts for or against the claim: :func:`sweep` counts it in
    ``details["outside_hypotheses"]``, and a sweep whose every instance is outside is
    ``inconclusive`` ("no instance inside the stated hypotheses").
    """


class ContractError(LintheoryError):
    """A check returned evidence the runner must refuse (e.g. ``fails`` without a counterexample)."""


class _MissingConfigKey(ContractError, KeyError):
    """An instance config lacks a key a hypothesis reads (a KeyError too, like evaluate's)."""

    def __init__(self, key: str, message: str):
        super().__init__(key)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Hypothesis:
    """One condition a paper states for a statement.

    Attributes
    ----------
    text : str
        The condition in the paper's words (e.g. ``"K̄ = K (L304–305)"``).
    check : str or None
        A Python expression over an instance's config (its keys are names; ``math``,
        ``np``, ``abs``, ``min``, ``max`` are available) that is true inside the
        hypothesis; :func:`sweep` evaluates it for every instance.  ``None`` when the
        condition is enforced by the data generator or inside ``evaluate`` (which then
        raises :class:`OutsideHypotheses`).
    """

    text: str
    check: str | None = None

    def holds_for(self, config: dict) -> bool:
        if self.check is None:
            return True
        env = {"math": math, "np": np, "abs": abs, "min": min, "max": max, "len": len}
        try:
            return bool(eval(self.check, env, dict(config)))  # noqa: S307 - project data
        except NameError as exc:  # the config lacks a key the hypothesis reads
            raise _MissingConfigKey(exc.name, f"hypothesis {self.text!r}: check {self.check!r} cannot be "
                                    f"evaluated on config {sorted(config)}: it lacks {exc.name!r}") from None
        except Exception as exc:
            raise ContractError(f"hypothesis {self.text!r}: check {self.check!r} cannot be "
                                f"evaluated on config {sorted(config)}: {exc}") from None


@dataclass(frozen=True)
class Claim:
    """One statement and the check that decides it.

    Attributes
    ----------
    id : str
        ``<suite>.<result>.<aspect>[.printed|.corrected]``; the first part is the suite.
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
    quote : str or None
        Printed claims: the verbatim, contiguous text of the seed being checked.
    lines : tuple of int or None
        ``(first, last)`` line numbers of the quote in the seed file.
    hypotheses : tuple of Hypothesis
        The conditions the paper states for this statement, enforced per instance.
    readings : tuple of str
        The plausible readings of the text that the check decides one by one (see
        :func:`by_reading`).
    erratum : str or None
        The erratum a failing printed claim documents (see :mod:`lintheory.errata`).
    error : str
        What ``max_error`` measures (``"relative error"``, ``"z-score"``, ...).
    alternative : str or None
        Corrected and derived claims: the nearest plausible wrong formula the check
        must reject (its measured gap is the record's ``discrimination``).
    suite : str
        The suite that registered the claim.
    """

    id: str
    paper: str
    source: str
    statement: str
    form: str
    method: str
    expected: str
    check: Callable[["Context"], "Evidence"] = field(repr=False, compare=False)
    quote: str | None = None
    lines: tuple | None = None
    hypotheses: tuple = ()
    readings: tuple = ()
    erratum: str | None = None
    error: str = "error"
    alternative: str | None = None
    suite: str = ""

    @property
    def group(self) -> str:
        """The suite of the id (``svm``, ``lora_margin``, ..., ``proofs``, or a user's)."""
        return self.id.split(".", 1)[0]

    def describe(self) -> dict:
        out = {k: getattr(self, k) for k in
               ("id", "paper", "source", "statement", "form", "method", "expected",
                "quote", "erratum", "error", "alternative")}
        out["lines"] = list(self.lines) if self.lines else None
        out["hypotheses"] = [h.text for h in self.hypotheses]
        out["readings_checked"] = list(self.readings)
        return out


@dataclass
class Evidence:
    """What a check returns.

    Attributes
    ----------
    instances : int
        How many instances were tried (inside the stated hypotheses).
    max_error : float or None
        The largest error over the instances, in the units of ``tolerance`` (its kind
        is the claim's ``error``).
    tolerance : float or None
        The tolerance of the route that decides the claim.
    counterexample : dict or None
        The smallest failing instance, as plain JSON that replays it.  Required for
        ``fails``: the runner refuses a failing verdict without one.
    details : dict
        Free-form, JSON-serialisable measurements.
    inconclusive : str or None
        Why the independent route could not be trusted.
    skipped : str or None
        Which dependency or device is missing.
    certificate : dict or None
        Failing printed claims: ``{method: exact | interval | float,
        violation_lower_bound, note}`` for the counterexample (see
        :mod:`lintheory.certify`).
    discrimination : dict or None
        Claims that hold: ``{alternative, gap, tolerance, rejected}`` -- the largest
        error the nearest wrong formula makes on the same instances.
    readings : dict or None
        Set by :func:`by_reading`: each reading's verdict and numbers.
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
    certificate: dict | None = None
    discrimination: dict | None = None
    readings: dict | None = None
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
#: the claim whose check is running (sweep reads its hypotheses)
_CURRENT: ContextVar[Claim | None] = ContextVar("lintheory_current_claim", default=None)
#: set by lintheory.suites while it imports a suite: (name, spec)
_LOADING: ContextVar[tuple | None] = ContextVar("lintheory_loading_suite", default=None)
#: whether a printed claim without a quote is refused at registration (the built-in
#: suites all carry quotes; tests may switch it off to register toy printed claims)
REQUIRE_QUOTES = True


def _paper_data_for(fn: Callable) -> dict:
    """The TOML data beside the module that defines ``fn`` (``{}`` when there is none)."""
    from .paperdata import data_for_module

    return data_for_module(getattr(fn, "__module__", None))


def _as_hypotheses(items) -> tuple:
    out = []
    for h in items or ():
        if isinstance(h, Hypothesis):
            out.append(h)
        elif isinstance(h, str):
            out.append(Hypothesis(h))
        elif isinstance(h, dict):
            out.append(Hypothesis(str(h["text"]), h.get("check")))
        else:
            raise ValueError(f"a hypothesis must be a str, dict or Hypothesis, got {h!r}")
    return tuple(out)


def claim(*, id: str, paper: str, source: str, statement: str, form: str,
          method: str, expected: str, quote: str | None = None, lines: Sequence[int] | None = None,
          hypotheses: Sequence | None = None, readings: Sequence[str] | None = None,
          erratum: str | None = None, error: str | None = None,
          alternative: str | None = None) -> Callable:
    """Register the decorated function as the check of a claim (see module docstring).

    ``quote``, ``lines``, ``hypotheses``, ``readings``, ``erratum``, ``error`` and
    ``alternative`` may be given here or in the suite's paper data (``paper.toml``,
    table ``[claims."<id>"]``); arguments given here win.  A ``printed`` claim must
    carry a verbatim quote of at least ``MIN_QUOTE`` characters and its seed lines.
    """
    if not _ID_RE.match(id):
        raise ValueError(f"claim id {id!r} is not of the form <suite>.<result>.<aspect>")
    suite = id.split(".", 1)[0]
    if form not in FORMS:
        raise ValueError(f"claim {id}: form must be one of {FORMS}, got {form!r}")
    if expected not in ("holds", "fails"):
        raise ValueError(f"claim {id}: expected must be 'holds' or 'fails', got {expected!r}")

    def decorate(fn: Callable[[Context], Evidence]) -> Callable[[Context], Evidence]:
        data = _paper_data_for(fn).get("claims", {}).get(id, {})
        q = quote if quote is not None else data.get("quote")
        ln = lines if lines is not None else data.get("lines")
        hyp = _as_hypotheses(hypotheses if hypotheses is not None else data.get("hypotheses"))
        rd = tuple(readings if readings is not None else data.get("readings", ()))
        er = erratum if erratum is not None else data.get("erratum")
        ek = error if error is not None else data.get("error", "error")
        alt = alternative if alternative is not None else data.get("alternative")
        if q is not None:
            q = " ".join(str(q).split())
        if form == "printed" and REQUIRE_QUOTES:
            if not q or len(q) < MIN_QUOTE:
                raise ContractError(f"printed claim {id!r} has no verbatim quote of >= {MIN_QUOTE} "
                                    "characters (give quote= or [claims.\"<id>\"] quote in paper.toml)")
            if not ln or len(ln) != 2 or not int(ln[0]) <= int(ln[1]):
                raise ContractError(f"printed claim {id!r} needs lines = [first, last] in its seed")
        if er is not None and form != "printed":
            raise ContractError(f"claim {id!r}: only printed claims name an erratum")
        existing = _REGISTRY.get(id)
        if existing is not None and existing.check.__qualname__ != fn.__qualname__:
            raise ContractError(f"claim id {id!r} registered twice")
        if existing is not None and getattr(existing.check, "__module__", None) != getattr(
                fn, "__module__", None):
            raise ContractError(f"claim id {id!r} registered twice (by "
                                f"{existing.check.__module__} and {fn.__module__})")
        _REGISTRY[id] = Claim(id=id, paper=paper, source=source, statement=statement,
                              form=form, method=method, expected=expected, check=fn,
                              quote=q, lines=tuple(int(x) for x in ln) if ln else None,
                              hypotheses=hyp, readings=rd, erratum=er, error=str(ek),
                              alternative=alt, suite=suite)
        return fn

    return decorate


def registry(suites: Sequence[str] | None = None) -> dict[str, Claim]:
    """Registered claims by id (sorted), after loading ``suites`` (default: every known suite)."""
    load_claims(suites)
    return dict(sorted(_REGISTRY.items()))


def load_claims(suites: Sequence[str] | None = None) -> None:
    """Import the named suites (default: every suite of the entry-point group).

    See :func:`lintheory.suites.load_suite`; an extra suite given with ``--suite`` is
    loaded by the CLI before this is called.
    """
    from .suites import known_suites, load_suite

    for name in (known_suites() if suites is None else suites):
        load_suite(name)


def select_claims(papers: Sequence[str] | None = None,
                  ids: Sequence[str] | None = None) -> list[Claim]:
    """Claims filtered by suite and/or id, loading only the suites needed.

    An id may be exact or a prefix ending at a dot boundary (``svm.etf`` selects
    ``svm.etf.gram``, ...).  Unknown suites or ids raise :class:`InputError` listing
    close matches.
    """
    from .suites import check_suite_names, loaded_suites

    if papers:
        check_suite_names(papers)
    wanted = set(papers or ())
    if ids:
        wanted |= {i.split(".", 1)[0] for i in ids}
    extra = loaded_suites()  # suites loaded with --suite join every selection
    if papers or ids:
        reg = registry(sorted(wanted))
    else:
        reg = registry()
    out = list(reg.values())
    if papers:
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
    del extra
    return out

def belongs_to(c: Claim, suites: Sequence[str] | None) -> bool:
    """Whether ``c`` is a claim of ``suites`` -- a paper's derivation steps (``proofs.<paper>.*``) included."""
    if suites is None:
        return True
    return c.group in suites or (c.group == "proofs" and c.id.split(".")[1] in suites)


def with_proofs(suites: Sequence[str] | None) -> list[str] | None:
    """``suites`` plus ``proofs`` (whose steps belong to the papers), for loading."""
    return None if suites is None else sorted(set(suites) | {"proofs"})


def claim_seed(run_seed: int, claim_id: str) -> int:
    """The claim's own seed: stable across processes, orders and Python versions."""
    return (int(run_seed) * 1_000_003 + zlib.crc32(claim_id.encode())) % (2**32)


def run_claim(c: Claim | str, profile: str = "quick", seed: int = 0,
              device: str = "cpu") -> dict:
    """Run one claim's check and return its JSON-ready record (the report contract).

    The runner enforces the verdict contract: evidence that says ``fails`` without a
    counterexample is refused (recorded ``inconclusive``, with the reason), since a
    refutation that cannot be replayed decides nothing.
    """
    if isinstance(c, str):
        c = registry([c.split(".", 1)[0]])[c] if c.split(".", 1)[0] in _known() else registry()[c]
    if profile not in PROFILES:
        raise InputError(f"profile must be one of {PROFILES}, got {profile!r}")
    cseed = claim_seed(seed, c.id)
    ctx = Context(profile=profile, seed=cseed, device=device)
    t0 = time.perf_counter()
    token = _SWEEP_STATE.set({"next": 0, "replay": None, "replay_sweep": None})
    ctoken = _CURRENT.set(c)
    try:
        with solver_interrupts_raise():  # a user's suite solving with SCS: Ctrl-C stays Ctrl-C
            ev = c.check(ctx)
        if not isinstance(ev, Evidence):
            raise TypeError(f"check of {c.id} returned {type(ev).__name__}, not Evidence")
        if ev.verdict == "fails" and ev.counterexample is None:
            raise ContractError(
                f"the check says 'fails' (max error {ev.max_error!r} > tolerance {ev.tolerance!r}) "
                "but gives no counterexample; a refutation must come with a replayable instance")
    except (Inconclusive, SolverError, NotConvergedError) as exc:
        ev = Evidence(inconclusive=f"{type(exc).__name__}: {exc}")
    except ContractError as exc:
        ev = Evidence(inconclusive=f"refused by the runner: {exc}")
    except ExecutorError:  # a lost worker says nothing about the claim: stop the run
        raise
    except Exception as exc:  # a crashing check is reported, never hidden
        ev = Evidence(inconclusive=f"check crashed: {type(exc).__name__}: {exc}",
                      details={"traceback": traceback.format_exc(limit=8)})
    finally:
        _CURRENT.reset(ctoken)
        _SWEEP_STATE.reset(token)
    seconds = time.perf_counter() - t0
    details = dict(ev.details)
    if ev.inconclusive:
        details.setdefault("inconclusive_reason", ev.inconclusive)
    if ev.skipped:
        details.setdefault("skipped_reason", ev.skipped)
    rec = c.describe()
    verdict = ev.verdict
    rec.update(
        verdict=verdict,
        instances=int(ev.instances),
        max_error=ev.max_error,
        tolerance=ev.tolerance,
        counterexample=ev.counterexample,
        seconds=round(seconds, 4),
        seed=cseed,
        details=details,
        readings=ev.readings,
        certificate=ev.certificate if verdict == "fails" else None,
        discrimination=ev.discrimination if verdict == "holds" else None,
    )
    if verdict != "fails":
        rec["erratum"] = None  # an erratum is documented by a failing printed claim only
    return jsonable(rec)


def _known() -> tuple:
    from .suites import known_suites

    return tuple(known_suites())


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
          details: dict | None = None,
          certify: Callable[[dict], dict] | None = None,
          alternative: tuple[str, Callable[[dict], float]] | None = None,
          hypotheses: Sequence | None = None) -> Evidence:
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
        trusted on that instance, and :class:`OutsideHypotheses` when the instance
        violates a stated hypothesis that only the data can show.  It must be a pure
        function of its config: with ``--jobs`` or Dask it runs in other processes,
        where side effects (appending to a list of the check) are lost -- return such
        measurements as ``data`` instead.
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
    certify : callable, optional
        ``certify(counterexample_config) -> dict``: re-evaluates the counterexample
        without floating-point doubt (see :mod:`lintheory.certify`); its result is the
        evidence's ``certificate``.  An uncertifiable counterexample (the certificate
        does not confirm a violation) is refused: the claim is inconclusive.
    alternative : (str, callable), optional
        ``(name, evaluate_wrong)``: the nearest plausible wrong formula, evaluated on
        the same instances against the same reference.  Its largest error is recorded
        as ``discrimination``; if it never exceeds ``tolerance`` the check cannot tell
        the right formula from the wrong one and the claim is inconclusive.
    hypotheses : sequence of Hypothesis, optional
        Conditions every counted instance must satisfy; default the running claim's
        stated hypotheses.  Instances outside them are counted in
        ``details["outside_hypotheses"]`` and never decide anything; ``()`` disables
        the filter for an auxiliary sweep.

    Returns
    -------
    Evidence
    """
    size = size or (lambda cfg: _default_size({k: v for k, v in cfg.items() if k != "seed"}))
    if hypotheses is None:
        current = _CURRENT.get()
        hypotheses = current.hypotheses if current is not None else ()
    hypotheses = _as_hypotheses(hypotheses)
    if alternative is not None:
        alt_name, alt_eval = alternative
        evaluate = functools.partial(_with_alternative, evaluate, alt_eval)
    state = _SWEEP_STATE.get()
    index = 0
    if state is not None:
        index = state["next"]
        state["next"] += 1
        if state["replay"] is not None and state["replay_sweep"] == index:
            raise _Replayed(_replay_one(state["replay"], evaluate, tolerance, index, hypotheses))
    outside: list[str] = []
    inside: list[dict] = []
    for cfg in configs:
        bad = [h.text for h in hypotheses if not h.holds_for(cfg)]
        if bad:
            outside.append(f"{json.dumps(jsonable(cfg))}: outside {bad[0]!r}")
        else:
            inside.append(cfg)
    instance_map = _INSTANCE_MAP.get()
    if instance_map is None:  # in this process, one instance after the other
        outcomes: Iterable = ((cfg, evaluate_instance(evaluate, cfg)) for cfg in inside)
    else:  # the executor spreads the instances over its workers, results in config order
        outcomes = zip(inside, instance_map(evaluate, inside))
    n = 0
    max_err = 0.0
    failing: list[tuple[Any, dict, float]] = []
    untrusted: list[str] = []
    instance_data = []
    alt_errors: list[float] = []
    for cfg, (trusted, value, data) in outcomes:
        if trusted == "outside":
            outside.append(value)
            continue
        n += 1
        if not trusted:
            untrusted.append(value)
            continue
        err = value
        if alternative is not None:
            data, alt_err = data
            if alt_err is not None:
                alt_errors.append(alt_err)
        instance_data.append(data)
        max_err = max(max_err, err)
        if err > tolerance:
            failing.append((size(cfg), cfg, err))
    det = dict(details or {})
    det["untrusted_instances"] = len(untrusted)
    if untrusted:
        det["untrusted_examples"] = untrusted[:3]
    if hypotheses:
        det["outside_hypotheses"] = len(outside)
        if outside:
            det["outside_examples"] = outside[:3]
    counterexample = None
    certificate = None
    refused_certificate = None
    if failing:
        failing.sort(key=lambda t: t[0])
        for _, cfg, err in failing:
            if recheck is not None:
                err2 = float(recheck(cfg))
                if not err2 > tolerance:
                    continue
                det["recheck_error"] = err2
            if certify is not None:
                cert = _checked_certificate(certify(cfg))
                if not cert["violation_lower_bound"] > 0:
                    refused_certificate = cert
                    continue
                certificate = cert
            counterexample = dict(cfg, error=err)
            det["counterexample_sweep"] = index
            break
        det["failing_instances"] = len(failing)
    discrimination = None
    if alternative is not None:
        gap = max(alt_errors) if alt_errors else None
        discrimination = {"alternative": alt_name, "gap": gap, "tolerance": tolerance,
                          "rejected": gap is not None and gap > tolerance}
    ev = Evidence(instances=n, max_error=max_err if n > len(untrusted) else None,
                  tolerance=tolerance, counterexample=counterexample, details=det,
                  instance_data=instance_data, certificate=certificate,
                  discrimination=discrimination)
    if counterexample is None and failing:
        # Every failure disappeared under the tighter re-check (or its exact
        # re-evaluation): the fast route was not trustworthy, so no verdict either way.
        ev.max_error = None
        ev.inconclusive = ("failures did not survive the tighter re-check" if refused_certificate is None
                           else f"no failure survived its certificate: {refused_certificate}")
    elif counterexample is None and untrusted:
        ev.inconclusive = f"{len(untrusted)} of {n} instances had an untrusted route"
    elif n == 0 and outside:
        ev.max_error = None
        ev.inconclusive = f"no instance inside the stated hypotheses ({len(outside)} drawn, all outside)"
    elif counterexample is None and discrimination is not None and not discrimination["rejected"]:
        ev.inconclusive = (f"the check cannot reject the alternative {alt_name!r}: its largest error "
                           f"{discrimination['gap']!r} is within the tolerance {tolerance!r}")
    return ev


def _with_alternative(evaluate, alt_evaluate, config):
    """``evaluate`` plus the wrong formula's error on the same instance (module level: picklable)."""
    out = evaluate(config)
    out, data = out if isinstance(out, tuple) else (out, None)
    try:
        alt = alt_evaluate(config)
        alt = float(alt[0] if isinstance(alt, tuple) else alt)
        alt = alt if math.isfinite(alt) else None
    except (Inconclusive, SolverError, NotConvergedError, OutsideHypotheses):
        alt = None
    return out, (data, alt)


def _checked_certificate(cert: dict) -> dict:
    if not isinstance(cert, dict) or "method" not in cert or "violation_lower_bound" not in cert:
        raise ContractError(f"a certificate is a dict with method and violation_lower_bound, got {cert!r}")
    if cert["method"] not in ("exact", "interval", "float"):
        raise ContractError(f"certificate method must be exact, interval or float, got {cert['method']!r}")
    out = dict(cert)
    out["violation_lower_bound"] = float(cert["violation_lower_bound"])
    out.setdefault("note", "")
    return out


def by_reading(evidence: dict[str, Evidence]) -> Evidence:
    """Combine the evidence of each plausible reading of a printed statement.

    The statement is refuted only if *every* reading fails: then the result fails
    with the first reading's counterexample and the weakest certificate.  Otherwise
    it holds (or is inconclusive) and ``readings`` says which readings fail.

    Parameters
    ----------
    evidence : dict
        ``{reading name: Evidence}`` in the order of the claim's ``readings``.

    Returns
    -------
    Evidence
        With ``readings = {name: {verdict, max_error, tolerance, counterexample,
        certificate}}``.
    """
    if not evidence:
        raise ContractError("by_reading needs at least one reading")
    summary = {name: {"verdict": ev.verdict, "max_error": ev.max_error, "tolerance": ev.tolerance,
                      "instances": ev.instances, "counterexample": ev.counterexample,
                      "certificate": ev.certificate,
                      "why": ev.inconclusive or None}
               for name, ev in evidence.items()}
    evs = list(evidence.values())
    verdicts = [ev.verdict for ev in evs]
    details = {f"{name}": ev.details for name, ev in evidence.items()}
    n = sum(ev.instances for ev in evs)
    if all(v == "fails" for v in verdicts):
        first = evs[0]
        certs = [ev.certificate for ev in evs if ev.certificate is not None]
        cert = None
        if len(certs) == len(evs):
            rank = {"exact": 0, "interval": 1, "float": 2}
            worst = max(certs, key=lambda c: (rank[c["method"]], -c["violation_lower_bound"]))
            cert = dict(worst, note=f"every reading certified; weakest shown ({worst.get('note', '')})")
        det = dict(first.details)
        det["readings_details"] = details
        return Evidence(instances=n, max_error=first.max_error, tolerance=first.tolerance,
                        counterexample=first.counterexample, details=det, certificate=cert,
                        readings=summary)
    failing = [name for name, v in zip(evidence, verdicts) if v == "fails"]
    det = {"readings_details": details, "failing_readings": failing}
    if any(v == "inconclusive" for v in verdicts):
        return Evidence(instances=n, details=det, readings=summary,
                        inconclusive="reading(s) " + ", ".join(
                            name for name, v in zip(evidence, verdicts) if v == "inconclusive")
                        + " could not be decided")
    holding = [ev for ev, v in zip(evs, verdicts) if v == "holds"]
    best = holding[0]
    return Evidence(instances=n, max_error=best.max_error, tolerance=best.tolerance, details=det,
                    readings=summary, discrimination=best.discrimination)


def evaluate_instance(evaluate: Callable[[dict], Any], config: dict) -> tuple[bool, Any, Any]:
    """Evaluate one instance of a sweep.

    The one place where an instance's outcome is decided, wherever it runs (this process,
    a worker process, a Dask worker), so that a sweep's evidence does not depend on the
    back end.  Exceptions other than an untrusted route (a crashing check) propagate.

    Returns
    -------
    tuple
        ``(True, error, data)``, ``(False, why untrusted, None)`` or
        ``("outside", which hypothesis, None)``; ``data`` is the second item when
        ``evaluate`` returned ``(error, data)``, else ``None``.
    """
    try:
        out = evaluate(config)
        out, data = out if isinstance(out, tuple) else (out, None)
        err = float(out)
    except OutsideHypotheses as exc:
        return "outside", f"{json.dumps(jsonable(config))}: {exc}", None
    except (Inconclusive, SolverError, NotConvergedError) as exc:
        return False, f"{json.dumps(jsonable(config))}: {exc}", None
    if not math.isfinite(err):
        return False, f"{json.dumps(jsonable(config))}: non-finite error {err}", None
    return True, err, data


def evaluate_instances(evaluate: Callable[[dict], float], configs: Sequence[dict]) -> list:
    """:func:`evaluate_instance` over a batch of configs, in order (one unit of work)."""
    with solver_interrupts_raise():
        return [evaluate_instance(evaluate, cfg) for cfg in configs]


def calls_sweep(fn: Callable) -> bool:
    """Whether ``fn`` (a check) decides its claim with :func:`sweep`.

    Follows the names the function's code (and its nested functions') looks up, the
    functions it closes over, and the functions of lintheory / proofs_check it calls.
    The executor gives other claims to the workers before these, and runs the body of
    such a claim in the coordinating process (spreading its sweeps' instances over the
    workers) unless a worker takes it whole.  A wrong answer costs speed only, never a
    different record.
    """
    return _code_refers(fn, lambda name, obj, package: obj is sweep, set())


def uses_torch(fn: Callable) -> bool:
    """Whether ``fn`` (a check) imports or uses torch, followed as for :func:`calls_sweep`.

    The executor gives such claims to the workers, which import torch once, so that the
    coordinating process need not import it too (1-2 s of CPU on a 2-core machine,
    measured, and as much again for ``torch.func``'s first use).  A wrong answer costs
    speed only.
    """
    return _code_refers(fn, _names_torch, set())


def _names_torch(name: str, obj: Any, package: str) -> bool:
    if name == "torch" or (inspect.ismodule(obj) and obj.__name__.split(".")[0] == "torch"):
        return True
    if inspect.ismodule(obj):
        return obj.__name__.split(".")[0] in _OWN_PACKAGES and _module_imports_torch(obj.__name__)
    # ``from . import train`` or ``from .train import fit`` inside a function: ``train`` is
    # a module of the function's package that may not be imported yet (importing it to
    # look would import torch), so its source is read instead
    return obj is None and bool(package) and _module_imports_torch(f"{package}.{name}")


@functools.lru_cache(maxsize=None)
def _module_imports_torch(module: str) -> bool:
    """Whether the source of ``module`` (found, not imported) has an ``import torch``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return False
    try:
        with open(spec.origin, encoding="utf-8") as fh:
            source = fh.read()
    except OSError:
        return False
    return re.search(r"^\s*(import torch|from torch[. ])", source, re.MULTILINE) is not None


def _code_refers(fn: Any, found: Callable[[str, Any, str], bool], seen: set) -> bool:
    """Whether the code of ``fn``, or of the lintheory / proofs_check code it reaches, has
    a name for which ``found(name, its global value or None, package of fn)`` holds."""
    code = getattr(fn, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    glb = getattr(fn, "__globals__", {})
    package = (glb.get("__package__") or "") if str(glb.get("__name__", "")).split(".")[0] \
        in _OWN_PACKAGES else ""
    stack = [code]
    called = []
    while stack:
        co = stack.pop()
        for name in co.co_names:
            obj = glb.get(name)
            if found(name, obj, package):
                return True
            if inspect.ismodule(obj) and obj.__name__.split(".")[0] in _OWN_PACKAGES:
                # ``module.function(...)``: the attribute names are names of this code too
                called.extend(f for f in (getattr(obj, n, None) for n in co.co_names)
                              if inspect.isfunction(f))
            elif callable(obj) and getattr(obj, "__module__", "").split(".")[0] in _OWN_PACKAGES:
                called.append(obj)
        stack.extend(c for c in co.co_consts if hasattr(c, "co_names"))
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            called.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return any(_code_refers(f, found, seen) for f in called)


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


def _replay_one(config: dict, evaluate, tolerance: float, index: int, hypotheses=()) -> dict:
    cfg = {k: v for k, v in config.items() if k != "error"}
    bad = [h.text for h in hypotheses if not h.holds_for(cfg)]
    trusted, value, _ = evaluate_instance(evaluate, cfg)  # evaluated even outside: the error is shown
    if trusted == "outside":
        err, status = None, f"outside the stated hypotheses: {value}"
    elif trusted:
        err, status = value, ("holds" if value <= tolerance else "fails")
    else:
        err, status = None, f"inconclusive: {value}"
    if bad and trusted is True:
        status = f"outside the stated hypotheses ({bad[0]}); error {err!r} does not count"
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
    c = select_claims(ids=[claim_id])[0]
    token = _SWEEP_STATE.set({"next": 0, "replay": dict(config), "replay_sweep": int(sweep_index or 0)})
    ctoken = _CURRENT.set(c)
    try:
        c.check(Context(profile=profile, seed=claim_seed(seed, c.id), device=device))
    except _Replayed as done:
        return {"claim": c.id, **jsonable(done.result)}
    finally:
        _CURRENT.reset(ctoken)
        _SWEEP_STATE.reset(token)
    raise InputError(f"claim {c.id} has no sweep number {sweep_index or 0} to replay an instance with")
