"""Run every benchmark of ``benchmarks/`` and collect their JSON into one summary.

Usage::

    python benchmarks/run_all.py [--out DIR] [--quick] [--only NAME ...] [--timeout S]

Each ``benchmarks/bench_*.py`` runs in its own subprocess as
``python bench_X.py --out DIR/bench_X [--quick]`` (``--quick`` is passed only to the
scripts that accept it), so that one benchmark's imports, threads and memory do not
leak into the next.  Every JSON file a benchmark writes is collected into
``DIR/summary.json`` next to its exit code and wall time; the table each benchmark
prints is echoed as it finishes.  Default ``DIR``: ``benchmarks/results`` (git-ignored).

Exit code: 0 when every benchmark exited 0, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[Path]:
    """``bench_*.py`` next to this file (``bench_verify.py`` last: it is the longest)."""
    found = sorted(HERE.glob("bench_*.py"), key=lambda p: (p.stem == "bench_verify", p.stem))
    if only:
        want = {o if o.startswith("bench_") else f"bench_{o}" for o in only}
        unknown = want - {p.stem for p in found}
        if unknown:
            raise SystemExit(f"run_all: unknown benchmark(s) {sorted(unknown)}; "
                             f"found {[p.stem for p in found]}")
        found = [p for p in found if p.stem in want]
    return found


def accepts_quick(script: Path) -> bool:
    return "--quick" in script.read_text(encoding="utf-8")


def run_one(script: Path, out: Path, quick: bool, timeout: float) -> dict:
    dest = out / script.stem
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.json"):
        old.unlink()
    cmd = [sys.executable, str(script), "--out", str(dest)]
    if quick and accepts_quick(script):
        cmd.append("--quick")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                             cwd=HERE.parent)
        rc, stdout, stderr = res.returncode, res.stdout, res.stderr
    except subprocess.TimeoutExpired as exc:
        rc = "timeout"
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = f"timed out after {timeout:g} s"
    wall = time.perf_counter() - t0
    results = {}
    for f in sorted(dest.rglob("*.json")):
        try:
            results[str(f.relative_to(dest))] = json.loads(f.read_text())
        except ValueError as exc:
            results[str(f.relative_to(dest))] = {"unreadable": str(exc)}
    return {"script": script.name, "cmd": " ".join([Path(cmd[0]).name, *cmd[1:]]),
            "returncode": rc, "wall_s": round(wall, 1), "json": results,
            "stdout": stdout[-4000:], "stderr": stderr[-2000:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run every benchmarks/bench_*.py and collect the JSON.")
    ap.add_argument("--out", default=str(HERE / "results"), help="results folder")
    ap.add_argument("--quick", action="store_true", help="pass --quick to the benchmarks that take it")
    ap.add_argument("--only", action="append", help="bench name, e.g. verify or bench_svm (repeatable)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark")
    args = ap.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scripts = discover(args.only)
    summary = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
               "cpus": os.cpu_count(), "benchmarks": []}
    for script in scripts:
        print(f"== {script.name}", flush=True)
        r = run_one(script, out, args.quick, args.timeout)
        summary["benchmarks"].append(r)
        sys.stdout.write(r["stdout"])
        if r["returncode"] != 0:
            sys.stdout.write(r["stderr"])
        print(f"-- {script.name}: exit {r['returncode']}, {r['wall_s']:.1f} s, "
              f"{len(r['json'])} JSON file(s)\n", flush=True)

    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    w = max([len(r["script"]) for r in summary["benchmarks"]] + [9])
    print(f"{'benchmark':<{w}}  {'exit':>7}  {'wall s':>8}  json")
    for r in summary["benchmarks"]:
        print(f"{r['script']:<{w}}  {str(r['returncode']):>7}  {r['wall_s']:>8.1f}  "
              f"{', '.join(r['json']) or '-'}")
    print(f"wrote {out / 'summary.json'}")
    return 0 if all(r["returncode"] == 0 for r in summary["benchmarks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
