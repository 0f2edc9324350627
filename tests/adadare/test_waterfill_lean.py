"""The lean water-filling (``drop_probabilities``) and its per-layer streaming form.

``drop_probabilities(..., "waterfill")`` skips the diagnostics of
``solve_drop_probabilities`` and keeps two arrays of the input's size; its output must be
the same bit for bit, and bad input must raise the same errors.
"""

import tracemalloc

import numpy as np
import pytest

from lintheory.adadare import drop_probabilities, iter_drop_probabilities, solve_drop_probabilities
from lintheory.errors import AssumptionError, InputError


def _case(rng, n):
    """Heavy-tailed scores with zero scores, zero curvature and ties mixed in at random."""
    h = np.exp(rng.normal(size=n) * rng.uniform(0.0, 3.0))
    d = rng.normal(size=n)
    if rng.random() < 0.3:
        d[rng.random(n) < rng.random()] = 0.0
    if rng.random() < 0.2:
        h[rng.random(n) < 0.3] = 0.0
    if rng.random() < 0.2:
        d = np.round(d)  # many tied scores
    return h, d


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_lean_waterfill_equals_the_full_route_bit_for_bit(p):
    rng = np.random.default_rng(20261203)
    for n in [1, 2, 3, 7, 50, 1000, 70_001]:  # 70_001 > one block of the blocked passes
        for _ in range(8):
            h, d = _case(rng, n)
            lean = drop_probabilities(h, d, p)
            full = solve_drop_probabilities(h, d, p).probs
            assert lean.shape == full.shape and lean.dtype == np.float64
            assert np.array_equal(lean, full), (n, p, float(np.max(np.abs(lean - full))))


def test_lean_waterfill_keeps_shape_and_special_regimes():
    h = np.ones((3, 4))
    d = np.zeros((3, 4))
    assert np.array_equal(drop_probabilities(h, d, 0.3), np.full((3, 4), 0.3))  # all scores zero
    d[0, :2] = [1.0, 2.0]  # two live entries, budget for 12 * 0.9: all live kept, zeros share the rest
    lean, full = drop_probabilities(h, d, 0.1), solve_drop_probabilities(h, d, 0.1).probs
    assert lean.shape == (3, 4) and np.array_equal(lean, full)
    assert lean[0, 0] == 0.0 and lean[0, 1] == 0.0 and abs(lean.mean() - 0.1) < 1e-15


@pytest.mark.parametrize("h, d, p, err, match", [
    ([1.0, np.nan], [1.0, 2.0], 0.5, InputError, "non-finite"),
    ([1.0, 1.0], [np.inf, 2.0], 0.5, InputError, "non-finite"),
    ([-1.0, 1.0], [1.0, 2.0], 0.5, AssumptionError, "PSD"),
    ([1.0], [1.0, 2.0], 0.5, InputError, "shape"),
    ([], [], 0.5, InputError, "empty"),
    ([1.0, 2.0], [1.0, 2.0], 1.0, AssumptionError, "sparsity"),
    ([1e300, 1.0], [1e200, 1.0], 0.5, InputError, "overflow"),
])
def test_lean_waterfill_raises_like_the_full_route(h, d, p, err, match):
    for fn in (drop_probabilities, lambda *a: solve_drop_probabilities(*a).probs):
        with pytest.raises(err, match=match):
            fn(h, d, p)


def test_layers_one_at_a_time_equal_each_layer_alone():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    shapes = {"a.weight": (30, 20), "a.bias": (30,), "b.weight": (5, 30)}
    deltas = {k: rng.normal(size=s) for k, s in shapes.items()}
    curv = {k: np.exp(rng.normal(size=s)) for k, s in shapes.items()}
    want = {k: drop_probabilities(curv[k], deltas[k], 0.8) for k in shapes}

    # a state dict of torch tensors (float32 deltas are widened to float64 first)
    sd = {k: torch.from_numpy(v) for k, v in deltas.items()}
    got = dict(iter_drop_probabilities(sd, 0.8, h_diag=curv))
    assert list(got) == list(shapes) and all(np.array_equal(got[k], want[k]) for k in shapes)
    # (name, h_diag, delta) triples, and loaders (callables) as values
    got = dict(iter_drop_probabilities(((k, curv[k], deltas[k]) for k in shapes), 0.8))
    assert all(np.array_equal(got[k], want[k]) for k in shapes)
    loaders = {k: (lambda k=k: deltas[k]) for k in shapes}
    got = dict(iter_drop_probabilities(loaders, 0.8, h_diag=lambda name, d: curv[name]))
    assert all(np.array_equal(got[k], want[k]) for k in shapes)

    with pytest.raises(InputError, match="no curvature diagonal"):
        next(iter_drop_probabilities(deltas, 0.8))
    bad = dict(curv, **{"a.bias": -curv["a.bias"]})
    with pytest.raises(AssumptionError) as info:
        dict(iter_drop_probabilities(deltas, 0.8, h_diag=bad))
    assert "a.bias" in "".join(getattr(info.value, "__notes__", [])) or not hasattr(info.value, "add_note")


def test_streaming_over_layers_holds_one_layer_at_a_time():
    n_layers, size = 12, 200_000
    layer_bytes = size * 8

    def layers():
        for i in range(n_layers):
            rng = np.random.default_rng(i)
            yield f"layer{i}", np.exp(rng.normal(size=size)), rng.normal(size=size)

    tracemalloc.start()
    try:
        sparsity = [float(q.mean()) for _, q in iter_drop_probabilities(layers(), 0.9)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sparsity) == n_layers and max(abs(s - 0.9) for s in sparsity) < 1e-12
    # one layer's inputs (h, delta), its sorted scores and its output, the previous layer's
    # output (still held by the consumer) and small blocks;
    # the whole model's inputs alone are 2 * n_layers = 24 layer arrays
    assert peak < 5.5 * layer_bytes, peak / layer_bytes
