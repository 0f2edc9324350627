"""Plausible bugs of the SVM / simplex-ETF library that the ``svm`` claims must catch.

Each mutant patches one function of the library (see :mod:`lintheory.mutants`); the
claims it names must reach a verdict other than their expected one while it is applied.
Run them with ``python -c "from lintheory.mutants import run_mutants; print(run_mutants(['svm']))"``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..mutants import mutant


def _printed_fixed(f):
    """prop2_1_svm quietly rescaled by sqrt((K̄-1)/K̄): the printed helper no longer shows the printed formula."""
    def wrapped(X, y):
        kb = np.unique(y).size
        return f(X, y) * np.sqrt((kb - 1) / kb)
    return wrapped


mutant(id="svm.printed_helper_rescaled",
       description="printed.prop2_1_svm multiplied by sqrt((K̄-1)/K̄), i.e. the 'printed' formula silently corrected",
       target="lintheory.svm.printed:prop2_1_svm", replace=_printed_fixed,
       claims=["svm.prop2_1.closed_form.printed", "svm.prop2_1.closed_form.corrected"])

mutant(id="svm.thmD1_n_Kbar",
       description="eq. (18) implemented as 1/sqrt(n K̄) (K̄ instead of K̄ - 1)",
       target="lintheory.svm.printed:thm_d1_max_margin",
       replace=lambda f: (lambda n, Kb: float(1.0 / np.sqrt(n * Kb))),
       claims=["svm.thmD1.max_margin"])


def _closed_form_printed_scale(f):
    def wrapped(X, y, K=None, **kw):
        W = f(X, y, K, **kw)
        k = W.shape[0]
        return W * np.sqrt(k / (k - 1))
    return wrapped


mutant(id="svm.closed_form_etf_scale",
       description="orthonormal_svm returns the ETF-scaled template (margin sqrt(K/(K-1)) instead of 1)",
       target="lintheory.svm.closed_form:orthonormal_svm", replace=_closed_form_printed_scale,
       claims=["svm.prop2_1.closed_form.corrected", "svm.prop2_1.k_row_closed_form"])


def _centred_by_kbar(f):
    def wrapped(X, y, K=None, **kw):
        W = f(X, y, K, **kw)
        if K is None:
            return W
        kb = np.unique(y).size        # Σ (e_y - 1/K̄ 1_K) x_iᵀ
        V = np.eye(int(K))[np.asarray(y)] - 1.0 / kb
        return V.T @ X
    return wrapped


mutant(id="svm.k_row_centring_Kbar",
       description="the K-row SVM centred with 1/K̄ instead of 1/K (the off-by-one class count)",
       target="lintheory.svm.closed_form:orthonormal_svm", replace=_centred_by_kbar,
       claims=["svm.prop2_1.k_row_closed_form"])

mutant(id="svm.max_margin_ignores_K",
       description="max_normalized_margin drops the K argument (always the K̄-row value)",
       target="lintheory.svm.closed_form:max_normalized_margin",
       replace=lambda f: (lambda n, Kb, K=None: f(n, Kb)),
       claims=["svm.thmD1.k_row_margin"])


def _etf_no_scale(f):
    def wrapped(m, P=None, **kw):
        return f(m, P, **kw) * np.sqrt((m - 1) / m)
    return wrapped


mutant(id="svm.etf_scale_dropped",
       description="simplex_etf without the factor sqrt(m/(m-1)) (the centred projection P(I - 11ᵀ/m))",
       target="lintheory.geometry:simplex_etf", replace=_etf_no_scale,
       claims=["svm.etf.gram", "svm.etf.unit_columns", "svm.etf.frobenius"])


def _etf_uncentred(f):
    def wrapped(m, P=None, **kw):
        base = np.eye(m) if P is None else np.asarray(P, dtype=float)
        return np.sqrt(m / (m - 1)) * base
    return wrapped


mutant(id="svm.etf_centring_dropped",
       description="simplex_etf without the centring (I - 11ᵀ/m): orthogonal, not equiangular columns",
       target="lintheory.geometry:simplex_etf", replace=_etf_uncentred,
       claims=["svm.etf.zero_column_sums", "svm.etf.pairwise_inner", "svm.etf.rank"])


def _trained_bias(f):
    def wrapped(X, y, *a, **k):
        W = f(X, y, *a, **k)
        return W + 0.05 * np.linalg.norm(W) / np.sqrt(W.size)
    return wrapped


mutant(id="svm.train_constant_offset",
       description="the trained classifier with a constant added to every weight (a bias folded into W)",
       target="lintheory.svm.train:train_linear_classifier", replace=_trained_bias,
       claims=["svm.prop2_1.direction"])


def _solver_off_span(f):
    def wrapped(*a, **k):
        r = f(*a, **k)
        return dataclasses.replace(r, W=r.W + 1e-3 * np.linalg.norm(r.W) / np.sqrt(r.W.size))
    return wrapped


mutant(id="svm.solver_off_span",
       description="hard_margin_svm returns W plus a constant offset: rows leave the span of the inputs",
       target="lintheory.svm.solvers:hard_margin_svm", replace=_solver_off_span,
       claims=["svm.propC1.representer", "svm.prop2_1.orthogonality"])


def _nuclear_margin(f):
    def wrapped(W, X, y, **k):
        W = np.asarray(W, dtype=float)
        return f(W, X, y, **k) * np.linalg.norm(W) / np.linalg.svd(W, compute_uv=False).sum()
    return wrapped


mutant(id="svm.margin_nuclear_norm",
       description="normalized_margin divides by the nuclear norm instead of the Frobenius norm",
       target="lintheory.svm.margins:normalized_margin", replace=_nuclear_margin,
       claims=["svm.thmD1.max_margin"])
