"""Benchmark of the SVM suite's exact routes (issue 2, section Performance).

Run ``python benchmarks/bench_svm.py [--out DIR] [--quick]``; prints a table and writes
``bench_svm.json`` to ``DIR`` (default ``benchmarks/results/``, git-ignored).

(a) Orthonormal data (K̄ = 10 classes, n = 50 samples each, d = 600): the closed form
    ``orthonormal_svm`` against the exact QP ``hard_margin_svm(method="cvxpy")`` (and the
    fast ``method="ipm"``): time ratio and max |ΔW|.
(b) Separable Gaussian data (n = 2000, d = 64, K = 10, ``separable_gaussian(seed=1)``) and
(c) well-separated Gaussian class clusters of the same size: ``hard_margin_svm`` with the
    dense IPM working set and with the Clarabel working set, the full cvxpy QP (only if it
    finishes within ``--cvxpy-budget`` CPU seconds, run in a child process), against
    scikit-learn's ``LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=1e4)``:
    time ratios, the angle between the solutions, KKT residuals and certified distances.

All ratios come from one run.  Times are the best of ``--repeats`` runs, measured both as
wall-clock and as process CPU time; BLAS is limited to one thread for every route
(liblinear is single-threaded, and on a shared machine multithreaded BLAS on these small
matrices measures contention, not the algorithm).  The CPU-time ratio is the one to quote
on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from lintheory.svm import hard_margin_svm, orthonormal_svm
from lintheory.svm.data import orthonormal_class_data, separable_gaussian
from lintheory.svm.solvers import distance_to_optimum_bound

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def timed(fn, repeats=1):
    """Best wall and CPU seconds of ``repeats`` calls, and the last result."""
    best_wall = best_cpu = np.inf
    out = None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return out, best_wall, best_cpu


def angle_deg(A, B):
    c = float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def class_clusters(n, d, K, *, seed, separation=3.0):
    """Well-separated clusters: class means of norm ``separation``, isotropic noise of norm ~1."""
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((K, d))
    mu *= separation / np.linalg.norm(mu, axis=1, keepdims=True)
    y = rng.integers(0, K, n)
    X = mu[y] + rng.standard_normal((n, d)) / np.sqrt(d)
    return X, y


def _cvxpy_child(X, y, queue, cpu_budget_s):
    import resource

    # a CPU-time budget (SIGXCPU ends the child): a wall-clock one would measure the load
    # of a shared machine rather than the solver
    resource.setrlimit(resource.RLIMIT_CPU, (int(np.ceil(cpu_budget_s)), int(np.ceil(cpu_budget_s)) + 5))
    try:
        res, wall, cpu = timed(lambda: hard_margin_svm(X, y, method="cvxpy"))
        queue.put({"wall_s": wall, "cpu_s": cpu, "W": res.W, "kkt_residual": res.kkt_residual})
    except Exception as exc:  # reported, not hidden
        queue.put({"error": repr(exc)})


def cvxpy_with_budget(X, y, budget_s, wall_factor=6.0):
    """The full cvxpy QP in a child process, stopped after ``budget_s`` CPU seconds (or
    ``wall_factor * budget_s`` wall seconds)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_cvxpy_child, args=(X, y, queue, budget_s))
    proc.start()
    proc.join(wall_factor * budget_s)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    try:
        out = queue.get(timeout=1.0)
    except Exception:
        return {"finished": False, "budget_cpu_s": budget_s, "exitcode": proc.exitcode}
    out["finished"] = "error" not in out
    return out


