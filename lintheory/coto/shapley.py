r"""Shapley values of adapters: exact enumeration, permutations, the multilinear extension, Monte Carlo.

Seed ``004_bb9aedc7a8b2e8cb.txt`` §3.5 (Eq. 7 and the Owen formula after it).  Players are
the ``L`` adapters; a coalition ``R`` is a boolean mask of shape ``(L,)`` and ``value(mask)``
returns a float.  The Shapley value of player ``i`` is

.. math::

    \varphi_i(v) = \sum_{R\subseteq S\setminus i}\frac{|R|!\,(L-|R|-1)!}{L!}\,
                   \big[v(R\cup i) - v(R)\big]
                 = \int_0^1 c_i(p)\,dp,\qquad
    c_i(p) = \mathbb E_{R\sim\mathrm{Bern}(p)^{L-1}}\big[v(R\cup i)-v(R)\big].

**Sign convention.**  Every function here returns the Shapley values of the game *exactly
as given* (no sign flip).  The paper's Eq. (7) defines ``v`` as an expected **loss**, for
which a helpful adapter has :math:`\varphi_i < 0`; its prose and Figure 8 treat ``v`` as a
**performance** (accuracy), for which helpful adapters have :math:`\varphi_i > 0`.  Pass
``value = lambda m: -loss(m)`` (or :func:`performance_from_loss`) to get the paper's positive
contributions.  Shares :math:`\varphi_i/\sum_k\varphi_k` (:func:`contribution_shares`) are
the same under either convention and are defined only when all :math:`\varphi_i` share a
sign.  Efficiency: :math:`\sum_i\varphi_i = v(S) - v(\emptyset)`.

Tables: ``table[m]`` is ``v`` of the mask with bit ``i`` of ``m`` set for player ``i``
(as in :mod:`.masks`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validation import as_count, as_float_array
from ..errors import AssumptionError, InputError
from .masks import TABLE_LIMIT, _check_L, mask_sizes

__all__ = [
    "ENUMERATION_LIMIT",
    "PERMUTATION_LIMIT",
    "ShapleyEstimate",
    "value_table",
    "shapley_exact",
    "shapley_from_table",
    "shapley_permutations_exact",
    "shapley_multilinear",
    "marginal_polynomials",
    "gauss_legendre_01",
    "shapley_permutation_mc",
    "shapley_owen_mc",
    "contribution_shares",
    "performance_from_loss",
]

#: largest number of players for which :func:`shapley_exact` calls a (non-vectorised)
#: value function on every one of the 2^L coalitions
ENUMERATION_LIMIT = 20
#: largest number of players for the all-permutations route (L! orderings)
PERMUTATION_LIMIT = 9


@dataclass
class ShapleyEstimate:
    """A Monte-Carlo Shapley estimate.

    Attributes
    ----------
    values : ndarray of shape (L,)
    stderr : ndarray of shape (L,)
        Standard errors of ``values``.
    n_evaluations : int
        Distinct coalitions at which ``value`` was called (the cache removes repeats).
    """

    values: np.ndarray
    stderr: np.ndarray
    n_evaluations: int


def _finite(v, where: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"value function returned a non-number {v!r} for {where}") from None
    if not math.isfinite(f):
        raise InputError(f"value function returned a non-finite value {f} for {where}")
    return f


def value_table(value: Callable, n_players: int, *, vectorized: bool = False,
                max_players: int = ENUMERATION_LIMIT) -> np.ndarray:
    """Evaluate ``value`` on all ``2^L`` coalitions; ``table[m]`` is the value of mask ``m``.

    Parameters
    ----------
    value : callable
        ``value(mask) -> float`` with ``mask`` a bool array of shape ``(L,)``; with
        ``vectorized=True``, ``value(masks) -> ndarray`` with ``masks`` of shape ``(2^L, L)``.
    n_players : int
        ``L``, ``1 <= L <= max_players``.
    vectorized : bool
    max_players : int
        Enumeration limit (default :data:`ENUMERATION_LIMIT` for a per-mask callable; the
        vectorised route allows up to :data:`~lintheory.coto.masks.TABLE_LIMIT`).

    Returns
    -------
    ndarray of shape (2^L,)

    Raises
    ------
    AssumptionError
        ``L`` exceeds the limit (the message names it and points to Monte Carlo).
    InputError
        ``value`` returned a non-finite number (the coalition is named).
    """
    L = _check_L(n_players, max_players if not vectorized else max(max_players, TABLE_LIMIT), name="n_players")
    idx = np.arange(2 ** L, dtype=np.int64)
    masks = ((idx[:, None] >> np.arange(L)[None, :]) & 1).astype(bool)
    if vectorized:
        table = np.asarray(value(masks), dtype=np.float64).reshape(-1)
        if table.shape[0] != 2 ** L:
            raise InputError(f"vectorised value returned {table.shape[0]} values for {2 ** L} coalitions")
        bad = ~np.isfinite(table)
        if bad.any():
            m = int(np.argmax(bad))
            raise InputError(f"value function returned a non-finite value {table[m]} for coalition "
                             f"{np.flatnonzero(masks[m]).tolist()} ({int(bad.sum())} such coalitions)")
        return table
    return np.array([_finite(value(masks[m]), f"coalition {np.flatnonzero(masks[m]).tolist()}")
                     for m in range(2 ** L)])


def _table_L(table) -> tuple[np.ndarray, int]:
    table = as_float_array(table, "value table", ndim=1)
    M = table.shape[0]
    L = int(round(math.log2(M))) if M > 0 else -1
    if M < 2 or 2 ** L != M:
        raise InputError(f"a value table has 2^L entries (L >= 1), got {M}")
    return table, L


def shapley_from_table(table) -> np.ndarray:
    r"""Exact Shapley values from a table of all ``2^L`` coalition values (subset formula).

    Vectorised: for each player the ``2^{L-1}`` marginal contributions are weighted by
    :math:`|R|!(L-|R|-1)!/L!`; cost ``O(L·2^L)``.

    Parameters
    ----------
    table : ndarray of shape (2^L,)

    Returns
    -------
    ndarray of shape (L,)

    Examples
    --------
    >>> shapley_from_table(np.array([0.0, 1.0, 2.0, 5.0])).tolist()   # v({1,2}) has synergy 2
    [2.0, 3.0]
    """
    table, L = _table_L(table)
    sizes = mask_sizes(L)
    fact = [math.factorial(k) for k in range(L + 1)]
    weight_by_size = np.array([fact[s] * fact[L - s - 1] / fact[L] if s < L else 0.0
                               for s in range(L + 1)])
    phi = np.empty(L)
    for i in range(L):
        # view the table as (high bits, bit i, low bits): no fancy indexing, no copies of 2^L indices
        T = table.reshape(-1, 2, 2 ** i)
        diff = T[:, 1, :] - T[:, 0, :]
        phi[i] = np.sum(weight_by_size[sizes.reshape(-1, 2, 2 ** i)[:, 0, :]] * diff)
    return phi


def shapley_exact(value: Callable, n_players: int, *, vectorized: bool = False,
                  max_players: int = ENUMERATION_LIMIT) -> np.ndarray:
    r"""Exact Shapley values of ``value`` by enumerating all ``2^L`` coalitions.

    .. math::

        \varphi_i = \sum_{R\subseteq S\setminus i}\frac{|R|!(L-|R|-1)!}{L!}\,[v(R\cup i)-v(R)]

    The values are those of the game as given (see the module docstring for the
    loss/performance sign convention).

    Parameters
    ----------
    value : callable
        ``value(mask) -> float``, ``mask`` a bool array of shape ``(n_players,)``
        (``True`` = adapter on).  With ``vectorized=True`` it takes all masks at once,
        shape ``(2^L, L)``, and returns an array of ``2^L`` values.
    n_players : int
        ``L``; at most ``max_players`` (default 20 for a per-mask callable, 26 vectorised).
    vectorized : bool
    max_players : int

    Returns
    -------
    ndarray of shape (n_players,)

    Raises
    ------
    AssumptionError
        Too many players for exact enumeration (use :func:`shapley_permutation_mc` or
        :func:`shapley_owen_mc`).
    InputError
        Non-finite values.

    Examples
    --------
    >>> w = np.array([1.0, 2.0, 3.0])
    >>> shapley_exact(lambda m: float(w @ m), 3).tolist()     # additive game: φ_i = w_i
    [1.0, 2.0, 3.0]
    """
    return shapley_from_table(value_table(value, n_players, vectorized=vectorized,
                                          max_players=max_players))


def shapley_permutations_exact(table) -> np.ndarray:
    r"""Exact Shapley values as the average marginal contribution over all ``L!`` orderings.

    An independent route to :func:`shapley_from_table` (no subset weights), for
    ``L <= PERMUTATION_LIMIT``.

    Examples
    --------
    >>> shapley_permutations_exact(np.array([0.0, 1.0, 2.0, 5.0])).tolist()
    [2.0, 3.0]
    """
    table, L = _table_L(table)
    if L > PERMUTATION_LIMIT:
        raise AssumptionError(f"all-permutation enumeration needs L <= {PERMUTATION_LIMIT} ({L}! orderings)",
                              float(L), float(PERMUTATION_LIMIT),
                              hint="use shapley_from_table or shapley_permutation_mc")
    perms = np.array(list(itertools.permutations(range(L))), dtype=np.int64)
    bits = np.left_shift(1, perms)
    prefix = np.concatenate([np.zeros((len(perms), 1), dtype=np.int64), np.cumsum(bits, axis=1)], axis=1)
    vals = table[prefix]
    marg = np.diff(vals, axis=1)                          # marg[k, pos] for player perms[k, pos]
    phi = np.zeros(L)
    np.add.at(phi, perms.reshape(-1), marg.reshape(-1))
    return phi / len(perms)


def gauss_legendre_01(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on ``[0, 1]`` (exact for polynomials of degree ``2n - 1``)."""
    n_nodes = as_count(n_nodes, "n_nodes", minimum=1)
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    return (x + 1.0) / 2.0, w / 2.0


