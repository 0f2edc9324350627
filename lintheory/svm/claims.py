"""Claims of the SVM / simplex-ETF suite (``002_caa97dd52c787aec.txt`` §2, App. C–D).

Routes and their tolerances:

* closed form vs exact QP (:func:`~lintheory.svm.hard_margin_svm`, cvxpy/Clarabel,
  accepted only as OPTIMAL with a KKT residual ≤ 1e-6): ``QP_TOL``;
* closed form vs a torch classifier trained with cross-entropy (L-BFGS, float64):
  ``TRAIN_TOL`` on ``1 - cos`` of the angle;
* exact identities of the ETF, evaluated numerically (SVD, norms): ``ETF_TOL``.
"""

from __future__ import annotations

import numpy as np

from ..claims import Evidence, claim, sweep
from ..errors import InfeasibleError
from ..geometry import simplex_etf
from . import data
from .closed_form import max_normalized_margin, orthonormal_svm
from .margins import normalized_margin
from .printed import prop2_1_svm, thm_d1_max_margin
from .solvers import hard_margin_svm
from .train import train_linear_classifier

SEED_002 = "002_caa97dd52c787aec.txt"

#: exact identities evaluated in float64
ETF_TOL = 1e-11
#: closed form vs the exact QP (relative Frobenius error)
QP_TOL = 1e-6
#: closed form vs trained classifier, on 1 - cos(angle)
TRAIN_TOL = 1e-8
#: orthogonality / representer residuals (relative)
SPAN_TOL = 1e-7


def _cos(A, B) -> float:
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


# ---------------------------------------------------------------------------- ETF


def _etf_configs(ctx):
    ms = range(2, ctx.pick(13, 41))
    for m in ms:
        rng = ctx.rng(m)
        extra = int(rng.integers(0, 4))
        yield {"m": m, "d": m + extra, "seed": int(rng.integers(2**31))}


def _etf(cfg):
    P = data.random_orthogonal(cfg["d"], cfg["seed"])[:, :cfg["m"]]
    return simplex_etf(cfg["m"], P), cfg["m"]


def _etf_claim(aspect: str, statement: str, error_fn):
    @claim(id=f"svm.etf.{aspect}", paper=SEED_002, source="Definition 2.1 (L160–170)",
           statement=statement, form="derived",
           method="numpy on M = sqrt(m/(m-1)) P (I - 11ᵀ/m) for m = 2..12 (quick) / 2..40 (full), "
                  "Haar-random P with orthonormal columns",
           expected="holds")
    def _check(ctx):
        return sweep(_etf_configs(ctx), lambda cfg: error_fn(*_etf(cfg)), ETF_TOL,
                     size=lambda c: (c["m"], c["d"]))

    return _check


_etf_claim("gram", r"$M_m^\top M_m = \frac{m}{m-1}(I_m - \frac1m \mathbf 1\mathbf 1^\top)$",
           lambda M, m: np.abs(M.T @ M - m / (m - 1) * (np.eye(m) - 1.0 / m)).max())
_etf_claim("unit_columns", "every column of $M_m$ has unit norm",
           lambda M, m: np.abs(np.linalg.norm(M, axis=0) - 1).max())
_etf_claim("pairwise_inner", "distinct columns have inner product $-1/(m-1)$",
           lambda M, m: np.abs((M.T @ M)[~np.eye(m, dtype=bool)] + 1.0 / (m - 1)).max()
           if m > 1 else 0.0)
_etf_claim("zero_column_sums", r"$M_m \mathbf 1_m = 0$",
           lambda M, m: np.abs(M.sum(axis=1)).max())
_etf_claim("frobenius", r"$\|M_m\|_F^2 = m$", lambda M, m: abs(np.linalg.norm(M) ** 2 - m) / m)
_etf_claim("nuclear", r"$\|M_m\|_* = \sqrt{m(m-1)}$",
           lambda M, m: abs(np.linalg.svd(M, compute_uv=False).sum() - np.sqrt(m * (m - 1))) / m)
