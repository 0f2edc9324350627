"""S²FT paper data, certificates and the Adam restart route."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

from lintheory.errors import InputError, NotConvergedError
from lintheory.s2ft import claims as C
from lintheory.s2ft import printed as pr

ROOT = Path(__file__).resolve().parents[2]
SEED_FILE = Path("/work/shared/seeds/003_6b1767d2fe2301ea.txt")


def _norm(s):
    return " ".join(s.split())


@pytest.mark.skipif(not SEED_FILE.is_file(), reason="seed text not available")
@pytest.mark.parametrize("toml", ["lintheory/s2ft/paper.toml", "proofs_check/s2ft.toml"])
def test_quotes_are_verbatim_at_their_lines(toml):
    data = tomllib.loads((ROOT / toml).read_text())
    seed = SEED_FILE.read_text().split("\n")
    quoted = [(cid, c) for cid, c in data["claims"].items() if "quote" in c]
    assert quoted
    for cid, c in quoted:
        a, b = c["lines"]
        assert _norm(c["quote"]) in _norm("\n".join(seed[a - 1:b])), cid


def test_every_erratum_names_a_kind_and_a_corrected_claim():
    data = tomllib.loads((ROOT / "lintheory/s2ft/paper.toml").read_text())
    named = {c["erratum"] for c in data["claims"].values() if "erratum" in c}
    assert named == set(data["errata"])
    for e in data["errata"].values():
        assert e["corrected"] in data["claims"]


def test_f11_family_certificate_is_exact_and_reading_dependent():
    cfg = {"family": "one_layer", "seed": 3, "p": 3, "r": 1, "c": 14, "eta": 0.9}
    cert1 = C._f11_certify(1)(cfg)     # as converted: rho ||G||_op
    cert2 = C._f11_certify(2)(cfg)     # with the square
    assert cert1["method"] == "exact" and cert1["violation_lower_bound"] > 0
    assert cert2["violation_lower_bound"] < 0
    inst, _ = C._f11_family(cfg)
    e_out = C._population(inst)["lora"][1]
    assert e_out == pytest.approx(0.0, abs=1e-20)
    lower1 = pr.thm_f11_lower_bound(inst.layers, 1, 1, inst.B_in, inst.B_out, inst.sigma_in, inst.sigma_out, 0.9, 1)
    assert lower1 == pytest.approx(cert1["violation_lower_bound"], rel=1e-9)


def test_thm_f11_lower_bound_rejects_bad_power():
    with pytest.raises(InputError):
        pr.thm_f11_lower_bound([np.eye(2)], 1, 1, np.eye(2), np.eye(2), np.eye(2), np.eye(2), 0.5, g_power=3)


def test_exact_tail_bound_on_ce2():
    # CE2 of the note: L = 1, W = 0, Sigma = I, B_in = diag(1, 0.9, 0, 0), r = 1: the LoRA tail is 0.81
    from lintheory.s2ft.data import Instance

    I4 = np.eye(4)
    inst = Instance([np.zeros((4, 4))], 1, np.diag([1.0, 0.9, 0, 0]), np.zeros((4, 4)), I4, I4, I4, [0, 1], 1)
    tail = C._fr(C._lora_tail_lower(C._exact_pop(inst), 1))
    assert Fraction(80, 100) < tail <= Fraction(81, 100) + Fraction(1, 10 ** 12)


@pytest.mark.slow
def test_adam_without_enough_steps_raises_with_restarts():
    from lintheory.s2ft.train import train_adapter

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    Y = X @ np.diag([1.0, 2.0, 3.0]).T
    with pytest.raises(NotConvergedError):
        train_adapter([np.eye(3)], 1, X, Y, method="full", optimizer="adam", lr=0.05, steps=5, restarts=1,
                      device="cpu")
    res = train_adapter([np.eye(3)], 1, X, Y, method="full", optimizer="adam", lr=0.05, steps=400, restarts=4,
                        grad_tol=1e-8, device="cpu")
    assert np.abs(res.F - np.diag([1.0, 2.0, 3.0])).max() < 1e-6


def test_f11_upper_scaling_family_ratio_grows_only_as_converted():
    cfg = {"family": "scaling", "seed": 5}
    assert C._f11_upper_err(False)(cfg) == pytest.approx(1.0, abs=1e-9)   # E / (x^2 + y^2 + z + w^2) ~ t
    assert C._f11_upper_err(True)(cfg) == pytest.approx(0.0, abs=1e-9)    # E / (x^2 + y^2 + z^2 + w^2) = 1
    inst = C._f11_upper_family(cfg, 8.0)
    a = pr.thm_f11_upper_terms(inst.layers, 1, 1, inst.B_in, inst.B_out, inst.sigma_in, inst.sigma_out)
    assert a["x"] == pytest.approx(0, abs=1e-12) and a["y"] == pytest.approx(0, abs=1e-12)
    assert a["w"] == pytest.approx(0, abs=1e-12) and a["z"] > 0
