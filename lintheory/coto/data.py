"""Generators of CoTo instances: deep linear / ReLU chains with LoRA adapters, teachers, gain problems.

Seed ``004_bb9aedc7a8b2e8cb.txt``.  Every generator takes a ``seed`` and returns plain numpy
float64 arrays; weights are ``(d_out, d_in)`` (paper convention), samples are rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_count
from ..errors import InputError

__all__ = ["LoraChain", "random_lora_chain", "teacher_student_chain", "gain_problem"]


@dataclass
class LoraChain:
    """A chain with one LoRA adapter per layer.

    Attributes
    ----------
    W : list of ndarray (d, d)
        Frozen weights.
    B : list of ndarray (d, r); A : list of ndarray (r, d)
        Adapter factors; the update is ``scale * B @ A``.
    scale : float
        LoRA scaling α.
    X : ndarray (n, d); Y : ndarray (n, d)
        Data (rows are samples).
    activation : None or "relu"
    """

    W: list
    B: list
    A: list
    scale: float
    X: np.ndarray
    Y: np.ndarray
    activation: str | None = None

    @property
    def dW(self) -> list:
        return [self.scale * b @ a for b, a in zip(self.B, self.A)]

    @property
    def L(self) -> int:
        return len(self.W)


def _base_weights(rng, L, d, activation):
    if activation == "relu":
        return [np.sqrt(2.0) * rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(L)]
    return [np.eye(d) + 0.2 * rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(L)]


def random_lora_chain(L: int, d: int, r: int = 1, n: int = 8, *, seed=0, adapter_scale: float = 0.5,
                      activation=None) -> LoraChain:
    """A random chain with random (non-zero) adapters and random targets, for exact checks.

    Examples
    --------
    >>> c = random_lora_chain(3, 4, seed=0); c.L, c.X.shape, c.dW[0].shape
    (3, (8, 4), (4, 4))
    """
    L, d, r, n = (as_count(v, nm, minimum=1) for v, nm in ((L, "L"), (d, "d"), (r, "r"), (n, "n")))
    rng = np.random.default_rng(seed)
    W = _base_weights(rng, L, d, activation)
    B = [adapter_scale * rng.standard_normal((d, r)) / np.sqrt(r) for _ in range(L)]
    A = [rng.standard_normal((r, d)) / np.sqrt(d) for _ in range(L)]
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, d))
    return LoraChain(W, B, A, 1.0, X, Y, activation)


def teacher_student_chain(L: int = 6, d: int = 12, *, n_train: int = 64, n_test: int = 512,
                          noise: float = 0.1, planted: float = 0.6, seed=0, activation=None):
    """Base chain plus a teacher with a planted rank-1 perturbation in every layer (note §3.7).

    Returns
    -------
    dict with ``W`` (list of (d, d)), ``X_train`` (n_train, d), ``Y_train``, ``X_test``, ``Y_test``,
    ``teacher_dW`` (list of (d, d)).
    """
    L, d, n_train, n_test = (as_count(v, nm, minimum=1) for v, nm in
                             ((L, "L"), (d, "d"), (n_train, "n_train"), (n_test, "n_test")))
    rng = np.random.default_rng(seed)
    W = _base_weights(rng, L, d, activation)
    dT = []
    for _ in range(L):
        u = rng.standard_normal(d); v = rng.standard_normal(d)
        dT.append(planted * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v)))
    def net(X):
        H = X
        for i, (w, dw) in enumerate(zip(W, dT)):
            H = H @ (w + dw).T
            if activation == "relu" and i < L - 1:
                H = np.maximum(H, 0.0)
        return H
    Xtr = rng.standard_normal((n_train, d)); Xte = rng.standard_normal((n_test, d))
    return {"W": W, "teacher_dW": dT, "X_train": Xtr, "Y_train": net(Xtr) + noise * rng.standard_normal((n_train, d)),
            "X_test": Xte, "Y_test": net(Xte), "activation": activation}


def gain_problem(L: int = 6, d: int = 4, n: int = 16, *, gains=None, seed=0):
    """Additive adapters with heterogeneous gains: ``ŷ = X W0ᵀ + Σ_i δ_i c_i X θ_iᵀ``.

    Returns
    -------
    dict with ``W0`` (d, d), ``X`` (n, d), ``Y`` (n, d) and ``gains`` (L,) (default
    ``linspace(0.5, 2, L)``, a proxy for layer-dependent gradient scales).
    """
    L, d, n = (as_count(v, nm, minimum=1) for v, nm in ((L, "L"), (d, "d"), (n, "n")))
    rng = np.random.default_rng(seed)
    gains = np.linspace(0.5, 2.0, L) if gains is None else np.asarray(gains, dtype=np.float64)
    if gains.shape != (L,) or np.any(gains <= 0):
        raise InputError(f"gains must be {L} positive numbers, got {gains}")
    W0 = rng.standard_normal((d, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d))
    Wt = W0 + rng.standard_normal((d, d)) / np.sqrt(d)
    return {"W0": W0, "X": X, "Y": X @ Wt.T, "gains": gains}