_etf_claim("rank", r"$\mathrm{rank}\, M_m = m - 1$ (singular values $\sqrt{m/(m-1)}$ and one 0)",
           lambda M, m: float(abs(np.linalg.matrix_rank(M, tol=1e-9) - (m - 1))))


# --------------------------------------------------------- Proposition 2.1, Theorem D.1


def _orth_configs(ctx, n_instances=None, with_K=False):
    n_inst = n_instances or ctx.pick(16, 80)
    for i in range(n_inst):
        rng = ctx.rng(i)
        Kb = int(rng.integers(2, ctx.pick(6, 10) + 1))
        n = int(rng.integers(1, ctx.pick(4, 8) + 1))
        cfg = {"Kb": Kb, "n": n, "d": Kb * n + int(rng.integers(0, 5)), "seed": int(rng.integers(2**31))}
        if with_K:
            cfg["K"] = Kb + int(rng.integers(0, 4))
        yield cfg


def _orth_data(cfg, K=None):
    if K is None:
        return data.orthonormal_class_data(cfg["Kb"], cfg["n"], cfg["d"], seed=cfg["seed"])
    rng = np.random.default_rng(cfg["seed"] + 1)
    labels = np.sort(rng.permutation(K)[:cfg["Kb"]])
    return data.orthonormal_class_data(cfg["Kb"], cfg["n"], cfg["d"], labels=labels, seed=cfg["seed"])


def _rel(A, B) -> float:
    return float(np.linalg.norm(A - B) / np.linalg.norm(B))


@claim(id="svm.prop2_1.closed_form.printed", paper=SEED_002, source="Proposition 2.1(i), L184–196",
       statement=r"The $\bar K$-class hard-margin SVM on orthonormal data is "
                 r"$(M_{\bar K}\otimes \mathbf 1_n^\top) X_{ft}^\top$",
       form="printed",
       method="relative Frobenius distance between the printed matrix and the exact QP "
              "(cvxpy/Clarabel, OPTIMAL, KKT ≤ 1e-6) over random orthonormal class-major data; "
              "failures re-checked with the working-set solver",
       expected="fails")
def _prop21_printed(ctx):
    def err(cfg, method="cvxpy"):
        X, y = _orth_data(cfg)
        return _rel(prop2_1_svm(X, y), hard_margin_svm(X, y, method=method).W)

    ev = sweep(_orth_configs(ctx), err, QP_TOL, recheck=lambda c: err(c, "working_set"),
               size=lambda c: (c["Kb"] * c["n"], c["d"]))
    if ev.counterexample:
        Kb = ev.counterexample["Kb"]
        ev.details["printed_over_svm_norm_ratio"] = ev.counterexample["error"] + 1.0
        ev.details["predicted_ratio_sqrt_Kb_over_Kb_minus_1"] = float(np.sqrt(Kb / (Kb - 1)))
    return ev


@claim(id="svm.prop2_1.closed_form.corrected", paper=SEED_002, source="Proposition 2.1(i), L184–196",
       statement=r"$\bar W^{SVM}_{ft} = ((I_{\bar K} - \frac1{\bar K}\mathbf 1\mathbf 1^\top)\otimes\mathbf 1_n^\top)"
                 r"X_{ft}^\top = \sqrt{(\bar K-1)/\bar K}\,(M_{\bar K}\otimes\mathbf 1_n^\top)X_{ft}^\top$, "
                 r"$\|\bar W^{SVM}_{ft}\|_F = \sqrt{n(\bar K-1)}$",
       form="corrected",
       method="orthonormal_svm vs the exact QP (cvxpy/Clarabel, OPTIMAL, KKT ≤ 1e-6), relative Frobenius error",
       expected="holds")
def _prop21_corrected(ctx):
    def err(cfg):
        X, y = _orth_data(cfg)
        return _rel(orthonormal_svm(X, y), hard_margin_svm(X, y, method="cvxpy").W)

    return sweep(_orth_configs(ctx), err, QP_TOL)


