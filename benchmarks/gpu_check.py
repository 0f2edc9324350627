"""CPU vs CUDA cross-check of every claim whose check uses the device (driven by gpu_check.sh).

Usage::

    python benchmarks/gpu_check.py --out DIR [--device cuda] [--profile full]
                                   [--jobs-cpu 8] [--jobs-device 4] [--leg-timeout 330]
                                   [--limit N] [--serial-legs] [--dry-run]

Selection: a claim is a *device claim* when its check -- or a function of a lintheory
module that it calls, followed transitively -- reads ``ctx.device`` (the trained-model
routes and the batched Monte Carlo of the suites).  Claims whose ``method`` says they
train with torch but whose check never reads the device are listed as ``cpu_only``.

Two legs run the selected claims with ``lintheory verify``: ``--device cpu`` (``--jobs
N``: records do not depend on the split) and ``--device cuda``, which also runs the
``cpu_only`` claims (every trained-model claim under ``--device cuda``); each leg is one
subprocess under a wall-clock limit, and a leg that runs out keeps the records it
finished (``OUT/records``), so the script always ends with a report.  A record whose
check failed because cvxpy or clarabel is not installed (the GPU image has neither) is
listed as skipped with that reason.

Written into ``--out``: ``gpu_check.json`` (per claim: kind, verdicts, max errors, their
relative difference, seconds on each leg and their ratio; the legs' exit codes, wall
times and the machine) and ``gpu_check.md`` (the same as a table), plus each leg's log.

``--dry-run`` lists the selection and exits; ``--device cpu`` (``DEVICE=cpu`` in
gpu_check.sh) runs the second leg on the CPU as well, so the whole path can be
exercised on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MISSING_SOLVERS = ("No module named 'cvxpy'", "No module named 'clarabel'")
DEVICE_TOKENS = ("ctx.device", "device=ctx")


def _reachable_sources(fn, depth: int = 4, seen=None) -> list[str]:
    """Source texts of ``fn`` and the lintheory functions it names, transitively."""
    seen = set() if seen is None else seen
    out: list[str] = []
    stack = [(fn, 0)]
    while stack:
        f, d = stack.pop()
        f = inspect.unwrap(f) if callable(f) else f
        if id(f) in seen or not callable(f):
            continue
        seen.add(id(f))
        mod = getattr(f, "__module__", "") or ""
        if not (mod.startswith("lintheory") or mod.startswith("proofs_check")):
            continue
        try:
            out.append(inspect.getsource(f))
        except (OSError, TypeError):
            pass
        for cell in getattr(f, "__closure__", None) or ():
            try:
                stack.append((cell.cell_contents, d))
            except ValueError:  # an empty cell
                pass
        if d >= depth:
            continue
        code = getattr(f, "__code__", None)
        names: set[str] = set()
        codes = [code] if code is not None else []
        while codes:
            c = codes.pop()
            names.update(c.co_names)
            codes.extend(k for k in c.co_consts if hasattr(k, "co_names"))
        g = getattr(f, "__globals__", {})
        for n in names:
            v = g.get(n)
            if inspect.isfunction(v):
                stack.append((v, d + 1))
    return out


def select(limit: int | None = None) -> tuple[list[dict], list[dict]]:
    """``(device_claims, cpu_only_trained)``: each ``{"id", "kind", "method"}``."""
    from lintheory.claims import registry

    device, cpu_only = [], []
    for cid, c in sorted(registry().items()):
        text = "\n".join(_reachable_sources(c.check))
        method = c.method.lower()
        trains = "torch" in method or "train" in method
        if any(t in text for t in DEVICE_TOKENS):
            kind = "trained model" if trains else "Monte Carlo / batched"
            device.append({"id": cid, "kind": kind, "method": c.method})
        elif trains:
            cpu_only.append({"id": cid, "kind": "trained model (check ignores --device)",
                             "method": c.method})
    if limit:
        device, cpu_only = device[:limit], cpu_only[:limit]
    return device, cpu_only


def run_leg(name: str, ids: list[str], *, device: str, profile: str, jobs: int, timeout: float,
            out: Path, seed: int, work: Path) -> dict:
    """One ``lintheory verify`` subprocess; its records, even when it ran out of time."""
    leg = work / f"leg_{name}"
    cmd = [sys.executable, "-m", "lintheory.cli", "verify", *[a for i in ids for a in ("--claim", i)],
           "--profile", profile, "--device", device, "--seed", str(seed), "--jobs", str(jobs),
           "--out", str(leg)]
    log = out / f"{name}.log"
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        try:
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - t0
    records = {}
    for p in sorted((leg / "records").glob("*.json")):
        try:
            rec = json.loads(p.read_text())["record"]
        except (OSError, ValueError, KeyError):
            continue
        records[rec["id"]] = rec
    return {"device": device, "jobs": jobs, "returncode": rc, "wall_s": round(wall, 1),
            "timeout_s": timeout, "finished": len(records), "records": records,
            "cmd": " ".join(["python", *cmd[1:4], f"<{len(ids)} claims>", *cmd[4 + 2 * len(ids):]])}


def _state(rec: dict | None) -> tuple[str, str | None]:
    """A record's verdict, with a missing optional solver shown as a skip."""
    if rec is None:
        return "not finished", "no record within the leg's time limit"
    reason = (rec.get("details") or {}).get("inconclusive_reason") or ""
    if rec["verdict"] == "inconclusive" and any(m in reason for m in MISSING_SOLVERS):
        return "skipped", "needs cvxpy/clarabel, not installed on this machine"
    return rec["verdict"], None


