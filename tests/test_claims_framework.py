"""The claim model: verdict rules, the sweep helper, seeds and selection."""

import math

import pytest

from lintheory.claims import (Context, Evidence, Inconclusive, claim_seed, jsonable, run_claim,
                              select_claims, sweep)
from lintheory.errors import InputError


def test_verdict_rules():
    assert Evidence(instances=3, max_error=1e-9, tolerance=1e-6).verdict == "holds"
    assert Evidence(instances=3, max_error=1e-3, tolerance=1e-6).verdict == "fails"
    assert Evidence(instances=3, max_error=0.0, tolerance=1.0, counterexample={"n": 1}).verdict == "fails"
    assert Evidence(instances=3, inconclusive="solver status INACCURATE").verdict == "inconclusive"
    assert Evidence(skipped="no CUDA").verdict == "skipped"
    # no instance tried is never 'holds'
    assert Evidence(instances=0, max_error=0.0, tolerance=1.0).verdict == "inconclusive"
    # a NaN error is not within tolerance
    assert Evidence(instances=1, max_error=float("nan"), tolerance=1.0).verdict == "fails"


def test_sweep_keeps_smallest_counterexample():
    configs = [{"n": n, "seed": 7} for n in (5, 3, 9, 4)]
    ev = sweep(configs, lambda c: float(c["n"] >= 4), tolerance=0.5)
    assert ev.verdict == "fails"
    assert ev.counterexample["n"] == 4
    assert ev.instances == 4 and ev.details["failing_instances"] == 3


def test_sweep_recheck_discards_spurious_failures():
    ev = sweep([{"n": 1}], lambda c: 1.0, tolerance=0.5, recheck=lambda c: 0.0)
    assert ev.verdict == "inconclusive"


def test_sweep_untrusted_route_is_inconclusive():
    def evaluate(c):
        if c["n"] == 2:
            raise Inconclusive("solver status INACCURATE")
        return 0.0

    ev = sweep([{"n": 1}, {"n": 2}], evaluate, tolerance=1e-6)
    assert ev.verdict == "inconclusive"
    assert ev.details["untrusted_instances"] == 1


def test_claim_seed_is_stable_and_distinct():
    assert claim_seed(0, "svm.etf.gram") == claim_seed(0, "svm.etf.gram")
    assert claim_seed(0, "svm.etf.gram") != claim_seed(1, "svm.etf.gram")
    assert claim_seed(0, "svm.etf.gram") != claim_seed(0, "svm.etf.rank")


def test_same_seed_same_record():
    a = run_claim("svm.prop2_1.closed_form.printed", seed=3)
    b = run_claim("svm.prop2_1.closed_form.printed", seed=3)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_context_rng_is_seeded():
    ctx = Context(seed=11)
    assert ctx.rng(1).random() == Context(seed=11).rng(1).random()
    assert ctx.rng(1).random() != ctx.rng(2).random()


def test_selection_and_close_matches():
    assert all(c.group == "svm" for c in select_claims(papers=["svm"]))
    prefix = select_claims(ids=["svm.etf"])
    assert len(prefix) >= 7 and all(c.id.startswith("svm.etf.") for c in prefix)
    with pytest.raises(InputError, match="close matches: svm.etf.gram"):
        select_claims(ids=["svm.etf.gramm"])
    with pytest.raises(InputError, match="unknown paper"):
        select_claims(papers=["lora"])


def test_jsonable_handles_numpy_and_nonfinite():
    import numpy as np

    out = jsonable({"a": np.float64(1.5), "b": np.arange(2), "c": math.inf, "d": np.bool_(True)})
    assert out == {"a": 1.5, "b": [0, 1], "c": "inf", "d": True}


def test_crashing_check_is_reported_not_hidden(monkeypatch):
    from lintheory import claims as C

    def boom(ctx):
        raise ZeroDivisionError("bug in a check")

    c = C.Claim(id="svm.test.crash", paper="x", source="x", statement="x", form="derived",
                method="x", expected="holds", check=boom)
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive"
    assert "ZeroDivisionError" in rec["details"]["inconclusive_reason"]


def test_replay_of_a_counterexample_and_of_a_foreign_config():
    from lintheory.claims import replay

    rec = run_claim("svm.prop2_1.closed_form.printed")
    cex = rec["counterexample"]
    again = replay("svm.prop2_1.closed_form.printed", cex, sweep_index=rec["details"]["counterexample_sweep"])
    assert again["verdict"] == "fails" and again["error"] == pytest.approx(cex["error"], rel=1e-9)
    # the same instance satisfies the corrected statement
    fixed = replay("svm.prop2_1.closed_form.corrected", cex)
    assert fixed["verdict"] == "holds" and fixed["error"] < 1e-6


def test_replay_without_sweep_is_an_input_error():
    from lintheory import claims as C

    c = C.Claim(id="svm.test.nosweep", paper="x", source="x", statement="x", form="derived",
                method="x", expected="holds", check=lambda ctx: Evidence(instances=1, max_error=0.0, tolerance=1.0))
    C._REGISTRY[c.id] = c
    try:
        with pytest.raises(InputError, match="no sweep number 0"):
            C.replay(c.id, {"n": 1})
    finally:
        del C._REGISTRY[c.id]
