"""The verdict contract (issue 12) and the fairness machinery (issue 11), on toy claims.

Every rule here can fail: each test builds a claim that breaks one rule and checks that
the runner, sweep or by_reading refuses it.
"""

import json

import pytest

from lintheory import claims as C
from lintheory.certify import bound_violated, exact, from_float, interval, iv, not_optimal
from lintheory.claims import Evidence, Hypothesis, OutsideHypotheses, by_reading, claim, run_claim, sweep
from lintheory.cli import main, parse_seeds
from lintheory.errors import InputError


@pytest.fixture
def toy(monkeypatch):
    """Register toy claims of a throw-away suite ``toy``; forgotten after the test."""
    from lintheory import suites as S

    # the registry and the suites loaded into it are restored together
    monkeypatch.setattr(C, "_REGISTRY", dict(C._REGISTRY))
    monkeypatch.setattr(S, "_LOADED", dict(S._LOADED))
    monkeypatch.setattr(S, "_EXTRA", dict(S._EXTRA))
    made = []

    def register(check, *, cid="toy.rule.case", form="derived", expected="holds", **kw):
        claim(id=cid, paper="toy.txt", source="Eq. 0", statement="toy", form=form, method="toy",
              expected=expected, **kw)(check)
        made.append(cid)
        return C._REGISTRY[cid]
    return register


def test_fails_without_counterexample_is_refused(toy):
    c = toy(lambda ctx: Evidence(instances=3, max_error=2.0, tolerance=1.0))
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive"
    assert "no counterexample" in rec["details"]["inconclusive_reason"]


def test_fails_with_counterexample_is_kept(toy):
    c = toy(lambda ctx: sweep([{"x": 1}, {"x": 3}], lambda cfg: cfg["x"], 2.0), expected="fails")
    rec = run_claim(c)
    assert rec["verdict"] == "fails" and rec["counterexample"] == {"x": 3, "error": 3.0}


def test_every_instance_outside_the_hypotheses_is_inconclusive_never_holds(toy):
    c = toy(lambda ctx: sweep([{"K": 3, "Kb": 2}, {"K": 5, "Kb": 1}], lambda cfg: 0.0, 1e-9),
            hypotheses=[{"text": "K̄ = K", "check": "Kb == K"}])
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive"
    assert "no instance inside the stated hypotheses" in rec["details"]["inconclusive_reason"]
    assert rec["hypotheses"] == ["K̄ = K"]


def test_instances_outside_the_hypotheses_never_count_against(toy):
    # the statement fails only outside its hypotheses: inside, it holds
    c = toy(lambda ctx: sweep([{"K": 3, "Kb": 3}, {"K": 3, "Kb": 1}],
                              lambda cfg: 0.0 if cfg["Kb"] == cfg["K"] else 5.0, 1e-9),
            hypotheses=[Hypothesis("K̄ = K", "Kb == K")])
    rec = run_claim(c)
    assert rec["verdict"] == "holds" and rec["instances"] == 1
    assert rec["details"]["outside_hypotheses"] == 1


def test_evaluate_may_reject_an_instance_as_outside(toy):
    def ev(cfg):
        if cfg["x"] < 0:
            raise OutsideHypotheses("x >= 0 (stated)")
        return 0.0
    rec = run_claim(toy(lambda ctx: sweep([{"x": -1}, {"x": 2}], ev, 1e-9)))
    assert rec["verdict"] == "holds" and rec["instances"] == 1


def test_a_hypothesis_check_that_cannot_be_evaluated_is_an_error(toy):
    c = toy(lambda ctx: sweep([{"x": 1}], lambda cfg: 0.0, 1.0),
            hypotheses=[{"text": "n >= 2", "check": "n >= 2"}])
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive" and "cannot be evaluated" in json.dumps(rec["details"])


def test_uncertified_counterexample_is_refused(toy):
    c = toy(lambda ctx: sweep([{"x": 3}], lambda cfg: cfg["x"], 2.0,
                              certify=lambda cfg: exact(0, note="no violation in exact arithmetic")),
            expected="fails")
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive" and "certificate" in rec["details"]["inconclusive_reason"]


def test_certified_counterexample_carries_its_certificate(toy):
    c = toy(lambda ctx: sweep([{"x": 3}], lambda cfg: cfg["x"], 2.0,
                              certify=lambda cfg: bound_violated(cfg["x"], "<=", 2)),
            expected="fails")
    rec = run_claim(c)
    assert rec["verdict"] == "fails"
    assert rec["certificate"]["method"] == "exact" and rec["certificate"]["violation_lower_bound"] == 1.0


def test_a_check_that_cannot_reject_its_alternative_is_inconclusive(toy):
    c = toy(lambda ctx: sweep([{"x": 1}], lambda cfg: 0.0, 1e-3,
                              alternative=("off by 1e-9", lambda cfg: 1e-9)))
    rec = run_claim(c)
    assert rec["verdict"] == "inconclusive" and "cannot reject the alternative" in rec["details"]["inconclusive_reason"]
    c2 = toy(lambda ctx: sweep([{"x": 1}], lambda cfg: 0.0, 1e-3,
                               alternative=("off by one", lambda cfg: 1.0)), cid="toy.rule.other")
    rec2 = run_claim(c2)
    assert rec2["verdict"] == "holds"
    assert rec2["discrimination"] == {"alternative": "off by one", "gap": 1.0, "tolerance": 1e-3, "rejected": True}


