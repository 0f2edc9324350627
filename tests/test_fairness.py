"""Fair errata (issue 11), checked on the registry and the paper data, without running claims.

- every printed claim quotes its seed verbatim (whitespace-normalised) at the lines it
  names, when the seeds are present (``../shared/seeds`` beside the checkout, or
  ``$LINTHEORY_SEEDS``);
- every printed claim expected to fail names an erratum of a valid kind whose
  corrected claim is registered and expected to hold;
- every claim states what its number measures (its error kind);
- every suite's coverage index loads, and each row has claims or a reason.
"""

import os
from pathlib import Path

import pytest

from lintheory.claims import ERRATUM_KINDS, MIN_QUOTE, registry
from lintheory.coverage import coverage_rows
from lintheory.errata import errata_data

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("LINTHEORY_SEEDS", ROOT.parent / "shared" / "seeds"))
REG = registry()
BUILTIN = [c for c in REG.values() if c.group in ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge",
                                                   "coto", "proofs")]
PRINTED = [c.id for c in BUILTIN if c.form == "printed"]
QUOTED = [c.id for c in BUILTIN if c.quote]  # printed claims, and any other claim that quotes its seed


def _norm(text: str) -> str:
    return " ".join(text.split())


def _seed_lines(paper: str) -> list[str]:
    path = SEEDS / paper
    if not path.is_file():
        pytest.skip(f"seed {paper} not found under {SEEDS}")
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("claim_id", sorted(set(PRINTED) | set(QUOTED)))
def test_quote_is_verbatim_at_its_seed_lines(claim_id):
    c = REG[claim_id]
    assert c.quote and len(c.quote) >= MIN_QUOTE, f"{claim_id}: no verbatim quote"
    assert c.lines and c.lines[0] <= c.lines[1], f"{claim_id}: no [first, last] lines"
    lines = _seed_lines(c.paper)
    quote = _norm(c.quote)
    whole = _norm("\n".join(lines))
    assert quote in whole, f"{claim_id}: quote not found in {c.paper}: {quote[:120]!r}"
    first, last = c.lines
    span = _norm("\n".join(lines[first - 1:last]))
    if quote not in span:  # say where it starts, so the fix is one edit
        head = quote[:40]
        near = [i + 1 for i in range(len(lines)) if head in _norm("\n".join(lines[i:i + 4]))]
        pytest.fail(f"{claim_id}: quote is in {c.paper} but not within lines {first}-{last} "
                    f"(its start is near line {near[-1] if near else '?'})")


def test_every_expected_failing_printed_claim_names_a_valid_erratum():
    data = errata_data()
    missing = [c.id for c in BUILTIN if c.form == "printed" and c.expected == "fails" and not c.erratum]
    assert not missing, f"printed claims expected to fail without an erratum: {missing}"
    for eid, e in data.items():
        assert e["kind"] in ERRATUM_KINDS, eid
        assert e.get("what") and len(e["what"]) > 10, f"{eid}: say what is wrong in one sentence"
        assert e["claims"], f"erratum {eid} is named by no claim"
        cor = e.get("corrected")
        assert cor and REG[cor].expected == "holds", f"erratum {eid}: corrected claim {cor!r} must hold"
    # one erratum per defect: an erratum id is a defect, claims may share it; no two errata
    # describe the same claim
    owners = {}
    for eid, e in data.items():
        for c in e["claims"]:
            assert c not in owners, f"{c} is counted in two errata ({owners.get(c)}, {eid})"
            owners[c] = eid


def test_only_printed_claims_name_errata():
    assert not [c.id for c in REG.values() if c.erratum and c.form != "printed"]


@pytest.mark.parametrize("claim_id", sorted(c.id for c in BUILTIN))
def test_every_claim_states_its_error_kind(claim_id):
    kind = REG[claim_id].error
    assert kind and kind != "error", f"{claim_id}: say what max_error measures (error = ... in paper.toml)"


@pytest.mark.parametrize("claim_id", sorted(c.id for c in BUILTIN if c.form in ("corrected", "derived")
                                            and c.expected == "holds"))
def test_corrected_and_derived_claims_name_their_nearest_wrong_alternative(claim_id):
    assert REG[claim_id].alternative, f"{claim_id}: name the nearest plausible wrong formula it must reject"


def test_coverage_index_of_every_paper():
    rows = coverage_rows()
    by_suite = {}
    for r in rows:
        by_suite.setdefault(r["suite"], []).append(r)
        assert r["claims"] or r["reason"], r
        assert r["location"] and r["location"][0] <= r["location"][1], r
    for suite in ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto"):
        assert len(by_suite.get(suite, [])) >= 3, f"{suite}: its paper's numbered results are not indexed"
    # every printed claim of a paper suite decides some indexed result
    indexed = {c for r in rows for c in r["claims"]}
    orphans = [cid for cid in PRINTED if not cid.startswith("proofs.") and cid not in indexed]
    assert not orphans, f"printed claims that decide no indexed result: {orphans}"


def test_seed_lines_of_coverage_rows_exist():
    for r in coverage_rows():
        if not (SEEDS / str(r["paper"])).is_file():
            continue
        n = len(_seed_lines(r["paper"]))
        assert 1 <= r["location"][0] <= r["location"][1] <= n, r
