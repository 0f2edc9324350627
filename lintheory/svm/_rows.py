r"""Constraint rows of the Crammer–Singer hard-margin SVM and the sizes of their dense blocks.

Shared by the interior-point route (:mod:`lintheory.svm.solvers`) and the dual route
(:mod:`lintheory.svm._dual`).  Every dense block a route allocates is estimated here first
(:func:`dense_bytes`), and a route whose blocks exceed :data:`MEMORY_BUDGET_BYTES` is not
taken.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MEMORY_BUDGET_BYTES", "dense_bytes", "gram_bytes", "normal_primal_bytes", "all_margins"]

#: largest working memory (bytes, beyond the data) that the dense blocks of one route may take
MEMORY_BUDGET_BYTES = 1.5e9


def dense_bytes(*shape, copies: int = 1) -> float:
    """Bytes of ``copies`` float64 arrays of ``shape``."""
    return 8.0 * copies * float(np.prod([float(s) for s in shape]))


def gram_bytes(m: int) -> float:
    """Peak bytes of :meth:`_Rows.gram` plus its Cholesky factor: three ``m × m`` blocks."""
    return dense_bytes(m, m, copies=3)


def normal_primal_bytes(K: int, d: int) -> float:
    """Peak bytes of :meth:`_Rows.normal_primal` and its (ridged) Cholesky factor: three
    ``Kd × Kd`` blocks."""
    return dense_bytes(K * d, K * d, copies=3)


def all_margins(W, X, yi):
    """Margins :math:`(w_{y_i} - w_k)^\top x_i`, shape (n, K), ``inf`` in the true class."""
    rows = np.arange(X.shape[0])
    S = X @ W.T
    M = S[rows, yi][:, None] - S
    M[rows, yi] = np.inf
    return M


class _Rows:
    r"""Constraint rows :math:`a_{ik} = (e_{y_i} - e_k) \otimes x_i` of a set of pairs ``(i, k)``.

    ``W`` is flattened row-major, so :math:`a_{ik}^\top \mathrm{vec}(W) = (w_{y_i} - w_k)^\top x_i`.
    Products with :math:`A` and :math:`A^\top` go through ``X`` (never a dense ``m × Kd`` matrix);
    the normal matrices use the Kronecker structure

    .. math::

        A^\top D A = \sum_i G_i \otimes x_i x_i^\top,\quad
        G_i = \sum_k D_{ik} (e_{y_i} - e_k)(e_{y_i} - e_k)^\top,
        \qquad (A A^\top)_{(ik),(jl)} = (e_{y_i}-e_k)^\top(e_{y_j}-e_l)\; x_i^\top x_j .
    """

    def __init__(self, X, yi, pairs, K):
        self.samples, self.li = np.unique(pairs[:, 0], return_inverse=True)
        self.Xs = X[self.samples]
        self.ys = yi[self.samples]
        self.k = pairs[:, 1].copy()
        self.yk = yi[pairs[:, 0]]
        self.K, self.d, self.m, self.ns = K, X.shape[1], len(pairs), len(self.samples)
        self._iy = self.li * K + self.yk
        self._ik = self.li * K + self.k

    def apply(self, W):
        r"""Margins :math:`A\,\mathrm{vec}(W)`, shape (m,)."""
        S = (self.Xs @ W.T).ravel()
        return S[self._iy] - S[self._ik]

    def apply_t(self, v):
        r""":math:`A^\top v` as a (K, d) matrix."""
        L = self.ns * self.K
        C = np.bincount(self._iy, v, L) - np.bincount(self._ik, v, L)
        return C.reshape(self.ns, self.K).T @ self.Xs

    def normal_primal(self, dv):
        r""":math:`I + A^\top \mathrm{diag}(dv) A`, shape (Kd, Kd), from K(K+1) small Gram products."""
        K, d = self.K, self.d
        Dm = np.zeros((self.ns, K))
        Dm[self.li, self.k] = dv
        H = np.zeros((K, d, K, d))
        for c in np.unique(self.ys):
            idx = np.flatnonzero(self.ys == c)
            Xc, Dc = self.Xs[idx], Dm[idx]
            Dc[:, c] = Dc.sum(axis=1)  # G_i[y, y] = sum_k D_ik
            for q in np.flatnonzero(Dc.max(axis=0) > 0.0):
                Xq = Xc * np.sqrt(Dc[:, q])[:, None]
                T = Xq.T @ Xq
                H[q, :, q, :] += T
                if q != c:  # G_i[y, k] = G_i[k, y] = -D_ik, G_i[k, k] = D_ik
                    H[c, :, q, :] -= T
                    H[q, :, c, :] -= T
        H = H.reshape(K * d, K * d)
        H[np.diag_indices_from(H)] += 1.0
        return H

    def gram(self):
        r""":math:`A A^\top`, shape (m, m), from the sample Gram matrix (two ``m × m`` blocks at most:
        :func:`gram_bytes`)."""
        Gs = self.Xs @ self.Xs.T
        Q = Gs[np.ix_(self.li, self.li)]
        del Gs
        # (e_y - e_k)^T (e_y' - e_l) = [y = y'] - [y = l] - [k = y'] + [k = l]
        E = (self.yk[:, None] == self.yk[None, :]).astype(np.float64)
        E -= self.yk[:, None] == self.k[None, :]
        E -= self.k[:, None] == self.yk[None, :]
        E += self.k[:, None] == self.k[None, :]
        Q *= E
        return Q

    def sample_norms2(self):
        r""":math:`\|x_i\|^2` of the samples of the set, shape (ns,)."""
        return np.einsum("ij,ij->i", self.Xs, self.Xs)
