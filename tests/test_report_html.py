"""report.md and report.html for a reader (issue 13, part 2), on synthetic records."""

import base64
import re
import shutil
import subprocess
import sys

import pytest

from lintheory import report as R

PAPER = "002_caa97dd52c787aec.txt"


def _rec(id, source, *, form="derived", expected="holds", verdict="holds", max_error=1e-12,
         tolerance=1e-9, error="relative error", lines=None, statement=None, cex=None, **extra):
    rec = {"id": id, "paper": PAPER, "source": source, "statement": statement or f"statement of {id}",
           "form": form, "method": "synthetic", "expected": expected, "verdict": verdict,
           "instances": 12, "max_error": max_error, "tolerance": tolerance, "counterexample": cex,
           "seconds": 0.01, "seed": 1, "details": {"counterexample_sweep": 0} if cex else {},
           "error": error, "lines": lines}
    rec.update(extra)
    return rec


@pytest.fixture
def report():
    claims = [
        _rec("svm.lem10.b", "Lemma 10, L400", statement=r"$\|Z\|_* \le |z|$ for $z\in\mathbb R$"),
        _rec("svm.lem2.a", "Lemma 2", lines=[120, 121]),
        _rec("svm.prop1.printed", "Proposition 1", form="printed", expected="fails", verdict="fails",
             lines=[50, 52], max_error=166.0, error="relative error of the margin",
             statement=r"the margin is $\sqrt{\bar K/(\bar K-1)}$",
             cex={"Kb": 2, "n": 1, "seed": 7, "error": 63.8},
             quote="the margin is sqrt(K/(K-1))", erratum="svm.E9",
             certificate={"method": "exact", "violation_lower_bound": 0.5, "note": "exact"},
             readings={"a": {"verdict": "fails", "max_error": 166.0},
                       "b": {"verdict": "fails", "max_error": 3.0}}),
        _rec("svm.prop1.corrected", "Proposition 1", form="corrected", lines=[50, 52]),
        _rec("svm.zscore", "Theorem 3", error="z-score", max_error=-0.7, tolerance=4.0),
        _rec("svm.regressed", "Theorem 4", verdict="fails", max_error=2.0,
             cex={"m": 3, "seed": 1, "error": 2.0}),
        _rec("svm.odd", "Theorem 5", verdict="inconclusive", max_error=None,
             details={"inconclusive_reason": "solver status INACCURATE"}),
        _rec("coto.thm31.printed", "Theorem 3.1", form="printed", expected="fails", verdict="fails",
             max_error=1.5, cex={"L": 1, "seed": 2, "error": 1.0}, paper="004_x.txt"),
    ]
    return {"lintheory": "0", "created": "now", "profile": "quick", "device": "cpu", "seed": 0,
            "versions": {"python": "3"}, "claims": sorted(claims, key=lambda r: r["id"])}


@pytest.fixture
def no_errata_module(monkeypatch):
    """Errata data not importable: the report falls back to the failing printed claims."""
    import lintheory.errata as E

    def boom(records, suites=None):
        raise ImportError("no errata data")

    monkeypatch.setattr(E, "errata_from_records", boom)


def test_top_says_refuted_then_regressed_then_errata(report, no_errata_module):
    md = R.to_markdown(report)
    top = md.split("## Errata")[0]
    i_ref, i_reg = top.index("2 printed statements are refuted"), top.index("2 claims regressed")
    assert i_ref < i_reg  # in this order, before the errata table
    assert "`svm.regressed`: expected holds, got **fails**" in top
    assert "`svm.odd`: expected holds, got **inconclusive**" in top  # inconclusive differs too
    errata = md.split("## Errata")[1].split("\n## ")[0]
    rows = [ln for ln in errata.splitlines() if ln.startswith("| `")]
    assert len(rows) == 2  # one per refuted printed claim (the regression is not printed)
    row = next(r for r in rows if "svm.E9" in r)
    assert PAPER in row and "Proposition 1 (seed L50–52)" in row
    assert r"$\sqrt{\bar K/(\bar K-1)}$" in row  # the statement
    assert "relative error of the margin 63.8" in row and "tolerance 1e-09" in row  # by how much
    assert "violation ≥ 0.5" in row and "fails under 2 of its 2 readings" in row
    assert "lintheory replay svm.prop1.printed --counterexample" in row and '"Kb": 2' in row


def test_errata_rows_come_from_errata_from_records(report, monkeypatch):
    import lintheory.errata as E

    seen = []

    def fake(records, suites=None):
        seen.append(len(list(records)))
        return [{"id": "svm.E9", "paper": PAPER, "suite": "svm", "lines": [50, 52],
                 "kind": "wrong constant", "quote": "q", "what": "off by the factor sqrt(2)",
                 "claims": ["svm.prop1.printed"], "corrected": "svm.prop1.corrected",
                 "source": "Proposition 1", "statement": "the margin is ...",
                 "counterexample": {"Kb": 2, "n": 1, "seed": 7, "error": 63.8},
                 "certificate": None, "replay": "lintheory replay svm.prop1.printed --counterexample X"}]

    monkeypatch.setattr(E, "errata_from_records", fake)
    rows = R.errata_rows(report)
    assert seen == [len(report["claims"])]
    assert [r["erratum"] for r in rows] == ["svm.E9"]
    md = R.to_markdown(report)
    assert "off by the factor sqrt(2)" in md and "(wrong constant)" in md
    assert "corrected: `svm.prop1.corrected`" in md and "--counterexample X" in md


