"""The lora_margin suite's paper data, certificates and mutants (issues 11 and 12)."""

import math
from pathlib import Path

import numpy as np
import pytest

from lintheory.claims import registry
from lintheory.paperdata import read_paper_data
from lintheory.lora_margin import optimum, printed, template, thresholds
from lintheory.lora_margin import claims as C

ROOT = Path(__file__).resolve().parents[2]
DATA = read_paper_data(str(ROOT / "lintheory" / "lora_margin" / "paper.toml"))


def test_every_claim_has_paper_data_and_printed_failures_name_one_erratum():
    reg = {k: v for k, v in registry(["lora_margin"]).items() if v.group == "lora_margin"}
    for cid, c in reg.items():
        assert c.error != "error", f"{cid} has no error kind"
        if c.form == "printed":
            assert c.quote and c.lines, cid
        else:
            assert c.alternative, f"{cid} names no alternative"
        if c.form == "printed" and c.expected == "fails":
            assert c.erratum in DATA["errata"], cid
    named = [c.erratum for c in reg.values() if c.erratum]
    assert sorted(set(named)) == sorted(DATA["errata"])      # no erratum without a claim
    assert len(named) == len(set(named))                        # one defect, one erratum


def test_printed_readings_of_theorem_3_1_ii_never_give_the_etf_ratio():
    for K, Kb in [(6, 3), (5, 5), (10, 2)]:
        for r in printed.AB_READINGS:
            a, b = printed.intermediate_ab(K, Kb, 2, 1.0, r)
            assert not math.isclose(b / a, 1 / (Kb - 1))
            assert min(abs(b / a - 1 / K), abs(b / a - 1 / Kb)) < 1e-12


@pytest.mark.parametrize("K,Kb,n,frac", [(6, 3, 2, 0.7), (6, 3, 2, 0.05), (5, 5, 1, 0.4), (100, 2, 1, 0.9),
                                         (10, 5, 4, 0.5)])
def test_interval_enclosure_contains_the_closed_form(K, Kb, n, frac):
    lam = frac * thresholds(K, Kb, n).lambda_zero
    o = optimum(K, Kb, n, lam)
    p, q, regime = C._iv_gaps(K, Kb, n, lam)
    assert regime == o.regime
    assert float(p.a) <= o.p + 1e-12 and o.p - 1e-12 <= float(p.b)
    assert float(p.b) - float(p.a) < 1e-8 * max(1.0, o.p)
    th = C._iv_template(K, Kb, n, p, q)[3]
    assert float(th.a) <= o.theta * (1 + 1e-9) and o.theta * (1 - 1e-9) <= float(th.b)


@pytest.mark.parametrize("K,Kb", [(6, 3), (4, 4), (7, 2)])
def test_centring_gain_formula_of_the_ab_certificate(K, Kb):
    # ||V||_* - ||P V||_* = |c0| (1 - sqrt(1 - Kb/K)) for the printed (non-centred) template
    a, b = printed.intermediate_ab(K, Kb, 1, 2.0)
    V = np.zeros((K, Kb))
    V[:Kb] = (a + b) * np.eye(Kb) - b
    P = np.eye(K) - np.ones((K, K)) / K
    gain = np.linalg.svd(V, compute_uv=False).sum() - np.linalg.svd(P @ V, compute_uv=False).sum()
    c0 = a - (Kb - 1) * b
    assert gain == pytest.approx(abs(c0) * (1 - math.sqrt(1 - Kb / K)), rel=1e-12)
    assert gain > 0


def test_c0_branch_point_fails_only_the_spectral_test():
    from lintheory.lora_margin.solvers import verify_optimality

    K, Kb, n = 6, 3, 2
    lam = 0.9 * thresholds(K, Kb, n).lambda_crit
    r = verify_optimality(C._c0_branch_point(K, Kb, n, lam), lam, y=np.repeat(np.arange(Kb), n), n_classes=K)
    assert r["aligned"] < 1e-12 and r["cross"] < 1e-12
    assert 0 < r["spectral"] < 1.0          # ||W'||_2 in (lam, 2 lam): only the exact test rejects it


def test_mutants_registered_and_the_kkt_mutant_is_killed():
    from lintheory.mutants import mutants, run_mutants

    reg = mutants(["lora_margin"])
    assert len(reg) >= 8
    row = run_mutants(["lora_margin"], ids=["lora_margin.kkt_spectral_2lam"])[0]
    assert row["killed_by"] == ["lora_margin.thm3_1.kkt_soundness"]


def test_template_helper_agrees_with_interval_template():
    K, Kb, n = 6, 3, 2
    o = optimum(K, Kb, n, 0.05)
    V = template(K, Kb, o.a, o.b, o.c)
    assert np.linalg.svd(np.repeat(V, n, axis=1), compute_uv=False).sum() == pytest.approx(o.nuclear, rel=1e-12)