def test_by_reading_fails_only_when_every_reading_fails():
    bad = Evidence(instances=1, max_error=2.0, tolerance=1.0, counterexample={"x": 1, "error": 2.0},
                   certificate=exact(1))
    good = Evidence(instances=1, max_error=0.0, tolerance=1.0)
    one_holds = by_reading({"as converted": bad, "with the bar over K": good})
    assert one_holds.verdict == "holds"
    assert one_holds.readings["as converted"]["verdict"] == "fails"
    assert one_holds.details["failing_readings"] == ["as converted"]
    both = by_reading({"a": bad, "b": Evidence(instances=1, max_error=3.0, tolerance=1.0,
                                               counterexample={"x": 2, "error": 3.0},
                                               certificate=interval(iv(0.5)))})
    assert both.verdict == "fails" and both.counterexample == {"x": 1, "error": 2.0}
    assert both.certificate["method"] == "interval"  # the weakest of the readings' certificates


def test_printed_claim_without_quote_is_refused_at_registration(monkeypatch):
    monkeypatch.setattr(C, "REQUIRE_QUOTES", True)
    monkeypatch.setattr(C, "_REGISTRY", dict(C._REGISTRY))  # nothing is loaded in this test
    with pytest.raises(C.ContractError, match="verbatim quote"):
        claim(id="toy.noquote.printed", paper="toy.txt", source="Eq. 1", statement="s", form="printed",
              method="m", expected="fails")(lambda ctx: Evidence())
    with pytest.raises(C.ContractError, match="lines"):
        claim(id="toy.nolines.printed", paper="toy.txt", source="Eq. 1", statement="s", form="printed",
              method="m", expected="fails", quote="a quote long enough to count")(lambda ctx: Evidence())


def test_certificates_refuse_what_they_cannot_prove():
    assert bound_violated(iv(1.0), "<=", 1.0)["violation_lower_bound"] <= 0
    assert not_optimal(1.0, 1.0)["violation_lower_bound"] <= 0
    assert not_optimal(2.0, 1.0)["violation_lower_bound"] > 0
    assert from_float(5.0, 1.0)["violation_in_error_units"] == 5.0
    with pytest.raises(ValueError):
        from_float(1.0, 0.0)


@pytest.mark.parametrize("text, seeds", [("0-3", [0, 1, 2, 3]), ("0,3,7", [0, 3, 7]), ("5", [5]),
                                         ("1-2,9", [1, 2, 9])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a-b", "3-1", "-2", "1.5"])
def test_parse_seeds_refuses_bad_text(text):
    with pytest.raises(InputError):
        parse_seeds(text)


def test_seed_dependent_claim_exits_1(toy, tmp_path, capsys, monkeypatch):
    from lintheory import suites as S

    monkeypatch.setattr(S, "_EXTRA", {**S._EXTRA, "toy": "toy"})
    monkeypatch.setattr(S, "_LOADED", {**S._LOADED, "toy": "toy"})
    # holds at even claim seeds, fails at odd ones: a coin flip, not a verdict
    toy(lambda ctx: sweep([{"s": ctx.seed % 2}], lambda cfg: float(cfg["s"]), 0.5), cid="toy.coin.flip")
    toy(lambda ctx: sweep([{"s": 0}], lambda cfg: 0.0, 0.5), cid="toy.steady.holds")
    out = tmp_path / "seeds"
    code = main(["verify", "--paper", "toy", "--seeds", "0-3", "--out", str(out)])
    summary = json.loads((out / "seeds.json").read_text())
    flips = {s: v for s, v in summary["verdicts"]["toy.coin.flip"].items()}
    assert len(set(flips.values())) == 2, flips
    assert code == 1 and summary["seed_dependent"] == ["toy.coin.flip"]
    assert (out / "seed_2" / "report.json").is_file()
    assert "seed-dependent: toy.coin.flip" in capsys.readouterr().out


def test_mutant_is_applied_everywhere_and_restored():
    from lintheory.geometry import simplex_etf
    from lintheory.mutants import Mutant, applied

    import lintheory.svm.claims as svm_claims

    m = Mutant(id="svm.tmp", description="x2", target="lintheory.geometry:simplex_etf", claims=("svm.etf",),
               replace=lambda f: (lambda *a, **k: 2 * f(*a, **k)))
    with applied(m) as new:
        assert svm_claims.simplex_etf is new  # bound by name in another module: patched there too
    assert svm_claims.simplex_etf is simplex_etf


def test_mutants_cli_reports_a_survivor_with_exit_1(monkeypatch, capsys):
    from lintheory import mutants as M

    monkeypatch.setattr(M, "_MUTANTS", {})
    monkeypatch.setattr(M, "load_mutants", lambda suites=None: None)
    M.mutant(id="svm.harmless", description="a no-op wrapper no claim can see",
             target="lintheory.geometry:simplex_etf", replace=lambda f: (lambda *a, **k: f(*a, **k)),
             claims=["svm.etf.gram"])
    M.mutant(id="svm.scaled", description="ETF scaled by 2", target="lintheory.geometry:simplex_etf",
             replace=lambda f: (lambda *a, **k: 2 * f(*a, **k)), claims=["svm.etf.gram"])
    assert main(["mutants", "--paper", "svm", "--json"]) == 1
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["svm.harmless"]["killed_by"] == [] and rows["svm.scaled"]["killed_by"] == ["svm.etf.gram"]
