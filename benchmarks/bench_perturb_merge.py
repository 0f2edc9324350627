"""Per-example empirical Fisher diagonal (P&M Eq. 10): torch.func (vmap of grad) vs a Python loop over examples.

Usage::

    python benchmarks/bench_perturb_merge.py [--out DIR] [--quick] [--reps 3] [--threads 1]

For a linear model, a tanh MLP and a wider MLP (float64, softmax cross-entropy), times
:func:`lintheory.perturb_merge.empirical_fisher_diag` (one vectorised per-example-gradient pass) against
:func:`lintheory.perturb_merge.empirical_fisher_diag_loop` (one ``torch.autograd.grad`` call per example), checks that
they agree, and reports the speed-up ratio loop / vmap, plus examples per second.  Also times Eq. 8 itself
(:func:`optimal_alpha` with diagonal curvatures) for a 10⁶-parameter model and 10 tasks, to show the merge step is
negligible next to the Fisher pass.  Results: a table on stdout and ``DIR/bench_perturb_merge.json``
(default ``benchmarks/results``; not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _time(fn, reps):
    ts, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--quick", action="store_true", help="fewer examples and repetitions")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    import torch

    from lintheory.perturb_merge import empirical_fisher_diag, empirical_fisher_diag_loop, optimal_alpha

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    n = 256 if a.quick else 1024
    reps = 1 if a.quick else a.reps
    ce = torch.nn.functional.cross_entropy
    models = {
        "linear 32->10": torch.nn.Linear(32, 10),
        "mlp 32-64-10": torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.Tanh(), torch.nn.Linear(64, 10)),
        "mlp 128-256-10": torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.Tanh(), torch.nn.Linear(256, 10)),
    }
    rows = []
    for name, m in models.items():
        m = m.double()
        d_in = m[0].in_features if isinstance(m, torch.nn.Sequential) else m.in_features
        X = torch.as_tensor(rng.standard_normal((n, d_in)))
        y = torch.as_tensor(rng.integers(0, 10, n))
        empirical_fisher_diag(m, ce, (X[:8], y[:8]))          # warm-up
        t_v, fv = _time(lambda: empirical_fisher_diag(m, ce, (X, y)), reps)
        t_l, fl = _time(lambda: empirical_fisher_diag_loop(m, ce, (X, y)), reps)
        n_par = sum(p.numel() for p in m.parameters())
        # vmap holds all N per-example gradients at once (N x params floats); chunking bounds that memory
        t_c, fc = _time(lambda: empirical_fisher_diag(m, ce, (X, y), chunk_size=64), reps)
        rows.append({"model": name, "params": n_par, "examples": n, "vmap_s": t_v, "loop_s": t_l,
                     "ratio_loop_over_vmap": t_l / t_v,
                     "vmap_chunk64_s": t_c, "ratio_loop_over_vmap_chunk64": t_l / t_c, "vmap_examples_per_s": n / t_v,
                     "loop_examples_per_s": n / t_l,
                     "max_rel_diff": float(max(np.max(np.abs(fv - fl)), np.max(np.abs(fc - fl)))
                                           / max(np.max(np.abs(fl)), 1e-300))})
    d = 10**5 if a.quick else 10**6
    T = 10
    theta_prev = rng.standard_normal(d)
    optima = [rng.standard_normal(d) for _ in range(T - 1)]
    delta = rng.standard_normal(d)
    optima.append(theta_prev + delta)
    curv = [rng.lognormal(0, 1, d) for _ in range(T)]
    t_a, _ = _time(lambda: optimal_alpha(theta_prev, optima, curv, delta), reps)
    print(f"{'model':18s} {'params':>8s} {'N':>6s} {'vmap s':>9s} {'loop s':>9s} {'loop/vmap':>10s} {'chunk64 s':>10s} {'loop/chunk':>10s} {'max rel diff':>13s}")
    for r in rows:
        print(f"{r['model']:18s} {r['params']:8d} {r['examples']:6d} {r['vmap_s']:9.4f} {r['loop_s']:9.4f} "
              f"{r['ratio_loop_over_vmap']:10.1f} {r['vmap_chunk64_s']:10.4f} {r['ratio_loop_over_vmap_chunk64']:10.1f} "
              f"{r['max_rel_diff']:13.2e}")
    print(f"optimal_alpha (Eq. 8, diagonal curvature) d = {d:.0e}, t = {T}: {t_a:.4f} s")
    res = {"machine": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                       "threads": a.threads,
                       "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None},
           "fisher": rows, "optimal_alpha": {"d": d, "t": T, "seconds": t_a}}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_perturb_merge.json").write_text(json.dumps(res, indent=2))
    print(f"wrote {out / 'bench_perturb_merge.json'}")


if __name__ == "__main__":
    main()
