"""Suites: where claims come from.

A *suite* is any module whose import registers claims (with
:func:`lintheory.claim`) whose ids start with the suite's name.  lintheory finds
suites in three ways:

1. the entry-point group ``lintheory.suites`` of every installed distribution
   (``name = "module"``) -- the built-in papers register there too::

       [project.entry-points."lintheory.suites"]
       ridge = "ridge_suite.claims"

2. ``--suite MODULE`` or ``--suite path/to/file.py`` on the command line (one run;
   the suite's name is the module's ``SUITE`` attribute, else the file's stem or the
   module's top-level package name);
3. :func:`load_suite` from Python.

A suite is imported only when one of its claims is selected, so ``lintheory verify
--claim svm.etf.gram`` imports the svm suite alone.  A suite whose import fails, or
that registers a claim outside its own name, is refused with a :class:`SuiteError`
(exit 2 from the CLI, one line naming the suite and the reason); other suites are not
affected.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Sequence

from .errors import InputError

__all__ = ["SuiteError", "known_suites", "load_suite", "loaded_suites", "check_suite_names",
           "suite_spec", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "lintheory.suites"

#: used when lintheory runs from a source tree without installed metadata (the
#: entry points of pyproject.toml are the same list)
_BUILTIN = {
    "svm": "lintheory.svm.claims",
    "lora_margin": "lintheory.lora_margin.claims",
    "s2ft": "lintheory.s2ft.claims",
    "adadare": "lintheory.adadare.claims",
    "perturb_merge": "lintheory.perturb_merge.claims",
    "coto": "lintheory.coto.claims",
    "proofs": "proofs_check.suite",
}


class SuiteError(InputError):
    """A suite cannot be loaded: its import fails, or it registers ids outside its name."""


_ENTRY_POINTS: dict[str, str] | None = None
_LOADED: dict[str, str] = {}  # name -> spec (module name or file path)
_EXTRA: dict[str, str] = {}  # loaded with --suite / by path, name -> spec
#: every suite imported in this process: spec -> (name, its claims); a module is
#: executed once, so a suite loaded again (into a fresh registry) gets its claims back
_IMPORTED: dict[str, tuple] = {}
_LOADING: ContextVar[bool] = ContextVar("lintheory_suites_loading", default=False)


def _entry_points() -> dict[str, str]:
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        from importlib.metadata import entry_points

        found: dict[str, str] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in found and found[ep.name] != ep.value:
                raise SuiteError(f"suite {ep.name!r} is registered twice under {ENTRY_POINT_GROUP} "
                                 f"({found[ep.name]} and {ep.value})")
            found[ep.name] = ep.value
        for name, mod in _BUILTIN.items():
            found.setdefault(name, mod)
        _ENTRY_POINTS = found
    return _ENTRY_POINTS


def known_suites() -> list[str]:
    """Every suite name: entry points, then suites loaded for this run (``--suite``)."""
    names = list(_entry_points())
    names += [n for n in _EXTRA if n not in names]
    return names


def loaded_suites() -> dict[str, str]:
    """Suites loaded with ``--suite`` (or by path) in this process: name -> spec."""
    return dict(_EXTRA)


def check_suite_names(names: Sequence[str]) -> None:
    """Raise :class:`InputError` with close matches for a name that is no known suite."""
    known = known_suites()
    for p in names:
        if p not in known:
            close = difflib.get_close_matches(p, known, n=3)
            raise InputError(f"unknown paper/suite {p!r}; known: {', '.join(known)}"
                             + (f" (did you mean {', '.join(close)}?)" if close else ""))


def suite_spec(name: str) -> str | None:
    """How another process loads suite ``name``: a module name or a file path."""
    if name in _LOADED:
        return _LOADED[name]
    return _entry_points().get(name)


def load_suite(name_or_spec: str) -> str:
    """Import one suite and return its name.

    Parameters
    ----------
    name_or_spec : str
        A suite name of the entry-point group, a module name (``pkg.claims``) or the
        path of a Python file.

    Raises
    ------
    SuiteError
        The path does not exist, the module cannot be imported or raises on import,
        or it registers a claim whose id does not start with the suite's name (or one
        that another suite already registered).
    """
    from . import claims as C

    eps = _entry_points()
    if name_or_spec in _LOADED:
        return name_or_spec
    if name_or_spec in _LOADED.values():
        return next(n for n, s in _LOADED.items() if s == name_or_spec)
    by_module = {mod: n for n, mod in eps.items()}
    if name_or_spec in by_module:  # an installed suite named by its module
        name_or_spec = by_module[name_or_spec]
    if name_or_spec in eps:
        name, spec, is_path = name_or_spec, eps[name_or_spec], False
    else:
        spec = name_or_spec
        is_path = spec.endswith(".py") or "/" in spec or Path(spec).suffix == ".py"
        if is_path:
            path = Path(spec)
            if not path.is_file():
                raise SuiteError(f"suite {spec}: no such file")
            name = path.stem
            spec = str(path.resolve())
        else:
            name = spec.split(".", 1)[0]
    if name in _LOADED and _LOADED[name] != spec:
        raise SuiteError(f"suite {name!r} from {spec} is already loaded from {_LOADED[name]}")
    if spec in _IMPORTED:  # imported before (the registry was replaced since, e.g. by a test)
        name, claims = _IMPORTED[spec]
        C._REGISTRY.update(claims)
        _LOADED[name] = spec
        if name not in eps:
            _EXTRA[name] = spec
        return name
    before = set(C._REGISTRY)
    token = C._LOADING.set((name, spec))
    try:
        if is_path:
            mod = _import_path(name, spec)
        else:
            if importlib.util.find_spec(spec.split(".", 1)[0]) is None:
                raise SuiteError(f"suite {name!r}: module {spec!r} not found (is it installed?)")
            mod = importlib.import_module(spec)
    except SuiteError:
        _forget(C, before)
        raise
    except C.ContractError as exc:
        _forget(C, before)
        raise SuiteError(f"suite {name!r} ({spec}) refused: {exc}") from None
    except Exception as exc:
        _forget(C, before)
        raise SuiteError(f"suite {name!r} ({spec}) failed to import: "
                         f"{type(exc).__name__}: {exc}") from None
    finally:
        C._LOADING.reset(token)
    if name_or_spec not in eps:
        name = getattr(mod, "SUITE", None) or name
        if name in eps and eps[name] != spec:
            _forget(C, before)
            raise SuiteError(f"suite {spec}: its name {name!r} is already an installed suite ({eps[name]})")
    new = sorted(set(C._REGISTRY) - before)
    outside = [cid for cid in new if cid.split(".", 1)[0] != name]
    if outside:
        _forget(C, before)
        raise SuiteError(f"suite {name!r} ({spec}) refused: it registers {outside[0]!r}, outside its "
                         f"own name (ids must start with '{name}.')")
    for cid in new:
        C._REGISTRY[cid] = dataclasses.replace(C._REGISTRY[cid], suite=name)
    _IMPORTED[spec] = (name, {cid: C._REGISTRY[cid] for cid in new})
    _LOADED[name] = spec
    if name not in eps:
        _EXTRA[name] = spec
    return name


def _forget(C, before: set) -> None:
    for cid in set(C._REGISTRY) - before:
        del C._REGISTRY[cid]


def _import_path(name: str, path: str):
    import zlib

    modname = f"lintheory_suite_{name}_{zlib.crc32(path.encode()):08x}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise SuiteError(f"suite {path}: not an importable Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    # A file suite is not importable by name in a worker process: its functions (a
    # sweep's evaluate) travel by value, and whole claims load the file by its path.
    for cp in ("joblib.externals.cloudpickle", "cloudpickle"):
        try:
            importlib.import_module(cp).register_pickle_by_value(mod)
        except (ImportError, AttributeError, ValueError):  # pragma: no cover - optional
            pass
    return mod
