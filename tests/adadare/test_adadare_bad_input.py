"""Bad input to the AdaDARE API raises clear errors naming the assumption and its violation."""

import numpy as np
import pytest

from lintheory.adadare import (drop_and_rescale, drop_probabilities, expected_diag_loss, expected_layer_loss,
                               gamma_bound, l1_exceedance_probability, optimal_gamma)
from lintheory.errors import AssumptionError, InputError


def test_negative_hessian_diagonal():
    with pytest.raises(AssumptionError, match=r"H_ii >= 0.*measured 0\.5"):
        drop_probabilities([1.0, -0.5], [1.0, 1.0], 0.5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_delta(bad):
    with pytest.raises(InputError, match="non-finite"):
        drop_probabilities([1.0, 1.0], [1.0, bad], 0.5)
    with pytest.raises(InputError, match="non-finite"):
        drop_probabilities([1.0, bad], [1.0, 1.0], 0.5)


@pytest.mark.parametrize("p, size", [(1.0, "0"), (1.5, "0.5"), (-0.2, "0.2")])
def test_sparsity_outside_unit_interval(p, size):
    with pytest.raises(AssumptionError, match=rf"p lies in \[0, 1\).*measured {size}"):
        drop_probabilities([1.0], [1.0], p)


def test_sparsity_not_a_number():
    with pytest.raises(InputError):
        drop_probabilities([1.0], [1.0], "half")
    with pytest.raises(InputError):
        drop_probabilities([1.0], [1.0], float("nan"))


@pytest.mark.parametrize("eta", [0.0, -1.0])
def test_eta_not_positive(eta):
    with pytest.raises(AssumptionError, match="eta is positive"):
        gamma_bound([1.0, 2.0], eta)


def test_eta_non_finite():
    with pytest.raises(InputError):
        gamma_bound([1.0], float("inf"))


def test_shape_mismatch():
    with pytest.raises(InputError, match="shape"):
        drop_probabilities([1.0, 1.0], [1.0, 1.0, 1.0], 0.5)
    with pytest.raises(InputError, match="shape"):
        expected_diag_loss([1.0], [1.0], [0.5, 0.5], 1.0)
    with pytest.raises(InputError, match="features"):
        expected_layer_loss(np.ones((2, 3)), np.zeros((2, 3)), 1.0, X=np.ones((5, 4)))


def test_probs_outside_unit_interval():
    with pytest.raises(AssumptionError, match="probabilities"):
        drop_and_rescale([1.0], [1.2], 1.0, seed=0)
    with pytest.raises(AssumptionError, match="p_i < 1"):
        l1_exceedance_probability([1.0], [1.0], 1.0, 1.0)


def test_unknown_method():
    with pytest.raises(InputError, match="method"):
        drop_probabilities([1.0], [1.0], 0.5, method="magic")


def test_optimal_gamma_degenerate():
    with pytest.raises(AssumptionError, match="Q \\+ V > 0"):
        optimal_gamma([1.0], [0.0], [0.5])


def test_empty_delta():
    with pytest.raises(InputError, match="empty"):
        drop_probabilities([], [], 0.5)
