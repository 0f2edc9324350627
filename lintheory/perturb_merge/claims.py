"""Claims of P&M (seed ``001_9d292d09fb11dca7.txt``): α* (Eq. 8), its range (Eq. 3), the bound (Eq. 11–12), the
finite-difference curvature (Eq. 13), the stochastic perturbation (Eq. 14–16) and the Fisher approximation.

Every claim compares the closed form with an independent route (scipy line searches, cvxpy/Clarabel, Monte Carlo,
autograd) and, where it means something, with torch models trained in float64.
"""

from __future__ import annotations

import numpy as np

from fractions import Fraction

from ..certify import exact as exact_certificate
from ..certify import to_fraction
from ..claims import Evidence, Inconclusive, by_reading, claim, sweep
from ..errors import AssumptionError, NotConvergedError
from . import data
from .closed_form import (bound_terms, expected_perturbed_loss, fd_quadratic_form, optimal_alpha,
                          perturbation_schedule, perturbation_shrink_factor, pm_linear_regression, pm_sequence,
                          regularised_loss)
from .printed import FIRST_TERM_DOMINATES_RATIO, alpha_eq8, perturbation_probs_eq15
from .solvers import (constrained_alpha_cvxpy, loglog_slope, monte_carlo_perturbed,
                      regularised_minimiser_scipy, surrogate_line_minimiser, surrogate_value)

SEED_001 = "001_9d292d09fb11dca7.txt"

#: closed form vs scipy's Brent line search (xtol 1e-12) on an exactly evaluated objective
LINE_TOL = 1e-7
#: closed form vs torch models trained by float64 L-BFGS to gradient max-norm 1e-8
TRAIN_TOL = 1e-5
#: the α grid step is 0.01: a grid minimum can sit half a step away
GRID_TOL = 0.005 + 1e-9
#: closed form vs cvxpy/Clarabel (interior-point accuracy)
QP_TOL = 1e-6
#: exact algebraic identities in float64
EXACT_TOL = 1e-9
#: Monte Carlo: largest admissible |estimate - exact| in standard errors
MC_Z = 5.0
#: the fitted log-log slope of the FD error must be 2 within this
SLOPE_TOL = 0.05


def _tt():
    from .train import torch_threads

    return torch_threads(1)


def _single_threaded(fn):
    """Run a check with one torch thread: the models are tiny and intra-op threads only add contention."""
    import functools

    @functools.wraps(fn)
    def wrapped(ctx):
        with _tt():
            return fn(ctx)

    return wrapped


# ======================================================================================= Eq. 8: the minimiser
@claim(id="perturb_merge.eq8.surrogate_minimiser", paper=SEED_001, source="Eq. 8 (L96), Appendix A.1 Eq. 18–24",
       statement=r"$\alpha_t^*=-\sum_i(\hat\theta_{t-1}-\theta_i^*)^\top H_i\Delta\theta_t^*/\sum_i"
                 r"\Delta\theta_t^{*\top}H_i\Delta\theta_t^*$ minimises the quadratic model $J(\alpha)$ of Eq. 7",
       form="printed",
       method="random instances (dense PSD, random-rank PSD, positive diagonal, HVP callables), t = 1..6, d = 1..9: "
              "Eq. 8 (as printed and via optimal_alpha) vs scipy Brent on J evaluated as explicit sums",
       expected="holds")