def bench_orthonormal(Kb, n, d, repeats, seed=0):
    X, y = orthonormal_class_data(Kb, n, d, seed=seed)
    W_cf, cf_wall, cf_cpu = timed(lambda: orthonormal_svm(X, y), repeats=max(repeats, 20))
    qp, qp_wall, qp_cpu = timed(lambda: hard_margin_svm(X, y, method="cvxpy"))
    ipm, ipm_wall, ipm_cpu = timed(lambda: hard_margin_svm(X, y, method="ipm"))
    return {
        "data": f"orthonormal_class_data({Kb}, {n}, {d}, seed={seed})",
        "closed_form": {"wall_s": cf_wall, "cpu_s": cf_cpu},
        "cvxpy": {"wall_s": qp_wall, "cpu_s": qp_cpu, "kkt_residual": qp.kkt_residual},
        "ipm": {"wall_s": ipm_wall, "cpu_s": ipm_cpu, "kkt_residual": ipm.kkt_residual,
                "rounds": ipm.iterations, "ipm_iterations": ipm.solver_iterations},
        "ratio_cvxpy_over_closed_form_wall": qp_wall / cf_wall,
        "ratio_cvxpy_over_closed_form_cpu": qp_cpu / max(cf_cpu, 1e-9),
        "ratio_ipm_over_closed_form_wall": ipm_wall / cf_wall,
        "max_abs_dW_closed_form_vs_cvxpy": float(np.abs(W_cf - qp.W).max()),
        "max_abs_dW_closed_form_vs_ipm": float(np.abs(W_cf - ipm.W).max()),
        "norm_W": float(np.linalg.norm(W_cf)),
    }


def bench_general(name, X, y, repeats, cvxpy_budget):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    def sk_fit():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=1e4,
                            max_iter=100_000).fit(X, y)
        return clf, any(issubclass(w.category, ConvergenceWarning) for w in caught)

    ipm, ipm_wall, ipm_cpu = timed(lambda: hard_margin_svm(X, y, method="ipm"), repeats)
    (clf, sk_warned), sk_wall, sk_cpu = timed(sk_fit, repeats)
    ws, ws_wall, ws_cpu = timed(lambda: hard_margin_svm(X, y, method="working_set"))
    W = ipm.W
    W_sk = clf.coef_
    yi = np.searchsorted(ipm.classes, y)
    rows = np.arange(len(y))
    S = X @ W_sk.T
    M = S[rows, yi][:, None] - S
    M[rows, yi] = np.inf
    sk_margin = float(M.min())
    out = {
        "data": name,
        "n": int(X.shape[0]), "d": int(X.shape[1]), "K": int(len(ipm.classes)),
        "ipm": {"wall_s": ipm_wall, "cpu_s": ipm_cpu, "kkt_residual": ipm.kkt_residual,
                "certified_distance_rel": distance_to_optimum_bound(W, X, yi, ipm.dual) / float(np.linalg.norm(W)),
                "rounds": ipm.iterations, "ipm_iterations": ipm.solver_iterations,
                "n_support": ipm.n_support, "normalized_margin": ipm.normalized_margin},
        "clarabel_working_set": {"wall_s": ws_wall, "cpu_s": ws_cpu, "kkt_residual": ws.kkt_residual,
                                 "rounds": ws.iterations,
                                 "rel_dW_vs_ipm": float(np.linalg.norm(ws.W - W) / np.linalg.norm(W))},
        "sklearn": {"wall_s": sk_wall, "cpu_s": sk_cpu, "n_iter": int(clf.n_iter_),
                    "convergence_warning": bool(sk_warned),
                    "normalized_margin": sk_margin / float(np.linalg.norm(W_sk)),
                    "angle_to_ipm_deg": angle_deg(W, W_sk)},
        "ratio_ipm_over_sklearn_wall": ipm_wall / sk_wall,
        "ratio_ipm_over_sklearn_cpu": ipm_cpu / sk_cpu,
        "ratio_clarabel_ws_over_sklearn_cpu": ws_cpu / sk_cpu,
        "ratio_clarabel_ws_over_ipm_cpu": ws_cpu / ipm_cpu,
    }
    if cvxpy_budget > 0:
        full = cvxpy_with_budget(X, y, cvxpy_budget)
        if full.get("finished"):
            Wc = full.pop("W")
            full["rel_dW_vs_ipm"] = float(np.linalg.norm(Wc - W) / np.linalg.norm(W))
            full["ratio_over_sklearn_cpu"] = full["cpu_s"] / sk_cpu
        out["cvxpy_full"] = full
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cvxpy-budget", type=float, default=60.0,
                    help="CPU seconds allowed to the full cvxpy QP in (b)/(c); 0 skips it")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    if args.quick:
        orth = (4, 10, 60)
        n, d, K = 300, 16, 5
    else:
        orth = (10, 50, 600)
        n, d, K = 2000, 64, 10
    limit = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else None
    try:
        results = {"python": sys.version.split()[0], "machine": platform.platform(),
                   "blas_threads": 1 if limit else "default", "repeats": args.repeats}
        results["orthonormal"] = bench_orthonormal(*orth, args.repeats)
        results["gaussian"] = bench_general(
            f"separable_gaussian({n}, {d}, {K}, seed={args.seed})",
            *separable_gaussian(n, d, K, seed=args.seed), args.repeats, args.cvxpy_budget)
        results["clusters"] = bench_general(
            f"class_clusters({n}, {d}, {K}, seed={args.seed}, separation=3)",
            *class_clusters(n, d, K, seed=args.seed), args.repeats, args.cvxpy_budget)
    finally:
        if limit is not None:
            limit.restore_original_limits()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_svm.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwritten {out / 'bench_svm.json'}")


