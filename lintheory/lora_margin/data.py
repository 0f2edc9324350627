r"""Generators that meet Assumptions 2.1–2.4 (and 3.1) of ``002_caa97dd52c787aec.txt`` exactly, and near-misses.

Construction (samples as rows): a Haar-random orthogonal basis ``Q`` of :math:`\mathbb R^d`;
pre-training clusters in the span of its first ``d_pre`` columns, fine-tuning samples
= the next :math:`\bar K n` columns (orthonormal, orthogonal to every pre-training
input); :math:`W_{pre} = \rho_{pre}W^{SVM}/\|W^{SVM}\|_F` with :math:`W^{SVM}` the exact
Crammer–Singer SVM of :func:`lintheory.svm.hard_margin_svm` (its rows lie in the span of
the pre-training data, so :math:`X_{ft}W_{pre}^\top = 0`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import as_count, as_scalar
from ..errors import InputError
from ..svm import hard_margin_svm, multiclass_margin
from ..svm.data import pretraining_clusters

__all__ = ["LoRAProblem", "Task", "lora_problem", "merging_problem", "near_orthogonal_features",
           "pearson_stats"]


@dataclass
class Task:
    """One fine-tuning task: ``X`` (Kb n, d) orthonormal rows, class-major; ``y`` (Kb n,) labels in [0, K)."""

    X: np.ndarray
    y: np.ndarray
    Kb: int
    n: int


@dataclass
class LoRAProblem:
    r"""A pre-training set, ``W_pre`` and one or more fine-tuning tasks.

    Attributes
    ----------
    K, d : int
    X_pre : ndarray of shape (m, d)
    y_pre : ndarray of shape (m,)
    W_pre : ndarray of shape (K, d)
        :math:`\rho_{pre}W^{SVM}/\|W^{SVM}\|_F`.
    rho_pre, gamma_pre, C_pre : float
        :math:`\|W_{pre}\|_F`, :math:`\gamma(W_{pre};D_{pre})`, :math:`C(W_{pre};D_{pre}) = \rho_{pre}\gamma_{pre}`.
    tasks : list of Task
    """

    K: int
    d: int
    X_pre: np.ndarray
    y_pre: np.ndarray
    W_pre: np.ndarray
    rho_pre: float
    gamma_pre: float
    C_pre: float
    tasks: list = field(default_factory=list)

    @property
    def margin_pre(self) -> float:
        """:math:`C_{pre}`, the unnormalised pre-training margin (the name the API takes: ``margin_pre``)."""
        return self.C_pre

    @property
    def normalized_margin_pre(self) -> float:
        r""":math:`\gamma_{pre} = C_{pre}/\rho_{pre}` (the name the API takes: ``normalized_margin_pre``)."""
        return self.gamma_pre

    @property
    def X_ft(self) -> np.ndarray:
        """The first task's samples (Kb n, d)."""
        return self.tasks[0].X

    @property
    def y_ft(self) -> np.ndarray:
        return self.tasks[0].y


def merging_problem(K: int, tasks, d: int | None = None, *, d_pre: int | None = None,
                    n_pre_per_class: int = 3, rho_pre: float = 1.0, seed=None,
                    spread: float = 0.3) -> LoRAProblem:
    r"""Pre-training data, ``W_pre`` and T mutually orthogonal fine-tuning tasks (Assumption 3.1).

    Parameters
    ----------
    K : int
        Output classes.
    tasks : sequence of (Kb, n) or (labels, n)
        Task ``i`` has ``Kb`` classes (labels ``0..Kb-1``) or the given label subset, ``n`` samples each.
    d : int, optional
        Dimension; default the smallest that fits, ``d_pre + Σ Kb n``.
    d_pre : int, optional
        Dimension of the pre-training span (default ``K + 2``).
    n_pre_per_class : int
    rho_pre : float
        :math:`\|W_{pre}\|_F`.
    seed : int or Generator

    Returns
    -------
    LoRAProblem

    Raises
    ------
    InputError
        ``d`` too small (Assumptions 2.1/2.3 cannot hold), labels outside ``[0, K)``.

    Examples
    --------
    >>> P = merging_problem(4, [(2, 2), (3, 1)], seed=0)
    >>> [t.X.shape for t in P.tasks], P.d
    ([(4, 13), (3, 13)], 13)
    """
    K = as_count(K, "K (number of output classes)")
    if d is not None:
        d = as_count(d, "d", minimum=1)
    if d_pre is not None:
        d_pre = as_count(d_pre, "d_pre", minimum=1)
    rng = np.random.default_rng(seed)
    if K < 2:
        raise InputError(f"K must be >= 2, got {K}")
    d_pre = K + 2 if d_pre is None else int(d_pre)
    specs = []
    for t in tasks:
        lab, n = t
        labels = np.arange(lab) if np.ndim(lab) == 0 else np.asarray(lab, dtype=np.int64)
        if labels.size < 1 or labels.size > K or labels.min() < 0 or labels.max() >= K:
            raise InputError(f"task labels must be 1..K distinct labels in [0, {K}), got {labels.tolist()}")
        if np.unique(labels).size != labels.size:
            raise InputError(f"task labels must be distinct, got {labels.tolist()}")
        if int(n) < 1:
            raise InputError(f"n must be >= 1, got {n}")
        specs.append((labels, int(n)))
    need = d_pre + sum(lab.size * n for lab, n in specs)
    d = need if d is None else int(d)
    if d < need:
        raise InputError(f"d = {d} is too small: the assumptions need d >= d_pre + sum Kb n = {need}")
    X_pre, y_pre, Q = pretraining_clusters(K, n_pre_per_class, d_pre, d, seed=rng, spread=spread)
    svm = hard_margin_svm(X_pre, y_pre, K)
    W_pre = rho_pre * svm.W / np.linalg.norm(svm.W)
    C_pre = multiclass_margin(W_pre, X_pre, y_pre)
    out, col = [], d_pre
    for labels, n in specs:
        m = labels.size * n
        out.append(Task(X=Q[:, col:col + m].T.copy(), y=np.repeat(labels, n), Kb=labels.size, n=n))
        col += m
    return LoRAProblem(K=K, d=d, X_pre=X_pre, y_pre=y_pre, W_pre=W_pre, rho_pre=float(rho_pre),
                       gamma_pre=C_pre / float(rho_pre), C_pre=C_pre, tasks=out)


