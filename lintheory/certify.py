"""Certificates: refutations proven without floating-point doubt.

A failing printed claim's counterexample is re-evaluated here, after the float route
found it, in arithmetic whose answer cannot be a rounding artefact:

``exact``
    rational or symbolic arithmetic (:class:`fractions.Fraction`, sympy): every float
    of the instance is an exact binary rational, so the violation is a number, not a
    measurement;
``interval``
    rigorous interval arithmetic (``mpmath.iv``, outward rounding): both sides of a
    bound are enclosed, and the violation's lower bound is the gap between the
    enclosures;
``float``
    what a trained-model or Monte Carlo route can give: the violation in units of that
    route's measured numerical error (standard error, training residual).  At most one
    printed refutation in four may rest on a float certificate.

Each function returns the plain dict a check passes back through
``sweep(..., certify=...)`` or ``Evidence(certificate=...)``::

    {"method": "exact" | "interval" | "float", "violation_lower_bound": float,
     "note": str, ...}

``violation_lower_bound > 0`` proves the violation; the runner refuses a
counterexample whose certificate does not (see :func:`lintheory.claims.sweep`).

Examples
--------
>>> from fractions import Fraction
>>> exact(Fraction(1, 3) - Fraction(1, 4), note="lhs - rhs of the printed bound")["violation_lower_bound"] > 0
True
>>> c = bound_violated(iv_sqrt(2), "<=", 1.4142)
>>> c["method"], c["violation_lower_bound"] > 0
('interval', True)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["exact", "interval", "from_float", "bound_violated", "not_optimal", "to_fraction",
           "fraction_array", "iv", "iv_array", "iv_sqrt", "lower", "upper", "IV_PREC"]

#: working precision (bits) of the interval arithmetic
IV_PREC = 113


def _mp():
    import mpmath

    mpmath.iv.prec = IV_PREC
    return mpmath


def iv(x: Any):
    """An ``mpmath.iv`` interval enclosing ``x`` (a float, int, Fraction, str or interval)."""
    mp = _mp()
    if isinstance(x, Fraction):
        return mp.iv.mpf(x.numerator) / x.denominator
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float):
        return mp.iv.mpf(mp.mpf(x))  # a float is an exact binary rational
    return mp.iv.mpf(x)


def iv_array(a) -> np.ndarray:
    """An object array of intervals, each enclosing the float entry exactly."""
    a = np.asarray(a, dtype=float)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = iv(float(v))
    return out


def iv_sqrt(x):
    """Rigorous enclosure of ``sqrt(x)``."""
    return _mp().iv.sqrt(iv(x) if not _is_iv(x) else x)


def _is_iv(x) -> bool:
    return type(x).__name__ == "ivmpf"


def lower(x) -> float:
    """A float that is <= every point of the interval (or exact value) ``x``."""
    if _is_iv(x):
        mp = _mp()
        v = float(mp.mpf(x.a))
        return v if mp.mpf(v) <= x.a else math.nextafter(v, -math.inf)
    if isinstance(x, Fraction):
        v = float(x)
        return v if Fraction(v) <= x else math.nextafter(v, -math.inf)
    try:  # a sympy number
        import sympy as sp

        if isinstance(x, sp.Basic):
            return lower(_sympy_enclosure(x))
    except ImportError:  # pragma: no cover
        pass
    return lower(Fraction(x))


def upper(x) -> float:
    """A float that is >= every point of the interval (or exact value) ``x``."""
    if _is_iv(x):
        mp = _mp()
        v = float(mp.mpf(x.b))
        return v if mp.mpf(v) >= x.b else math.nextafter(v, math.inf)
    return -lower(-x)


def _sympy_enclosure(expr):
    import sympy as sp

    expr = sp.nsimplify(expr) if not expr.is_Rational else expr
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    val = sp.N(expr, 60)
    mp = _mp()
    eps = mp.mpf(10) ** -50 * max(1, abs(float(val)))
    return mp.iv.mpf([mp.mpf(str(val)) - eps, mp.mpf(str(val)) + eps])


def to_fraction(x) -> Fraction:
    """The exact rational value of a float (or int / numpy scalar)."""
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"a certificate needs finite numbers, got {x}")
    return Fraction(x)


def fraction_array(a) -> np.ndarray:
    """An object array of the exact rational values of a float array."""
    a = np.asarray(a, dtype=float)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = to_fraction(float(v))
    return out


def exact(violation, *, note: str = "", **extra) -> dict:
    """Certificate from an exact violation (Fraction, int or sympy number; > 0 means violated)."""
    lb = lower(violation)
    return {"method": "exact", "violation_lower_bound": lb, "violation": str(violation),
            "note": note, **extra}


def interval(violation, *, note: str = "", **extra) -> dict:
    """Certificate from an interval enclosure of the violation (> 0 everywhere means violated)."""
    return {"method": "interval", "violation_lower_bound": lower(violation),
            "violation_upper_bound": upper(violation), "note": note, "precision_bits": IV_PREC,
            **extra}


def from_float(violation: float, numerical_error: float, *, note: str = "", **extra) -> dict:
    """Certificate of a float route: the violation less its measured numerical error.

    Parameters
    ----------
    violation : float
        How far the statement is violated on the counterexample, as measured.
    numerical_error : float
        The route's measured error (standard error of a Monte Carlo mean, a trained
        model's residual), > 0.

    ``violation_lower_bound`` is ``violation - numerical_error`` (not a proof), and
    ``violation_in_error_units`` says how many of the route's errors the violation is.
    """
    if not numerical_error > 0:
        raise ValueError(f"a float certificate needs a positive measured error, got {numerical_error}")
    return {"method": "float", "violation_lower_bound": float(violation - numerical_error),
            "violation_in_error_units": float(violation / numerical_error),
            "numerical_error": float(numerical_error), "note": note, **extra}


def bound_violated(lhs, relation: str, rhs, *, note: str = "", **extra) -> dict:
    """Certificate that the printed relation ``lhs RELATION rhs`` is false.

    Both sides are enclosed (floats and Fractions exactly, intervals as given); the
    violation is ``lhs - rhs`` for ``<=``/``<``, ``rhs - lhs`` for ``>=``/``>`` and
    ``|lhs - rhs|`` for ``==``.  Exact arithmetic is used when both sides are exact.
    """
    if relation not in ("<=", "<", ">=", ">", "=="):
        raise ValueError(f"relation must be one of <=, <, >=, >, ==, got {relation!r}")
    both_exact = all(isinstance(v, (Fraction, int)) for v in (lhs, rhs))
    if both_exact:
        a, b = Fraction(lhs), Fraction(rhs)
    else:
        a, b = (v if _is_iv(v) else iv(v) for v in (lhs, rhs))
    d = a - b if relation in ("<=", "<") else b - a
    if relation == "==":
        d = abs(d) if both_exact else _mp().iv.mpf([0, 0]) + (d if lower(d) > 0 else -d)
    text = f"printed: lhs {relation} rhs; certified lhs - rhs in [{lower(a - b):.6g}, {upper(a - b):.6g}]"
    note = f"{note}; {text}" if note else text
    return (exact(d, note=note, **extra) if both_exact else interval(d, note=note, **extra))


def not_optimal(claimed_objective, better_objective, *, sense: str = "min", feasibility=0,
                note: str = "", **extra) -> dict:
    """Certificate that a claimed optimum is not optimal: a feasible point is strictly better.

    ``feasibility`` is the certified largest constraint violation of the better point
    (0 for a point feasible in exact arithmetic); it must be exactly 0 (or an interval
    <= 0) for the certificate to count.
    """
    if sense not in ("min", "max"):
        raise ValueError("sense must be 'min' or 'max'")
    if upper(feasibility if not isinstance(feasibility, (int, float)) else to_fraction(feasibility)) > 0:
        return {"method": "exact", "violation_lower_bound": 0.0,
                "note": f"the better point is not certified feasible ({note})"}
    lhs, rhs = (claimed_objective, better_objective) if sense == "min" else (better_objective, claimed_objective)
    cert = bound_violated(lhs, "<=", rhs, note=note, **extra)
    cert["note"] = f"a feasible point improves the claimed optimum; {cert['note']}"
    # bound_violated measured lhs - rhs > 0 as the violation of "lhs <= rhs", i.e. claimed > better
    return cert