@claim(id="svm.prop2_1.k_row_closed_form", paper=SEED_002, source="Proposition 2.1(i) with K ≥ K̄ rows (note §2.3)",
       statement=r"With $K\ge\bar K$ rows (labels a subset of $[K]$), the SVM is "
                 r"$\sum_i (e_{y_i} - \frac1K\mathbf 1_K)x_i^\top$ with $\|W\|_F = \sqrt{n\bar K(K-1)/K}$",
       form="derived",
       method="orthonormal_svm(n_classes=K) vs the exact QP with n_classes=K, relative Frobenius error",
       expected="holds")
def _k_row(ctx):
    def err(cfg):
        X, y = _orth_data(cfg, cfg["K"])
        return _rel(orthonormal_svm(X, y, n_classes=cfg["K"]),
                    hard_margin_svm(X, y, n_classes=cfg["K"], method="cvxpy").W)

    return sweep(_orth_configs(ctx, with_K=True), err, QP_TOL)


@claim(id="svm.prop2_1.direction", paper=SEED_002, source="Proposition 2.1(i), direction",
       statement=r"The SVM points in the direction of $(M_{\bar K}\otimes\mathbf 1_n^\top)X_{ft}^\top$",
       form="derived",
       method="1 - cos(angle) between the printed matrix, the exact QP and a torch linear classifier "
              "trained with cross-entropy + ridge (L-BFGS, float64; on orthonormal balanced data its "
              "direction is the SVM's for every ridge); the largest of the two gaps",
       expected="holds")
def _direction(ctx):
    def err(cfg):
        X, y = _orth_data(cfg)
        P = prop2_1_svm(X, y)
        qp = hard_margin_svm(X, y, method="cvxpy").W
        tr = train_linear_classifier(X, y, lam=cfg["lam"], seed=cfg["seed"], device=ctx.device)
        return max(1 - _cos(P, qp), 1 - _cos(P, tr))

    def configs():
        for i, cfg in enumerate(_orth_configs(ctx, ctx.pick(8, 40))):
            cfg["lam"] = float(10.0 ** ctx.rng(1000 + i).uniform(-3, 0))
            yield cfg

    return sweep(configs(), err, TRAIN_TOL)


@claim(id="svm.thmD1.max_margin", paper=SEED_002, source="Theorem D.1, eq. (18), L954–998",
       statement=r"The largest normalised margin of a $\bar K$-row linear classifier on orthonormal data "
                 r"with $n$ samples per class is $\gamma^* = 1/\sqrt{n(\bar K-1)}$",
       form="printed",
       method="relative gap between γ(QP solution) and 1/sqrt(n(K̄-1)); plus Monte Carlo: 200 random "
              "perturbations of the SVM never exceed γ*",
       expected="holds")
def _thm_d1(ctx):
    def err(cfg):
        X, y = _orth_data(cfg)
        W = hard_margin_svm(X, y, method="cvxpy").W
        g_star = thm_d1_max_margin(cfg["n"], cfg["Kb"])
        rng = np.random.default_rng(cfg["seed"])
        g_rand = max(normalized_margin(W + s * rng.standard_normal(W.shape) * np.linalg.norm(W) / np.sqrt(W.size), X, y)
                     for s in np.geomspace(1e-4, 1.0, 200))
        return max(abs(normalized_margin(W, X, y) - g_star) / g_star, max(0.0, g_rand - g_star) / g_star)

    return sweep(_orth_configs(ctx), err, QP_TOL)


@claim(id="svm.thmD1.k_row_margin", paper=SEED_002, source="Theorem D.1 with K ≥ K̄ rows (note §2.3)",
       statement=r"With $K$ rows the largest normalised margin is $\sqrt{K/(n\bar K(K-1))}$, "
                 r"which equals $1/\sqrt{n(\bar K-1)}$ only when $K=\bar K$",
       form="derived",
       method="γ of the exact QP with n_classes=K vs the formula (relative)",
       expected="holds")
