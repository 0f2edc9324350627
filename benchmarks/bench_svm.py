"""Benchmark of the SVM suite's exact routes against scikit-learn (issues 2 and 14).

Run ``python benchmarks/bench_svm.py [--out DIR] [--quick] [--only NxDxK ...] [--data NAME ...]``;
prints a table and writes ``bench_svm.json`` to ``DIR`` (default ``benchmarks/results/``,
git-ignored).

(a) Orthonormal data (K̄ = 10 classes, n = 50 samples each, d = 600): the closed form
    ``orthonormal_svm`` against the exact QP ``hard_margin_svm(method="cvxpy")`` and the
    default route: time ratio and max |ΔW|.
(b) The grid of issue 14, (n, d, K) in ``GRID``, on ``separable_gaussian(n, d, K, seed)`` and
    on scikit-learn's digits (1797 samples, 10 classes; for d > 64 the ReLU random features
    ``max(0, X R / 8)`` of the digits scaled to [0, 1], ``R`` a seeded d-column Gaussian
    matrix; digits has no point with n > 2000 or K > 10).  At each point:

    * ``hard_margin_svm(X, y)`` (``method="auto"``: the IPM or the dual route),
    * the other exact route (``"dual"`` or ``"ipm"``), for the relative objective gap
      :math:`|f_a - f_b| / f_b`, :math:`f = \\tfrac12\\|W\\|^2`, when it fits its CPU budget,
    * scikit-learn's ``LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=1e4,
      tol=1e-8, max_iter=100_000)``, with its suboptimality: its ``W`` divided by its margin
      (when below 1) is feasible, and ``(f(W_sk / min(1, margin)) - f*) / f*`` is how far it is.

    Reported: CPU and wall seconds, the ratio ours / scikit-learn, the KKT residual over all
    constraints, the objective gaps, and the peak memory of each route beyond the data.

Every route runs once per point in its own forked child process: its peak memory is the
child's high-water mark (``VmHWM``) minus its resident size when it starts (which holds the
data), and a CPU-time limit (``--sklearn-budget``, ``--other-budget``) ends it without
ending the benchmark (reported as not finished: the ratio is then an upper bound).  BLAS
is limited to one thread in every route (liblinear is single-threaded).  On a shared
machine the CPU-time ratio is the one to quote; run the large points sparingly
(``--only 4000x512x100``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from lintheory.svm import hard_margin_svm, orthonormal_svm
from lintheory.svm.data import orthonormal_class_data, separable_gaussian

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

#: the (n, d, K) grid of issue 14
GRID = [(2000, 64, 10), (2000, 256, 10), (2000, 1024, 10), (2000, 2048, 10), (2000, 1024, 30),
        (4000, 512, 100), (20000, 64, 10), (20000, 256, 30), (100000, 64, 10)]
#: the --quick subset (one point per route, and digits at its own size)
QUICK_GRID = [(300, 16, 5), (400, 512, 5)]
QUICK_DIGITS = [(600, 64, 10)]
SK_PARAMS = {"multi_class": "crammer_singer", "fit_intercept": False, "C": 1e4, "tol": 1e-8,
             "max_iter": 100_000}


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


def _vm_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def digits_features(n, d, *, seed):
    """scikit-learn's digits (first ``n`` of 1797), as pixels (d = 64) or ReLU random features."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:n] / 16.0, y[:n]
    if d != X.shape[1]:
        R = np.random.default_rng(seed).standard_normal((X.shape[1], d))
        X = np.maximum(X @ R / 8.0, 0.0)
    return np.ascontiguousarray(X), y


# ---------------------------------------------------------------------------------------------
# routes, each run in a child process


def _route_ours(X, y, method):
    res = hard_margin_svm(X, y, method=method)
    return {"W": res.W, "kkt_residual": res.kkt_residual, "method": res.method, "solver": res.solver,
            "rounds": res.iterations, "inner_iterations": res.solver_iterations,
            "n_support_constraints": int(np.count_nonzero(res.dual_scaled > 0)),
            "n_support_samples": res.n_support, "margin": res.margin}


