"""The svm suite's paper data, certificate and readings (issues 11 and 12)."""

from pathlib import Path

import numpy as np
import pytest

from lintheory.claims import registry, run_claim
from lintheory.paperdata import read_paper_data
from lintheory.svm import claims as C

ROOT = Path(__file__).resolve().parents[2]
DATA = read_paper_data(str(ROOT / "lintheory" / "svm" / "paper.toml"))


def test_every_claim_has_paper_data_and_the_one_erratum_is_named_once():
    reg = {k: v for k, v in registry(["svm"]).items() if v.group == "svm"}
    for cid, c in reg.items():
        assert c.error != "error", f"{cid} has no error kind"
        if c.form == "printed":
            assert c.quote and c.lines, cid
            assert c.hypotheses, f"{cid} states no hypotheses"
        else:
            assert c.alternative, f"{cid} names no alternative"
    named = [c.erratum for c in reg.values() if c.erratum]
    assert named == ["svm.E1"] and sorted(DATA["errata"]) == ["svm.E1"]
    assert DATA["errata"]["svm.E1"]["corrected"] in reg


def test_coverage_rows_name_registered_claims_or_give_a_reason():
    reg = registry(["svm"])
    assert {r["result"] for r in DATA["results"]} >= {"Proposition 2.1(i)", "Proposition 2.1(ii)", "Theorem D.1 / Eq. (18)",
                                                       "Proposition C.1", "Lemma C.1", "Lemma C.5"}
    for r in DATA["results"]:
        assert r["claims"] or r["reason"], r["result"]
        for cid in r["claims"]:
            assert cid in reg, (r["result"], cid)


@pytest.mark.parametrize("Kb, n, K", [(2, 1, None), (3, 2, None), (2, 1, 4), (3, 1, 5)])
def test_exact_certificate_measures_the_scale_gap(Kb, n, K):
    # printed ‖·‖² >= n K̄ (up to the Gershgorin slack of X Xᵀ = I), feasible point ‖·‖² = n K̄ (K_r - 1)/K_r
    Kr = Kb if K is None else K
    cfg = {"Kb": Kb, "n": n, "K": Kr, "d": max(Kb * n, Kr) + 2, "seed": 11}
    cert = C._prop21_certificate(cfg, K)
    assert cert["method"] == "exact" and cert["violation_lower_bound"] > 0
    assert abs(cert["printed_norm2_lower"] - n * Kb) < 1e-12
    assert abs(cert["feasible_norm2"] - n * Kb * (Kr - 1) / Kr) < 1e-12


def test_prop2_1_printed_fails_under_every_reading_and_lemma_c3_holds_under_one():
    rec = run_claim("svm.prop2_1.closed_form.printed")
    assert rec["verdict"] == "fails" and rec["certificate"]["method"] == "exact"
    assert set(rec["readings"]) == set(registry(["svm"])["svm.prop2_1.closed_form.printed"].readings)
    assert all(r["verdict"] == "fails" for r in rec["readings"].values())
    assert rec["counterexample"]["Kb"] == 2 and rec["counterexample"]["n"] == 1
    c3 = run_claim("svm.lemC3.nuclear_trace_duality")
    verdicts = [r["verdict"] for r in c3["readings"].values()]
    assert c3["verdict"] == "holds" and verdicts == ["holds", "fails"]


def test_printed_rows_match_the_printed_helper_for_p_identity():
    from lintheory.svm import data
    from lintheory.svm.printed import prop2_1_svm

    X, y = data.orthonormal_class_data(3, 2, 8, seed=1)
    np.testing.assert_allclose(C._printed_rows(X, y), prop2_1_svm(X, y), atol=1e-14)
