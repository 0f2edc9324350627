"""The P&M paper data and the exact certificate of Eq. 8 leaving [0, 1]."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np

from lintheory.claims import ERRATUM_KINDS, registry

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "lintheory" / "perturb_merge" / "paper.toml", ROOT / "proofs_check" / "perturb_merge.toml"]


def test_errata_coverage_and_error_kinds():
    data = tomllib.loads(FILES[0].read_text())
    reg = registry(["perturb_merge", "proofs"])
    for eid, e in data["errata"].items():
        assert e["kind"] in ERRATUM_KINDS and e["corrected"] in reg, eid
        assert any(c.erratum == eid for c in reg.values()), eid
    for r in data["results"]:
        assert all(c in reg for c in r["claims"]), r["result"]
        assert r["claims"] or r["reason"], r["result"]
    for c in reg.values():
        if c.id.startswith(("perturb_merge.", "proofs.perturb_merge.")):
            assert c.error and c.error != "error", c.id
            if c.form == "printed" and c.expected == "fails":
                assert c.erratum in data["errata"] and c.quote, c.id
            if c.form in ("corrected", "derived") and c.expected == "holds":
                assert c.alternative, c.id


def test_exact_alpha_matches_the_float_route():
    from lintheory.perturb_merge import data
    from lintheory.perturb_merge.claims import _exact_alpha_at_step
    from lintheory.perturb_merge.closed_form import pm_linear_regression

    rng = np.random.default_rng(5)
    tasks = data.linear_regression_tasks(rng, 3, 12, 3)
    out = pm_linear_regression(tasks, np.zeros(3), constrain=False)
    earlier, pr = [], np.zeros(3)
    for i in range(2):
        X, y = tasks[i].X, tasks[i].y
        earlier.append(pr + np.linalg.pinv(X) @ (y - X @ pr))
        pr = out["merged"][i]
    a = _exact_alpha_at_step(tasks, 2, out["merged"][1], earlier)
    assert isinstance(a, Fraction)
    assert abs(float(a) - out["unconstrained"][2]) < 1e-9


def test_eq3_certificate_is_exact_and_positive_on_the_stored_counterexample():
    from lintheory.claims import run_claim

    rec = run_claim("perturb_merge.eq3.unit_interval.printed")
    assert rec["verdict"] == "fails"
    assert rec["certificate"]["method"] in ("exact", "interval") and rec["certificate"]["violation_lower_bound"] > 0
    readings = list(rec["readings"].values())
    assert [r["verdict"] for r in readings] == ["fails", "fails"]
    assert readings[0]["certificate"]["method"] == "exact"       # squared loss: Eq. 8 in rationals
    assert readings[1]["certificate"]["method"] == "interval"    # cross-entropy + Fisher: sigmoids enclosed
    assert all(r["certificate"]["violation_lower_bound"] > 0 for r in readings)