def _route_sklearn(X, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf = LinearSVC(**SK_PARAMS).fit(X, y)
    return {"W": clf.coef_, "n_iter": int(clf.n_iter_),
            "convergence_warning": any(issubclass(w.category, ConvergenceWarning) for w in caught)}


def _child(target, args, queue, cpu_budget_s):
    # a CPU-time budget (SIGXCPU ends the child): a wall-clock one would measure the load
    # of a shared machine rather than the solver
    if cpu_budget_s:
        resource.setrlimit(resource.RLIMIT_CPU, (int(np.ceil(cpu_budget_s)), int(np.ceil(cpu_budget_s)) + 5))
    rss0 = _vm_kib("VmRSS")
    ctx = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else None
    try:
        out, wall, cpu = timed(lambda: target(*args))
        out.update(wall_s=wall, cpu_s=cpu, peak_extra_mb=(_vm_kib("VmHWM") - rss0) / 1024.0)
        queue.put(out)
    except Exception as exc:  # reported, not hidden
        queue.put({"error": f"{type(exc).__name__}: {exc}"[:500]})
    finally:
        if ctx is not None:
            ctx.restore_original_limits()


def run_in_child(target, args, cpu_budget_s=0.0, wall_factor=4.0):
    """``target(*args)`` in a forked child; ``{"finished": False, ...}`` if it ran out of budget."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, queue, cpu_budget_s))
    proc.start()
    out = None
    deadline = time.perf_counter() + (wall_factor * cpu_budget_s if cpu_budget_s else 1e9)
    while out is None and time.perf_counter() < deadline:
        try:
            out = queue.get(timeout=1.0)
        except Exception:
            if not proc.is_alive():
                try:
                    out = queue.get(timeout=1.0)
                except Exception:
                    break
    proc.join(5.0)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    if out is None:
        return {"finished": False, "budget_cpu_s": cpu_budget_s, "exitcode": proc.exitcode}
    out["finished"] = "error" not in out
    return out


# ---------------------------------------------------------------------------------------------


def _margins_min(W, X, yi):
    rows = np.arange(len(yi))
    S = X @ W.T
    M = S[rows, yi][:, None] - S
    M[rows, yi] = np.inf
    return float(M.min())


def _objective(W):
    return 0.5 * float(np.sum(W * W))


def bench_point(name, X, y, *, sklearn_budget, other_budget, ours_budget=0.0):
    """All routes at one point; the W's are compared here and dropped from the record."""
    classes = np.unique(y)
    yi = np.searchsorted(classes, y)
    n, d = X.shape
    out = {"data": name, "n": int(n), "d": int(d), "K": int(classes.size)}
    ours = run_in_child(_route_ours, (X, y, "auto"), ours_budget)
    out["ours"] = ours
    if not ours.get("finished"):
        return out
    W = ours.pop("W")
    f_star = _objective(W)
    out["objective"] = f_star
    other = "ipm" if ours["method"] == "dual" else "dual"
    alt = run_in_child(_route_ours, (X, y, other), other_budget) if other_budget > 0 else {"finished": False}
    if alt.get("finished"):
        Wa = alt.pop("W")
        alt["rel_objective_gap_vs_ours"] = abs(_objective(Wa) - f_star) / f_star
        alt["rel_dW_vs_ours"] = float(np.linalg.norm(Wa - W) / np.linalg.norm(W))
    out["other_exact_route"] = dict(alt, route=other)
    sk = run_in_child(_route_sklearn, (X, y), sklearn_budget) if sklearn_budget > 0 else {"finished": False}
    if sk.get("finished"):
        Ws = sk.pop("W")
        c = _margins_min(Ws, X, yi)
        sk["min_margin"] = c
        if c > 0:
            sk["rel_suboptimality"] = (_objective(Ws / min(c, 1.0)) - f_star) / f_star
        out["ratio_cpu_ours_over_sklearn"] = ours["cpu_s"] / sk["cpu_s"]
        out["ratio_wall_ours_over_sklearn"] = ours["wall_s"] / sk["wall_s"]
    elif sklearn_budget > 0:
        # sklearn used its whole budget: the ratio is at most this
        out["ratio_cpu_ours_over_sklearn_upper_bound"] = ours["cpu_s"] / sklearn_budget
    out["sklearn"] = sk
    return out


def bench_orthonormal(Kb, n, d, repeats, seed=0):
    X, y = orthonormal_class_data(Kb, n, d, seed=seed)
    W_cf, cf_wall, cf_cpu = timed(lambda: orthonormal_svm(X, y), repeats=max(repeats, 20))
    qp, qp_wall, qp_cpu = timed(lambda: hard_margin_svm(X, y, method="cvxpy"))
    fast, f_wall, f_cpu = timed(lambda: hard_margin_svm(X, y), repeats)
    return {
        "data": f"orthonormal_class_data({Kb}, {n}, {d}, seed={seed})",
        "closed_form": {"wall_s": cf_wall, "cpu_s": cf_cpu},
        "cvxpy": {"wall_s": qp_wall, "cpu_s": qp_cpu, "kkt_residual": qp.kkt_residual},
        "default": {"wall_s": f_wall, "cpu_s": f_cpu, "kkt_residual": fast.kkt_residual, "method": fast.method},
        "ratio_cvxpy_over_closed_form_wall": qp_wall / cf_wall,
        "ratio_default_over_closed_form_wall": f_wall / cf_wall,
        "max_abs_dW_closed_form_vs_cvxpy": float(np.abs(W_cf - qp.W).max()),
        "max_abs_dW_closed_form_vs_default": float(np.abs(W_cf - fast.W).max()),
        "norm_W": float(np.linalg.norm(W_cf)),
    }


def _parse_point(s):
    try:
        n, d, K = (int(v) for v in s.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--only takes NxDxK, e.g. 2000x1024x30; got {s!r}") from None
    return n, d, K


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--quick", action="store_true", help="a small subset (well under a minute)")
    ap.add_argument("--only", action="append", default=None, metavar="NxDxK",
                    help="run only these grid points (repeatable); digits runs at (min(n, 1797), d, 10)")
    ap.add_argument("--data", action="append", choices=["gaussian", "digits"], default=None)
    ap.add_argument("--no-orthonormal", action="store_true", help="skip part (a)")
    ap.add_argument("--sklearn-budget", type=float, default=900.0,
                    help="CPU seconds allowed to scikit-learn at one point (0 skips it)")
    ap.add_argument("--other-budget", type=float, default=300.0,
                    help="CPU seconds allowed to the other exact route at one point (0 skips it)")
    ap.add_argument("--ours-budget", type=float, default=0.0,
                    help="CPU seconds allowed to hard_margin_svm at one point (0: no limit)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of part (a)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    data = args.data or ["gaussian", "digits"]
    if args.only:
        grid = [_parse_point(s) for s in args.only]
        digits_grid = [(min(n, 1797), d, K) for n, d, K in grid if K == 10 and n <= 2000]
    elif args.quick:
        grid, digits_grid = QUICK_GRID, QUICK_DIGITS
    else:
        grid = GRID
        digits_grid = [(1797, d, 10) for n, d, K in GRID if K == 10 and n <= 2000]
    results = {"python": sys.version.split()[0], "machine": platform.platform(), "blas_threads": 1,
               "sklearn_params": SK_PARAMS, "sklearn_budget_cpu_s": args.sklearn_budget,
               "other_budget_cpu_s": args.other_budget, "points": []}
    if not args.no_orthonormal and not args.only:
        orth = (4, 10, 60) if args.quick else (10, 50, 600)
        results["orthonormal"] = bench_orthonormal(*orth, args.repeats)
        print_orthonormal(results["orthonormal"])
    print_header()
    todo = []
    if "gaussian" in data:
        todo += [(f"separable_gaussian({n}, {d}, {K}, seed={args.seed})",
                  lambda n=n, d=d, K=K: separable_gaussian(n, d, K, seed=args.seed)) for n, d, K in grid]
    if "digits" in data:
        todo += [(f"digits(n={n}, d={d}{', relu features seed=%d' % args.seed if d != 64 else ''})",
                  lambda n=n, d=d: digits_features(n, d, seed=args.seed)) for n, d, K in digits_grid]
    for name, make in todo:
        X, y = make()
        rec = bench_point(name, X, y, sklearn_budget=args.sklearn_budget, other_budget=args.other_budget,
                          ours_budget=args.ours_budget)
        results["points"].append(rec)
        print_point(rec)
        del X, y

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_svm.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwritten {out / 'bench_svm.json'}")


def print_orthonormal(o):
    print(f"(a) {o['data']}")
    print(f"    closed form   {o['closed_form']['wall_s']*1e3:9.2f} ms wall")
    print(f"    cvxpy QP      {o['cvxpy']['wall_s']:9.2f} s wall {o['cvxpy']['cpu_s']:8.2f} s cpu   "
          f"ratio {o['ratio_cvxpy_over_closed_form_wall']:.3g}x   max|dW| {o['max_abs_dW_closed_form_vs_cvxpy']:.2e}")
    print(f"    default ({o['default']['method']}) {o['default']['wall_s']:9.2f} s wall "
          f"{o['default']['cpu_s']:8.2f} s cpu   ratio {o['ratio_default_over_closed_form_wall']:.3g}x   "
          f"max|dW| {o['max_abs_dW_closed_form_vs_default']:.2e}")


def print_header():
    print("\n(b) exact hard-margin SVM vs scikit-learn crammer_singer (C=1e4, tol=1e-8); CPU seconds")
    print(f"    {'data':52s} {'route':5s} {'ours s':>8s} {'sk s':>8s} {'ours/sk':>8s} {'KKT':>8s} "
          f"{'gap alt':>8s} {'sk subopt':>9s} {'MB ours':>8s} {'MB sk':>7s}")


def print_point(r):
    o, sk, alt = r["ours"], r.get("sklearn", {}), r.get("other_exact_route", {})
    if not o.get("finished"):
        print(f"    {r['data']:52s} ours failed: {o.get('error', o)}")
        return
    sk_s = f"{sk['cpu_s']:8.2f}" if sk.get("finished") else f">{r.get('sklearn_budget', sk.get('budget_cpu_s', 0)):7.0f}"
    ratio = (f"{r['ratio_cpu_ours_over_sklearn']:8.3f}" if "ratio_cpu_ours_over_sklearn" in r
             else f"<{r.get('ratio_cpu_ours_over_sklearn_upper_bound', float('nan')):7.3f}")
    gap = f"{alt['rel_objective_gap_vs_ours']:8.1e}" if alt.get("finished") else f"{'-':>8s}"
    sub = f"{sk['rel_suboptimality']:9.1e}" if "rel_suboptimality" in sk else f"{'-':>9s}"
    skmb = f"{sk['peak_extra_mb']:7.0f}" if sk.get("finished") else f"{'-':>7s}"
    print(f"    {r['data']:52s} {o['method']:5s} {o['cpu_s']:8.2f} {sk_s} {ratio} {o['kkt_residual']:8.1e} "
          f"{gap} {sub} {o['peak_extra_mb']:8.0f} {skmb}"
          + (f"  (sk {sk['n_iter']} it{', warned' if sk['convergence_warning'] else ''})" if sk.get("finished") else ""))


if __name__ == "__main__":
    main()
