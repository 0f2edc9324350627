"""Trained-model route: torch fine-tuning, autograd curvature, realised loss increases."""

import numpy as np
import pytest

from lintheory.adadare import expected_layer_loss, solve_drop_probabilities
from lintheory.adadare.closed_form import hessian_diag_from_activations
from lintheory.adadare.data import linear_layer_task
from lintheory.adadare.train import curvature_diag, fine_tune_linear, realised_loss_increase
from lintheory.errors import InputError, NotConvergedError


@pytest.fixture(scope="module")
def tuned():
    t = linear_layer_task(120, 8, 3, feature_sigma=1.0, seed=11)
    W = fine_tune_linear(t["X"], t["Y"], t["W_pre"], device="cpu")
    return t, W


def test_fine_tune_reaches_least_squares(tuned):
    t, W = tuned
    ls = np.linalg.lstsq(t["X"], t["Y"], rcond=None)[0].T
    assert np.max(np.abs(W - ls)) < 1e-7


def test_fine_tune_not_converged_is_reported():
    t = linear_layer_task(50, 6, 2, seed=1)
    with pytest.raises(NotConvergedError):
        fine_tune_linear(t["X"], t["Y"], t["W_pre"], device="cpu", max_iter=1)


def test_curvature_diagonals(tuned):
    t, W = tuned
    H = curvature_diag(t["X"], t["Y"], W, device="cpu")
    assert np.allclose(H, 2 * hessian_diag_from_activations(t["X"], 3), rtol=1e-12)
    F = curvature_diag(t["X"], t["Y"], W, kind="fisher", device="cpu")
    R = t["X"] @ W.T - t["Y"]
    assert np.allclose(F, 4 * (R ** 2).T @ (t["X"] ** 2), rtol=1e-10)
    with pytest.raises(InputError):
        curvature_diag(t["X"], t["Y"], W, kind="gauss", device="cpu")


def test_realised_increase_matches_expected(tuned):
    t, W = tuned
    d = W - t["W_pre"]
    H = curvature_diag(t["X"], t["Y"], W, device="cpu")
    for method in ("waterfill", "paper"):
        q = solve_drop_probabilities(H, d, 0.6, method=method).probs
        inc = realised_loss_increase(t["X"], t["Y"], W, q, 1.0, W_pre=t["W_pre"], n_masks=4000, seed=3,
                                     device="cpu")
        se = inc.std(ddof=1) / np.sqrt(inc.size)
        assert abs(inc.mean() - expected_layer_loss(d, q, 1.0, t["X"])) < 5 * se


def test_realised_increase_needs_seed(tuned):
    t, W = tuned
    with pytest.raises(InputError):
        realised_loss_increase(t["X"], t["Y"], W, np.zeros_like(W), 1.0, W_pre=t["W_pre"], device="cpu")


@pytest.mark.slow
def test_waterfill_beats_printed_and_uniform_on_trained_layer():
    t = linear_layer_task(400, 24, 6, feature_sigma=2.0, seed=12)
    W = fine_tune_linear(t["X"], t["Y"], t["W_pre"], device="cpu")
    d = W - t["W_pre"]
    H = curvature_diag(t["X"], t["Y"], W, device="cpu")
    means = {}
    for name, q in [("waterfill", solve_drop_probabilities(H, d, 0.5).probs),
                    ("paper", solve_drop_probabilities(H, d, 0.5, method="paper").probs),
                    ("uniform", np.full(d.shape, 0.5))]:
        means[name] = realised_loss_increase(t["X"], t["Y"], W, q, 1.0, W_pre=t["W_pre"], n_masks=20000,
                                             seed=1, device="cpu").mean()
    assert means["waterfill"] < means["paper"] < means["uniform"]
