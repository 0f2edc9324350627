"""Input checks shared by every module: finiteness, shapes, labels.

Each check raises :class:`~lintheory.errors.InputError` with a one-line reason that
names the argument, so that the CLI can print it and exit with status 2.
"""

from __future__ import annotations

import numpy as np

from .errors import AssumptionError, InputError


def as_float_array(a, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``a`` as a finite float64 array, checking its number of dimensions."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not numeric: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum())} non-finite entries (NaN or inf)")
    return arr


def as_labels(y, n_samples: int, n_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Return integer labels of length ``n_samples``, in ``[0, n_classes)`` when given."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise InputError(f"X has {n_samples} samples but {name} has {arr.shape[0]} labels")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr.astype(float))) or np.any(arr != np.round(arr)):
            raise InputError(f"{name} must hold integer class labels")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise InputError(f"{name} has negative labels (min {arr.min()})")
    if n_classes is not None:
        if n_classes < 2:
            raise InputError(f"n_classes must be at least 2, got {n_classes}")
        if arr.size and arr.max() >= n_classes:
            raise InputError(f"{name} has labels outside [0, {n_classes}): max label {arr.max()}")
    return arr


def check_orthonormal_rows(X: np.ndarray, name: str = "X", tol: float = 1e-8,
                           assumption: str = "rows are orthonormal") -> float:
    """Raise :class:`AssumptionError` unless ``X Xᵀ = I`` within ``tol`` (max-abs); return the deviation."""
    dev = float(np.max(np.abs(X @ X.T - np.eye(X.shape[0])))) if X.size else 0.0
    if dev > tol:
        raise AssumptionError(f"{name} {assumption}: max |X Xᵀ - I|", dev, tol)
    return dev


def check_positive(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive finite number, got {value}")
    return value
