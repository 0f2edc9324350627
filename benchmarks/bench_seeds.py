"""Seed stability of every verdict: the quick profile of every suite at many seeds.

Usage::

    python benchmarks/bench_seeds.py [--out DIR] [--seeds 0-19] [--jobs 2]

Runs ``lintheory verify --seeds SEEDS --jobs JOBS`` once and reports, from its
``seeds.json``, how many claims were run at how many seeds, which claims are
seed-dependent (their verdict differs between seeds) and which differ from their
expected verdict at some seed (issue 12's target: none of either), with the wall time
and the load average.  Results: a line on stdout and ``DIR/bench_seeds.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_seeds"))
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="seeds 0-3 only")
    args = ap.parse_args(argv)
    seeds = "0-3" if args.quick else args.seeds
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "lintheory.cli", "verify", "--seeds", seeds,
                              "--jobs", str(args.jobs), "--out", tmp], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        summary_path = Path(tmp) / "seeds.json"
        if not summary_path.is_file():
            sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
            return 1
        summary = json.loads(summary_path.read_text())
    result = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "loadavg_1min_before": load, "seeds": summary["seeds"], "claims": summary["claims"],
        "seed_dependent": summary["seed_dependent"], "differ_from_expected": summary["differ_from_expected"],
        "exit_code": run.returncode, "wall_s": round(wall, 1), "jobs": args.jobs,
    }
    (out / "bench_seeds.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(result['seeds'])} seeds x {result['claims']} claims in {wall:.0f} s (--jobs {args.jobs}): "
          f"{len(result['seed_dependent'])} seed-dependent, {len(result['differ_from_expected'])} differ from "
          f"expected at some seed; exit {run.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