def print_table(r):
    o = r["orthonormal"]
    print(f"(a) {o['data']}")
    print(f"    closed form   {o['closed_form']['wall_s']*1e3:9.2f} ms wall")
    print(f"    cvxpy QP      {o['cvxpy']['wall_s']:9.2f} s wall {o['cvxpy']['cpu_s']:8.2f} s cpu   "
          f"ratio {o['ratio_cvxpy_over_closed_form_wall']:.3g}x   max|dW| {o['max_abs_dW_closed_form_vs_cvxpy']:.2e}")
    print(f"    ipm           {o['ipm']['wall_s']:9.2f} s wall {o['ipm']['cpu_s']:8.2f} s cpu   "
          f"ratio {o['ratio_ipm_over_closed_form_wall']:.3g}x   max|dW| {o['max_abs_dW_closed_form_vs_ipm']:.2e}")
    for key in ("gaussian", "clusters"):
        g = r[key]
        print(f"({'b' if key == 'gaussian' else 'c'}) {g['data']}")
        print(f"    {'route':22s} {'wall s':>8s} {'cpu s':>8s} {'cpu/sklearn':>12s} {'KKT':>9s} {'angle° to ipm':>14s}")
        sk = g["sklearn"]
        print(f"    {'ipm (exact)':22s} {g['ipm']['wall_s']:8.3f} {g['ipm']['cpu_s']:8.3f} "
              f"{g['ratio_ipm_over_sklearn_cpu']:12.3f} {g['ipm']['kkt_residual']:9.1e} {0.0:14.2e}")
        ws = g["clarabel_working_set"]
        print(f"    {'Clarabel working set':22s} {ws['wall_s']:8.3f} {ws['cpu_s']:8.3f} "
              f"{g['ratio_clarabel_ws_over_sklearn_cpu']:12.3f} {ws['kkt_residual']:9.1e} "
              f"{'rel dW %.1e' % ws['rel_dW_vs_ipm']:>14s}")
        full = g.get("cvxpy_full")
        if full is not None:
            if full.get("finished"):
                print(f"    {'cvxpy full QP':22s} {full['wall_s']:8.3f} {full['cpu_s']:8.3f} "
                      f"{full['ratio_over_sklearn_cpu']:12.3f} {full['kkt_residual']:9.1e} "
                      f"{'rel dW %.1e' % full['rel_dW_vs_ipm']:>14s}")
            else:
                print(f"    {'cvxpy full QP':22s} not finished within {full.get('budget_cpu_s', '?')} CPU s "
                      f"{full.get('error', '')}")
        print(f"    {'sklearn C=1e4':22s} {sk['wall_s']:8.3f} {sk['cpu_s']:8.3f} {1.0:12.3f} {'-':>9s} "
              f"{sk['angle_to_ipm_deg']:14.2e}   ({sk['n_iter']} iters"
              f"{', ConvergenceWarning' if sk['convergence_warning'] else ''})")
        print(f"    ipm certified ||W - W*||/||W|| <= {g['ipm']['certified_distance_rel']:.1e}; "
              f"normalised margin ipm {g['ipm']['normalized_margin']:.6g} vs sklearn {sk['normalized_margin']:.6g}; "
              f"{g['ipm']['rounds']} rounds, {g['ipm']['ipm_iterations']} IPM iterations")


if __name__ == "__main__":
    main()
