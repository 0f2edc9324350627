"""What a run of the built-in claims must show (issues 11 and 12), on the session's shared records.

- every refuted printed statement names its erratum and carries a certificate, and at
  least 3 of every 4 certificates are exact or interval (the rest are float, in units of
  the route's measured error);
- every corrected or derived claim that holds rejects its nearest wrong alternative;
- report.md leads with the refuted printed statements and the errata.
"""

import pytest

from lintheory.claims import registry

BUILTIN = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto", "proofs")


@pytest.fixture(scope="module")
def records(quick_records):
    return quick_records.get([c for c in registry() if c.split(".")[0] in BUILTIN])


def test_refuted_printed_statements_are_named_and_certified(records):
    refuted = [r for r in records.values() if r["form"] == "printed" and r["verdict"] == "fails"]
    assert refuted
    for r in refuted:
        assert r["erratum"], f"{r['id']}: a refuted printed claim names its erratum"
        assert r["quote"] and r["lines"], r["id"]
        cert = r["certificate"]
        assert cert and cert["violation_lower_bound"] > 0, f"{r['id']}: certificate {cert}"
        if cert["method"] == "float":
            assert cert.get("violation_in_error_units", 0) > 1 and cert.get("note"), r["id"]
    rigorous = sum(r["certificate"]["method"] in ("exact", "interval") for r in refuted)
    assert 4 * rigorous >= 3 * len(refuted), f"{rigorous} of {len(refuted)} certificates are exact or interval"


def test_claims_that_hold_reject_their_alternative(records):
    for r in records.values():
        if r["form"] in ("corrected", "derived") and r["verdict"] == "holds":
            d = r["discrimination"]
            assert d and d["rejected"] and d["gap"] > d["tolerance"], f"{r['id']}: {d}"


def test_no_fails_without_counterexample(records):
    assert not [r["id"] for r in records.values() if r["verdict"] == "fails" and r["counterexample"] is None]


def test_report_leads_with_the_errata(records, tmp_path):
    from lintheory.report import build_report, to_markdown

    md = to_markdown(build_report(list(records.values()), profile="quick", device="cpu", seed=0))
    head = md[:3000].lower()
    n = sum(r["form"] == "printed" and r["verdict"] == "fails" for r in records.values())
    assert "printed statement" in head and str(n) in head
    assert head.index("errat") < md.lower().index("## svm") if "## svm" in md.lower() else True
