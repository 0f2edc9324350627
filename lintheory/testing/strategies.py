"""Hypothesis strategies for property-testing code on linear models.

Used by lintheory's own tests and exported so users can property-test their code
with the same instance families.  Every strategy draws a *seed* and builds the
arrays from it with numpy, so shrinking works on small integers and every example is
replayable; elements are bounded and matrices are well conditioned by construction
(no near-singular fills).

Examples
--------
>>> from hypothesis import given
>>> from lintheory.testing.strategies import orthonormal_class_datasets
>>> @given(orthonormal_class_datasets(max_classes=4))
... def test_rows_orthonormal(data):
...     X, y = data
...     assert abs(X @ X.T - __import__("numpy").eye(len(y))).max() < 1e-10
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = [
    "seeds",
    "orthogonal_matrices",
    "orthonormal_class_datasets",
    "label_subsets",
    "well_conditioned_matrices",
    "psd_matrices",
]


def seeds():
    """Seeds for ``numpy.random.default_rng``."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def _orth(d: int, seed: int) -> np.ndarray:
    from scipy.stats import ortho_group

    if d == 1:
        return np.array([[1.0]])
    return ortho_group.rvs(d, random_state=np.random.default_rng(seed))


@st.composite
def orthogonal_matrices(draw, min_dim: int = 1, max_dim: int = 8, dim: int | None = None):
    """Haar-random orthogonal ``d × d`` matrices."""
    d = dim if dim is not None else draw(st.integers(min_dim, max_dim))
    return _orth(d, draw(seeds()))


@st.composite
def orthonormal_class_datasets(draw, min_classes: int = 2, max_classes: int = 5,
                               max_per_class: int = 4, max_extra_dims: int = 4,
                               n_classes: int | None = None, shuffle: bool = False):
    """``(X, y)``: orthonormal rows (Assumption 2.3a), equal class sizes, class-major.

    With ``n_classes=K`` the labels are a random subset of ``[0, K)`` of size between
    ``min_classes`` and ``min(max_classes, K)``.  ``shuffle=True`` permutes the samples.
    """
    if n_classes is None:
        Kb = draw(st.integers(min_classes, max_classes))
        labels = np.arange(Kb)
    else:
        Kb = draw(st.integers(min(min_classes, n_classes), min(max_classes, n_classes)))
        labels = np.asarray(draw(label_subsets(n_classes, Kb)))
    n = draw(st.integers(1, max_per_class))
    d = Kb * n + draw(st.integers(0, max_extra_dims))
    Q = _orth(d, draw(seeds()))
    X = Q[:, :Kb * n].T.copy()
    y = np.repeat(labels, n)
    if shuffle:
        perm = np.random.default_rng(draw(seeds())).permutation(len(y))
        X, y = X[perm], y[perm]
    return X, y


@st.composite
def label_subsets(draw, n_classes: int, size: int | None = None):
    """A sorted subset of ``range(n_classes)`` (of ``size`` elements when given)."""
    size = size if size is not None else draw(st.integers(1, n_classes))
    perm = np.random.default_rng(draw(seeds())).permutation(n_classes)
    return sorted(int(v) for v in perm[:size])


@st.composite
def well_conditioned_matrices(draw, rows: int | None = None, cols: int | None = None,
                              max_dim: int = 8, max_cond: float = 100.0):
    """Matrices ``U diag(s) Vᵀ`` with singular values in ``[1, max_cond]`` (bounded, never near-singular)."""
    m = rows if rows is not None else draw(st.integers(1, max_dim))
    n = cols if cols is not None else draw(st.integers(1, max_dim))
    rng = np.random.default_rng(draw(seeds()))
    k = min(m, n)
    s = np.exp(rng.uniform(0.0, np.log(max_cond), size=k))
    U = _orth(m, int(rng.integers(2**31)))[:, :k]
    V = _orth(n, int(rng.integers(2**31)))[:, :k]
    return (U * s) @ V.T


@st.composite
def psd_matrices(draw, dim: int | None = None, max_dim: int = 8, rank: int | None = None,
                 max_cond: float = 100.0):
    """Symmetric PSD matrices with eigenvalues in ``[1, max_cond]`` on a subspace of ``rank``."""
    d = dim if dim is not None else draw(st.integers(1, max_dim))
    r = rank if rank is not None else d
    rng = np.random.default_rng(draw(seeds()))
    Q = _orth(d, int(rng.integers(2**31)))[:, :r]
    ev = np.exp(rng.uniform(0.0, np.log(max_cond), size=r))
    S = (Q * ev) @ Q.T
    return (S + S.T) / 2