def marginal_polynomials(table) -> np.ndarray:
    r"""Coefficients :math:`D_{i,s} = \sum_{R\subseteq S\setminus i,\,|R|=s}[v(R\cup i)-v(R)]`.

    Then :math:`c_i(p) = \sum_{s=0}^{L-1} D_{i,s}\,p^s(1-p)^{L-1-s}`, a polynomial of degree
    ``<= L-1`` in ``p``.

    Returns
    -------
    ndarray of shape (L, L)
    """
    table, L = _table_L(table)
    sizes = mask_sizes(L)
    D = np.zeros((L, L))
    for i in range(L):
        T = table.reshape(-1, 2, 2 ** i)
        D[i] = np.bincount(sizes.reshape(-1, 2, 2 ** i)[:, 0, :].ravel(),
                           weights=(T[:, 1, :] - T[:, 0, :]).ravel(), minlength=L)[:L]
    return D


def shapley_multilinear(table, n_nodes: int | None = None) -> np.ndarray:
    r"""Owen's multilinear-extension formula :math:`\varphi_i=\int_0^1 c_i(p)\,dp` by Gauss–Legendre.

    :math:`c_i(p)` is evaluated exactly at each node (from :func:`marginal_polynomials`);
    since it is a polynomial of degree ``<= L-1``, ``m`` nodes are exact when
    ``2m - 1 >= L - 1``, i.e. ``m >= ceil(L/2)`` (the default).  Fewer nodes give a
    quadrature error (the paper does not state its rule).

    Parameters
    ----------
    table : ndarray of shape (2^L,)
    n_nodes : int, optional
        Default ``ceil(L / 2)``.

    Returns
    -------
    ndarray of shape (L,)

    Examples
    --------
    >>> np.round(shapley_multilinear(np.array([0.0, 1.0, 2.0, 5.0])), 12).tolist()
    [2.0, 3.0]
    """
    table, L = _table_L(table)
    n_nodes = math.ceil(L / 2) if n_nodes is None else as_count(n_nodes, "n_nodes", minimum=1)
    ps, ws = gauss_legendre_01(n_nodes)
    D = marginal_polynomials(table)
    s = np.arange(L)
    basis = ps[:, None] ** s[None, :] * (1.0 - ps[:, None]) ** (L - 1 - s[None, :])   # (nodes, L)
    c = D @ basis.T                                                                  # c_i(p_k)
    return c @ ws


