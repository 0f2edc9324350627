"""Every registered mutant is caught by a claim's verdict (issue 12).

CI runs one mutant per suite (the first by id); ``--runslow`` runs them all.  A mutant
caught only by a unit test does not count: these tests ask the claims.
"""

import pytest

from lintheory.mutants import mutants, run_mutant

PAPER_SUITES = ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto")
ALL = mutants()
FAST = {next((m for m in sorted(ALL) if ALL[m].suite == s), None) for s in PAPER_SUITES} - {None}


@pytest.mark.parametrize("suite", PAPER_SUITES)
def test_each_suite_has_at_least_eight_mutants(suite):
    assert sum(m.suite == suite for m in ALL.values()) >= 8


@pytest.mark.parametrize("mutant_id", [pytest.param(m, marks=() if m in FAST else pytest.mark.slow)
                                       for m in sorted(ALL)])
def test_mutant_is_killed_by_a_claim(mutant_id):
    row = run_mutant(ALL[mutant_id])
    assert row["killed_by"], f"{mutant_id} ({row['description']}) survives every claim: {row['verdicts']}"


def test_mutants_restore_the_library():
    """After a mutant ran, the claims it named reach their expected verdicts again."""
    from lintheory.claims import run_claim, select_claims

    m = ALL[sorted(FAST)[0]]
    run_mutant(m)
    for c in select_claims(ids=list(m.claims))[:2]:
        assert run_claim(c)["verdict"] == c.expected
