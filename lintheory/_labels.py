"""Class labels as scikit-learn reads them: any sortable labels, mapped to class indices.

``encode_labels(y)`` returns ``(classes, y_index)`` with ``classes = np.unique(y)`` (sorted)
and ``classes[y_index] == y``, so that ``y * 10``, ``["cat", "dog"]`` or ``[-1, 1]`` train
the same model as ``0..K-1``.  Malformed labels raise :class:`~lintheory.errors.InputError`.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["encode_labels"]


def encode_labels(y, name: str = "y"):
    """Map labels to class indices (``np.unique``, sorted order).

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Labels of one sortable kind: integers, floats, booleans or strings.
    name : str
        The argument's name in error messages.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted.
    y_index : ndarray of shape (n_samples,), int64
        ``classes[y_index] == y``.

    Raises
    ------
    InputError
        ``y`` is empty, not 1-dimensional, holds ``None`` or NaN (or another non-finite
        number), or mixes kinds that cannot be sorted together.

    Examples
    --------
    >>> classes, yi = encode_labels(["dog", "cat", "dog"])
    >>> classes.tolist(), yi.tolist()
    (['cat', 'dog'], [1, 0, 1])
    >>> encode_labels([10, 30, 10])[1].tolist()
    [0, 1, 0]
    """
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise InputError(f"{name} is not a 1-dimensional array of labels: {exc}") from None
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if not isinstance(y, np.ndarray) and arr.dtype.kind in "US":
        # np.asarray turns [1, "a"] into strings silently; scikit-learn refuses the mix
        numbers = [v for v in y if not isinstance(v, (str, bytes, np.str_, np.bytes_))]
        if numbers:
            raise InputError(f"{name} mixes string and non-string labels (e.g. {numbers[0]!r})")
    if arr.size == 0:
        raise InputError(f"{name} is empty: no labels")
    if arr.dtype == object:
        none = [i for i, v in enumerate(arr.tolist()) if v is None]
        if none:
            raise InputError(f"{name} has {len(none)} missing labels (None), first at index {none[0]}")
        kinds = {type(v) for v in arr.tolist()}
        if all(issubclass(t, (int, float, np.integer, np.floating, bool, np.bool_)) for t in kinds):
            arr = arr.astype(np.float64)
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InputError(f"{name} has {int(bad.sum())} non-finite labels (NaN or inf), "
                             f"first at index {int(np.flatnonzero(bad)[0])}")
    elif arr.dtype.kind not in "iubUS" and arr.dtype != object:
        raise InputError(f"{name} has labels of unsupported dtype {arr.dtype}")
    try:
        classes, y_index = np.unique(arr, return_inverse=True)
    except TypeError as exc:  # e.g. ints mixed with strings
        raise InputError(f"{name} mixes label kinds that cannot be sorted: {exc}") from None
    return classes, y_index.reshape(-1).astype(np.int64)
