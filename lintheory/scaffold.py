"""``lintheory init NAME``: an installable suite package for a user's own theorem.

The scaffold is the smallest suite that uses every part of the public API: a closed
form checked against an independent solver (it holds, and names the wrong formula it
rejects), a printed variant with a deliberate error (it fails with a certified,
replayable counterexample and an erratum), the paper data beside the code, a mutant,
and tests that run the claims through :func:`lintheory.run_claim`.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from .errors import InputError

__all__ = ["write_scaffold"]

_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "lintheory suite {name}: claims about my theorem, checked three ways"
requires-python = ">=3.10"
dependencies = ["lintheory"]

[project.optional-dependencies]
test = ["pytest>=7"]

# lintheory finds the suite through this entry point: `lintheory verify --paper {name}`
[project.entry-points."lintheory.suites"]
{name} = "{name}.claims"

[tool.setuptools.packages.find]
include = ["{name}*"]

[tool.setuptools.package-data]
{name} = ["*.toml", "*.txt"]
'''

_INIT = '''\
"""{name}: a lintheory suite (see claims.py)."""
'''

_PAPER = '''\
Ridge regression. For data X (n x d), targets y and lambda > 0 the minimiser of
||X w - y||^2 + lambda ||w||^2 is w = (X^T X + lambda/2 I)^{{-1}} X^T y.
'''

_DATA = '''\
# Data that describes the paper, beside the code that checks it (lintheory.paperdata).
seed = "paper.txt"

[claims."{name}.ridge.closed_form.printed"]
quote = "the minimiser of ||X w - y||^2 + lambda ||w||^2 is w = (X^T X + lambda/2 I)^{{-1}} X^T y"
lines = [1, 2]
hypotheses = [{{text = "lambda > 0", check = "lam > 0"}}]
erratum = "{name}.E1"
error = "relative error of w against the augmented least-squares solution"

[claims."{name}.ridge.closed_form.corrected"]
error = "relative error of w against the augmented least-squares solution"
alternative = "the printed lambda/2"

[errata."{name}.E1"]
kind = "wrong constant"
what = "the printed closed form has lambda/2 where the first-order condition gives lambda"
corrected = "{name}.ridge.closed_form.corrected"

[[results]]
result = "Eq. (1)"
lines = [1, 2]
claims = ["{name}.ridge.closed_form.printed", "{name}.ridge.closed_form.corrected"]
'''

_CLAIMS = '''\
"""Claims of the {name} suite: the ridge closed form, right and as printed.

Each claim draws instances from their own seeds, computes the closed form and an
independent route (least squares on the augmented system [X; sqrt(lambda) I] w = [y; 0]),
and lets :func:`lintheory.sweep` decide: holds when every instance is within the
tolerance, fails with the smallest counterexample otherwise.
"""

from fractions import Fraction

import numpy as np

from lintheory import Evidence, claim, sweep  # noqa: F401  (Evidence: for checks without sweep)
from lintheory.certify import exact, fraction_array

SUITE = "{name}"
PAPER = "paper.txt"
#: closed form vs least squares, relative error in float64
LSTSQ_TOL = 1e-9


def ridge(X, y, lam):
    """(XᵀX + λI)⁻¹Xᵀy, the ridge minimiser (samples are rows of X)."""
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def ridge_printed(X, y, lam):
    """The paper's printed form, with λ/2."""
    return ridge(X, y, lam / 2)


def _instance(cfg):
    rng = np.random.default_rng(cfg["seed"])
    X = rng.standard_normal((cfg["n"], cfg["d"]))
    y = rng.standard_normal(cfg["n"])
    return X, y, cfg["lam"]


def _reference(X, y, lam):
    d = X.shape[1]
    A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
    return np.linalg.lstsq(A, np.concatenate([y, np.zeros(d)]), rcond=None)[0]


def _error(formula):
    def evaluate(cfg):
        X, y, lam = _instance(cfg)
        w_ref = _reference(X, y, lam)
        return float(np.linalg.norm(formula(X, y, lam) - w_ref) / np.linalg.norm(w_ref))
    return evaluate


def _configs(ctx):
    rng = ctx.rng(0)
    for n, d in ctx.pick([(5, 2), (20, 5), (50, 10)], [(5, 2), (20, 5), (50, 10), (200, 40)]):
        for lam in (0.1, 1.0, 10.0):
            yield {{"n": n, "d": d, "lam": lam, "seed": int(rng.integers(2**31))}}


