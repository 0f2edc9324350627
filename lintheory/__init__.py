"""lintheory: theory verification for linear models.

Five papers' analytical results, each implemented three ways (closed form,
independent solver, trained torch model) and tied together by *claims* that decide
every statement on many random instances.  See ``lintheory verify`` and the docs.
"""

__version__ = "0.1.0"

from . import geometry, svm  # noqa: E402
# The authoring API (stable): write a suite of your own with these names.
from .claims import (Claim, Context, ContractError, Evidence, Hypothesis, Inconclusive,  # noqa: E402
                     OutsideHypotheses, by_reading, claim, registry, replay, run_claim,
                     select_claims, sweep)
from .suites import SuiteError, load_suite  # noqa: E402
from .errors import (AssumptionError, InfeasibleError, InputError, LintheoryError,  # noqa: E402
                     NotConvergedError, SolverError)
from .geometry import simplex_etf  # noqa: E402
from .svm import hard_margin_svm, multiclass_margin, normalized_margin, orthonormal_svm  # noqa: E402

#: paper packages, imported on first attribute access (``lintheory.s2ft``) so that
#: ``import lintheory`` stays cheap
_PAPER_PACKAGES = ("lora_margin", "s2ft", "adadare", "perturb_merge", "coto", "certify", "mutants",
                   "errata", "coverage")


def __getattr__(name):
    if name in _PAPER_PACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PAPER_PACKAGES))


__all__ = [
    "__version__",
    *_PAPER_PACKAGES,
    "geometry",
    "svm",
    "simplex_etf",
    "multiclass_margin",
    "normalized_margin",
    "hard_margin_svm",
    "orthonormal_svm",
    "Claim",
    "Context",
    "Evidence",
    "Inconclusive",
    "OutsideHypotheses",
    "Hypothesis",
    "ContractError",
    "claim",
    "sweep",
    "by_reading",
    "replay",
    "load_suite",
    "SuiteError",
    "certify",
    "mutants",
    "registry",
    "run_claim",
    "select_claims",
    "AssumptionError",
    "InfeasibleError",
    "InputError",
    "LintheoryError",
    "NotConvergedError",
    "SolverError",
]
