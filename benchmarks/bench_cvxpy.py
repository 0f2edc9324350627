"""cvxpy problems built once per shape (cp.Parameter) against a fresh build for every solve.

Usage::

    python benchmarks/bench_cvxpy.py [--out DIR] [--quick]

The claims that solve many problems of one shape (a bounded Brent search over
:math:`\\lambda`, a sweep over sparsities) used to build and canonicalise a new cvxpy
problem for every solve.  Measured in one run, alternating:

``claims``
    the slowest cvxpy claims, run with the library as it is (problems built once) and
    with its solve functions swapped for a *rebuilding* version -- the same problem
    written without parameters and built anew for every call, as before -- seconds of
    each and their ratio, and whether the two records agree (verdict and max error);
``solves``
    the 67 logit-space solves of ``lora_margin.thm3_2.optimal_lambda.corrected``'s
    quick profile, approximated by a log grid of :math:`\\lambda` on its two instances:
    seconds per solve both ways, their ratio, the largest difference of the solutions.

Results: a table on stdout and ``DIR/bench_cvxpy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: The slowest claims whose time is cvxpy solves of the logit-space route (quick profile);
#: their "rebuilt" run uses that route exactly as it was written before (no parameters).
#: (adadare's cvxpy claims can be timed with --claim; their rebuilt run builds the
#: parametrised problem anew per call, which is slower than the old plain build.)
CLAIMS = ["lora_margin.thm3_2.optimal_lambda.corrected", "lora_margin.thm3_1.zero_threshold.corrected",
          "lora_margin.thm3_2.ft_margin.printed"]


def _rebuilding_logit(y, n_classes, lam, *, reduction="mean", solver="SCS", eps=None, kkt_tol=None):
    """solve_logit_space as it was: a new, unparametrised problem for every call."""
    import cvxpy as cp

    from lintheory._validation import as_labels
    from lintheory.errors import SolverError
    from lintheory.lora_margin import solvers as S

    eps = S.SCS_EPS if eps is None else eps
    K = int(n_classes)
    y = as_labels(y, len(np.asarray(y)), K)
    N = y.size
    lm = S._lam_mean(lam, N, reduction)
    Y = np.zeros((K, N))
    Y[y, np.arange(N)] = 1.0
    Zh = cp.Variable((K, N))
    ce = cp.sum(cp.log_sum_exp(Zh, axis=0)) - cp.sum(cp.multiply(Y, Zh))
    prob = cp.Problem(cp.Minimize(ce / N + lm * cp.normNuc(Zh)))
    S._solve(prob, solver, eps)
    Z = np.asarray(Zh.value)
    kkt = S.verify_optimality(Z, lm, y=y, n_classes=K)
    if kkt_tol is not None and not kkt["max"] <= kkt_tol:
        raise SolverError(f"KKT certificate failed: {kkt}", status="KKT_FAILED")
    return S.NuclearResult(Z=Z, objective=float(prob.value), status="optimal", solver=solver, kkt=kkt)


class _Rebuilding:
    """Swap the parametrised builders for ones that build afresh on every call."""

    def __enter__(self):
        from lintheory.adadare import solvers as A
        from lintheory.lora_margin import solvers as S

        self.saved = [(S, "_logit_problem", S._logit_problem), (A, "_drop_problem", A._drop_problem)]
        S._PROBLEMS.clear()
        A._PROBLEMS.clear()

        def fresh(builder, cache):
            def build(*shape):
                cache.clear()
                return builder(*shape)
            return build

        S._logit_problem = fresh(self.saved[0][2], S._PROBLEMS)
        A._drop_problem = fresh(self.saved[1][2], A._PROBLEMS)
        # the logit route also the way it was written before (no parameters at all)
        self.saved.append((S, "solve_logit_space", S.solve_logit_space))
        S.solve_logit_space = _rebuilding_logit
        import lintheory.lora_margin.claims as LC

        self.saved.append((LC, "solve_logit_space", LC.solve_logit_space))
        LC.solve_logit_space = _rebuilding_logit
        return self

    def __exit__(self, *exc):
        for mod, name, obj in self.saved:
            setattr(mod, name, obj)


def _clear_solution_caches():
    import lintheory.adadare.claims as AC
    import lintheory.lora_margin.claims as LC

    for mod in (LC, AC):
        for name in dir(mod):
            obj = getattr(mod, name)
            if name.endswith("_CACHE") and isinstance(obj, dict):
                obj.clear()


def _run_claim(cid):
    from lintheory._threads import single_threaded
    from lintheory.claims import registry, run_claim

    _clear_solution_caches()
    t0 = time.perf_counter()
    with single_threaded():
        rec = run_claim(registry()[cid], profile="quick", seed=0)
    return time.perf_counter() - t0, rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--quick", action="store_true", help="one alternation instead of two")
    ap.add_argument("--claim", action="append", help="claims to time (default: CLAIMS)")
    a = ap.parse_args(argv)
    import cvxpy  # noqa: F401  (imported once, outside every timing)

    from lintheory.claims import registry
    from lintheory.lora_margin import solvers as S

    reps = 1 if a.quick else 2
    known = registry()
    claims = [c for c in (a.claim or CLAIMS) if c in known]
    res = {"bench": "cvxpy", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cpus": os.cpu_count(), "loadavg_1min_before": round(os.getloadavg()[0], 2), "claims": {}}
    for cid in claims:
        built, rebuilt, agree = [], [], True
        _run_claim(cid)  # warm-up: the first solve of a process pays cvxpy's own first-call costs
        for _ in range(reps):
            t_new, r_new = _run_claim(cid)
            with _Rebuilding():
                t_old, r_old = _run_claim(cid)
            built.append(t_new)
            rebuilt.append(t_old)
            agree &= (r_new["verdict"] == r_old["verdict"]
                      and abs((r_new["max_error"] or 0) - (r_old["max_error"] or 0))
                      <= 1e-6 * max(1.0, abs(r_old["max_error"] or 0)))
        res["claims"][cid] = {"built_once_s": round(min(built), 3), "rebuilt_s": round(min(rebuilt), 3),
                              "speedup": round(min(rebuilt) / min(built), 2), "records_agree": agree,
                              "verdict": r_new["verdict"], "max_error": r_new["max_error"]}

    # per-solve: the optimal-lambda search's shape (K=3, N=Kb*n), a log grid of lambda
    labels = np.repeat(np.arange(3), 2)
    lams = np.geomspace(1e-3, 0.5, 12)
    S._PROBLEMS.clear()
    S.solve_logit_space(labels, 4, lams[0])
    t0 = time.perf_counter()
    zs_new = [S.solve_logit_space(labels, 4, lam).Z for lam in lams]
    t_new = (time.perf_counter() - t0) / lams.size
    t0 = time.perf_counter()
    zs_old = [_rebuilding_logit(labels, 4, lam).Z for lam in lams]
    t_old = (time.perf_counter() - t0) / lams.size
    res["solves"] = {"K": 4, "N": int(labels.size), "n_lambda": int(lams.size),
                     "built_once_s_per_solve": round(t_new, 4), "rebuilt_s_per_solve": round(t_old, 4),
                     "speedup": round(t_old / t_new, 2),
                     "max_abs_diff": float(max(np.max(np.abs(p - q)) for p, q in zip(zs_new, zs_old)))}
    res["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_cvxpy.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"{'claim (quick profile)':50s} {'built once s':>12s} {'rebuilt s':>10s} {'speed-up':>9s} agree")
    for cid, m in res["claims"].items():
        print(f"{cid:50s} {m['built_once_s']:12.2f} {m['rebuilt_s']:10.2f} {m['speedup']:8.2f}x "
              f"{m['records_agree']}")
    s = res["solves"]
    print(f"logit-space solve (K={s['K']}, N={s['N']}): {s['built_once_s_per_solve'] * 1e3:.1f} ms built once vs "
          f"{s['rebuilt_s_per_solve'] * 1e3:.1f} ms rebuilt ({s['speedup']}x); max |dZ| {s['max_abs_diff']:.1e}")
    print(f"wrote {out / 'bench_cvxpy.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
