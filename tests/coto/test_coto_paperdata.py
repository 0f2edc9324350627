"""The coto suite's paper data and the certificate of the negative-loss refutation (issues 11 and 12)."""

from pathlib import Path

import pytest

from lintheory.claims import registry
from lintheory.coto import claims as C
from lintheory.paperdata import read_paper_data

ROOT = Path(__file__).resolve().parents[2]
DATA = read_paper_data(str(ROOT / "lintheory" / "coto" / "paper.toml"))


def test_every_claim_has_paper_data_and_printed_theorem_keeps_the_papers_setting():
    reg = {k: v for k, v in registry(["coto"]).items() if v.group == "coto"}
    for cid, c in reg.items():
        assert c.error != "error", f"{cid} has no error kind"
        if c.form == "printed":
            assert c.quote and c.lines and c.hypotheses, cid
        elif c.expected == "holds":
            assert c.alternative, f"{cid} names no alternative"
    printed = reg["coto.thm3_1.bound.printed"]
    assert printed.expected == "holds" and any(h.check == "shift == 0" for h in printed.hypotheses)
    assert reg["coto.thm3_1.bound.negative_losses"].expected == "fails"
    assert not DATA.get("errata")


def test_coverage_rows_name_registered_claims_or_give_a_reason():
    reg = registry(["coto"])
    for r in DATA["results"]:
        assert r["claims"] or r["reason"], r["result"]
        for cid in r["claims"]:
            assert cid in reg, (r["result"], cid)


def test_negative_loss_certificate_is_exact_and_positive():
    cfg = {"L": 1, "d": 1, "n": 1, "seed": 3, "p": 0.5, "shift": 5.0}
    cert = C._thm31_negative_certificate(cfg)
    assert cert["method"] == "exact" and cert["violation_lower_bound"] > 0
    assert cert["rhs_lower_bound"] == pytest.approx(-2.5)
    # ℓ >= -c bounds the objective below: E_δ ℓ >= -c
    assert cert["lhs_at_point"] >= -5.0


def test_negative_loss_certificate_refuses_the_papers_setting():
    cfg = {"L": 2, "d": 2, "n": 2, "seed": 4, "p": 0.5, "shift": 0.0}
    assert C._thm31_negative_certificate(cfg)["violation_lower_bound"] <= 0
