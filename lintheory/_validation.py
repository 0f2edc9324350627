"""Input checks shared by every module: finiteness, dtypes, shapes, counts, labels, deprecated names.

Each check raises :class:`~lintheory.errors.InputError` with a one-line reason that names the
argument, so that the CLI can print it and exit with status 2.  The conventions they enforce are
written down in ``docs/conventions.md``:

* arrays: anything :func:`numpy.asarray` reads (lists, numpy arrays of any real dtype, CPU or CUDA
  torch tensors, with or without ``requires_grad``) becomes a float64 copy; complex, string and
  object entries, ragged nesting and NaN/inf are refused;
* counts (sizes, ranks, numbers of samples): Python or numpy integers; ``bool``, floats (``2.5``
  and ``2.0``, as scikit-learn's parameter validation refuses them), NaN and strings are refused;
* labels: any 1-d array of sortable values (ints such as ``y * 10``, strings), as scikit-learn accepts;
  classes are their sorted unique values (:func:`as_class_labels`).
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from .errors import AssumptionError, InputError

__all__ = ["as_float_array", "refuse_complex", "as_count", "as_scalar", "as_labels", "as_class_labels",
           "check_orthonormal_rows", "check_positive", "renamed_kwargs"]


def _to_numpy(a):
    """A torch tensor (any device, any ``requires_grad``) as a numpy array; anything else unchanged."""
    mod = type(a).__module__
    if mod.startswith("torch") and hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return a


def as_float_array(a, name: str, ndim: int | None = None, *, nonempty: bool = False,
                   shape: tuple | None = None) -> np.ndarray:
    """Return ``a`` as a finite real float64 array.

    Parameters
    ----------
    a : array_like
        Lists, numpy arrays of a real (bool, int, float) dtype, torch tensors.
    name : str
        The argument's name, used in every message.
    ndim : int, optional
        Required number of dimensions.
    nonempty : bool
        Refuse arrays with no entries.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.

    Raises
    ------
    InputError
        Not numeric (strings, objects, ragged nesting), complex, the wrong number of dimensions or
        shape, empty (with ``nonempty``), or NaN/inf entries.
    """
    a = _to_numpy(a)
    if isinstance(a, (list, tuple)) and any(type(x).__module__.startswith("torch") for x in a):
        a = [_to_numpy(x) for x in a]
    try:
        raw = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a numeric array: {exc}") from None
    if raw.dtype.kind == "c":
        raise InputError(f"{name} has complex dtype {raw.dtype}; lintheory works on real arrays "
                         "(pass .real if the imaginary part is meant to be dropped)")
    if raw.dtype.kind == "O":          # e.g. a list mixing Python and numpy numbers
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} is not a numeric array (it holds non-numeric objects)") from None
    if raw.dtype.kind not in "biuf":
        raise InputError(f"{name} is not a numeric array (dtype {raw.dtype})")
    arr = raw.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise InputError(f"{name} must have shape {want}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum())} non-finite entries (NaN or inf)")
    return arr


def refuse_complex(a, name: str) -> None:
    """Raise :class:`InputError` when ``a`` has a complex (or non-numeric) dtype; O(1) for arrays.

    For routes that read large arrays themselves and must not copy them.
    """
    if type(a).__module__.startswith("torch") and hasattr(a, "is_complex"):
        if a.is_complex():
            raise InputError(f"{name} has complex dtype {a.dtype}; lintheory works on real arrays")
        return
    dt = getattr(a, "dtype", None)
    kind = dt.kind if isinstance(dt, np.dtype) else None
    if kind is None and isinstance(a, (list, tuple, complex)):
        try:
            kind = np.asarray(a).dtype.kind
        except (TypeError, ValueError):
            return                     # ragged: the full check reports it
    if kind == "c":
        raise InputError(f"{name} has complex dtype; lintheory works on real arrays "
                         "(pass .real if the imaginary part is meant to be dropped)")


def as_count(value, name: str, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int, refusing anything that is not an integer.

    Python and numpy integers (and 0-d integer arrays or tensors) are accepted; ``bool``, floats
    (``2.5`` and also ``2.0``, as scikit-learn's parameter validation does), NaN/inf, strings and
    arrays are refused, as is anything below ``minimum`` (or above ``maximum``).
    """
    value = _to_numpy(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if out < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {out}")
    return out


def as_scalar(value, name: str, *, low: float | None = None, high: float | None = None,
              low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite Python float in ``[low, high]`` (ends open when asked)."""
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.ndim > 1:
            raise InputError(f"{name} must be a number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a real number, got {value!r}")
    f = float(value)
    if not np.isfinite(f):
        raise InputError(f"{name} must be finite, got {f}")
    lo_bad = low is not None and (f < low or (low_open and f == low))
    hi_bad = high is not None and (f > high or (high_open and f == high))
    if lo_bad or hi_bad:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        rng = f"{lb}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{rb}"
        raise InputError(f"{name} must lie in {rng}, got {f:g}")
    return f


def _encode(y, name="y"):
    """``(classes, index)``: the sorted unique labels and each label's position among them."""
    from ._labels import encode_labels           # the shared encoder (lintheory/_labels.py)
    return encode_labels(y, name)


def _check_label_array(y, n_samples, name):
    arr = np.asarray(_to_numpy(y))
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise InputError(f"the data have {n_samples} samples but {name} has {arr.shape[0]} labels")
    if arr.dtype.kind == "c":
        raise InputError(f"{name} has complex labels")
    if arr.dtype.kind in "US" and isinstance(y, (list, tuple)):
        # np.asarray turns [1, "a"] into strings silently; scikit-learn refuses the mix
        other = [v for v in y if not isinstance(v, (str, bytes, np.str_, np.bytes_))]
        if other:
            raise InputError(f"{name} mixes string and non-string labels (e.g. {other[0]!r})")
    if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite labels (NaN or inf)")
    if arr.dtype.kind == "O":
        try:
            arr = np.asarray(arr.tolist())
        except (TypeError, ValueError):
            raise InputError(f"{name} must hold sortable labels of one kind (numbers or strings)") from None
        if arr.dtype.kind == "O":
            raise InputError(f"{name} must hold sortable labels of one kind (numbers or strings)")
    return arr


def as_class_labels(y, n_samples: int | None = None, *, K: int | None = None, classes=None,
                    name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Encode arbitrary sortable labels as row indices: return ``(classes, index)``.

    ``classes[index] == y``; row ``k`` of a classifier belongs to label ``classes[k]``.

    * ``classes`` given: the row labels (all ``K`` of them, distinct); every label of ``y`` must be one.
    * ``K`` given and every label is an integer in ``[0, K)``: the labels are row indices
      (``classes = arange(K)``; classes absent from ``y`` keep their rows).
    * otherwise: ``classes`` are the sorted unique labels of ``y`` (scikit-learn's ``classes_``);
      with ``K`` given there must be exactly ``K`` of them.

    Raises
    ------
    InputError
        ``y`` not 1-d, of the wrong length, NaN, of mixed kinds, labels outside ``classes``, or
        ``K`` rows that cannot be matched to the labels without ``classes``.
    """
    arr = _check_label_array(y, n_samples, name)
    if classes is not None:
        cl = _check_label_array(classes, None, "classes")
        if np.unique(cl).size != cl.size:
            raise InputError("classes must be distinct")
        if K is not None and cl.size != K:
            raise InputError(f"classes has {cl.size} labels but K = {K}")
        order = np.argsort(cl, kind="stable")
        try:
            pos = np.searchsorted(cl[order], arr)
        except TypeError:
            raise InputError(f"{name} and classes hold labels of different kinds") from None
        pos = np.minimum(pos, cl.size - 1)
        ok = cl[order][pos] == arr if arr.size else np.zeros(0, bool)
        if arr.size and not np.all(ok):
            bad = arr[~ok][0]
            raise InputError(f"{name} has label {bad!r}, which is not in classes")
        return cl, order[pos].astype(np.int64)
    if K is not None and arr.dtype.kind in "biuf":
        if arr.size == 0 or (np.all(arr == np.round(arr)) and arr.min() >= 0 and arr.max() < K):
            return np.arange(K), arr.astype(np.int64)
    try:
        cl, index = _encode(arr, name)
    except TypeError:
        raise InputError(f"{name} must hold sortable labels of one kind (numbers or strings)") from None
    if K is not None and cl.size != K:
        raise InputError(
            f"{name} has labels outside [0, {K}) ({cl.size} distinct labels, so they are neither row "
            f"indices nor one label per row): pass classes= (the label of each of the K = {K} rows)")
    return cl, index


def as_labels(y, n_samples: int, n_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Return integer labels of length ``n_samples``, in ``[0, n_classes)`` when given.

    Kept for modules that take row indices; new code uses :func:`as_class_labels`, which also
    accepts arbitrary sortable labels.
    """
    arr = _check_label_array(y, n_samples, name)
    if arr.size and arr.dtype.kind not in "biu":
        if arr.dtype.kind != "f" or np.any(arr != np.round(arr)):
            raise InputError(f"{name} must hold integer class labels (got dtype {arr.dtype})")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise InputError(f"{name} has negative labels (min {arr.min()})")
    if n_classes is not None:
        if n_classes < 2:
            raise InputError(f"K (number of classes) must be at least 2, got {n_classes}")
        if arr.size and arr.max() >= n_classes:
            raise InputError(f"{name} has labels outside [0, {n_classes}): max label {arr.max()}")
    return arr


def check_orthonormal_rows(X: np.ndarray, name: str = "X", tol: float = 1e-8,
                           assumption: str = "rows are orthonormal") -> float:
    """Raise :class:`AssumptionError` unless ``X Xᵀ = I`` within ``tol`` (max-abs); return the deviation."""
    dev = float(np.max(np.abs(X @ X.T - np.eye(X.shape[0])))) if X.size else 0.0
    if not dev <= tol:
        raise AssumptionError(f"{name} {assumption}: max |X Xᵀ - I|", dev, tol)
    return dev


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as a float, refusing anything that is not a positive finite number."""
    return as_scalar(value, name, low=0.0, low_open=True)


def renamed_kwargs(**renames):
    """Decorator: accept the old keyword names ``old=new`` for one release, with a DeprecationWarning.

    >>> @renamed_kwargs(n_classes="K")
    ... def f(K=None):
    ...     return K
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(n_classes=3), w[0].category.__name__
    (3, 'DeprecationWarning')
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputError(f"{fn.__name__}() got both {old!r} (deprecated) and {new!r}")
                    warnings.warn(f"{fn.__name__}(): the keyword {old!r} is deprecated and will be removed "
                                  f"in the next release; use {new!r}", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        wrapper.__renamed_kwargs__ = dict(renames)
        return wrapper
    return deco
