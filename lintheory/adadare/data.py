"""Generators for AdaDARE-γ instances: heavy-tailed scores (clipping active), light-tailed ones
(no clipping, where A.18 is exact), zero scores, and a linear layer with calibration data.

Every generator takes a ``seed`` (int or ``numpy.random.Generator``).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_count
from ..errors import InputError

__all__ = ["heavy_tailed", "light_tailed", "with_zero_scores", "linear_layer_task", "no_clip_margin"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def heavy_tailed(n: int, sigma: float = 2.0, seed=None):
    """Curvature diagonal with log-normal spread and Gaussian deltas.

    :math:`H_{ii}=\\exp(\\sigma z_i)`, :math:`\\delta_i\\sim\\mathcal N(0,1)`; ``sigma`` is the
    tail heaviness of :math:`s_i=\\sqrt{H_{ii}}|\\delta_i|` (``sigma = 0``: only the deltas vary).

    Returns
    -------
    (h_diag, delta) : two ndarrays of shape (n,)

    Examples
    --------
    >>> h, d = heavy_tailed(5, 1.0, seed=0)
    >>> h.shape, bool((h > 0).all())
    ((5,), True)
    """
    if n < 1 or sigma < 0:
        raise InputError(f"need n >= 1 and sigma >= 0, got n={n}, sigma={sigma}")
    n = as_count(n, "n", minimum=1)
    r = _rng(seed)
    return np.exp(sigma * r.standard_normal(n)), r.standard_normal(n)


def no_clip_margin(h_diag, delta, p) -> float:
    """:math:`\\bar s/(1-p)-\\max_i s_i`: A.18 needs no clipping iff this is :math:`\\ge0`.

    Examples
    --------
    >>> no_clip_margin([1.0, 1.0], [1.0, 1.0], 0.5)
    1.0
    """
    s = np.sqrt(np.asarray(h_diag, dtype=np.float64)) * np.abs(np.asarray(delta, dtype=np.float64))
    return float(s.mean() / (1 - p) - s.max())


def light_tailed(n: int, p: float, seed=None, spread: float = 0.5):
    """Scores with :math:`\\max_is_i\\le\\bar s/(1-p)` (no clipping in A.18).

    :math:`H_{ii}\\sim U[1-a,1+a]`, :math:`|\\delta_i|\\sim U[1-a,1+a]` with ``a = spread``
    shrunk until the no-clipping condition holds; random signs.

    Returns
    -------
    (h_diag, delta) : ndarrays of shape (n,)

    Examples
    --------
    >>> h, d = light_tailed(50, 0.5, seed=0)
    >>> no_clip_margin(h, d, 0.5) >= 0
    True
    """
    n = as_count(n, "n", minimum=1)
    r = _rng(seed)
    zh, zd, sg = r.random(n), r.random(n), r.choice([-1.0, 1.0], n)
    a = float(spread)
    for _ in range(60):
        h = 1 + a * (2 * zh - 1)
        d = sg * (1 + a * (2 * zd - 1))
        if no_clip_margin(h, d, p) >= 0:
            return h, d
        a /= 2
    return np.ones(n), sg


def with_zero_scores(n: int, n_zero: int, sigma: float = 1.0, seed=None, kind: str = "delta"):
    """A heavy-tailed instance with ``n_zero`` entries of score 0.

    ``kind="delta"`` zeroes :math:`\\delta_i`; ``kind="hessian"`` zeroes :math:`H_{ii}` (a dead input).

    Examples
    --------
    >>> h, d = with_zero_scores(6, 2, seed=0)
    >>> int((d == 0).sum())
    2
    """
    if not 0 <= n_zero <= n:
        raise InputError(f"need 0 <= n_zero <= n, got {n_zero}, {n}")
    n, n_zero = as_count(n, "n", minimum=1), as_count(n_zero, "n_zero", minimum=0, maximum=n)
    r = _rng(seed)
    h, d = heavy_tailed(n, sigma, r)
    idx = r.choice(n, n_zero, replace=False)
    if kind == "delta":
        d[idx] = 0.0
    elif kind == "hessian":
        h[idx] = 0.0
    else:
        raise InputError(f"kind must be 'delta' or 'hessian', got {kind!r}")
    return h, d


def linear_layer_task(n_samples: int = 200, d_in: int = 20, d_out: int = 6, *, feature_sigma: float = 1.0,
                      correlation: float = 0.3, delta_scale: float = 0.5, noise: float = 0.1, seed=None):
    """A linear layer with pre-trained weights, and a target task's calibration data.

    Features have log-normal scales (``feature_sigma``) and equicorrelation ``correlation``
    (so :math:`X^\\top X` has off-diagonal mass).  Targets are ``Y = X W_taskᵀ + noise``
    with ``W_task = W_pre + delta_scale * N(0, 1)``.  Samples are rows.

    Returns
    -------
    dict
        ``X`` (n_samples, d_in), ``Y`` (n_samples, d_out), ``W_pre`` (d_out, d_in),
        ``W_task`` (d_out, d_in).

    Examples
    --------
    >>> t = linear_layer_task(10, 3, 2, seed=0)
    >>> t["X"].shape, t["W_pre"].shape
    ((10, 3), (2, 3))
    """
    n_samples, d_in, d_out = (as_count(v, nm, minimum=1) for v, nm in
                              ((n_samples, "n_samples"), (d_in, "d_in"), (d_out, "d_out")))
    r = _rng(seed)
    C = (1 - correlation) * np.eye(d_in) + correlation * np.ones((d_in, d_in))
    L = np.linalg.cholesky(C)
    scales = np.exp(feature_sigma * r.standard_normal(d_in))
    X = (r.standard_normal((n_samples, d_in)) @ L.T) * scales
    W_pre = r.standard_normal((d_out, d_in)) / np.sqrt(d_in)
    W_task = W_pre + delta_scale * r.standard_normal((d_out, d_in)) / np.sqrt(d_in)
    Y = X @ W_task.T + noise * r.standard_normal((n_samples, d_out))
    return {"X": X, "Y": Y, "W_pre": W_pre, "W_task": W_task}
