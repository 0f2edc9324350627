"""The CLI and JSON contract: exit codes, files written, report fields."""

import json
import os
import subprocess
import sys

import pytest

from lintheory.cli import main
from lintheory.report import atomic_write_text, build_report, regressions, write_report

CONTRACT_FIELDS = {"id", "paper", "source", "statement", "form", "method", "expected", "verdict",
                   "instances", "max_error", "tolerance", "counterexample", "seconds", "seed", "details"}


def test_verify_writes_contract_report(tmp_path, capsys):
    code = main(["verify", "--claim", "svm.etf", "--claim", "svm.prop2_1.closed_form.printed",
                 "--out", str(tmp_path), "--seed", "5"])
    assert code == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    assert {"lintheory", "created", "profile", "device", "seed", "versions", "claims"} <= set(rep)
    assert set(rep["versions"]) == {"python", "numpy", "scipy", "cvxpy", "torch"}
    assert rep["seed"] == 5 and rep["profile"] == "quick" and rep["device"] == "cpu"
    assert len(rep["claims"]) == 8
    for r in rep["claims"]:
        assert set(r) == CONTRACT_FIELDS
    md = (tmp_path / "report.md").read_text()
    assert "svm.prop2_1.closed_form.printed" in md and "Counterexamples" in md
    out = capsys.readouterr().out
    assert "svm  (8/8 as expected)" in out


def test_unknown_claim_exit_2_with_close_matches(capsys):
    assert main(["verify", "--claim", "svm.etf.gramm", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err
    assert "svm.etf.gram" in err and err.count("\n") == 1


def test_bad_usage_exit_2(capsys):
    assert main(["verify", "--profile", "huge"]) == 2
    assert main(["verify", "--jobs", "0", "--claim", "svm.etf.gram"]) == 2
    assert main(["nosuchcommand"]) == 2


def test_cuda_without_cuda_is_exit_2(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    assert main(["verify", "--device", "cuda", "--claim", "svm.etf.gram"]) == 2
    assert "CUDA" in capsys.readouterr().err


def test_regression_gives_exit_1(tmp_path, monkeypatch):
    from lintheory import claims as C

    reg = C.registry()
    real = reg["svm.etf.gram"]
    fake = C.Claim(**{**real.describe(), "expected": "fails"}, check=real.check)
    monkeypatch.setitem(C._REGISTRY, "svm.etf.gram", fake)
    assert main(["verify", "--claim", "svm.etf.gram", "--out", str(tmp_path)]) == 1
    rep = json.loads((tmp_path / "report.json").read_text())
    assert len(regressions(rep)) == 1


def test_list_json(capsys):
    assert main(["list", "--paper", "svm", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items and all(i["id"].startswith("svm.") for i in items)


def test_proofs_command(capsys):
    assert main(["proofs", "--paper", "svm"]) == 0
    assert "proofs.svm.thmD1.max_value" in capsys.readouterr().out
    assert main(["proofs", "--paper", "nosuch"]) == 2


def test_jobs_gives_same_records(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ids = ["--claim", "svm.etf.gram", "--claim", "svm.prop2_1.k_row_closed_form"]
    assert main(["verify", *ids, "--out", str(a)]) == 0
    assert main(["verify", *ids, "--jobs", "2", "--out", str(b)]) == 0
    ra = json.loads((a / "report.json").read_text())["claims"]
    rb = json.loads((b / "report.json").read_text())["claims"]
    for x, y in zip(ra, rb):
        x.pop("seconds"), y.pop("seconds")
    assert ra == rb


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "report.json"
    atomic_write_text(p, "old")

    class Boom:
        def __str__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        atomic_write_text(p, Boom())  # writing fails before the rename
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["report.json"]


def test_console_script_runs():
    exe = os.path.join(os.path.dirname(sys.executable), "lintheory")
    res = subprocess.run([exe, "list", "--paper", "svm"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "svm.etf.gram" in res.stdout


def test_figures_command_writes_pdf_and_png(tmp_path):
    assert main(["figures", "--only", "svm", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"svm_simplex_etf.pdf", "svm_simplex_etf.png"} <= names
    assert main(["figures", "--only", "nosuchfigure", "--out", str(tmp_path)]) == 2


def test_replay_command_from_report_and_json(tmp_path, capsys):
    assert main(["verify", "--claim", "svm.prop2_1.closed_form.printed", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["replay", "svm.prop2_1.closed_form.printed", "--report", str(tmp_path / "report.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    cex = json.loads((tmp_path / "report.json").read_text())["claims"][0]["counterexample"]
    assert out["verdict"] == "fails" and out["error"] == pytest.approx(cex["error"], rel=1e-9)
    # the same instance under the corrected statement
    assert main(["replay", "svm.prop2_1.closed_form.corrected", "--counterexample", json.dumps(cex)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "holds"
    assert main(["replay", "svm.etf.gramm", "--counterexample", "{}"]) == 2
    assert main(["replay", "svm.etf.gram", "--counterexample", "not json"]) == 2


def test_figures_jobs_2_writes_the_same_images(tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "jobs"
    assert main(["figures", "--only", "svm", "--out", str(serial)]) == 0
    assert main(["figures", "--only", "svm", "--jobs", "2", "--out", str(parallel)]) == 0
    pngs = sorted(p.name for p in serial.glob("*.png"))
    assert len(pngs) >= 2 and pngs == sorted(p.name for p in parallel.glob("*.png"))
    for name in pngs:  # Agg writes no timestamp into a PNG: equal pixels give equal bytes
        assert (serial / name).read_bytes() == (parallel / name).read_bytes(), name
    assert main(["figures", "--jobs", "0", "--out", str(parallel)]) == 2
