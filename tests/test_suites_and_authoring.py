"""Suites from entry points, files and modules; the init scaffold; the tutorial suite.

Issue 15: a suite written with only the public API verifies from the CLI, its wrong
variant fails with a counterexample and replays; an installed scaffold is discovered
through its entry point; bad suites exit 2 with one line each.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lintheory import claims as C
from lintheory import suites as S
from lintheory.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial" / "ridge_suite.py"


@pytest.fixture
def fresh_suites(monkeypatch):
    """Suites loaded in a test are forgotten afterwards (registry, loaded and extra suites)."""
    monkeypatch.setattr(S, "_LOADED", dict(S._LOADED))
    monkeypatch.setattr(S, "_EXTRA", dict(S._EXTRA))
    monkeypatch.setattr(C, "_REGISTRY", dict(C._REGISTRY))
    yield


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("lintheory: error:"), err
    return err


def _write(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


GOOD = '''
from lintheory import Evidence, claim, sweep

@claim(id="{name}.square.holds", paper="toy.txt", source="Eq. 1", statement="x*x >= 0",
       form="derived", method="numbers", expected="holds", error="absolute gap")
def _(ctx):
    return sweep([{{"x": x}} for x in range(-3, 4)], lambda c: max(0.0, -c["x"] * c["x"]), 0.0,
                 hypotheses=())
'''


def test_builtin_suites_come_from_the_entry_point_group():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group=S.ENTRY_POINT_GROUP)}
    assert set(C.PAPERS) <= set(eps), "install the package (pip install .) to register its suites"
    assert eps["proofs"] == "proofs_check.suite"
    assert set(C.PAPERS) <= set(S.known_suites())


def test_one_claim_loads_one_suite():
    code = ("import sys; from lintheory.claims import select_claims; select_claims(ids=['svm.etf.gram']);"
            "print(sorted(m for m in sys.modules if m.endswith('.claims') and m.startswith('lintheory.') and m != 'lintheory.claims'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['lintheory.svm.claims']"


def test_file_suite_verifies_from_the_cli(tmp_path, fresh_suites, capsys):
    path = _write(tmp_path, "toy.py", GOOD.format(name="toy"))
    assert main(["verify", "--suite", str(path), "--paper", "toy", "--out", str(tmp_path / "r")]) == 0
    rec = json.loads((tmp_path / "r" / "report.json").read_text())["claims"]
    assert [r["id"] for r in rec] == ["toy.square.holds"] and rec[0]["verdict"] == "holds"


def test_missing_suite_path_exits_2(tmp_path, capsys):
    assert main(["verify", "--suite", str(tmp_path / "nope.py"), "--out", str(tmp_path / "r")]) == 2
    assert "no such file" in _one_line_error(capsys)


def test_suite_that_raises_on_import_exits_2(tmp_path, fresh_suites, capsys):
    path = _write(tmp_path, "boom.py", "raise RuntimeError('the data file is missing')\n")
    assert main(["list", "--suite", str(path)]) == 2
    err = _one_line_error(capsys)
    assert "boom" in err and "failed to import" in err and "the data file is missing" in err


def test_suite_registering_outside_its_name_is_refused(tmp_path, fresh_suites, capsys):
    path = _write(tmp_path, "mine.py", GOOD.format(name="svm2"))
    before = set(C._REGISTRY)
    assert main(["list", "--suite", str(path)]) == 2
    assert "outside its own name" in _one_line_error(capsys)
    assert set(C._REGISTRY) == before  # nothing of the refused suite stays registered
    # the other suites are not affected
    assert main(["list", "--paper", "svm"]) == 0


def test_duplicate_claim_id_across_suites_exits_2(tmp_path, fresh_suites, capsys):
    """Ids start with the suite's name, so a duplicate id means the same suite name twice."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _write(tmp_path / "a", "dup.py", GOOD.format(name="dup"))
    b = _write(tmp_path / "b", "dup.py", GOOD.format(name="dup"))
    assert main(["list", "--suite", str(a), "--suite", str(b)]) == 2
    assert "already loaded" in _one_line_error(capsys)
    # a file suite may not take the name (and so the ids) of an installed suite
    c = _write(tmp_path, "clash.py", "SUITE = 'svm'\n" + GOOD.format(name="svm"))
    assert main(["list", "--suite", str(c)]) == 2
    assert "already an installed suite" in _one_line_error(capsys)