@_single_threaded
def _eq8_surrogate(ctx):
    kinds = ["dense", "rank", "diag", "hvp"]
    configs = [{"seed": ctx.seed + i, "d": 1 + i % 9, "t": 1 + (i // 9) % 6, "kind": kinds[i % 4]}
               for i in range(ctx.pick(60, 400))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        kind = "dense" if cfg["kind"] == "hvp" else cfg["kind"]
        inst = data.random_merge_instance(rng, cfg["d"], cfg["t"], kind=kind)
        curv = inst["curvatures"]
        if cfg["kind"] == "hvp":
            curv = [(lambda v, H=H: H @ v) for H in curv]
        cf = optimal_alpha(inst["theta_prev"], inst["optima"], curv, inst["delta"], constrain=False).unconstrained
        dense = [np.diag(c) if np.ndim(c) == 1 else c for c in inst["curvatures"]]
        pr = alpha_eq8(inst["theta_prev"], inst["optima"], dense, inst["delta"])
        sc = surrogate_line_minimiser(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        return max(abs(cf - sc), abs(pr - sc)) / (1.0 + abs(sc))

    return sweep(configs, ev, LINE_TOL)


@claim(id="perturb_merge.eq8.exact_for_quadratic_losses", paper=SEED_001, source="Eq. 6–8, L90",
       statement="For quadratic task losses (linear regression, squared loss) Eq. 8 with the exact Hessians is the "
                 "exact minimiser over α of the true summed loss of tasks 1..t along the merge line",
       form="derived",
       method="torch: sequential linear regression (float64 L-BFGS from the merged model, exact Hessians by "
              "torch.func.hessian); α* (unconstrained) vs scipy Brent on the true summed loss and vs a 0.01 grid",
       expected="holds")
@_single_threaded
def _eq8_exact(ctx):
    from .train import make_model, run_sequence

    n_seq = ctx.pick(2, 8)
    T = ctx.pick(4, 6)
    errs, grid_errs, alt_errs = [], [], []
    for s in range(n_seq):
        rng = ctx.rng(s)
        tasks = data.linear_regression_tasks(rng, T, 60, 5)
        try:
            res = run_sequence(make_model("linear", 5), "mse", tasks, curvature="hessian", constrain=False,
                               seed=ctx.seed + s, device=ctx.device)
        except NotConvergedError as exc:
            raise Inconclusive(str(exc)) from None
        for t, (a, la, ga) in enumerate(zip(res.unconstrained, res.line_alpha, res.grid_alpha)):
            errs.append(abs(a - la) / (1 + abs(la)))
            alt_errs.append(abs(1.0 / (t + 1) - la) / (1 + abs(la)))
            if -0.5 <= a <= 1.5:
                grid_errs.append(abs(a - ga))
    err = max(max(errs), max(grid_errs) / GRID_TOL * TRAIN_TOL)
    gap = max(alt_errs)
    return Evidence(instances=len(errs), max_error=err, tolerance=TRAIN_TOL,
                    details={"max_abs_alpha_vs_line_search": max(errs), "max_alpha_vs_grid": max(grid_errs),
                             "grid_tolerance": GRID_TOL, "sequences": n_seq, "tasks": T},
                    discrimination={"alternative": "alpha_t = 1/t (the common-Hessian running mean)", "gap": gap,
                                    "tolerance": TRAIN_TOL, "rejected": gap > TRAIN_TOL},
                    inconclusive=None if gap > TRAIN_TOL else "cannot reject alpha_t = 1/t")


# ======================================================================================= Eq. 3: the range
def _outside(a: float) -> float:
    return max(0.0, -a, a - 1.0)


@claim(id="perturb_merge.eq3.unit_interval.printed", paper=SEED_001, source="Eq. 3 (L62–66) with Eq. 7/8 (L92–96)",
       statement=r"Eq. 3's merging coefficient, constrained $0\le\alpha_t\le1$ (L66), is the argmin of Eq. 7 with the "
                 r"closed form Eq. 8 (L92–96): $\alpha_t^*$ of Eq. 8 lies in $[0,1]$ (whether Eq. 7's argmin is read "
                 r"over $[0,1]$ -- then Eq. 8 is not it once it leaves -- or over $\mathbb R$ -- then it breaks "
                 r"Eq. 3's constraint -- the check is the same: $\alpha_t^*\notin[0,1]$)",
       form="printed",
       method="re-targeted in the referee pass from L222's Observation 2 (empirical, about the Fig. 2 runs) to the "
              "constraint of Eq. 3 with Eq. 7/8; the defect is the missing clip. Sequential linear regression in closed form (exact least-squares optima, exact Hessians; n > d and "
              "n < d; independent and 90 % shared targets): distance of α* from [0, 1]; every failure re-checked "
              "by scipy Brent on the quadratic model and certified by Eq. 8 in exact rationals. Squared loss is "
              "inside the paper's stated assumptions (L90: ∇L_i(θ_i*) = 0 and no cubic remainder hold exactly), "
              "the most favourable case of its quadratic model. Second reading, the paper's own setting: binary "
              "cross-entropy tasks (Newton optima from the merged model), the diagonal empirical Fisher of Eq. 10 "
              "and Eq. 8 unclipped as in Alg. 1; a failure there is certified in 113-bit interval arithmetic "
              "(sigmoids enclosed); separable or non-converged tasks are untrusted and counted",
       expected="fails")
@_single_threaded
def _eq3_printed(ctx):
    settings = [(100, 8, 0.0), (100, 8, 0.9), (10, 30, 0.0), (10, 30, 0.9)]
    per = ctx.pick(25, 200)
    configs = [{"seed": ctx.seed + i, "n": n, "d": d, "shared": sh, "T": 6}
               for k, (n, d, sh) in enumerate(settings) for i in range(k * 10**6, k * 10**6 + per)]

    def run(cfg):
        rng = np.random.default_rng(cfg["seed"])
        tasks = data.linear_regression_tasks(rng, cfg["T"], cfg["n"], cfg["d"], shared=cfg["shared"])
        return tasks, pm_linear_regression(tasks, np.zeros(cfg["d"]))

    def ev(cfg):
        tasks, out = run(cfg)
        key = f"n={cfg['n']},d={cfg['d']},shared={cfg['shared']}"
        return max(_outside(a) for a in out["unconstrained"]), (key, list(out["unconstrained"][2:]))

    def recheck(cfg):
        # replay the sequence and recompute the worst step's α by a line search on the quadratic model
        tasks, out = run(cfg)
        k = int(np.argmax([_outside(a) for a in out["unconstrained"]]))
        th = np.zeros(cfg["d"]) if k == 0 else out["merged"][k - 1]
        optima, Hs = [], []
        prev = np.zeros(cfg["d"])
        for i in range(k + 1):
            X, y = tasks[i].X, tasks[i].y
            v = np.linalg.pinv(X) @ (y - X @ prev)
            optima.append(prev + v)
            Hs.append(X.T @ X / X.shape[0])
            prev = out["merged"][i]
        v = optima[-1] - th
        return _outside(surrogate_line_minimiser(th, optima, Hs, v))

    ev_ = sweep(configs, ev, EXACT_TOL, size=lambda c: (c["n"] + c["d"],), recheck=recheck,
                certify=_certify_outside_unit_interval)
    stats = {}
    for key, alphas in ev_.instance_data:  # in config order, as the instances were listed
        st = stats.setdefault(key, {"steps_t>=3": 0, "below_0": 0, "above_1": 0, "min": 1.0, "max": 0.0})
        for a in alphas:
            st["steps_t>=3"] += 1
            st["below_0"] += a < 0
            st["above_1"] += a > 1
            st["min"] = min(st["min"], a)
            st["max"] = max(st["max"], a)
    for st in stats.values():
        st["fraction_outside"] = (st["below_0"] + st["above_1"]) / max(st["steps_t>=3"], 1)
    ev_.details["by_setting"] = stats

    # reading 2: the paper's own loss and curvature (cross-entropy, diagonal empirical Fisher, Alg. 1 line 15)
    log_cfgs = [{"seed": ctx.seed + 7 * 10**6 + i, "T": 6, "n": 200, "d": 4, "scale": [0.5, 1.0][i % 2]}
                for i in range(ctx.pick(60, 400))]

    def ev_log(cfg):
        out = _logistic_fisher_sequence(cfg)
        return max(_outside(a) for a in out["alphas"]), [a for a in out["alphas"][2:]]

    ev2 = sweep(log_cfgs, ev_log, EXACT_TOL, size=lambda c: (c["scale"],), certify=_certify_logistic_fisher)
    steps = [a for alphas in ev2.instance_data for a in alphas]
    ev2.details["steps_t>=3"] = len(steps)
    ev2.details["fraction_outside"] = float(np.mean([_outside(a) > 0 for a in steps])) if steps else None
    return by_reading({"H_i the exact Hessian, squared loss (Eq. 8 as derived; L90 holds exactly)": ev_,
                       "H_i the diagonal empirical Fisher, cross-entropy (as implemented: L106, Alg. 1)": ev2})


def _logistic_newton(X, y, theta0):
    """The unique minimiser of the mean logistic loss from ``theta0`` (damped Newton with backtracking; gradient
    max-norm 1e-12).  Data without a finite minimiser (separable) or a stalled solve raise :class:`Inconclusive`."""
    th = np.array(theta0, dtype=float)
    n = X.shape[0]

    def loss(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    g = np.full(th.shape, np.inf)
    for _ in range(200):
        z = X @ th
        pr = 0.5 * (1.0 + np.tanh(0.5 * z))            # the sigmoid without overflow
        g = X.T @ (pr - y) / n
        if np.max(np.abs(g)) < 1e-12:
            return th
        H = X.T @ (X * (pr * (1 - pr))[:, None]) / n
        try:
            step = np.linalg.solve(H + 1e-300 * np.eye(len(th)), g)
        except np.linalg.LinAlgError:
            raise Inconclusive("singular logistic Hessian (separable task?)") from None
        f0, t = loss(th), 1.0
        while loss(th - t * step) > f0 - 1e-4 * t * float(g @ step) and t > 1e-12:
            t *= 0.5
        th = th - t * step
        if np.max(np.abs(th)) > 1e6:
            raise Inconclusive("the logistic task has no finite minimiser (separable)")
    raise Inconclusive(f"Newton did not converge (gradient max-norm {np.max(np.abs(g)):.2e})")


def _logistic_fisher_sequence(cfg):
    """P&M as Alg. 1 runs it on binary cross-entropy tasks: each task's optimum from the merged model, its diagonal
    empirical Fisher (Eq. 10, ground-truth labels) at that optimum, and α* of Eq. 8 as printed (no clipping)."""
    rng = np.random.default_rng(cfg["seed"])
    tasks = data.logistic_tasks(rng, cfg["T"], cfg["n"], cfg["d"], scale=cfg["scale"])
    th = np.zeros(cfg["d"])
    out = {"alphas": [], "prev": [], "optima": [], "fishers": [], "tasks": tasks}
    for task in tasks:
        opt = _logistic_newton(task.X, task.y, th)
        pr = 0.5 * (1.0 + np.tanh(0.5 * (task.X @ opt)))
        fisher = np.mean(((pr - task.y)[:, None] * task.X) ** 2, axis=0)
        out["optima"].append(opt)
        out["fishers"].append(fisher)
        v = opt - th
        a = optimal_alpha(th, out["optima"], out["fishers"], v, constrain=False).unconstrained
        out["prev"].append(th)
        out["alphas"].append(a)
        th = th + a * v
    return out


def _certify_logistic_fisher(cfg):
    """Interval certificate of Eq. 8 leaving [0, 1] with the diagonal empirical Fisher: the float route's optima and
    merged model taken as exact numbers, every Fisher entry (sigmoids) and α* enclosed in 113-bit intervals."""
    from ..certify import interval, iv

    out = _logistic_fisher_sequence(cfg)
    k = int(np.argmax([_outside(a) for a in out["alphas"]]))
    import mpmath

    def fisher_iv(task, opt):
        X = task.X
        o = [iv(x) for x in opt]
        acc = [iv(0)] * X.shape[1]
        for row, yk in zip(X, task.y):
            z = sum((iv(a) * b for a, b in zip(row, o)), iv(0))
            r = 1 / (1 + mpmath.iv.exp(-z)) - iv(yk)
            acc = [c + (r * iv(a)) ** 2 for c, a in zip(acc, row)]
        return [c / X.shape[0] for c in acc]

    th = [iv(x) for x in out["prev"][k]]
    opts = [[iv(x) for x in o] for o in out["optima"][:k + 1]]
    Fs = [fisher_iv(out["tasks"][i], out["optima"][i]) for i in range(k + 1)]
    v = [a - b for a, b in zip(opts[k], th)]
    num = iv(0)
    den = iv(0)
    for o, F in zip(opts, Fs):
        num = num + sum(((a - b) * f * c for a, b, f, c in zip(th, o, F, v)), iv(0))
        den = den + sum((f * c * c for f, c in zip(F, v)), iv(0))
    alpha = -num / den
    dist = -alpha if out["alphas"][k] < 0 else alpha - 1
    return interval(dist, note=f"Eq. 8 with the diagonal empirical Fisher at step t = {k + 1}, in interval "
                               f"arithmetic: alpha* = {out['alphas'][k]:.6g}")


def _solve_exact(A, b):
    """Solve ``A x = b`` in exact rationals (Gauss-Jordan; ``A`` square, non-singular)."""
    n = len(A)
    M = [list(row) + [bi] for row, bi in zip(A, b)]
    for c in range(n):
        piv = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        inv = 1 / M[c][c]
        M[c] = [x * inv for x in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[r][n] for r in range(n)]


def _exact_alpha_at_step(tasks, k, theta_prev, earlier_optima):
    r"""Eq. 8 at step ``k`` in exact rationals, from the float route's inputs taken as exact numbers.

    ``theta_prev`` (the merged model) and ``earlier_optima`` (tasks ``< k``) are the float route's vectors, which
    are exact binary rationals; task ``k``'s optimum :math:`\hat\theta_{k-1}+X_k^+(y_k-X_k\hat\theta_{k-1})` is
    solved exactly (normal equations for n >= d, the minimum-norm solution :math:`X^\top(XX^\top)^{-1}r` for
    n < d), every :math:`H_i=X_i^\top X_i/n_i` is exact, and so is α* of Eq. 8.
    """
    th = [to_fraction(v) for v in theta_prev]
    d = len(th)

    def gram(task):
        X = [[to_fraction(v) for v in row] for row in task.X]
        n = len(X)
        XtX = [[sum(X[m][a] * X[m][b] for m in range(n)) for b in range(d)] for a in range(d)]
        return X, [[x / n for x in row] for row in XtX], XtX

    X, Hk, XtX = gram(tasks[k])
    y = [to_fraction(v) for v in tasks[k].y]
    n = len(X)
    r = [yi - sum(a * b for a, b in zip(row, th)) for row, yi in zip(X, y)]
    if n >= d:
        v = _solve_exact(XtX, [sum(X[m][a] * r[m] for m in range(n)) for a in range(d)])
    else:
        XXt = [[sum(a * b for a, b in zip(X[i], X[j])) for j in range(n)] for i in range(n)]
        w = _solve_exact(XXt, r)
        v = [sum(X[m][a] * w[m] for m in range(n)) for a in range(d)]
    optima = [[to_fraction(x) for x in o] for o in earlier_optima] + [[a + b for a, b in zip(th, v)]]
    Hs = [gram(tasks[i])[1] for i in range(k)] + [Hk]
    num = Fraction(0)
    den = Fraction(0)
    for opt, Hi in zip(optima, Hs):
        Hv = [sum(a * b for a, b in zip(row, v)) for row in Hi]
        num += sum((a - b) * c for a, b, c in zip(th, opt, Hv))
        den += sum(a * b for a, b in zip(v, Hv))
    return -num / den


def _certify_outside_unit_interval(cfg):
    """Exact certificate of Eq. 8 leaving [0, 1] at the counterexample's worst step (see :func:`_exact_alpha_at_step`)."""
    rng = np.random.default_rng(cfg["seed"])
    tasks = data.linear_regression_tasks(rng, cfg["T"], cfg["n"], cfg["d"], shared=cfg["shared"])
    out = pm_linear_regression(tasks, np.zeros(cfg["d"]))
    k = int(np.argmax([_outside(a) for a in out["unconstrained"]]))
    prev = np.zeros(cfg["d"]) if k == 0 else out["merged"][k - 1]
    earlier, pr = [], np.zeros(cfg["d"])
    for i in range(k):  # the float route's task optima, as pm_linear_regression computes them
        X, y = tasks[i].X, tasks[i].y
        earlier.append(pr + np.linalg.pinv(X) @ (y - X @ pr))
        pr = out["merged"][i]
    a = _exact_alpha_at_step(tasks, k, prev, earlier)
    dist = max(Fraction(0), -a, a - 1)
    return exact_certificate(dist, note=f"Eq. 8 in exact rationals at step t = {k + 1} (inputs: the float route's "
                                        f"merged model and earlier optima as exact binary rationals): alpha* = "
                                        f"{float(a):.6g}, distance {float(dist):.3g} from [0, 1]", step=k + 1)


@claim(id="perturb_merge.eq3.clip_is_constrained_optimum.corrected", paper=SEED_001, source="Eq. 3 with Eq. 7",
       statement=r"the minimiser of the quadratic model over $0\le\alpha\le1$ is $\mathrm{clip}(\alpha_t^*,0,1)$",
       form="corrected",
       method="random instances (θ̂ away from the optima, so α* often leaves [0, 1]): optimal_alpha(constrain=True) "
              "vs cvxpy/Clarabel on [0, 1] (status OPTIMAL, scalar KKT residual checked)",
       expected="holds")
@_single_threaded
def _eq3_corrected(ctx):
    configs = [{"seed": ctx.seed + i, "d": 2 + i % 6, "t": 2 + i % 5, "kind": ("dense", "rank", "diag")[i % 3]}
               for i in range(ctx.pick(20, 200))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        inst = data.random_merge_instance(rng, cfg["d"], cfg["t"], kind=cfg["kind"])
        r = optimal_alpha(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        q = constrained_alpha_cvxpy(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        if q["kkt"] > 1e-6:
            raise Inconclusive(f"cvxpy KKT residual {q['kkt']:.2e}")
        return abs(r.alpha - q["alpha"]), (r.clipped, abs(r.unconstrained - q["alpha"]))

    ev_ = sweep(configs, ev, QP_TOL)
    alts = [x[1] for x in ev_.instance_data]
    ev_.instance_data = [x[0] for x in ev_.instance_data]
    if alts:  # the unclipped Eq. 8 against the same cvxpy optimum (computed in the same evaluation)
        ev_.discrimination = {"alternative": "Eq. 8 unclipped", "gap": max(alts), "tolerance": QP_TOL,
                              "rejected": max(alts) > QP_TOL}
        if max(alts) <= QP_TOL and ev_.counterexample is None:
            ev_.inconclusive = "cannot reject the unclipped Eq. 8"
    ev_.details["instances_clipped"] = int(np.sum(ev_.instance_data))
    return ev_


@claim(id="perturb_merge.eq8.first_two_steps", paper=SEED_001, source="Eq. 8 (not stated in the paper)",
       statement=r"$\alpha_1^*=1$ for any curvature with $v^\top H_1v>0$, and $\alpha_2^*\in[0,1]$ whenever "
                 r"$\hat\theta_1=\theta_1^*$",
       form="derived",
       method="random instances (dense, random-rank, diagonal): Eq. 8 and scipy Brent on the quadratic model; "
              "error = |α₁ − 1| + distance of α₂ from [0, 1]",
       expected="holds")
@_single_threaded
def _first_two(ctx):
    configs = [{"seed": ctx.seed + i, "d": 1 + i % 8, "kind": ("dense", "rank", "diag")[i % 3]}
               for i in range(ctx.pick(60, 400))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        i1 = data.random_merge_instance(rng, cfg["d"], 1, kind=cfg["kind"])
        a1 = optimal_alpha(i1["theta_prev"], i1["optima"], i1["curvatures"], i1["delta"], constrain=False)
        s1 = surrogate_line_minimiser(i1["theta_prev"], i1["optima"], i1["curvatures"], i1["delta"])
        i2 = data.random_merge_instance(rng, cfg["d"], 2, kind=cfg["kind"], start_at_previous_optimum=True)
        a2 = optimal_alpha(i2["theta_prev"], i2["optima"], i2["curvatures"], i2["delta"], constrain=False)
        s2 = surrogate_line_minimiser(i2["theta_prev"], i2["optima"], i2["curvatures"], i2["delta"])
        return max(abs(a1.unconstrained - 1.0), abs(s1 - 1.0),
                   _outside(a2.unconstrained), max(0.0, _outside(s2) - LINE_TOL))

    def alt(cfg):  # "alpha_2 = 1/2" (the running mean) against scipy's line minimiser
        rng = np.random.default_rng(cfg["seed"])
        data.random_merge_instance(rng, cfg["d"], 1, kind=cfg["kind"])
        i2 = data.random_merge_instance(rng, cfg["d"], 2, kind=cfg["kind"], start_at_previous_optimum=True)
        return abs(0.5 - surrogate_line_minimiser(i2["theta_prev"], i2["optima"], i2["curvatures"], i2["delta"]))

    return sweep(configs, ev, LINE_TOL, alternative=("alpha_2 = 1/2", alt))


@claim(id="perturb_merge.eq8.common_hessian_running_mean", paper=SEED_001, source="Eq. 8 (not stated in the paper)",
       statement=r"if all $H_i$ are equal, $\alpha_t^*=1/t$ and $\hat\theta_t=\frac1t\sum_{i\le t}\theta_i^*$ "
                 "(P&M is a running average)",
       form="derived",
       method="closed-form recursion on random quadratic tasks with one shared Hessian (dense and diagonal) vs 1/t "
              "and the mean of the optima; torch: linear regression tasks sharing X (hence H) with different "
              "targets, trained by L-BFGS, α from exact Hessians vs 1/t",
       expected="holds")
@_single_threaded
def _common_hessian(ctx):
    from .train import make_model, run_sequence

    errs, alt_errs = [], []
    for i in range(ctx.pick(20, 100)):
        rng = ctx.rng(i)
        d, T = 2 + i % 6, 6
        Hs, cs = data.quadratic_tasks(rng, d, T, common_hessian=True, kind=("dense", "diag")[i % 2])
        out = pm_sequence(Hs, cs, rng.standard_normal(d))
        errs.append(max(abs(a - 1.0 / (t + 1)) for t, a in enumerate(out["alphas"])))
        alt_errs.append(max(abs(a - 1.0 / (t + 2)) for t, a in enumerate(out["alphas"])))
        errs.append(max(float(np.max(np.abs(m - np.mean(cs[:t + 1], axis=0)))) / (1 + float(np.max(np.abs(cs))))
                        for t, m in enumerate(out["merged"])))
    closed = max(errs)
    rng = ctx.rng(10**6)
    base = data.linear_regression_tasks(rng, 1, 50, 4)[0]
    tasks = [data.Task(base.X, base.X @ rng.standard_normal(4) + 0.3 * rng.standard_normal(50)) for _ in range(4)]
    try:
        res = run_sequence(make_model("linear", 4), "mse", tasks, curvature="hessian", line_search=False,
                           grid=None, seed=ctx.seed, device=ctx.device)
    except NotConvergedError as exc:
        raise Inconclusive(str(exc)) from None
    trained = max(abs(a - 1.0 / (t + 1)) for t, a in enumerate(res.alphas))
    return Evidence(instances=len(errs) // 2 + 1, max_error=max(closed / EXACT_TOL, trained / TRAIN_TOL) * EXACT_TOL,
                    tolerance=EXACT_TOL,
                    details={"closed_form_max_error": closed, "torch_max_error": trained,
                             "torch_alphas": res.alphas, "torch_tolerance": TRAIN_TOL},
                    discrimination={"alternative": "alpha_t = 1/(t+1) (off by one)", "gap": max(alt_errs),
                                    "tolerance": EXACT_TOL, "rejected": max(alt_errs) > EXACT_TOL})


# ======================================================================================= Eq. 11–12
@claim(id="perturb_merge.eq11.identity_and_bound", paper=SEED_001, source="Eq. 11–12 (L112–113), Appendix A.2",
       statement=r"$\sum_i\delta_i(\alpha^*)=\tfrac12A-C^2/(2B)\le\tfrac12A$ in the quadratic model",
       form="printed",
       method="random PSD instances: J at scipy's line minimiser (explicit sums) vs A/2 − C²/(2B); bound A/2 − J ≥ 0",
       expected="holds")
@_single_threaded
def _eq11(ctx):
    configs = [{"seed": ctx.seed + i, "d": 1 + i % 8, "t": 1 + i % 6, "kind": ("dense", "rank", "diag")[i % 3]}
               for i in range(ctx.pick(60, 400))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        inst = data.random_merge_instance(rng, cfg["d"], cfg["t"], kind=cfg["kind"])
        b = bound_terms(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        a = surrogate_line_minimiser(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        J = surrogate_value(a, inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        scale = 1.0 + b.first
        return max(abs(J - b.value) / scale, max(0.0, J - b.first) / scale, max(0.0, -b.second) / scale)

    return sweep(configs, ev, 1e-8)


@claim(id="perturb_merge.eq11.cauchy_schwarz", paper=SEED_001, source="Appendix A.2, Eq. 28–31",
       statement=r"$C^2/B\le A$: the dropped second term never exceeds the first (equality iff all "
                 r"$a_i=\hat\theta_{t-1}-\theta_i^*$ are one common multiple of $v$)",
       form="printed",
       method="random PSD instances: ratio (C²/B)/A ≤ 1; equality instances a_i = c v give ratio 1 (numpy)",
       expected="holds")
@_single_threaded
def _cs(ctx):
    configs = [{"seed": ctx.seed + i, "d": 1 + i % 8, "t": 1 + i % 6, "equal": i % 5 == 0}
               for i in range(ctx.pick(80, 500))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        inst = data.random_merge_instance(rng, cfg["d"], cfg["t"], kind="rank")
        if cfg["equal"]:
            c = rng.standard_normal()
            inst["optima"] = [inst["theta_prev"] - c * inst["delta"] for _ in inst["optima"]]
        b = bound_terms(inst["theta_prev"], inst["optima"], inst["curvatures"], inst["delta"])
        if b.first == 0:
            return 0.0
        return abs(b.ratio - 1.0) if cfg["equal"] else max(0.0, b.ratio - 1.0)

    return sweep(configs, ev, 1e-9)


@claim(id="perturb_merge.eq11.first_term_dominates.printed", paper=SEED_001, source="Appendix A.2, L359-363 and L383",
       statement="the first term of Eq. 11 dominates: the second term is always less than or equal to the first "
                 "(the paper's own meaning, L363 and L383; an earlier version of this check read 'dominates' as "
                 "'second <= first / 2', a threshold the paper never states)",
       form="printed",
       method="P&M run on random quadratic task streams (closed form, t >= 2): ratio second/first of Eq. 11 at "
              "each step must be <= 1 (error = ratio - 1, tolerance 1e-9); a failure is re-checked with J at "
              "scipy's line minimiser; the alternative 'second <= first / 2' must be rejected",
       expected="holds")
@_single_threaded
def _dominates(ctx):
    configs = [{"seed": ctx.seed + i, "d": 2 + i % 6, "T": 5} for i in range(ctx.pick(40, 300))]

    def run(cfg):
        rng = np.random.default_rng(cfg["seed"])
        Hs, cs = data.quadratic_tasks(rng, cfg["d"], cfg["T"])
        th = np.zeros(cfg["d"])
        out = pm_sequence(Hs, cs, th)
        res = []
        for t in range(1, cfg["T"]):
            prev = out["merged"][t - 1]
            v = cs[t] - prev
            res.append((prev, cs[:t + 1], Hs[:t + 1], v))
        return res

    def ratios_of(cfg):
        return [bound_terms(prev, opts, Hs, v).ratio for prev, opts, Hs, v in run(cfg)]

    def ev(cfg):
        ratios = ratios_of(cfg)
        return max(0.0, max(ratios) - FIRST_TERM_DOMINATES_RATIO), ratios

    def alt(cfg):  # our former reading: second <= first / 2
        return max(0.0, max(ratios_of(cfg)) - 0.5)

    def recheck(cfg):
        worst = 0.0
        for prev, opts, Hs, v in run(cfg):
            a = surrogate_line_minimiser(prev, opts, Hs, v)
            J = surrogate_value(a, prev, opts, Hs, v)
            first = surrogate_value(0.0, prev, opts, Hs, v)
            worst = max(worst, (first - J) / first)
        return max(0.0, worst - FIRST_TERM_DOMINATES_RATIO)

    ev_ = sweep(configs, ev, 1e-9, recheck=recheck, alternative=("second <= first / 2", alt))
    r = np.array([x for ratios in ev_.instance_data for x in ratios])
    ev_.details.update(ratio_median=float(np.median(r)), ratio_max=float(r.max()),
                       fraction_above_half=float(np.mean(r > 0.5)), steps=len(r))
    return ev_


# ======================================================================================= Eq. 13
def _logistic_problem(rng, n=80, d=4, scale=1.0):
    import torch
    import torch.nn.functional as F

    task = data.logistic_tasks(rng, 1, n, d, scale=scale)[0]
    X = torch.as_tensor(task.X)
    y = torch.as_tensor(task.y)
    theta = torch.as_tensor(rng.standard_normal(d) * 0.5)
    v = torch.as_tensor(rng.standard_normal(d))

    def f(th):
        return F.binary_cross_entropy_with_logits(X @ th, y)

    return f, theta, v


@claim(id="perturb_merge.eq13.fd_exact_for_quadratics", paper=SEED_001, source="Eq. 13 (L119–121)",
       statement=r"$\frac{1}{\epsilon^2}(\mathcal L(\theta+\epsilon v)+\mathcal L(\theta-\epsilon v)-2\mathcal L(\theta))"
                 r"=v^\top Hv$ exactly for quadratic losses, every $\epsilon\in(0,1]$",
       form="derived",
       method="torch float64: squared loss of a linear model on random data; FD at ε ∈ {1, 0.5, 0.1, 0.01} vs "
              "vᵀ(XᵀX/n)v (numpy) and vs torch.func Hessian-vector product",
       expected="holds")
@_single_threaded
def _fd_quad(ctx):
    import torch
    from torch.func import grad, jvp

    configs = [{"seed": ctx.seed + i, "n": 20 + i, "d": 1 + i % 6} for i in range(ctx.pick(20, 100))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        X = rng.standard_normal((cfg["n"], cfg["d"]))
        y = rng.standard_normal(cfg["n"])
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
        f = lambda th: 0.5 * ((Xt @ th - yt) ** 2).mean()  # noqa: E731
        th = torch.as_tensor(rng.standard_normal(cfg["d"]))
        v = torch.as_tensor(rng.standard_normal(cfg["d"]))
        exact = float(v.numpy() @ (X.T @ X / cfg["n"]) @ v.numpy())
        hv = float(v @ jvp(grad(f), (th,), (v,))[1])
        errs = [abs(float(fd_quadratic_form(f, th, v, e)) - exact) / (1 + exact) for e in (1.0, 0.5, 0.1, 0.01)]
        alt = abs(float(fd_quadratic_form(f, th, v, 0.5)) - exact / 2) / (1 + exact)
        return max(max(errs), abs(hv - exact) / (1 + exact)), alt

    ev_ = sweep(configs, ev, 1e-8)
    alts = ev_.instance_data
    if alts:  # the FD quotient read as the Taylor term (1/2) vᵀHv, computed on the same instances
        ev_.discrimination = {"alternative": "FD = (1/2) vᵀHv", "gap": max(alts), "tolerance": 1e-8,
                              "rejected": max(alts) > 1e-8}
    return ev_


@claim(id="perturb_merge.eq13.fd_error_order", paper=SEED_001, source="Eq. 13 (L119–121)",
       statement=r"for smooth non-quadratic losses $\mathrm{FD}_\epsilon-v^\top Hv=\frac{\epsilon^2}{12}\nabla^4"
                 r"\mathcal L[v,v,v,v]+O(\epsilon^4)$: the error is $O(\epsilon^2)$ (log-log slope 2)",
       form="derived",
       method="torch float64 logistic loss: FD vs exact vᵀHv (torch.func jvp of grad) over ε ∈ [0.0125, 0.1]/s, "
              "s = max_n |x_n·v| (the asymptotic range; directions whose 4th derivative nearly cancels are redrawn); "
              "fitted log-log slope vs 2, and the leading coefficient vs the 4th directional derivative / 12 "
              "(nested torch.func.grad); error = max(|slope − 2|, relative coefficient error)",
       expected="holds")
@_single_threaded
def _fd_order(ctx):
    import torch
    import torch.nn.functional as F
    from torch.func import grad, jvp

    base = np.geomspace(0.0125, 0.1, 6)
    configs = [{"seed": ctx.seed + i} for i in range(ctx.pick(4, 40))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        task = data.logistic_tasks(rng, 1, 80, 4)[0]
        X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
        f = lambda w: F.binary_cross_entropy_with_logits(X @ w, y)  # noqa: E731
        for _ in range(10):
            # a direction whose 4th derivative does not (nearly) cancel, else the eps^2 term is not the leading one
            th = torch.as_tensor(rng.standard_normal(4) * 0.5)
            v = torch.as_tensor(rng.standard_normal(4))
            scale = float((X @ v).abs().max())  # logit change per unit step: the asymptotic range is eps << 1/scale
            vHv = float(v @ jvp(grad(f), (th,), (v,))[1])
            g = lambda s, th=th, v=v: f(th + s * v)  # noqa: E731
            d4 = float(grad(grad(grad(grad(g))))(torch.tensor(0.0, dtype=torch.float64)))
            if abs(d4) >= 1e-2 * vHv * scale ** 2:
                break
        else:
            raise Inconclusive("no direction with a non-vanishing 4th derivative in 10 draws")
        eps = base / scale
        err = np.array([abs(float(fd_quadratic_form(f, th, v, e)) - vHv) for e in eps])
        sl = loglog_slope(eps, err)
        coef = err[0] / eps[0] ** 2
        bias = abs(float(fd_quadratic_form(f, th, v, 0.5)) - vHv) / vHv
        return max(abs(sl - 2.0), abs(coef - abs(d4) / 12.0) / (abs(d4) / 12.0)), (sl, bias)

    ev_ = sweep(configs, ev, SLOPE_TOL)
    if ev_.instance_data:
        gap = max(abs(sl - 1.0) for sl, _ in ev_.instance_data)
        ev_.discrimination = {"alternative": "first-order error, slope 1", "gap": gap, "tolerance": SLOPE_TOL,
                              "rejected": gap > SLOPE_TOL}
    ev_.details.update(slopes=[sl for sl, _ in ev_.instance_data],
                       relative_bias_at_eps_0_5=[b for _, b in ev_.instance_data])
    return ev_


# ======================================================================================= Eq. 14–16
@claim(id="perturb_merge.eq15.probabilities.printed", paper=SEED_001, source="Eq. 15, L132, Alg. 1 line 1, L179",
       statement=r"with the paper's hyper-parameter $p_0$ and $p_+=p_-=\frac12(1-p_0)$ (L132), Eq. 15's probabilities "
                 r"$(1-2\lambda/\epsilon^2,\lambda/\epsilon^2,\lambda/\epsilon^2)$ are a distribution and equal "
                 r"$(p_0,p_+,p_-)$ for $\lambda=\epsilon^2(1-p_0)/2$ (an earlier version claimed a distribution for every "
                 r"$\lambda>0$, which the paper never states: it always sets $p_0\in[0,1]$)",
       form="printed",
       method="grid over p0 in [0, 1] and eps in (0, 1]: negative mass, |sum - 1| and the distance of Eq. 15 at "
              "lambda = eps^2 (1 - p0)/2 from (p0, (1-p0)/2, (1-p0)/2); tolerance 1e-12",
       expected="holds")
@_single_threaded
def _probs_printed(ctx):
    configs = [{"eps": float(e), "p0": float(p0)} for e in np.linspace(0.1, 1.0, 10)
               for p0 in np.linspace(0.0, 1.0, ctx.pick(11, 41))]

    def ev(cfg):
        e, p0 = cfg["eps"], cfg["p0"]
        pr = perturbation_probs_eq15(e * e * (1 - p0) / 2, e)
        return max(max(0.0, -min(pr)), abs(sum(pr) - 1.0), abs(pr[0] - p0), abs(pr[1] - (1 - p0) / 2),
                   abs(pr[2] - (1 - p0) / 2))

    return sweep(configs, ev, 1e-12)


@claim(id="perturb_merge.eq15.probabilities.corrected", paper=SEED_001, source="Eq. 15 and L132",
       statement=r"Eq. 15 is a distribution iff $\lambda\le\epsilon^2/2$ (a condition the paper leaves implicit: it "
                 r"always parametrises by $p_0\in[0,1]$); $\lambda=\epsilon^2(1-p_0)/2$ (defaults ε = 0.5, p₀ = 1/3: "
                 r"λ = 1/12); perturbation_schedule refuses every other λ",
       form="derived",
       method="grid over (ε, λ): perturbation_schedule accepts exactly the λ ≤ ε²/2 (AssumptionError otherwise), its "
              "probabilities are non-negative, sum to 1 and match the printed ones; p₀ round trip",
       expected="holds")
@_single_threaded
def _probs_corrected(ctx):
    configs = [{"eps": float(e), "lam": float(lam)} for e in np.linspace(0.1, 1.0, 10)
               for lam in np.geomspace(1e-3, 1.0, ctx.pick(10, 40))]

    def ev(cfg):
        e, lam = cfg["eps"], cfg["lam"]
        try:
            s = perturbation_schedule(e, lam=lam)
        except AssumptionError:
            return 0.0 if lam > e * e / 2 else 1.0
        if lam > e * e / 2 * (1 + 1e-12):
            return 1.0
        pr = perturbation_probs_eq15(lam, e)
        s2 = perturbation_schedule(e, p0=s.p0)
        return max(abs(s.p0 - pr[0]), abs(s.p_plus - pr[1]), abs(sum(s.probs) - 1.0), max(0.0, -min(s.probs)),
                   abs(s2.lam - lam))

    def alt(cfg):  # the wrong constant: a distribution iff lambda <= eps^2
        e, lam = cfg["eps"], cfg["lam"]
        return float((lam <= e * e) != (min(perturbation_probs_eq15(lam, e)) >= 0))

    ev_ = sweep(configs, ev, 1e-12, alternative=("a distribution iff lambda <= eps^2", alt))
    ev_.details["paper_default_lambda"] = perturbation_schedule(0.5, p0=1 / 3).lam
    return ev_


@claim(id="perturb_merge.eq16.unbiased", paper=SEED_001, source="Eq. 16 and L136",
       statement=r"with $\lambda\le\epsilon^2/2$ and gradients flowing through $\Delta\theta_t$ (Alg. 1), the "
                 r"sampled loss $\mathcal L(\hat\theta_{t-1}+(1+\tilde\epsilon)\Delta)$ is unbiased for Eq. 14's "
                 r"regularised loss and its gradient",
       form="printed",
       method="torch float64, logistic and tanh-MLP losses: exact three-point enumeration vs Eq. 14 (identity, "
              "1e-12), and Monte Carlo over sampled ε̃ (loss and gradient w.r.t. Δ) vs autograd of Eq. 14, "
              f"in standard errors (≤ {MC_Z})",
       expected="holds")
@_single_threaded
def _unbiased(ctx):
    import torch

    configs = [{"seed": ctx.seed + i, "p0": [1 / 3, 0.0, 0.8, 0.5][i % 4], "eps": [0.5, 1.0, 0.25, 0.1][i % 4],
                "model": ("logistic", "mlp")[i % 2]} for i in range(ctx.pick(8, 40))]
    n_mc = ctx.pick(4000, 40000)

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        sched = perturbation_schedule(cfg["eps"], p0=cfg["p0"])
        if cfg["model"] == "logistic":
            f, th0, v = _logistic_problem(rng)
        else:
            X = torch.as_tensor(rng.standard_normal((40, 3)))
            y = torch.as_tensor(rng.standard_normal(40))

            def f(th):
                W1, w2 = th[:12].reshape(4, 3), th[12:]
                return ((torch.tanh(X @ W1.T) @ w2 - y) ** 2).mean()

            th0 = torch.as_tensor(rng.standard_normal(16))
            v = torch.as_tensor(rng.standard_normal(16) * 0.5)
        D = v.clone().requires_grad_(True)
        reg = regularised_loss(f, th0, D, sched)
        (g_reg,) = torch.autograd.grad(reg, D)
        enum = float(expected_perturbed_loss(f, th0, v, sched))
        exact_err = abs(enum - float(reg.detach())) / (1 + abs(float(reg.detach())))
        mc = monte_carlo_perturbed(f, th0, v, sched, n_mc, rng)
        z_loss = abs(mc["loss"] - float(reg.detach())) / (mc["loss_se"] + 1e-12)
        z_grad = np.abs(mc["grad"] - g_reg.numpy()) / (mc["grad_se"] + 1e-12 * (1 + np.abs(g_reg.numpy())))
        return max(z_loss, float(z_grad.max()), exact_err / 1e-12 * MC_Z), exact_err

    ev_ = sweep(configs, ev, MC_Z)
    ev_.details.update(monte_carlo_samples=n_mc,
                       enumeration_vs_eq14_max=max(ev_.instance_data) if ev_.instance_data else None)
    return ev_


@claim(id="perturb_merge.eq16.unbiased.stop_gradient", paper=SEED_001, source="L136 (\"without introducing bias\")",
       statement="the unbiasedness of L136 also holds for a SAM-style implementation that adds the perturbation "
                 "ε̃·sg(Δθ) as a constant (no gradient through the perturbation)",
       form="derived",
       method="torch float64 squared loss (quadratic): expected stop-gradient gradient (exact enumeration) vs "
              "autograd of Eq. 14; relative difference (it misses 2λHΔ)",
       expected="fails")
@_single_threaded
def _stop_grad(ctx):
    import torch

    configs = [{"seed": ctx.seed + i, "d": 1 + i % 5} for i in range(ctx.pick(10, 50))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        X = torch.as_tensor(rng.standard_normal((30, cfg["d"])))
        y = torch.as_tensor(rng.standard_normal(30))
        f = lambda th: 0.5 * ((X @ th - y) ** 2).mean()  # noqa: E731
        sched = perturbation_schedule(0.5, p0=1 / 3)
        th0 = torch.as_tensor(rng.standard_normal(cfg["d"]))
        v = torch.as_tensor(rng.standard_normal(cfg["d"]))
        D = v.clone().requires_grad_(True)
        (g_reg,) = torch.autograd.grad(regularised_loss(f, th0, D, sched), D)
        g_sg = torch.zeros_like(v)
        for e, p in zip(sched.values, sched.probs):
            D2 = v.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(f(th0 + D2 + float(e) * D2.detach()), D2)
            g_sg += float(p) * g
        return float((g_sg - g_reg).norm() / (1 + g_reg.norm()))

    return sweep(configs, ev, 1e-8)


# ======================================================================================= perturbation vs merging
def _shrink_problem(rng, n=40, d=4):
    # unit feature scales keep H well conditioned, so plain GD (the stop-gradient route) converges fast
    task = data.linear_regression_tasks(rng, 1, n, d, feature_spread=0.0)[0]
    start = rng.standard_normal(d)
    X, y = task.X, task.y
    plain = np.linalg.lstsq(X, y - X @ start, rcond=None)[0]
    f_np = lambda th: 0.5 * float(np.mean((X @ th - y) ** 2))  # noqa: E731
    return task, start, plain, f_np


@claim(id="perturb_merge.perturb.quadratic_shrink", paper=SEED_001, source="Eq. 14–16 with Alg. 1 (our derivation)",
       statement=r"for a quadratic task loss, training with the perturbation (gradient through $\Delta\theta$) "
                 r"converges to $\Delta^{\mathrm{pert}}=\Delta^{\mathrm{plain}}/(1+2\lambda)$; the stop-gradient "
                 r"version converges to $\Delta^{\mathrm{plain}}$",
       form="derived",
       method="linear regression from a random start: closed form 1/(1+2λ) vs scipy BFGS on Eq. 14 evaluated with "
              "loss values only, vs torch L-BFGS on the expected perturbed loss (Eq. 16, through-gradient), vs torch "
              "GD on the stop-gradient expected loss",
       expected="holds")
@_single_threaded
def _shrink(ctx):
    import torch

    from .train import train_task

    configs = [{"seed": ctx.seed + i, "p0": [1 / 3, 0.0, 0.6][i % 3], "eps": [0.5, 1.0, 0.3][i % 3]}
               for i in range(ctx.pick(3, 20))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        task, start, plain, f_np = _shrink_problem(rng)
        sched = perturbation_schedule(cfg["eps"], p0=cfg["p0"])
        cf = plain * perturbation_shrink_factor(sched.lam)
        sc = regularised_minimiser_scipy(f_np, start, sched.lam, sched.eps)
        X, y = torch.as_tensor(task.X), torch.as_tensor(task.y)
        f = lambda th: 0.5 * ((X @ th - y) ** 2).mean()  # noqa: E731
        st = torch.as_tensor(start)
        with _tt():
            try:
                tr = (train_task(f, st, schedule=sched) - st).numpy()
                sg = (train_task(f, st, schedule=sched, stop_gradient=True, optimizer="gd", lr=0.5,
                                 steps=600) - st).numpy()
            except NotConvergedError as exc:
                raise Inconclusive(str(exc)) from None
        nrm = 1 + np.linalg.norm(plain)
        alt = np.linalg.norm(plain / (1 + sched.lam) - tr) / nrm  # the dropped factor 2: 1/(1+λ)
        return max(np.linalg.norm(cf - sc) / nrm / 1e-5, np.linalg.norm(cf - tr) / nrm / TRAIN_TOL,
                   np.linalg.norm(sg - plain) / nrm / TRAIN_TOL) * TRAIN_TOL, alt

    ev_ = sweep(configs, ev, TRAIN_TOL)
    if ev_.instance_data:
        gap = max(ev_.instance_data)
        ev_.discrimination = {"alternative": "shrink 1/(1+lambda)", "gap": gap, "tolerance": TRAIN_TOL,
                              "rejected": gap > TRAIN_TOL}
    return ev_


def _plain_optima_and_hessians(tasks, plain, t, d):
    """Task optima (min-norm, from the plain merged path) and Hessians XᵀX/n of tasks 1..t+1."""
    optima, Hs = [], []
    pr = np.zeros(d)
    for i in range(t + 1):
        X, y = tasks[i].X, tasks[i].y
        optima.append(pr + np.linalg.pinv(X) @ (y - X @ pr))
        Hs.append(X.T @ X / X.shape[0])
        pr = plain["merged"][i]
    return optima, Hs


def _merge_gap(cfg, torch_route=False):
    """Total loss of plain + Eq. 8 and of perturbation + Eq. 8 at each step from the same merged model."""
    rng = np.random.default_rng(cfg["seed"])
    tasks = data.linear_regression_tasks(rng, cfg["T"], 60, cfg["d"])
    sched = perturbation_schedule(0.5, p0=1 / 3)
    s = perturbation_shrink_factor(sched.lam)
    plain = pm_linear_regression(tasks, np.zeros(cfg["d"]))
    gaps = []
    for t in range(cfg["T"]):
        prev = np.zeros(cfg["d"]) if t == 0 else plain["merged"][t - 1]
        # one step of perturbation training + Eq. 8 from the *same* merged model
        optima, Hs = _plain_optima_and_hessians(tasks, plain, t, cfg["d"])
        X, y = tasks[t].X, tasks[t].y
        if torch_route:
            import torch

            from .train import train_task

            Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
            with _tt():
                vp = (train_task(lambda th: 0.5 * ((Xt @ th - yt) ** 2).mean(), torch.as_tensor(prev),
                                 schedule=sched) - torch.as_tensor(prev)).numpy()
        else:
            vp = s * (np.linalg.pinv(X) @ (y - X @ prev))
        opt_p = optima[:-1] + [prev + vp]
        a = optimal_alpha(prev, opt_p, Hs, vp).alpha
        merged_p = prev + a * vp
        loss_p = sum(0.5 * float(np.mean((tk.X @ merged_p - tk.y) ** 2)) for tk in tasks[:t + 1])
        gaps.append((loss_p, plain["total_loss"][t]))
    return gaps


@claim(id="perturb_merge.perturb.no_gain_quadratic", paper=SEED_001, source="§3.3, Alg. 1 (our derivation)",
       statement="for quadratic task losses, perturbation training + Eq. 8 is never better than plain training + "
                 "Eq. 8 from the same merged model: both merged models lie on the same line and Eq. 8 with the plain "
                 "task vector is that line's exact minimiser. The paper does not claim otherwise for quadratics: its "
                 "benefit of the perturbation is an experimental finding on cross-entropy ViTs (L28, L229, Tab. 4), "
                 "hedged as 'likely' (L383); an earlier printed claim 'perturbation lowers the merged loss', decided "
                 "on linear regression, used a loss the paper does not use and was removed",
       form="derived",
       method="sequential linear regression, ε = 0.5, p₀ = 1/3: (loss_plain − loss_pert)/loss_plain ≤ 1e-9 at every "
              "step (closed form); one sequence also with the perturbed task trained by torch L-BFGS",
       expected="holds")
@_single_threaded
def _no_gain(ctx):
    configs = [{"seed": ctx.seed + i, "d": 3 + i % 4, "T": 4} for i in range(ctx.pick(20, 200))]

    def ev(cfg):
        gaps = _merge_gap(cfg)
        excess = [(lp - l0) / l0 for lp, l0 in gaps[1:]]  # returned, not appended: ev may run elsewhere
        return max(max(0.0, (l0 - lp) / l0) for lp, l0 in gaps), excess

    def alt(cfg):  # "the perturbation lowers the merged loss" (the paper's hope, L383)
        return max(max(0.0, (lp - l0) / l0) for lp, l0 in _merge_gap(cfg)[1:])

    ev_ = sweep(configs, ev, 1e-9, alternative=("perturbation + Eq. 8 lowers the merged loss", alt))
    rel = [r for excess in ev_.instance_data for r in excess]
    # The torch route trains one sequence; an L-BFGS run that misses its gradient tolerance is
    # untrusted, so the next sequence is drawn instead (deterministically, at most three), and the
    # redraws are reported (seed 17 of the quick profile needed one).
    not_converged = []
    for torch_cfg in configs[:3]:
        try:
            tg = _merge_gap(torch_cfg, torch_route=True)
            break
        except NotConvergedError as exc:
            not_converged.append(f"{torch_cfg}: {exc}")
    else:
        raise Inconclusive(f"the torch route did not converge on three sequences: {not_converged}")
    torch_err = max(max(0.0, (l0 - lp) / l0) for lp, l0 in tg)
    ev_.details.update(mean_relative_excess_of_perturbation=float(np.mean(rel)),
                       max_relative_excess_of_perturbation=float(np.max(rel)), torch_route_error=torch_err,
                       torch_route_redrawn=not_converged)
    if torch_err > TRAIN_TOL:
        ev_.counterexample = dict(torch_cfg, route="torch", error=torch_err)
    return ev_


# ======================================================================================= Fisher vs Hessian
def _fisher_alphas(cfg, device="cpu"):
    from .train import make_model, run_sequence

    rng = np.random.default_rng(cfg["seed"])
    noise = [cfg["noise_a"], cfg["noise_b"]] * (cfg["T"] // 2 + 1)
    tasks = data.linear_regression_tasks(rng, cfg["T"], cfg["n"], cfg["d"], noise=noise[:cfg["T"]],
                                         feature_spread=0.5)
    out = {}
    for kind in ("hessian_diag", "fisher_diag"):
        # Same task optima either way: the plain-trained optima; the merged path follows each curvature.
        res = run_sequence(make_model("linear", cfg["d"]), "mse", tasks, curvature=kind, constrain=False,
                           line_search=False, grid=None, seed=cfg["seed"], device=device)
        out[kind] = res
    return out


@claim(id="perturb_merge.fisher.diag_fisher_alpha_unequal_noise", paper=SEED_001,
       source="L104–106 (F̂_t(θ_t*) ≈ H_t(θ_t*)), hedged at L117 and L245",
       statement="(our probe, not a claim of the paper: it hedges the approximation at L117 and in its Limitation, "
                 "L245, and uses cross-entropy, where the empirical Fisher is a likelihood Fisher) for squared-loss "
                 "linear regression with per-task noise scales, the diagonal empirical Fisher in Eq. 8 stays within "
                 "|α_F − α_H| ≤ 0.1 of the diagonal Hessian's α (it does not: the Fisher scales with each task's noise "
                 "variance and Eq. 8 is invariant to a common scale only)",
       form="derived",
       method="torch: sequential linear regression (n = 400, d = 4) with per-task noise σ alternating 0.1 / 2.0; "
              "diagonal empirical Fisher (torch.func vmap of grad) vs diagonal Hessian (torch.func.hessian); "
              "re-checked with the full Hessian",
       expected="fails")
@_single_threaded
def _fisher_printed(ctx):
    configs = [{"seed": ctx.seed + i, "T": 4, "n": 400, "d": 4, "noise_a": 0.1, "noise_b": 2.0}
               for i in range(ctx.pick(2, 10))]

    def ev(cfg):
        out = _fisher_alphas(cfg, ctx.device)
        h, f = out["hessian_diag"], out["fisher_diag"]
        excess = [fl - hl for fl, hl in zip(f.total_loss, h.total_loss)]
        return max(abs(a - b) for a, b in zip(h.unconstrained, f.unconstrained)) / 0.1 * 1.0, excess

    ev_ = sweep(configs, ev, 1.0)
    ev_.details["excess_total_loss_fisher_minus_hessian"] = ev_.instance_data
    ev_.details["error_unit"] = "max |α_F − α_H| / 0.1"
    return ev_


@claim(id="perturb_merge.fisher.equal_noise", paper=SEED_001, source="L104–106 with L117",
       statement="for linear regression with equal noise variance in every task, diag F̂_i ≈ σ² diag H_i, and since "
                 "Eq. 8 is invariant to one common curvature scale, α_F → α_H as n grows (|α_F − α_H| ≤ 0.1 at "
                 "n = 2000); the divergence seen with per-task noise scales (fisher.diag_fisher_alpha_unequal_noise) "
                 "comes from those scales",
       form="derived",
       method="torch: same protocol as the printed claim with σ = 0.5 in every task and n = 2000",
       expected="holds")
@_single_threaded
def _fisher_corrected(ctx):
    configs = [{"seed": ctx.seed + i, "T": 4, "n": 2000, "d": 4, "noise_a": 0.5, "noise_b": 0.5}
               for i in range(ctx.pick(2, 10))]

    def ev(cfg):
        out = _fisher_alphas(cfg, ctx.device)
        h, f = out["hessian_diag"], out["fisher_diag"]
        dd = max(abs(a - b) for a, b in zip(h.unconstrained, f.unconstrained))
        # the alternative "curvature does not matter, alpha_t = 1/t" against the same reference alpha_H
        alt = max(abs(a - 1.0 / (t + 1)) for t, a in enumerate(h.unconstrained))
        return dd / 0.1, (dd, alt / 0.1)

    ev_ = sweep(configs, ev, 1.0)
    alts = [x[1] for x in ev_.instance_data]
    ev_.instance_data = [x[0] for x in ev_.instance_data]
    if alts:
        ev_.discrimination = {"alternative": "alpha_t = 1/t (curvature ignored)", "gap": max(alts), "tolerance": 1.0,
                              "rejected": max(alts) > 1.0}
        if max(alts) <= 1.0:
            ev_.inconclusive = "the check cannot reject the alternative alpha_t = 1/t"
    ev_.details["max_abs_alpha_difference"] = ev_.instance_data
    return ev_


@claim(id="perturb_merge.perturb.gradient_corrected_alpha", paper=SEED_001, source="L90 (∇L_i(θ_i*) → 0) and Alg. 1",
       statement=r"for quadratic losses, Eq. 8 with the gradient term $g_t=\nabla\mathcal L_t(\theta_t^{pert})$ of "
                 r"the non-stationary perturbation-trained point gives exactly the plain P&M merged loss (the same "
                 r"line minimiser), i.e. the loss of the perturbed merge comes from Eq. 8's stationarity assumption",
       form="derived",
       method="sequential linear regression, ε = 0.5, p₀ = 1/3: merged loss of perturbation + gradient-corrected "
              "Eq. 8 (unconstrained, as is the plain reference) vs plain + Eq. 8, relative difference",
       expected="holds")
@_single_threaded
def _corrected(ctx):
    configs = [{"seed": ctx.seed + i, "d": 3 + i % 4, "T": 4} for i in range(ctx.pick(20, 200))]

    def ev(cfg):
        rng = np.random.default_rng(cfg["seed"])
        tasks = data.linear_regression_tasks(rng, cfg["T"], 60, cfg["d"])
        plain_unc = pm_linear_regression(tasks, np.zeros(cfg["d"]), constrain=False)
        gaps = _merge_gap_unconstrained(cfg, tasks, plain_unc)
        return max(abs(lp - l0) / l0 for lp, l0 in gaps)

    def alt(cfg):  # Eq. 8 as printed (no gradient term) at the perturbation-trained point
        rng = np.random.default_rng(cfg["seed"])
        tasks = data.linear_regression_tasks(rng, cfg["T"], 60, cfg["d"])
        plain_unc = pm_linear_regression(tasks, np.zeros(cfg["d"]), constrain=False)
        gaps = _merge_gap_unconstrained(cfg, tasks, plain_unc, with_gradient=False)
        return max(abs(lp - l0) / l0 for lp, l0 in gaps)

    return sweep(configs, ev, 1e-9, alternative=("Eq. 8 without the gradient term", alt))


def _merge_gap_unconstrained(cfg, tasks, plain, with_gradient=True):
    """Like :func:`_merge_gap` on an unconstrained plain path, with the gradient-corrected α for the perturbed step."""
    sched = perturbation_schedule(0.5, p0=1 / 3)
    s = perturbation_shrink_factor(sched.lam)
    out = []
    for t in range(cfg["T"]):
        prev = np.zeros(cfg["d"]) if t == 0 else plain["merged"][t - 1]
        optima, Hs = _plain_optima_and_hessians(tasks, plain, t, cfg["d"])
        X, y = tasks[t].X, tasks[t].y
        vp = s * (np.linalg.pinv(X) @ (y - X @ prev))
        grads = [np.zeros(cfg["d"])] * t + [X.T @ (X @ (prev + vp) - y) / X.shape[0]]
        a = optimal_alpha(prev, optima[:-1] + [prev + vp], Hs, vp, grads=grads if with_gradient else None,
                          constrain=False).alpha
        merged = prev + a * vp
        out.append((sum(0.5 * float(np.mean((tk.X @ merged - tk.y) ** 2)) for tk in tasks[:t + 1]),
                    plain["total_loss"][t]))
    return out


@claim(id="perturb_merge.eq8.exact_for_logistic_losses", paper=SEED_001, source="Eq. 6–8 (the ≈ of Eq. 7)",
       statement="Eq. 8 with exact Hessians at the task optima is also the exact minimiser of the true summed loss "
                 "for non-quadratic (logistic) task losses (it is not: Eq. 7 drops the O(‖θ̂−θ_i*‖³) remainder)",
       form="derived",
       method="torch: sequential logistic regression (float64 L-BFGS, exact Hessians by torch.func.hessian, weight "
              "scale 1.5): |α* − scipy line minimiser of the true summed loss|; a failure is re-checked against the "
              "0.01 grid (|α* − α_grid| − 0.005); details: the same gap with the diagonal empirical Fisher",
       expected="fails")
@_single_threaded
def _logistic_gap(ctx):
    from .train import make_model, run_sequence

    configs = [{"seed": ctx.seed + i, "T": 3, "n": 200, "d": 4, "scale": 1.5} for i in range(ctx.pick(1, 10))]

    def run(cfg, curvature, grid=None):
        rng = np.random.default_rng(cfg["seed"])
        tasks = data.logistic_tasks(rng, cfg["T"], cfg["n"], cfg["d"], scale=cfg["scale"])
        try:
            return run_sequence(make_model("linear", cfg["d"]), "logistic", tasks, curvature=curvature,
                                constrain=False, grid=grid, grad_tol=1e-7, seed=cfg["seed"], device=ctx.device)
        except NotConvergedError as exc:
            raise Inconclusive(str(exc)) from None

    def ev(cfg):
        r = run(cfg, "hessian")
        f = run(cfg, "fisher_diag")
        fisher_gap = max(abs(a - b) for a, b in zip(f.unconstrained[1:], f.line_alpha[1:]))
        return max(abs(a - b) for a, b in zip(r.unconstrained[1:], r.line_alpha[1:])), fisher_gap

    def recheck(cfg):
        from .train import GRID

        r = run(cfg, "hessian", grid=GRID)
        return max(abs(a - g) - GRID_TOL for a, g in zip(r.unconstrained[1:], r.grid_alpha[1:]))

    ev_ = sweep(configs, ev, TRAIN_TOL, recheck=recheck)
    ev_.details["max_gap_diag_fisher"] = ev_.instance_data
    return ev_
