"""S²FT theory: throughput of population property sweeps and of the finite-n Monte Carlo, route against route.

Usage::

    python benchmarks/bench_s2ft.py [--out DIR] [--instances 20000] [--reps 200] [--skip-mc]

Measures, in one run on the same machine:

* population sweeps at dims ≤ 8: the batched route (:func:`lintheory.s2ft.solvers.population_risks_batch`,
  stacked numpy ``svd``/``eigh``) against the per-instance closed forms (one Python call per estimator and
  instance), in instances per second, and their ratio (target ≥ 1000 instances/s for the batched route);
* the Monte Carlo of the exact-variance claim at p = 40, widths 32, q = 24, n ∈ {100, …, 6400}, ``reps``
  repetitions, three estimators (full / S²FT / LoRA), numpy route and torch route on CPU, and on CUDA when
  present (GPU/CPU ratio reported); target: under a minute.

Results: a table on stdout and ``DIR/bench_s2ft.json`` (default ``benchmarks/results``; not committed).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from lintheory.s2ft import closed_form as cf
from lintheory.s2ft import solvers as sv
from lintheory.s2ft.data import channel_split_instance

HERE = Path(__file__).resolve().parent


def _groups(seed, n_groups):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_groups):
        L = int(rng.integers(1, 4))
        widths = [int(w) for w in rng.integers(2, 9, size=L + 1)]
        ell = int(rng.integers(1, L + 1))
        s = int(rng.integers(1, widths[ell] + 1))
        r = int(rng.integers(1, min(widths[ell], widths[ell - 1]) + 1))
        out.append((widths, ell, s, r))
    return out


def bench_population(n_instances, seed=0):
    groups = _groups(seed, 20)
    per = max(1, n_instances // len(groups))
    batches = [sv.random_batch(seed + i, per, *g) for i, g in enumerate(groups)]
    t0 = time.perf_counter()
    outs = [sv.population_risks_batch(b) for b in batches]
    t_batch = time.perf_counter() - t0
    n_batch = per * len(groups)
    # per-instance closed forms on a subset of the same instances (and their agreement)
    n_loop, err = 0, 0.0
    t0 = time.perf_counter()
    for b, out in zip(batches, outs):
        for i in range(min(per, 25)):
            layers = [W[i] for W in b["layers"]]
            ch = np.flatnonzero(b["mask"][i]).tolist()
            S, Bi, Bo = b["sigma"][i], b["B_in"][i], b["B_out"][i]
            try:
                Fs = {"full": cf.full_population(layers, b["ell"], Bi, S),
                      "s2ft": cf.s2ft_population(layers, b["ell"], ch, Bi, S),
                      "lora": cf.lora_population(layers, b["ell"], b["r"], Bi, S)}
            except cf.AssumptionError:
                n_loop += 1
                continue
            n_loop += 1
            for m, F in Fs.items():
                e = cf.excess_risk(F, Bo, S)
                err = max(err, abs(e - out[f"E_out_{m}"][i]) / (1 + e))
    t_loop = time.perf_counter() - t0
    return {"batched_instances_per_s": n_batch / t_batch, "loop_instances_per_s": n_loop / t_loop,
            "speedup": (n_batch / t_batch) / (n_loop / t_loop), "n_batched": n_batch, "n_loop": n_loop,
            "max_rel_disagreement": err}


def bench_mc(reps, seed=0, backends=("numpy", "torch-cpu")):
    inst = channel_split_instance(seed, widths=(40, 32, 32, 24), ell=2, r=2, channels=tuple(range(16)),
                                  in_rows=(0, 1), out_rows=(30, 31), noise=0.5)
    ns = [100, 200, 400, 800, 1600, 3200, 6400]
    res = {}
    for be in backends:
        backend, device = ("numpy", "cpu") if be == "numpy" else ("torch", be.split("-")[1])
        t0 = time.perf_counter()
        means = {}
        for n in ns:
            out = sv.monte_carlo_risks(inst, n, reps, seed + n, backend=backend, device=device, chunk=25)
            means[n] = {k: float(v.mean()) for k, v in out.items() if k.startswith("E_in")}
        res[be] = {"seconds": time.perf_counter() - t0, "means": means}
    ex = cf.expected_id_risk_exact(inst.layers, inst.ell, inst.B_in, inst.sigma_in, inst.sigma_eps, 6400,
                                   channels=inst.channels)
    res["exact_s2ft_at_6400"] = ex["expected"]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--instances", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--skip-mc", action="store_true")
    args = ap.parse_args(argv)
    import torch

    pop = bench_population(args.instances)
    print(f"population sweep, dims <= 8: batched {pop['batched_instances_per_s']:,.0f} inst/s "
          f"({pop['n_batched']} instances), per-instance closed forms {pop['loop_instances_per_s']:,.0f} inst/s, "
          f"ratio {pop['speedup']:.1f}x, max rel. disagreement {pop['max_rel_disagreement']:.1e}")
    result = {"machine": platform.platform(), "population": pop}
    if not args.skip_mc:
        backends = ["numpy", "torch-cpu"] + (["torch-cuda"] if torch.cuda.is_available() else [])
        mc = bench_mc(args.reps, backends=backends)
        print(f"Monte Carlo p=40, widths 32, q=24, n=100..6400, {args.reps} reps, 3 estimators:")
        print(f"  {'route':<12}{'seconds':>10}{'E_in S2FT at 6400':>20}")
        for be in backends:
            print(f"  {be:<12}{mc[be]['seconds']:>10.1f}{mc[be]['means'][6400]['E_in_s2ft']:>20.5f}")
        print(f"  exact E_in(S2FT) at n = 6400: {mc['exact_s2ft_at_6400']:.5f}")
        if "torch-cuda" in mc:
            mc["gpu_over_cpu_speedup"] = mc["torch-cpu"]["seconds"] / mc["torch-cuda"]["seconds"]
            print(f"  GPU/CPU speed-up (torch): {mc['gpu_over_cpu_speedup']:.1f}x")
        result["monte_carlo"] = mc
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_s2ft.json").write_text(json.dumps(result, indent=2, default=float))
    print(f"wrote {out / 'bench_s2ft.json'}")


if __name__ == "__main__":
    main()