class _Cached:
    def __init__(self, value, L):
        self.value, self.L, self.cache = value, L, {}
        self.bits = 1 << np.arange(L, dtype=np.int64)

    def __call__(self, mask: np.ndarray) -> float:
        key = int(mask.astype(np.int64) @ self.bits)
        if key not in self.cache:
            self.cache[key] = _finite(self.value(mask.copy()), f"coalition {np.flatnonzero(mask).tolist()}")
        return self.cache[key]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def shapley_permutation_mc(value: Callable, n_players: int, n_permutations: int, *,
                           seed=None, antithetic: bool = False) -> ShapleyEstimate:
    r"""Permutation-sampling Monte-Carlo Shapley values with standard errors.

    Each sampled ordering gives every player its marginal contribution on joining the
    players before it; the estimate is the mean over orderings (unbiased) and the
    standard error ``std / sqrt(n)``.  With ``antithetic=True`` orderings come in
    reversed pairs and the pair means are the i.i.d. units.

    Parameters
    ----------
    value : callable
        ``value(mask) -> float``, mask a bool array of shape ``(n_players,)``.
    n_players : int
    n_permutations : int
        ``>= 2`` (pairs when antithetic).
    seed : int or Generator

    Returns
    -------
    ShapleyEstimate

    Examples
    --------
    >>> w = np.array([1.0, 2.0]); est = shapley_permutation_mc(lambda m: float(w @ m), 2, 8, seed=0)
    >>> est.values.tolist(), est.stderr.tolist()
    ([1.0, 2.0], [0.0, 0.0])
    """
    L = as_count(n_players, "n_players", minimum=1)
    n_permutations = as_count(n_permutations, "n_permutations", minimum=2)
    rng = _rng(seed)
    v = _Cached(value, L)
    n_units = int(n_permutations) // 2 if antithetic else int(n_permutations)
    if n_units < 2:
        raise InputError(f"need at least 2 independent units for a standard error; got n_permutations="
                         f"{n_permutations} (antithetic={antithetic})")
    samples = np.zeros((n_units, L))
    empty = v(np.zeros(L, dtype=bool))
    for k in range(n_units):
        orders = [rng.permutation(L)]
        if antithetic:
            orders.append(orders[0][::-1])
        for order in orders:
            mask = np.zeros(L, dtype=bool)
            prev = empty
            for i in order:
                mask[i] = True
                cur = v(mask)
                samples[k, i] += (cur - prev) / len(orders)
                prev = cur
    return ShapleyEstimate(samples.mean(axis=0), samples.std(axis=0, ddof=1) / math.sqrt(n_units),
                           len(v.cache))