def _certify(cfg):
    """Exact rational arithmetic: both closed forms solved exactly, their gap compared with the tolerance."""
    import sympy as sp

    X, y, lam = _instance(cfg)
    Xq = sp.Matrix(fraction_array(X).tolist())
    yq = sp.Matrix(fraction_array(y).tolist())
    lamq = sp.Rational(Fraction(lam).numerator, Fraction(lam).denominator)
    G, b, eye = Xq.T * Xq, Xq.T * yq, sp.eye(X.shape[1])
    w_true = (G + lamq * eye).LUsolve(b)
    w_printed = (G + lamq / 2 * eye).LUsolve(b)
    gap2 = (w_printed - w_true).dot(w_printed - w_true) / w_true.dot(w_true)
    tol2 = sp.Rational(Fraction(LSTSQ_TOL) ** 2)
    return exact(gap2 - tol2, note="relative error² of the printed w against the exact ridge solution, "
                                   "minus tolerance², both solved in rational arithmetic")


@claim(id="{name}.ridge.closed_form.corrected", paper=PAPER, source="Eq. (1), corrected",
       statement=r"$w^* = (X^\\top X + \\lambda I)^{{-1}} X^\\top y$",
       form="corrected", method="closed form vs numpy lstsq on the augmented system", expected="holds")
def _corrected(ctx):
    return sweep(_configs(ctx), _error(ridge), LSTSQ_TOL,
                 alternative=("the printed lambda/2", _error(ridge_printed)))


@claim(id="{name}.ridge.closed_form.printed", paper=PAPER, source="Eq. (1), as printed",
       statement=r"$w^* = (X^\\top X + \\tfrac{{\\lambda}}{{2}} I)^{{-1}} X^\\top y$",
       form="printed", method="printed closed form vs numpy lstsq on the augmented system",
       expected="fails")
def _printed(ctx):
    return sweep(_configs(ctx), _error(ridge_printed), LSTSQ_TOL, certify=_certify)
'''

_MUTANTS = '''\
"""Plausible bugs the {name} claims must catch (``lintheory mutants --paper {name}``)."""

from lintheory.mutants import mutant

mutant(id="{name}.ridge_no_lambda", description="ridge without the penalty (plain least squares)",
       target="{name}.claims:ridge", replace=lambda f: (lambda X, y, lam: f(X, y, 1e-300)),
       claims=["{name}.ridge.closed_form.corrected"])
mutant(id="{name}.ridge_double_lambda", description="ridge with 2 lambda",
       target="{name}.claims:ridge", replace=lambda f: (lambda X, y, lam: f(X, y, 2 * lam)),
       claims=["{name}.ridge.closed_form.corrected"])
'''

_TESTS = '''\
"""Run the suite's claims through lintheory and compare with their expected verdicts."""

import pytest

import lintheory
from lintheory.claims import select_claims

CLAIMS = [c.id for c in select_claims(papers=["{name}"])]


def test_suite_registers_claims():
    assert len(CLAIMS) == 2


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_claim_reaches_expected_verdict(claim_id):
    rec = lintheory.run_claim(claim_id)
    assert rec["verdict"] == rec["expected"], rec
    if rec["verdict"] == "fails":
        assert rec["counterexample"] is not None
        assert rec["certificate"]["violation_lower_bound"] > 0
    else:
        assert rec["discrimination"]["rejected"]
'''

_README = '''\
# {name}

A [lintheory](https://pypi.org/project/lintheory/) suite: claims about a theorem, each decided on many
seeded instances, with a closed form checked against an independent solver.

```bash
pip install .                      # registers the suite under the entry point lintheory.suites
lintheory verify --paper {name}    # holds / fails per claim, report in lintheory-report/
lintheory errata --paper {name}    # the printed variant's erratum, certified counterexample, replay command
lintheory mutants --paper {name}   # plausible bugs: does a claim catch each?
pip install ".[test]" && pytest    # the claims through lintheory.run_claim
```

- `{name}/claims.py`: the claims (`lintheory.claim` + `lintheory.sweep`);
- `{name}/paper.toml`: data that describes the paper: quotes, lines, hypotheses, errata, the index of results;
- `{name}/paper.txt`: the paper's text the quotes come from;
- `{name}/mutants.py`: plausible bugs the claims must catch.
'''


def write_scaffold(name: str, directory: str | None = None, *, force: bool = False) -> list[Path]:
    """Write the suite package ``name`` into ``directory`` (default ``./name``).

    Raises
    ------
    InputError
        ``name`` is not a lower-case Python identifier, or the directory is not empty
        and ``force`` is false.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or "") or keyword.iskeyword(name):
        raise InputError(f"suite name must be a lower-case Python identifier (it starts every claim id), got {name!r}")
    root = Path(directory or name)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise InputError(f"{root} is not empty; pass --force to write into it")
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{name}/__init__.py": _INIT,
        f"{name}/claims.py": _CLAIMS,
        f"{name}/paper.toml": _DATA,
        f"{name}/paper.txt": _PAPER,
        f"{name}/mutants.py": _MUTANTS,
        "tests/test_claims.py": _TESTS,
    }
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name), encoding="utf-8")
        written.append(path)
    return written