def test_entry_point_pointing_nowhere_exits_2(monkeypatch, fresh_suites, capsys, tmp_path):
    monkeypatch.setattr(S, "_ENTRY_POINTS", {**S._entry_points(), "ghost": "ghost_pkg_nowhere.claims"})
    assert main(["verify", "--paper", "ghost", "--out", str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert "ghost" in err and "not found" in err


def test_unknown_paper_exits_2_with_close_matches(capsys):
    for cmd in (["errata", "--paper", "lora_margn"], ["coverage", "--paper", "lora_margn"],
                ["mutants", "--paper", "lora_margn"], ["list", "--paper", "lora_margn"]):
        assert main(cmd) == 2
        assert "lora_margin" in _one_line_error(capsys)


def test_tutorial_suite_holds_fails_and_replays(tmp_path, fresh_suites, capsys):
    out = tmp_path / "tut"
    assert main(["verify", "--suite", str(TUTORIAL), "--paper", "ridge", "--out", str(out)]) == 0
    recs = {r["id"]: r for r in json.loads((out / "report.json").read_text())["claims"]}
    assert recs["ridge.closed_form.vs_lstsq"]["verdict"] == "holds"
    assert recs["ridge.closed_form.vs_trained"]["verdict"] == "holds"
    assert recs["ridge.closed_form.vs_lstsq"]["discrimination"]["rejected"]
    bad = recs["ridge.closed_form.printed"]
    assert bad["verdict"] == "fails" and bad["counterexample"] is not None
    assert bad["certificate"]["method"] == "interval" and bad["certificate"]["violation_lower_bound"] > 0
    assert bad["erratum"] == "ridge.E1" and "λ/2" in bad["quote"]
    capsys.readouterr()
    assert main(["replay", "ridge.closed_form.printed", "--suite", str(TUTORIAL),
                 "--report", str(out / "report.json")]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["verdict"] == "fails" and abs(again["error"] - bad["counterexample"]["error"]) < 1e-12
    assert main(["errata", "--suite", str(TUTORIAL), "--paper", "ridge", "--json",
                 "--report", str(out / "report.json")]) == 0
    errata = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in errata] == ["ridge.E1"] and errata[0]["replay"].startswith("lintheory replay")


def test_tutorial_suite_under_jobs_2_gives_the_serial_report(tmp_path, fresh_suites):
    for jobs in ("1", "2"):
        assert main(["verify", "--suite", str(TUTORIAL), "--paper", "ridge", "--jobs", jobs,
                     "--out", str(tmp_path / jobs)]) == 0
    strip = [[{k: v for k, v in r.items() if k != "seconds"}
              for r in json.loads((tmp_path / j / "report.json").read_text())["claims"]] for j in "12"]
    assert strip[0] == strip[1]


def test_tutorial_quote_is_in_its_paper():
    from lintheory.paperdata import read_paper_data

    data = read_paper_data(str(TUTORIAL.with_suffix(".toml")))
    text = " ".join((TUTORIAL.parent / data["seed"]).read_text(encoding="utf-8").split())
    for cid, entry in data["claims"].items():
        assert " ".join(entry["quote"].split()) in text, cid


def test_init_refuses_a_non_empty_directory(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["init", "mysuite", "--dir", str(tmp_path)]) == 2
    assert "not empty" in _one_line_error(capsys)
    assert main(["init", "mysuite", "--dir", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "mysuite" / "claims.py").is_file() and (tmp_path / "keep.txt").read_text() == "mine"
    assert main(["init", "Not-A-Name", "--dir", str(tmp_path / "x")]) == 2


def test_installed_scaffold_is_discovered_verifies_and_its_tests_pass(tmp_path):
    """pip install DIR; lintheory verify --paper NAME; pytest inside DIR (a fresh process each)."""
    pkg = tmp_path / "scaf"
    assert main(["init", "scafsuite", "--dir", str(pkg)]) == 0
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(pkg)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "lintheory.cli", "verify", "--paper", "scafsuite",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    recs = {r["id"]: r for r in json.loads((tmp_path / "out" / "report.json").read_text())["claims"]}
    assert recs["scafsuite.ridge.closed_form.corrected"]["verdict"] == "holds"
    assert recs["scafsuite.ridge.closed_form.printed"]["verdict"] == "fails"
    assert recs["scafsuite.ridge.closed_form.printed"]["certificate"]["method"] == "exact"
    mut = subprocess.run([sys.executable, "-m", "lintheory.cli", "mutants", "--paper", "scafsuite", "--json"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert mut.returncode == 0, mut.stderr
    assert all(row["killed_by"] for row in json.loads(mut.stdout))
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
                           capture_output=True, text=True, env=env, cwd=pkg)
    assert tests.returncode == 0, tests.stdout[-2000:]
