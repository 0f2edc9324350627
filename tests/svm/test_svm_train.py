"""The trained route: cross-entropy + ridge training recovers the SVM direction on orthonormal data."""

import numpy as np
import pytest

from lintheory.errors import InputError
from lintheory.svm import orthonormal_svm
from lintheory.svm.data import orthonormal_class_data
from lintheory.svm.train import train_linear_classifier

TRAIN_TOL = 1e-8


@pytest.mark.parametrize("lam", [1e-3, 1e-1, 1.0])
def test_trained_direction_equals_svm(lam):
    X, y = orthonormal_class_data(3, 2, 9, seed=7)
    W = train_linear_classifier(X, y, lam=lam, seed=1)
    S = orthonormal_svm(X, y)
    cos = np.sum(W * S) / np.linalg.norm(W) / np.linalg.norm(S)
    assert 1 - cos < TRAIN_TOL


def test_trained_k_row_direction_equals_k_row_svm():
    X, y = orthonormal_class_data(2, 2, 6, labels=[0, 3], seed=8)
    W = train_linear_classifier(X, y, n_classes=5, lam=0.05, seed=1)
    S = orthonormal_svm(X, y, n_classes=5)
    assert 1 - np.sum(W * S) / np.linalg.norm(W) / np.linalg.norm(S) < TRAIN_TOL


def test_trainer_refuses_zero_ridge():
    X, y = orthonormal_class_data(2, 1, 3, seed=0)
    with pytest.raises(InputError, match="lam must be > 0"):
        train_linear_classifier(X, y, lam=0.0)


@pytest.mark.gpu
def test_trained_direction_on_cuda_matches_cpu():
    X, y = orthonormal_class_data(3, 2, 9, seed=7)
    W_cpu = train_linear_classifier(X, y, lam=0.1, seed=1, device="cpu")
    W_gpu = train_linear_classifier(X, y, lam=0.1, seed=1, device="cuda")
    np.testing.assert_allclose(W_gpu, W_cpu, atol=1e-8)