def shapley_owen_mc(value: Callable, n_players: int, n_samples: int, *, n_nodes: int | None = None,
                    seed=None, nodes: str = "gauss-legendre") -> ShapleyEstimate:
    r"""Owen (multilinear-extension) sampling: :math:`\hat\varphi_i=\sum_k w_k\,\overline{\Delta_i}(p_k)`.

    At each node :math:`p_k` and for each player, ``n_samples`` coalitions
    :math:`R\sim\mathrm{Bern}(p_k)^{L-1}` of the other players give marginal contributions
    whose mean estimates :math:`c_i(p_k)`; the standard error is
    :math:`\sqrt{\sum_k w_k^2 s_{ik}^2/n}`.  With Gauss–Legendre nodes and
    ``n_nodes >= ceil(L/2)`` (default) the estimator is unbiased; ``nodes="midpoint"``
    uses the midpoint rule (biased for small ``n_nodes``; the paper does not say which
    rule it uses).

    Parameters
    ----------
    value : callable
        ``value(mask) -> float``.
    n_players : int
    n_samples : int
        Coalitions per node and player, ``>= 2``.
    n_nodes : int, optional
    seed : int or Generator
    nodes : {"gauss-legendre", "midpoint"}

    Returns
    -------
    ShapleyEstimate

    Examples
    --------
    >>> w = np.array([1.0, 2.0]); est = shapley_owen_mc(lambda m: float(w @ m), 2, 4, seed=0)
    >>> np.round(est.values, 12).tolist()
    [1.0, 2.0]
    """
    L = as_count(n_players, "n_players", minimum=1)
    n_samples = as_count(n_samples, "n_samples", minimum=2)
    n_nodes = math.ceil(L / 2) if n_nodes is None else as_count(n_nodes, "n_nodes", minimum=1)
    if nodes == "gauss-legendre":
        ps, ws = gauss_legendre_01(n_nodes)
    elif nodes == "midpoint":
        ps = (np.arange(n_nodes) + 0.5) / n_nodes
        ws = np.full(n_nodes, 1.0 / n_nodes)
    else:
        raise InputError(f"nodes must be 'gauss-legendre' or 'midpoint', got {nodes!r}")
    rng = _rng(seed)
    v = _Cached(value, L)
    est = np.zeros(L)
    var = np.zeros(L)
    for p, wk in zip(ps, ws):
        R = rng.random((int(n_samples), L)) < p
        for i in range(L):
            d = np.empty(int(n_samples))
            for s in range(int(n_samples)):
                m = R[s].copy()
                m[i] = False
                lo = v(m)
                m[i] = True
                d[s] = v(m) - lo
            est[i] += wk * d.mean()
            var[i] += wk ** 2 * d.var(ddof=1) / n_samples
    return ShapleyEstimate(est, np.sqrt(var), len(v.cache))


