"""Shared vanilla-vs-CoTo experiment used by the figures (cached per configuration)."""

from __future__ import annotations

import functools

from .data import teacher_student_chain
from .train import chain_metrics, fusion_path, train_lora_chains

__all__ = ["compare_methods"]


@functools.lru_cache(maxsize=8)
def compare_methods(activation=None, n_seeds: int = 4, steps: int = 600, seed: int = 0, L: int = 6, d: int = 8,
                    device: str = "cpu") -> dict:
    """Train vanilla and CoTo (paper schedule) LoRA chains on one planted-teacher task.

    Returns
    -------
    dict with ``problem`` (the data), per method ``metrics`` (list of :func:`chain_metrics`
    for ``n_seeds`` runs) and ``fusion`` (list of :func:`fusion_path` between consecutive
    seeds).
    """
    P = teacher_student_chain(L, d, n_train=64, n_test=256, seed=seed, activation=activation)
    seeds = [seed * 1000 + k for k in range(n_seeds + 1)]
    runs = [{"method": m, "seed": s} for m in ("vanilla", "coto") for s in seeds]
    res = train_lora_chains(P["W"], P["X_train"], P["Y_train"], runs=runs, steps=steps, lr=1e-2,
                            activation=activation, device=device)
    out = {"problem": P}
    for k, m in enumerate(("vanilla", "coto")):
        rs = res[k * len(seeds):(k + 1) * len(seeds)]
        out[m] = {"metrics": [chain_metrics(P["W"], r.dW, P["X_test"], P["Y_test"], activation=activation)
                              for r in rs[:n_seeds]],
                  "fusion": [fusion_path(P["W"], rs[j], rs[j + 1], P["X_test"], P["Y_test"], activation=activation)
                             for j in range(n_seeds)]}
    return out