def test_paper_tables_in_source_order_with_statement_and_source(report, no_errata_module):
    md = R.to_markdown(report)
    svm = md.split("## svm")[1].split("\n## ")[0]
    ids = re.findall(r"^\| `([a-z0-9_.]+)` \|", svm, flags=re.M)
    # seed lines first (L50 < L120 < L400), then the numbering of the source, never the id alone
    assert ids[:4] == ["svm.prop1.printed", "svm.prop1.corrected", "svm.lem2.a", "svm.lem10.b"]
    assert ids.index("svm.zscore") < ids.index("svm.regressed") < ids.index("svm.odd")
    assert md.index("## svm") < md.index("## coto")  # papers in the project's order
    row = next(ln for ln in svm.splitlines() if ln.startswith("| `svm.lem10.b`"))
    assert "Lemma 10, L400" in row and "statement" not in row.split("|")[2]
    # math in a table cell: no escaped pipe reaches the TeX
    assert r"$\Vert Z\Vert _* \le \vert z\vert $" in row


def test_every_number_has_its_error_kind_and_the_counterexample_is_explained(report, no_errata_module):
    md = R.to_markdown(report)
    header = next(ln for ln in md.splitlines() if ln.startswith("| claim |"))
    assert "largest error" in header and "error kind" in header and "max error" not in header
    z = next(ln for ln in md.splitlines() if ln.startswith("| `svm.zscore`"))
    assert "| -0.7 | z-score | 4 |" in z
    cex = md.split("## Counterexamples")[1]
    line = next(ln for ln in cex.splitlines() if "svm.prop1.printed" in ln)
    assert "error of this smallest counterexample 63.8" in line
    assert "largest error over the 12 instances 166" in line
    assert "## How to read the numbers" in md and "smallest counterexample" in md
    assert "solver status INACCURATE" in md.split("## Inconclusive and skipped")[1]


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=50)
    plt.close(fig)


def test_html_is_self_contained_with_figures_and_math(tmp_path, report, no_errata_module):
    figs = tmp_path / "figs"
    figs.mkdir()
    _png(figs / "svm_simplex_etf.png")
    _png(figs / "adadare_probs_vs_score.png")  # a paper not in the report: left out
    j, m, h = R.write_report(tmp_path / "out", report, figures_dir=figs)
    page = h.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<(script|link)\b", page, flags=re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, flags=re.I)
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == 1 and base64.b64decode(pngs[0]) == (figs / "svm_simplex_etf.png").read_bytes()
    assert "adadare_probs_vs_score" not in page
    assert "$" not in re.sub(r"<[^>]+>", "", page.split("<body>")[1]).replace("&#36;", "")
    assert ("<math" in page) or ("data:image/svg+xml" in page)
    # the same content as report.md: every claim id, the summary, the errata replay command
    md = m.read_text(encoding="utf-8")
    for r in report["claims"]:
        assert r["id"] in md and r["id"].replace(".", ".<wbr>") in page
    assert "2 printed statements are refuted" in page and "lintheory replay svm.<wbr>prop1" in page
    assert "](../figs/svm_simplex_etf.png)" in md


def test_math_falls_back_to_mathtext_svg_without_latex2mathml(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_l2m(name, *a, **k):
        if name.startswith("latex2mathml"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_l2m)
    out = R._inline_html(r"gap $\sqrt{2}$ here")
    assert out.startswith("gap <img class=\"math\"") and "data:image/svg+xml;base64," in out
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", out).group(1)).decode()
    assert "<svg" in svg


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium (apt-get install chromium)")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="headless Chromium on Linux")
def test_html_screenshot_in_headless_chromium(tmp_path, report, no_errata_module):
    """The page renders offline: a screenshot that is not blank, with the tables drawn."""
    import matplotlib.image as mpimg
    import numpy as np

    figs = tmp_path / "figs"
    figs.mkdir()
    _png(figs / "svm_simplex_etf.png")
    _, _, h = R.write_report(tmp_path / "out", report, figures_dir=figs)
    shot = tmp_path / "shot.png"
    res = subprocess.run([_browser(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", "--window-size=1280,1600",
                          f"--screenshot={shot}", h.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert shot.exists(), res.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[:2] == (1600, 1280)
    gray = img[..., :3].mean(axis=2)
    assert (gray < 0.5).mean() > 0.01  # text was drawn
    assert gray.std() > 0.05


def test_record_text_is_not_read_as_markup(report, no_errata_module):
    """A norm's subscript star in an error kind ("‖Z‖_*, or of ‖Z‖_*") is no emphasis."""
    for r in report["claims"]:
        if r["id"] == "svm.lem2.a":
            r["error"] = "relative gap of ‖Z‖_*, or of ‖Z‖_* above any factorisation"
    page = R.to_html(report)
    assert "relative gap of ‖Z‖_*, or of ‖Z‖_* above" in page
    assert "<em>, or of" not in page
    assert r"‖Z‖_\*, or of ‖Z‖_\* above" in R.to_markdown(report)


def test_verify_figures_option_embeds_the_pngs(tmp_path, capsys):
    from lintheory.cli import main

    figs = tmp_path / "figs"
    figs.mkdir()
    _png(figs / "svm_simplex_etf.png")
    out = tmp_path / "rep"
    assert main(["verify", "--claim", "svm.etf.gram", "--out", str(out), "--figures", str(figs)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 1  # a claim selection verifies no paper whole:
    assert sorted(p.name for p in figs.iterdir()) == ["svm_simplex_etf.png"]  # nothing made
    assert "report.html" in capsys.readouterr().out
