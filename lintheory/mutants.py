"""Mutants: plausible bugs that the claims must catch.

A check that cannot fail decides nothing.  A *mutant* is a plausible bug -- a wrong
constant, an off-by-one regime boundary, a dropped term, swapped arguments, a loosened
certificate, a wrong normalisation -- applied in-process by patching one function (or
constant) of the library.  :func:`run_mutants` applies each mutant in turn, runs the
claims it names (quick profile, seed 0, serially in this process) and reports which of
them reach a verdict other than their expected one: those claims *kill* the mutant.  A
mutant that survives every claim is a hole in the verdicts, not in the unit tests:
``lintheory mutants`` exits 1.

Register mutants beside a suite (the built-in suites keep theirs in
``lintheory/<paper>/mutants.py``; a suite file may register its own) with
:func:`mutant`::

    from lintheory.mutants import mutant

    mutant(id="ridge.closed_form.lambda_half",
           description="ridge closed form with lambda/2 (the printed variant's bug)",
           target="ridge_suite.model:ridge_closed_form",
           replace=lambda f: (lambda X, y, lam: f(X, y, lam / 2)),
           claims=["ridge.closed_form.corrected"])

``target`` is ``"module:attribute[.attribute]"``.  ``replace(original)`` returns the
replacement (or ``value=`` gives a constant).  While a mutant is applied, every loaded
module that bound the same function object by name (``from .closed_form import f``)
sees the replacement too; constants are replaced in the defining module and in the
modules listed in ``also``.  Results cached by the checks (memoised solver output of
the *mutated* function) would hide a mutant: :func:`run_mutants` clears
``functools.lru_cache`` caches of the target and calls each suite's
``clear_caches()`` when it defines one.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import InputError

__all__ = ["Mutant", "mutant", "mutants", "applied", "run_mutant", "run_mutants", "load_mutants"]

_NO_VALUE = object()


@dataclass(frozen=True)
class Mutant:
    """One plausible bug.

    Attributes
    ----------
    id : str
        ``<suite>.<name>``.
    description : str
        The bug in words (what a careless implementation would do).
    target : str
        ``"module:attr[.attr]"`` -- the function, method or constant patched.
    claims : tuple of str
        The claims (ids or id prefixes) that should catch it.
    replace : callable or None
        ``replace(original) -> replacement``.
    value : object
        A constant replacement (when ``replace`` is None).
    also : tuple of str
        Extra modules whose binding of a constant is patched too.
    """

    id: str
    description: str
    target: str
    claims: tuple
    replace: Callable[[Any], Any] | None = field(default=None, compare=False)
    value: Any = field(default=_NO_VALUE, compare=False)
    also: tuple = ()

    @property
    def suite(self) -> str:
        return self.id.split(".", 1)[0]


_MUTANTS: dict[str, Mutant] = {}


def mutant(*, id: str, description: str, target: str, claims: Sequence[str],
           replace: Callable[[Any], Any] | None = None, value: Any = _NO_VALUE,
           also: Sequence[str] = ()) -> Mutant:
    """Register a mutant (see the module docstring); returns it."""
    if "." not in id:
        raise ValueError(f"mutant id {id!r} must be <suite>.<name>")
    if ":" not in target:
        raise ValueError(f"mutant {id}: target {target!r} must be 'module:attribute'")
    if (replace is None) == (value is _NO_VALUE):
        raise ValueError(f"mutant {id}: give exactly one of replace= or value=")
    if not claims:
        raise ValueError(f"mutant {id}: name the claims that should catch it")
    if id in _MUTANTS and _MUTANTS[id].target != target:
        raise ValueError(f"mutant id {id!r} registered twice")
    m = Mutant(id=id, description=description, target=target, claims=tuple(claims),
               replace=replace, value=value, also=tuple(also))
    _MUTANTS[id] = m
    return m


def load_mutants(suites: Sequence[str] | None = None) -> None:
    """Import the mutants of the named suites (default: every known suite).

    A suite ``pkg.claims`` keeps its mutants in ``pkg.mutants`` (imported when it
    exists); a suite file registers them itself.
    """
    from .suites import known_suites, load_suite, suite_spec

    for name in (known_suites() if suites is None else suites):
        load_suite(name)
        spec = suite_spec(name) or ""
        if spec.endswith(".py") or "/" in spec:
            continue
        pkg = spec.rsplit(".", 1)[0] if "." in spec else spec
        modname = f"{pkg}.mutants"
        if importlib.util.find_spec(pkg) is not None:
            try:
                found = importlib.util.find_spec(modname)
            except ModuleNotFoundError:
                found = None
            if found is not None:
                importlib.import_module(modname)


def mutants(suites: Sequence[str] | None = None) -> dict[str, Mutant]:
    """Registered mutants by id (sorted), after loading ``suites``."""
    load_mutants(suites)
    return {k: v for k, v in sorted(_MUTANTS.items()) if suites is None or v.suite in suites}


def _resolve(target: str):
    modname, path = target.split(":", 1)
    try:
        mod = importlib.import_module(modname)
    except ImportError as exc:
        raise InputError(f"mutant target {target!r}: cannot import {modname}: {exc}") from None
    owner = mod
    parts = path.split(".")
    for p in parts[:-1]:
        owner = getattr(owner, p)
    if not hasattr(owner, parts[-1]):
        raise InputError(f"mutant target {target!r}: {owner!r} has no attribute {parts[-1]!r}")
    return mod, owner, parts[-1]


@contextlib.contextmanager
def applied(m: Mutant):
    """Apply mutant ``m`` for the duration of the block, then restore everything."""
    mod, owner, name = _resolve(m.target)
    original = owner.__dict__[name] if name in getattr(owner, "__dict__", {}) else getattr(owner, name)
    is_static = isinstance(original, (staticmethod, classmethod))
    base = original.__func__ if is_static else original
    new = m.replace(base) if m.replace is not None else m.value
    if is_static:
        new = type(original)(new)
    patched: list[tuple[Any, str, Any]] = [(owner, name, original)]
    setattr(owner, name, new)
    if owner is mod:
        if callable(base) and not isinstance(base, type):
            for other in list(sys.modules.values()):  # `from .closed_form import f` bindings
                d = getattr(other, "__dict__", None)
                if not d or other is mod:
                    continue
                for k, v in list(d.items()):
                    if v is base:
                        patched.append((other, k, v))
                        setattr(other, k, new)
        for extra in m.also:
            other = importlib.import_module(extra)
            if getattr(other, name, _NO_VALUE) is not _NO_VALUE:
                patched.append((other, name, getattr(other, name)))
                setattr(other, name, new)
    _clear_caches(m)
    try:
        yield new
    finally:
        for obj, k, v in reversed(patched):
            setattr(obj, k, v)
        _clear_caches(m)


def _clear_caches(m: Mutant) -> None:
    for modname in list(sys.modules):
        if not modname.startswith(("lintheory", "proofs_check", "lintheory_suite_")) and \
                modname.split(".", 1)[0] != m.target.split(".", 1)[0]:
            continue
        mod = sys.modules.get(modname)
        clear = getattr(mod, "clear_caches", None)
        if callable(clear):
            clear()
        for v in list(getattr(mod, "__dict__", {}).values()):
            if hasattr(v, "cache_clear") and callable(v.cache_clear):
                v.cache_clear()


def run_mutant(m: Mutant, *, profile: str = "quick", seed: int = 0) -> dict:
    """Apply ``m``, run the claims it names, and say which catch it.

    Returns
    -------
    dict
        ``{id, paper, description, target, claims, killed_by, verdicts}``: ``killed_by``
        lists the claims whose verdict differs from their expected one under the bug.
    """
    from .claims import run_claim, select_claims

    claims = select_claims(ids=list(m.claims))
    verdicts = {}
    with applied(m):
        for c in claims:
            rec = run_claim(c, profile=profile, seed=seed)
            verdicts[c.id] = rec["verdict"]
    killed = [c.id for c in claims if verdicts[c.id] not in (c.expected, "skipped")]
    return {"id": m.id, "paper": m.suite, "description": m.description, "target": m.target,
            "claims": [c.id for c in claims], "killed_by": killed, "verdicts": verdicts}


def run_mutants(suites: Sequence[str] | None = None, ids: Sequence[str] | None = None, *,
                profile: str = "quick", seed: int = 0, on_row: Callable[[dict], None] | None = None
                ) -> list[dict]:
    """Run every selected mutant (see :func:`run_mutant`); rows in id order."""
    reg = mutants(suites)
    if ids:
        chosen = {}
        for i in ids:
            hits = {k: v for k, v in reg.items() if k == i or k.startswith(i + ".")}
            if not hits:
                import difflib

                close = difflib.get_close_matches(i, list(reg), n=5, cutoff=0.5)
                raise InputError(f"unknown mutant {i!r}" + (f"; close matches: {', '.join(close)}"
                                                            if close else ""))
            chosen.update(hits)
        reg = dict(sorted(chosen.items()))
    rows = []
    for m in reg.values():
        row = run_mutant(m, profile=profile, seed=seed)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
