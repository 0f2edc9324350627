"""The trained-model route: a torch linear classifier trained with cross-entropy.

On orthonormal, class-balanced data the minimiser of

.. math::

    \\frac{1}{N}\\sum_i \\mathrm{CE}(y_i, W x_i) + \\frac{\\lambda}{2}\\|W\\|_F^2

has logits :math:`W x_i \\propto e_{y_i} - \\tfrac1K\\mathbf 1` for **every** λ > 0 (the
objective decouples per sample; symmetry and strict convexity fix the direction), so a
really trained classifier must point exactly in the SVM direction.  On general data
the direction approaches the SVM's only as λ → 0 (Rosset, Zhu and Hastie, 2004).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, as_labels
from ..errors import InputError, NotConvergedError

__all__ = ["train_linear_classifier"]


def train_linear_classifier(X, y, n_classes=None, *, lam: float = 1e-2, device: str = "cpu",
                            max_iter: int = 500, grad_tol: float = 1e-8, seed: int = 0) -> np.ndarray:
    """Train ``W`` (K × d) with mean cross-entropy + ``lam/2 ||W||²`` by float64 L-BFGS.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    n_classes : int, optional
        ``None``: one row per class present (sorted); ``K``: K rows indexed by label.
    lam : float
        Ridge coefficient, > 0 (the unregularised problem has no minimiser on separable data).
    device : {"cpu", "cuda"}
    max_iter : int
        L-BFGS iterations.
    grad_tol : float
        Converged when the gradient's max-norm is below this value.
    seed : int
        Seeds the random initialisation.

    Returns
    -------
    W : ndarray of shape (n_classes, n_features)

    Raises
    ------
    NotConvergedError
        The gradient norm is still above ``grad_tol`` after ``max_iter`` iterations.
    """
    import torch

    X = as_float_array(X, "X", ndim=2)
    y = as_labels(y, X.shape[0], n_classes)
    if lam <= 0:
        raise InputError(f"lam must be > 0 (no minimiser without regularisation), got {lam}")
    if n_classes is None:
        classes = np.unique(y)
        yi, K = np.searchsorted(classes, y), classes.size
    else:
        yi, K = y, int(n_classes)
    gen = torch.Generator().manual_seed(int(seed))
    Xt = torch.as_tensor(X, dtype=torch.float64, device=device)
    yt = torch.as_tensor(yi, dtype=torch.int64, device=device)
    W = (1e-3 * torch.randn(K, X.shape[1], generator=gen, dtype=torch.float64)).to(device).requires_grad_(True)
    opt = torch.optim.LBFGS([W], lr=1.0, max_iter=max_iter, tolerance_grad=grad_tol,
                            tolerance_change=0.0, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xt @ W.T, yt) + 0.5 * lam * (W * W).sum()
        loss.backward()
        return loss

    for _ in range(5):  # torch's L-BFGS may stop early on a flat step; restart it
        opt.step(closure)
        closure()
        gmax = float(W.grad.abs().max())
        if gmax <= grad_tol:
            break
    else:
        raise NotConvergedError(f"L-BFGS stopped with gradient max-norm {gmax:.2e} > {grad_tol:.1e}")
    return W.detach().cpu().numpy()