def _k_row_margin(ctx):
    def err(cfg):
        X, y = _orth_data(cfg, cfg["K"])
        res = hard_margin_svm(X, y, n_classes=cfg["K"], method="cvxpy")
        g = max_normalized_margin(cfg["n"], cfg["Kb"], cfg["K"])
        return abs(res.normalized_margin - g) / g

    return sweep(_orth_configs(ctx, with_K=True), err, QP_TOL)


def _pre_ft_configs(ctx):
    for i in range(ctx.pick(8, 30)):
        rng = ctx.rng(i)
        K = int(rng.integers(2, 6))
        Kb = int(rng.integers(1, K + 1))
        n = int(rng.integers(1, 4))
        d_pre = K + int(rng.integers(0, 4))
        cfg = {"K": K, "Kb": Kb, "n": n, "n_pre": int(rng.integers(3, 8)), "d_pre": d_pre,
               "d": d_pre + Kb * n + int(rng.integers(0, 4)), "seed": int(rng.integers(2**31))}
        # Assumption 2.3 asks for separable pre-training data; random clusters occasionally
        # are not, and such a draw is no instance of the proposition: draw its seed again.
        while not _separable(cfg):
            cfg["seed"] = int(rng.integers(2**31))
        yield cfg


def _pretraining(cfg):
    return data.pretraining_clusters(cfg["K"], cfg["n_pre"], cfg["d_pre"], cfg["d"], seed=cfg["seed"], spread=0.2)


def _separable(cfg) -> bool:
    Xp, yp, _ = _pretraining(cfg)
    try:
        hard_margin_svm(Xp, yp, n_classes=cfg["K"])
    except InfeasibleError:
        return False
    return True


@claim(id="svm.prop2_1.orthogonality", paper=SEED_002, source="Proposition 2.1(ii), L184–196; Prop. C.1",
       statement=r"$W_{pre}\bar x = 0$ for every fine-tuning sample orthogonal to the pre-training data",
       form="printed",
       method="exact QP on separable pre-training clusters; max |W_pre x̄| / ||W_pre||_F over fine-tuning "
              "samples placed in the orthogonal complement",
       expected="holds")
def _orthogonality(ctx):
    def err(cfg):
        Xp, yp, Q = _pretraining(cfg)
        W = hard_margin_svm(Xp, yp, n_classes=cfg["K"]).W
        Xft = Q[:, cfg["d_pre"]:cfg["d_pre"] + cfg["Kb"] * cfg["n"]].T
        return float(np.abs(Xft @ W.T).max() / np.linalg.norm(W))

    return sweep(_pre_ft_configs(ctx), err, SPAN_TOL)


@claim(id="svm.propC1.representer", paper=SEED_002, source="Proposition C.1 (representer), L900–930",
       statement=r"The rows of the hard-margin SVM lie in the span of the training inputs, and "
                 r"$W = \sum_{i,k}\alpha_{ik}(e_{y_i}-e_k)x_i^\top$ with the QP's multipliers",
       form="printed",
       method="separable Gaussian data in a random r-dimensional subspace of R^d; ||W (I - P_X)|| / ||W|| "
              "and the stationarity residual of the dual reconstruction (both relative)",
       expected="holds")
def _representer(ctx):
    def configs():
        for i in range(ctx.pick(8, 30)):
            rng = ctx.rng(i)
            K = int(rng.integers(2, 6))
            r = int(rng.integers(2, 8))
            yield {"K": K, "n": int(rng.integers(K + 2, 30)), "r": r, "d": r + int(rng.integers(1, 6)),
                   "seed": int(rng.integers(2**31))}

    def err(cfg):
        Z, y = data.separable_gaussian(cfg["n"], cfg["r"], cfg["K"], seed=cfg["seed"])
        Q = data.random_orthogonal(cfg["d"], cfg["seed"] + 1)[:, :cfg["r"]]
        X = Z @ Q.T
        res = hard_margin_svm(X, y, n_classes=cfg["K"])
        off_span = np.linalg.norm(res.W - res.W @ Q @ Q.T) / np.linalg.norm(res.W)
        return max(float(off_span), res.kkt["stationarity"])

    return sweep(configs(), err, SPAN_TOL)