def performance_from_loss(loss_value: Callable) -> Callable:
    """The performance game ``mask -> -loss(mask)``: helpful adapters then get positive Shapley values."""
    return lambda mask: -float(loss_value(mask))


def contribution_shares(phi, *, allow_mixed_signs: bool = False) -> np.ndarray:
    r"""Shares :math:`\varphi_i/\sum_k\varphi_k` (invariant to the loss/performance sign flip).

    By efficiency :math:`\sum_k\varphi_k = v(S)-v(\emptyset)`.  Shares are meaningful only
    when all :math:`\varphi_i` have the same sign.

    Raises
    ------
    AssumptionError
        Mixed signs (the opposite-sign mass relative to the total absolute mass is reported),
        unless ``allow_mixed_signs``; or ``sum(phi) = 0``.

    Examples
    --------
    >>> contribution_shares([-1.0, -3.0]).tolist()
    [0.25, 0.75]
    """
    phi = as_float_array(phi, "phi", ndim=1)
    total = phi.sum()
    if total == 0:
        raise AssumptionError("shares need sum(phi) = v(S) - v(empty) != 0", 0.0, 0.0)
    opposite = np.abs(phi[np.sign(phi) == -np.sign(total)]).sum() / np.abs(phi).sum()
    if opposite > 0 and not allow_mixed_signs:
        raise AssumptionError("all Shapley values have the same sign (shares of a total): "
                              "opposite-sign fraction of |phi|", float(opposite), 0.0,
                              hint="report the raw Shapley values, or pass allow_mixed_signs=True")
    return phi / total
