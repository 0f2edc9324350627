"""The AdaDARE-γ paper data: quotes are verbatim, errata are well formed, coverage names real claims, and the
certificates of the refutations are rigorous."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np

from lintheory.claims import ERRATUM_KINDS, registry

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "lintheory" / "adadare" / "paper.toml", ROOT / "proofs_check" / "adadare.toml"]


def test_errata_and_coverage_are_consistent():
    data = tomllib.loads(FILES[0].read_text())
    reg = registry(["adadare", "proofs"])
    for eid, e in data["errata"].items():
        assert e["kind"] in ERRATUM_KINDS, eid
        assert e["corrected"] in reg, eid
        named = [c for c in reg.values() if c.erratum == eid]
        assert named and all(c.form == "printed" and c.expected == "fails" for c in named), eid
    for r in data["results"]:
        assert all(c in reg for c in r["claims"]), r["result"]
        assert r["claims"] or r["reason"], r["result"]
    failing_printed = [c for c in reg.values() if c.group in ("adadare",) and c.form == "printed"
                       and c.expected == "fails"]
    assert all(c.erratum in data["errata"] for c in failing_printed)


def test_every_claim_states_its_error_kind():
    reg = registry(["adadare", "proofs"])
    for c in reg.values():
        if c.id.startswith(("adadare.", "proofs.adadare.")):
            assert c.error and c.error != "error", c.id
            if c.form in ("corrected", "derived") and c.expected == "holds":
                assert c.alternative, c.id


def test_a18_certificate_is_a_strict_improvement():
    from lintheory.adadare.claims import _certify_a18_not_optimal

    cert = _certify_a18_not_optimal({"n": 50, "sigma": 2.0, "p": 0.5, "seed": 3})
    assert cert["method"] == "interval" and cert["violation_lower_bound"] > 0


def test_a18_certificate_refuses_the_no_clipping_regime():
    # scores all equal: A.18 is exactly the optimum, so no feasible point can be certified better
    from lintheory.adadare import claims as C

    orig = C.heavy_tailed
    try:
        C.heavy_tailed = lambda n, sigma, seed=None: (np.ones(n), np.ones(n))
        cert = C._certify_a18_not_optimal({"n": 8, "sigma": 0.0, "p": 0.5, "seed": 0})
    finally:
        C.heavy_tailed = orig
    assert cert["violation_lower_bound"] <= 0


def test_zero_score_gives_probability_one_exactly():
    from lintheory.adadare.printed import a18_drop_probabilities

    q = a18_drop_probabilities(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 1.0]), 0.5)
    assert Fraction(q[0]) == 1