def lora_problem(K: int, Kb: int, n: int, d: int | None = None, *, labels=None, rho_pre: float = 1.0,
                 d_pre: int | None = None, n_pre_per_class: int = 3, seed=None) -> LoRAProblem:
    """One fine-tuning task meeting Assumptions 2.1–2.4 (see :func:`merging_problem`).

    Examples
    --------
    >>> P = lora_problem(5, 2, 3, seed=1)
    >>> P.X_ft.shape, float(abs(P.X_ft @ P.W_pre.T).max()) < 1e-8
    ((6, 13), True)
    """
    K, Kb = as_count(K, "K (number of output classes)"), as_count(Kb, "Kb (fine-tuning classes)", minimum=1)
    n = as_count(n, "n (samples per class)", minimum=1)
    if Kb > K:
        raise InputError(f"Kb = {Kb} > K = {K}")
    lab = Kb if labels is None else labels
    if labels is not None and np.size(labels) != Kb:
        raise InputError(f"labels has {np.size(labels)} entries, Kb = {Kb}")
    return merging_problem(K, [(lab, n)], d, d_pre=d_pre, n_pre_per_class=n_pre_per_class,
                           rho_pre=rho_pre, seed=seed)


def near_orthogonal_features(Kb: int, n: int, d: int, *, intra_corr: float = 0.25, seed=None,
                             labels=None):
    r"""Unit-norm features with intra-class inner product exactly ``intra_corr`` (a near-miss of Assumption 2.3a).

    :math:`x_{c,j} = \sqrt{\tau}\,\mu_c + \sqrt{1-\tau}\,\xi_{c,j}` with :math:`\mu_1..\mu_{\bar K},\xi_{1,1}..\xi_{\bar K,n}`
    orthonormal (a random basis): :math:`\|x\|=1`, same-class inner products τ, different classes 0.
    ``intra_corr = 0`` meets Assumption 2.3(a) exactly; the paper's CIFAR features have
    intra-class Pearson correlation ≈ 0.25 (App. I, Table 2).

    Returns
    -------
    X : ndarray of shape (Kb n, d)
    y : ndarray of shape (Kb n,)

    Raises
    ------
    InputError
        ``intra_corr`` outside [0, 1) or ``d < Kb (n + 1)``.

    Examples
    --------
    >>> X, y = near_orthogonal_features(3, 4, 20, intra_corr=0.25, seed=0)
    >>> X.shape, round(float(X[0] @ X[1]), 12), round(float(X[0] @ X[4]), 12)
    ((12, 20), 0.25, 0.0)
    """
    Kb, n, d = (as_count(v, nm, minimum=1) for v, nm in ((Kb, "Kb"), (n, "n"), (d, "d")))
    intra_corr = as_scalar(intra_corr, "intra_corr")
    if not 0 <= intra_corr < 1:
        raise InputError(f"intra_corr must be in [0, 1), got {intra_corr}")
    if d < Kb * (n + 1):
        raise InputError(f"need d >= Kb (n + 1) = {Kb * (n + 1)}, got d = {d}")
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, Kb * (n + 1))))[0].T
    mu, xi = Q[:Kb], Q[Kb:]
    X = np.sqrt(intra_corr) * np.repeat(mu, n, axis=0) + np.sqrt(1 - intra_corr) * xi
    lab = np.arange(Kb) if labels is None else np.asarray(labels)
    return X, np.repeat(lab, n)


def pearson_stats(X, y) -> dict:
    """Mean intra- and inter-class cosine and Pearson correlations of the rows of ``X`` (App. I, eqs. (41)–(43)).

    Examples
    --------
    >>> import numpy as np
    >>> pearson_stats(np.eye(4), [0, 0, 1, 1])["intra_cosine"]
    0.0
    """
    X = np.asarray(X, float)
    y = np.asarray(y)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Xc = X - X.mean(axis=1, keepdims=True)
    Xc /= np.linalg.norm(Xc, axis=1, keepdims=True)
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    diff = y[:, None] != y[None, :]
    cos, pear = Xn @ Xn.T, Xc @ Xc.T
    return {"intra_cosine": float(cos[same].mean()) if same.any() else float("nan"),
            "inter_cosine": float(cos[diff].mean()) if diff.any() else float("nan"),
            "intra_pearson": float(pear[same].mean()) if same.any() else float("nan"),
            "inter_pearson": float(pear[diff].mean()) if diff.any() else float("nan")}