def compare(sel: list[dict], cpu: dict, dev: dict, cpu_leg: bool = True) -> list[dict]:
    rows = []
    for s in sel:
        a, b = cpu["records"].get(s["id"]), dev["records"].get(s["id"])
        va, ra = _state(a) if cpu_leg else ("not run", None)
        vb, rb = _state(b)
        row = {"id": s["id"], "kind": s["kind"], "expected": (a or b or {}).get("expected"),
               "cpu_verdict": va, "device_verdict": vb, "skip_reason": ra or rb,
               "cpu_s": a and a["seconds"], "device_s": b and b["seconds"],
               "cpu_max_error": a and a["max_error"], "device_max_error": b and b["max_error"]}
        row["cpu_over_device"] = (round(row["cpu_s"] / row["device_s"], 2)
                                  if row["cpu_s"] and row["device_s"] else None)
        ea, eb = row["cpu_max_error"], row["device_max_error"]
        row["max_error_rel_diff"] = (abs(ea - eb) / max(abs(ea), abs(eb), 1e-300)
                                     if isinstance(ea, (int, float)) and isinstance(eb, (int, float))
                                     else None)
        row["same_verdict"] = (va == vb) if not {"not finished", "not run"} & {va, vb} else None
        rows.append(row)
    return rows


def _fmt(v, spec=".3g"):
    if v is None:
        return "—"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [f"# CPU vs {res['device_leg']['device'].upper()} cross-check ({res['profile']} profile)", "",
             f"Taken {res['created']} on {m['gpu'] or 'no GPU'}, {m['cpus']} CPUs, load average "
             f"{m['loadavg']}; CPU leg `--jobs {res['cpu_leg']['jobs']}` ({res['cpu_leg']['wall_s']} s, "
             f"exit {res['cpu_leg']['returncode']}), device leg `--jobs {res['device_leg']['jobs']}` "
             f"({res['device_leg']['wall_s']} s, exit {res['device_leg']['returncode']}). "
             f"The legs ran {'one after the other' if res['serial_legs'] else 'side by side'}; "
             f"seconds are each claim's own wall time in its leg.", "",
             "| claim | kind | expected | CPU | device | same | CPU s | device s | CPU/device | "
             "max error CPU | max error device | rel. diff |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["claims"]:
        same = {True: "yes", False: "**no**", None: "—"}[r["same_verdict"]]
        lines.append(f"| `{r['id']}` | {r['kind']} | {_fmt(r['expected'])} | {r['cpu_verdict']} | "
                     f"{r['device_verdict']} | {same} | {_fmt(r['cpu_s'], '.2f')} | "
                     f"{_fmt(r['device_s'], '.2f')} | {_fmt(r['cpu_over_device'])} | "
                     f"{_fmt(r['cpu_max_error'])} | {_fmt(r['device_max_error'])} | "
                     f"{_fmt(r['max_error_rel_diff'], '.2e')} |")
    s = res["summary"]
    lines += ["", f"{s['claims']} claims: {s['same_verdict']} with the same verdict on both legs, "
              f"{s['different_verdict']} different, {s['skipped']} skipped (missing solver), "
              f"{s['not_finished']} not finished in time; median CPU/device time ratio "
              f"{_fmt(s['median_cpu_over_device'])}."]
    if res["skipped_reasons"]:
        lines += ["", "Skipped:"] + [f"- `{k}`: {v}" for k, v in sorted(res["skipped_reasons"].items())]
    if res["cpu_only"]:
        lines += ["", f"{len(res['cpu_only'])} claims train with torch but their checks ignore `--device` "
                  "(they ran on the CPU in the device leg, and not in the CPU leg, which would repeat them)."]
    return "\n".join(lines) + "\n"


def _gpu_name() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="gpu_check.json, gpu_check.md and the legs' logs")
    ap.add_argument("--work", default=None, help="the legs' reports and records (default: OUT)")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--profile", default="full", choices=("quick", "full"))
    ap.add_argument("--jobs-cpu", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)))
    ap.add_argument("--jobs-device", type=int, default=4)
    ap.add_argument("--leg-timeout", type=float, default=330.0, help="seconds per leg")
    ap.add_argument("--limit", type=int, default=None, help="only the first N device claims")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dry-run", action="store_true", help="list the selection and exit")
    ap.add_argument("--serial-legs", action="store_true",
                    help="run the CPU leg, then the device leg (default: side by side)")
    a = ap.parse_args(argv)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(a.work) if a.work else out
    work.mkdir(parents=True, exist_ok=True)
    sel, cpu_only = select(a.limit)
    print(f"{len(sel)} device claims, {len(cpu_only)} trained claims that ignore --device", flush=True)
    for s in sel:
        print(f"  {s['id']:60s} {s['kind']}")
    if a.dry_run:
        (out / "gpu_check_selection.json").write_text(json.dumps({"device": sel, "cpu_only": cpu_only},
                                                                 indent=1) + "\n")
        print(f"dry run: wrote {out / 'gpu_check_selection.json'}")
        return 0
    ids = [s["id"] for s in sel]
    # The device leg also runs the trained claims that ignore --device (every trained-model
    # claim runs under --device cuda); the CPU leg would repeat them unchanged, so it skips them.
    dev_ids = ids + [c["id"] for c in cpu_only]
    legs = {"cpu": dict(name="cpu", ids=ids, device="cpu", jobs=a.jobs_cpu),
            "dev": dict(name=a.device if a.device == "cuda" else "cpu2", ids=dev_ids, device=a.device,
                        jobs=a.jobs_device)}
    common = dict(profile=a.profile, timeout=a.leg_timeout, out=out, seed=a.seed, work=work)
    if a.serial_legs:
        done = {k: run_leg(**v, **common) for k, v in legs.items()}
    else:
        # Side by side (the GPU machine has 16 cores: 8 CPU workers + 4 device workers), so the
        # whole check fits one device call; both legs see the same machine load.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            futs = {k: pool.submit(run_leg, **v, **common) for k, v in legs.items()}
            done = {k: f.result() for k, f in futs.items()}
    cpu, dev = done["cpu"], done["dev"]
    print(f"cpu leg: exit {cpu['returncode']}, {cpu['wall_s']} s, {cpu['finished']}/{len(ids)} records",
          flush=True)
    print(f"device leg ({a.device}): exit {dev['returncode']}, {dev['wall_s']} s, {dev['finished']}/{len(dev_ids)} "
          "records", flush=True)
    rows = compare(sel, cpu, dev) + compare(cpu_only, {"records": {}}, dev, cpu_leg=False)
    ratios = sorted(r["cpu_over_device"] for r in rows if r["cpu_over_device"])
    res = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": a.profile, "seed": a.seed, "serial_legs": a.serial_legs,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "gpu": _gpu_name(),
                    "loadavg": [round(x, 2) for x in os.getloadavg()]},
        "cpu_leg": {k: v for k, v in cpu.items() if k != "records"},
        "device_leg": {k: v for k, v in dev.items() if k != "records"},
        "claims": rows, "cpu_only": cpu_only,
        "skipped_reasons": {r["id"]: r["skip_reason"] for r in rows if r["skip_reason"]},
        "summary": {"claims": len(rows),
                    "same_verdict": sum(r["same_verdict"] is True for r in rows),
                    "different_verdict": sum(r["same_verdict"] is False for r in rows),
                    "skipped": sum("skipped" in (r["cpu_verdict"], r["device_verdict"]) for r in rows),
                    "not_finished": sum("not finished" in (r["cpu_verdict"], r["device_verdict"])
                                        for r in rows),
                    "median_cpu_over_device": ratios[len(ratios) // 2] if ratios else None},
    }
    try:
        import torch

        res["machine"]["torch"] = torch.__version__
        res["machine"]["cuda"] = torch.version.cuda
    except ImportError:  # pragma: no cover
        pass
    (out / "gpu_check.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    (out / "gpu_check.md").write_text(markdown(res))
    print(markdown(res))
    print(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    return 0 if res["summary"]["different_verdict"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
