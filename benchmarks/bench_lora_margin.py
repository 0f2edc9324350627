"""Benchmark of the LoRA margin routes: vectorised closed form vs cvxpy, and torch L-BFGS training time.

Usage::

    python benchmarks/bench_lora_margin.py [--out DIR] [--n-lam 100000] [--n-cvxpy 20] [--device auto] [--full]

Measures, in one run on the same machine:

* :func:`lintheory.lora_margin.optimum` on ``n_lam`` values of λ at once (vectorised) for
  K = 6, K̄ = 3, n = 2 (all three regimes), against one cvxpy/SCS nuclear-norm solve per λ
  (``n_cvxpy`` values): throughput of each (λ values per second) and their ratio, plus the
  largest disagreement between the two routes;
* torch L-BFGS training of real LoRA factors (float64) at K = 20, K̄ = 10, n = 20, d = 512 to
  1e-7 agreement with the closed form (CPU), seconds; with ``--full`` and CUDA present, the same
  at d = 8192 on the GPU.

Results: a table on stdout and ``DIR/bench_lora_margin.json`` (default ``benchmarks/results``;
not committed).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from lintheory.lora_margin import adapter, optimum, thresholds
from lintheory.lora_margin.data import lora_problem
from lintheory.lora_margin.solvers import solve_logit_space
from lintheory.lora_margin.train import train_lora

HERE = Path(__file__).resolve().parent


def bench_closed_form(n_lam, n_cvxpy):
    K, Kb, n = 6, 3, 2
    lam0 = thresholds(K, Kb, n).lambda_zero
    lams = lam0 * np.geomspace(1e-4, 1.5, n_lam)
    optimum(K, Kb, n, lams[:10])                       # warm-up
    t0 = time.perf_counter()
    opt = optimum(K, Kb, n, lams)
    t_cf = time.perf_counter() - t0
    sub = lam0 * np.geomspace(1e-2, 1.5, n_cvxpy)
    y = np.repeat(np.arange(Kb), n)
    t0 = time.perf_counter()
    Zs = [solve_logit_space(y, K, lam).Z for lam in sub]
    t_cvx = time.perf_counter() - t0
    err = max(float(np.abs(Z - optimum(K, Kb, n, lam).logits()).max()) for Z, lam in zip(Zs, sub))
    return {"n_lam": n_lam, "closed_form_s": t_cf, "closed_form_lam_per_s": n_lam / t_cf,
            "n_cvxpy": n_cvxpy, "cvxpy_s": t_cvx, "cvxpy_lam_per_s": n_cvxpy / t_cvx,
            "throughput_ratio": (n_lam / t_cf) / (n_cvxpy / t_cvx), "max_abs_disagreement": err,
            "regimes": {r: int(np.sum(opt.regime == r)) for r in ("high", "intermediate", "low")}}


def bench_training(d, device, K=20, Kb=10, n=20, frac=0.3, seed=0):
    P = lora_problem(K, Kb, n, d, seed=seed)
    lam = frac * thresholds(K, Kb, n).lambda_zero
    Z = adapter(P.X_ft, P.y_ft, K, lam, W_pre=P.W_pre, X_pre=P.X_pre)
    t0 = time.perf_counter()
    res = train_lora(P.X_ft, P.y_ft, K, lam, W_pre=P.W_pre, r=Kb, device=device, grad_tol=1e-10,
                     raise_on_fail=False)
    t = time.perf_counter() - t0
    err = float(np.abs(res.Z - Z).max() / max(1.0, np.abs(Z).max()))
    return {"K": K, "Kb": Kb, "n": n, "d": d, "lam": lam, "device": res.device, "seconds": t,
            "iterations": res.iterations, "grad_norm": res.grad_norm, "rel_error": err,
            "reached_1e-7": err <= 1e-7}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--n-lam", type=int, default=100_000)
    ap.add_argument("--n-cvxpy", type=int, default=20)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--full", action="store_true", help="also the d = 8192 GPU run when CUDA is present")
    a = ap.parse_args(argv)
    from lintheory._device import resolve_device

    out = {"machine": platform.platform(), "python": platform.python_version()}
    out["closed_form_vs_cvxpy"] = cf = bench_closed_form(a.n_lam, a.n_cvxpy)
    out["training_cpu_d512"] = tr = bench_training(512, "cpu")
    dev = resolve_device(a.device)
    if a.full and dev == "cuda":
        out["training_gpu_d8192"] = bench_training(8192, "cuda")
    print(f"{'route':44s} {'time (s)':>10s} {'lam/s':>12s}")
    print(f"{'closed form, ' + str(cf['n_lam']) + ' lam (vectorised)':44s} {cf['closed_form_s']:10.4f} "
          f"{cf['closed_form_lam_per_s']:12.3g}")
    print(f"{'cvxpy/SCS, ' + str(cf['n_cvxpy']) + ' solves':44s} {cf['cvxpy_s']:10.3f} {cf['cvxpy_lam_per_s']:12.3g}")
    print(f"throughput ratio closed form / cvxpy: {cf['throughput_ratio']:.3g}; "
          f"max |Z_cvxpy - Z_closed| = {cf['max_abs_disagreement']:.2e}")
    for key in ("training_cpu_d512", "training_gpu_d8192"):
        if key in out:
            r = out[key]
            print(f"torch L-BFGS K={r['K']} Kb={r['Kb']} n={r['n']} d={r['d']} on {r['device']}: {r['seconds']:.2f} s, "
                  f"rel. error {r['rel_error']:.1e} (1e-7 reached: {r['reached_1e-7']})")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    path = Path(a.out) / "bench_lora_margin.json"
    path.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
