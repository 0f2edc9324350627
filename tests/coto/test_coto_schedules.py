"""Schedules and mask sampling: values, monotonicity, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from lintheory.coto import activation_probability, expected_compute_fraction, sample_masks
from lintheory.errors import AssumptionError, InputError


def test_paper_schedule_values():
    T = 1200
    assert activation_probability(1, T) == pytest.approx(4 / (3 * T))
    assert activation_probability(300, T) == pytest.approx(1 / 3)       # Early-CoTo checkpoint
    assert activation_probability(900, T) == 1.0
    assert activation_probability(T, T) == 1.0


def test_official_schedule_values():
    T = 1000
    assert activation_probability(0, T, schedule="official") == pytest.approx(0.1)
    assert activation_probability(250, T, schedule="official") == pytest.approx(0.1 + 0.9 * 250 / 750)
    assert activation_probability(750, T, schedule="official") == 1.0


def test_inferred_shapes_and_vanilla():
    assert activation_probability(0.375, 1.0, schedule="exponential") == pytest.approx(
        math.expm1(0.5) / math.expm1(1))
    assert activation_probability(0.375, 1.0, schedule="sine") == pytest.approx(math.sin(math.pi / 4))
    assert activation_probability(0.1, 1.0, stage1_ratio=0.0) == 1.0


def test_compute_fraction_paper_bound():
    assert expected_compute_fraction("paper") == pytest.approx(0.625, abs=1e-5)
    assert expected_compute_fraction("official") == pytest.approx(0.6625, abs=1e-5)
    assert expected_compute_fraction("sine") == pytest.approx(0.75 * 2 / math.pi + 0.25, abs=1e-5)


@given(st.sampled_from(["paper", "official", "exponential", "sine"]),
       st.floats(0.05, 1.0), st.integers(1, 10_000))
def test_schedule_monotone_and_reaches_one(schedule, rho, T):
    t = np.linspace(0, T, 101)
    p = activation_probability(t, T, schedule=schedule, stage1_ratio=rho)
    assert np.all(np.diff(p) >= -1e-15)
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(p[t >= math.ceil(rho * T)] == 1.0)


def test_sampled_active_fraction_matches_p():
    m = sample_masks(0.3, 12, 20_000, seed=1)
    se = math.sqrt(0.3 * 0.7 / m.size)
    assert abs(m.mean() - 0.3) < 5 * se


def test_require_active_never_empty():
    m = sample_masks(0.05, 4, 5000, seed=2, require_active=True)
    assert m.any(axis=1).all()


@pytest.mark.parametrize("t,T", [(-1, 10), (11, 10), (5, 0), (5, -3), (float("nan"), 10)])
def test_bad_steps(t, T):
    with pytest.raises((AssumptionError, InputError)):
        activation_probability(t, T)


def test_bad_step_message_names_violation():
    with pytest.raises(AssumptionError, match="measured 2"):
        activation_probability(12, 10)
    with pytest.raises(InputError, match="T .* must be > 0"):
        activation_probability(0, 0)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probability(p):
    with pytest.raises((AssumptionError, InputError)):
        sample_masks(p, 3, 2, seed=0)


def test_require_active_impossible():
    with pytest.raises(AssumptionError):
        sample_masks(0.0, 3, 2, seed=0, require_active=True)


def test_unknown_schedule():
    with pytest.raises(InputError):
        activation_probability(1, 2, schedule="cosine")
