"""Start-up cost of the CLI against a bare ``python -c "import numpy, scipy.linalg"``.

Usage::

    python benchmarks/bench_startup.py [--out DIR] [--repeat 7] [--claim svm.etf.gram]

Runs, alternating, ``--repeat`` times each (every run a fresh interpreter):

* ``bare``: ``python -c "import numpy, scipy.linalg"``;
* ``import``: ``python -c "import lintheory"``;
* ``list``: ``lintheory list``;
* ``verify``: ``lintheory verify --claim CLAIM --out TMP`` (one cheap claim).

and reports the median wall and CPU (user + sys) seconds of each and their ratios to
``bare`` (issue 14's target: ``verify`` at most 5x ``bare``), plus which of torch, cvxpy,
matplotlib, sympy, scipy.stats and clarabel each command imported (``-X importtime``
of one more run).  Wall-time ratios move with the machine's load; the CPU-time ratio much
less, so both are given, with the load average.  Results: a table on stdout and
``DIR/bench_startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 5.0
HEAVY = ("torch", "cvxpy", "matplotlib", "sympy", "scipy.stats", "clarabel")


def _commands(claim: str, tmp: str) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "bare": [py, "-c", "import numpy, scipy.linalg"],
        "import": [py, "-c", "import lintheory"],
        "list": [py, "-m", "lintheory.cli", "list"],
        "verify": [py, "-m", "lintheory.cli", "verify", "--claim", claim, "--out", tmp],
    }


def _run(cmd: list[str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, rc


def _heavy_imports(cmd: list[str]) -> list[str]:
    res = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    return [h for h in HEAVY if h in names]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--claim", default="svm.etf.gram")
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    a = ap.parse_args(argv)
    reps = 3 if a.quick else a.repeat
    tmp = tempfile.mkdtemp(prefix="bench_startup_")
    cmds = _commands(a.claim, tmp)
    load0 = os.getloadavg()[0]
    _run(cmds["verify"])  # warm the file cache and byte-compile once
    samples: dict[str, list] = {k: [] for k in cmds}
    for _ in range(reps):
        for k, cmd in cmds.items():
            samples[k].append(_run(cmd))
    res = {"bench": "startup", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "claim": a.claim, "repeat": reps, "cpus": os.cpu_count(),
           "loadavg_1min_before": round(load0, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2),
           "target_verify_over_bare": TARGET, "commands": {}}
    for k, s in samples.items():
        res["commands"][k] = {"cmd": " ".join(Path(cmds[k][0]).name if i == 0 else c
                                              for i, c in enumerate(cmds[k])),
                              "wall_s": round(statistics.median(w for w, _, _ in s), 3),
                              "cpu_s": round(statistics.median(c for _, c, _ in s), 3),
                              "returncodes": sorted({rc for _, _, rc in s}),
                              "heavy_imports": _heavy_imports(cmds[k])}
    bare = res["commands"]["bare"]
    for k, m in res["commands"].items():
        m["wall_over_bare"] = round(m["wall_s"] / bare["wall_s"], 2)
        m["cpu_over_bare"] = round(m["cpu_s"] / bare["cpu_s"], 2)
    v = res["commands"]["verify"]
    res["verify_over_bare_wall"], res["verify_over_bare_cpu"] = v["wall_over_bare"], v["cpu_over_bare"]
    res["meets_target"] = v["wall_over_bare"] <= TARGET
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_startup.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"{'command':8s} {'wall s':>8s} {'cpu s':>8s} {'wall/bare':>9s} {'cpu/bare':>9s}  heavy imports")
    for k, m in res["commands"].items():
        print(f"{k:8s} {m['wall_s']:8.3f} {m['cpu_s']:8.3f} {m['wall_over_bare']:9.2f} "
              f"{m['cpu_over_bare']:9.2f}  {', '.join(m['heavy_imports']) or '-'}")
    print(f"verify --claim {a.claim}: {v['wall_over_bare']}x a bare numpy+scipy start (wall, median of "
          f"{reps}; CPU {v['cpu_over_bare']}x; target <= {TARGET}x; load {load0:.1f})")
    print(f"wrote {out / 'bench_startup.json'}")
    return 0 if all(m["returncodes"] == [0] for m in res["commands"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
