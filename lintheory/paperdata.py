"""Paper data: the TOML file that describes a paper beside the suite that checks it.

A suite module ``pkg/claims.py`` reads ``pkg/paper.toml``; any other suite module
``pkg/name.py`` reads ``pkg/name.toml`` (so ``proofs_check/svm.py`` reads
``proofs_check/svm.toml``).  The file holds data, not code:

.. code-block:: toml

    seed = "002_caa97dd52c787aec.txt"      # the paper's text file

    [claims."lora_margin.thm3_2.ft_margin.printed"]
    quote = "verbatim, contiguous text of the seed"
    lines = [306, 312]
    hypotheses = [{text = "K̄ = K (L304-305)", check = "Kb == K"}]
    readings = ["mean loss", "sum loss"]
    erratum = "lora_margin.E3"
    error = "relative error"

    [errata."lora_margin.E3"]
    kind = "wrong constant"               # one of lintheory.claims.ERRATUM_KINDS
    what = "one sentence: what is wrong and by how much"
    corrected = "lora_margin.thm3_2.ft_margin.corrected"

    [[results]]                           # the coverage index: every numbered result
    result = "Theorem 3.2"
    lines = [300, 330]
    claims = ["lora_margin.thm3_2.ft_margin.printed"]
    reason = ""                           # why no claim can decide it, when claims is empty

Claims take ``quote``, ``lines``, ``hypotheses``, ``readings``, ``erratum``, ``error``
and ``alternative`` from ``[claims."<id>"]`` at registration
(:func:`lintheory.claims.claim`); :mod:`lintheory.errata` and :mod:`lintheory.coverage`
read ``[errata]`` and ``[[results]]``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import InputError

__all__ = ["data_for_module", "data_path_for_module", "read_paper_data"]


def data_path_for_module(module: str | None) -> Path | None:
    """The TOML file that belongs to ``module`` (``None`` when it has none)."""
    mod = sys.modules.get(module) if module else None
    path = getattr(mod, "__file__", None)
    if not path:
        return None
    path = Path(path)
    for cand in ((path.with_suffix(".toml"),) if path.stem != "claims" else
                 (path.with_name("paper.toml"), path.with_suffix(".toml"))):
        if cand.is_file():
            return cand
    return None


@functools.lru_cache(maxsize=None)
def read_paper_data(path: str) -> dict:
    """Parse one paper-data file; malformed TOML raises :class:`InputError` naming the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read paper data {path}: {exc}") from None


def data_for_module(module: str | None) -> dict:
    """The parsed paper data of ``module`` (``{}`` when it has none)."""
    path = data_path_for_module(module)
    return read_paper_data(str(path)) if path is not None else {}
