"""Regenerate the outputs shown on the tutorial page (docs/tutorial.md).

    python docs/tutorial/make_outputs.py

runs the tutorial suite exactly as the page tells a reader to, and writes what the
commands print into docs/tutorial/outputs/, which the page includes.  tests/test_tutorial_page.py
runs it again and fails when the committed outputs are stale: the page never shows a
number that was typed by hand.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = "docs/tutorial/ridge_suite.py"


def _run(argv: list[str]) -> str:
    from lintheory.cli import main

    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"lintheory {' '.join(argv)} exited {code}: {err.getvalue()}")
    return buf.getvalue()


def outputs(root: Path) -> dict[str, str]:
    """``{file name: text}`` of every output the page shows (run from the repository root)."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report_dir = Path(tmp) / "ridge-report"
            verify = _run(["verify", "--suite", SUITE, "--paper", "ridge", "--out", str(report_dir)])
            verify = verify.replace(str(report_dir), "ridge-report")
            rec = {r["id"]: r for r in json.loads((report_dir / "report.json").read_text())["claims"]}
            keep = ("id", "form", "expected", "verdict", "error", "instances", "max_error", "tolerance",
                    "counterexample", "certificate", "erratum", "quote", "lines", "hypotheses")
            printed = {k: rec["ridge.closed_form.printed"][k] for k in keep}
            holds = {k: rec["ridge.closed_form.vs_trained"][k]
                     for k in ("id", "verdict", "error", "max_error", "tolerance", "discrimination")}
            errata = _run(["errata", "--suite", SUITE, "--paper", "ridge", "--md",
                           "--report", str(report_dir / "report.json")])
    finally:
        os.chdir(cwd)
    return {"verify.txt": verify, "printed_record.json": json.dumps(printed, indent=2, ensure_ascii=False) + "\n",
            "holds_record.json": json.dumps(holds, indent=2, ensure_ascii=False) + "\n", "errata.md": errata}


def main() -> int:
    out = HERE / "outputs"
    out.mkdir(exist_ok=True)
    for name, text in outputs(HERE.parents[1]).items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
