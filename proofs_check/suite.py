"""The ``proofs`` suite: imports every derivation-step module of :mod:`proofs_check`.

Registered under the entry-point group ``lintheory.suites`` as ``proofs``.
"""

import importlib
import pkgutil

import proofs_check

SUITE = "proofs"

for _mod in pkgutil.iter_modules(proofs_check.__path__):
    if not _mod.name.startswith("_") and _mod.name != "suite":
        importlib.import_module(f"proofs_check.{_mod.name}")
