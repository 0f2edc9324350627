"""Trainers: the batched Adam equals torch.optim.Adam, masks follow the schedule, gains give c² shares."""

import numpy as np
import pytest

from lintheory.coto.data import gain_problem, teacher_student_chain
from lintheory.coto.train import (chain_metrics, distance_from_init, fusion_path, train_additive_gains,
                                  train_lora_chain, train_lora_chains)
from lintheory.errors import InputError


def _torch_reference(W, X, Y, A0, steps, lr):
    import torch

    t = dict(dtype=torch.float64)
    Wt = [torch.tensor(w, **t) for w in W]
    A = [torch.tensor(a, **t, requires_grad=True) for a in A0]
    B = [torch.zeros((w.shape[0], a.shape[0]), **t, requires_grad=True) for w, a in zip(W, A0)]
    opt = torch.optim.Adam(A + B, lr=lr)
    sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 1e-3)
    Xt, Yt = torch.tensor(X, **t), torch.tensor(Y, **t)
    for _ in range(steps):
        H = Xt
        for w, a, b in zip(Wt, A, B):
            H = H @ w.T + (H @ a.T) @ b.T
        loss = ((H - Yt) ** 2).sum() / X.shape[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sch.step()
    return [a.detach().numpy() for a in A], [b.detach().numpy() for b in B]


def test_batched_adam_matches_torch_adam():
    P = teacher_student_chain(3, 4, n_train=16, n_test=4, seed=0)
    res = train_lora_chain(P["W"], P["X_train"], P["Y_train"], method="vanilla", steps=60, lr=1e-2, seed=3)
    A, B = _torch_reference(P["W"], P["X_train"], P["Y_train"], res.A0, 60, 1e-2)
    assert max(np.abs(a - b).max() for a, b in zip(A, res.A)) < 1e-12
    assert max(np.abs(a - b).max() for a, b in zip(B, res.B)) < 1e-12


def test_runs_are_independent_of_batching():
    P = teacher_student_chain(3, 4, n_train=16, n_test=4, seed=1)
    runs = [{"method": "coto", "seed": 5}, {"method": "vanilla", "seed": 6}]
    both = train_lora_chains(P["W"], P["X_train"], P["Y_train"], runs=runs, steps=40)
    alone = train_lora_chains(P["W"], P["X_train"], P["Y_train"], runs=runs[:1], steps=40)
    assert np.allclose(both[0].A[1], alone[0].A[1], atol=1e-13)


def test_schedules_in_history():
    P = teacher_student_chain(4, 3, n_train=8, n_test=4, seed=2)
    runs = [{"method": "coto", "schedule": "official", "seed": 0}, {"method": "coto", "seed": 1}]
    off, pap = train_lora_chains(P["W"], P["X_train"], P["Y_train"], runs=runs, steps=200)
    assert np.all(off.history["active"] > 0)                       # official: never all off
    assert np.all(off.history["p"][150:] == 1) and off.history["p"][0] == pytest.approx(0.1 + 0.9 / 150)
    assert np.all(pap.history["active"][150:] == 1)
    assert np.mean(pap.history["active"][:150]) < 0.7              # about 0.5 expected


def test_skip_inactive_semantics():
    P = teacher_student_chain(4, 3, n_train=8, n_test=4, seed=3)
    kw = dict(steps=40, seed=4, lr=1e-2)
    skip = train_lora_chain(P["W"], P["X_train"], P["Y_train"], skip_inactive=True, **kw)
    zero = train_lora_chain(P["W"], P["X_train"], P["Y_train"], skip_inactive=False, **kw)
    M = skip.history["masks"]
    assert np.array_equal(M, zero.history["masks"])                  # same mask stream
    first_on = M.argmax(axis=0)
    # an adapter switched off after having been on: Adam momentum moves it only without skipping
    moved = [i for i in range(4) if (~M[first_on[i]:, i]).any()]
    assert moved and any(not np.allclose(skip.A[i], zero.A[i]) for i in moved)
    # a bypassed adapter whose B is still 0 has received no gradient, so A is untouched under skip
    never = np.flatnonzero(~M[:-1].any(axis=0) | (np.abs(np.stack(skip.B)).sum(axis=(1, 2)) == 0))
    for i in never:
        assert np.array_equal(skip.A[i], skip.A0[i])


def test_gain_shares_vanilla_square_law():
    g = gain_problem(4, 3, 12, seed=0)
    out, = train_additive_gains(g["W0"], g["X"], g["Y"], g["gains"], runs=[{"method": "vanilla", "seed": 0}],
                                steps=600, lr=0.05)
    assert out["loss"] < 1e-10
    assert np.allclose(out["shares"], g["gains"] ** 2 / np.sum(g["gains"] ** 2), atol=1e-8)


def test_metrics_and_fusion_path():
    P = teacher_student_chain(3, 4, n_train=16, n_test=32, seed=5)
    r1, r2 = train_lora_chains(P["W"], P["X_train"], P["Y_train"],
                               runs=[{"method": "coto", "seed": 0}, {"method": "coto", "seed": 1}], steps=100)
    m = chain_metrics(P["W"], r1.dW, P["X_test"], P["Y_test"])
    assert m["patterns"]["all"] == m["full"] and m["by_removed"][0] == m["full"]
    assert m["shapley"].sum() == pytest.approx(m["full"] - m["base"])
    f = fusion_path(P["W"], r1, r2, P["X_test"], P["Y_test"])
    assert f["fusion"][-1] == pytest.approx(m["full"]) and f["fusion_barrier"] >= 0
    assert distance_from_init(r1) > 0


def test_bad_trainer_input():
    I = np.eye(2)
    with pytest.raises(InputError):
        train_lora_chain([I], I, I, method="dropout")
    with pytest.raises(InputError):
        train_lora_chain([I], I, I, steps=0)
    with pytest.raises(InputError):
        train_lora_chain([np.eye(3)], I, I)
    with pytest.raises(InputError):
        train_lora_chain([I], I * np.nan, I)
    with pytest.raises(InputError):
        train_additive_gains(I, I, I, [1.0, -1.0], runs=[{"method": "vanilla", "seed": 0}])


@pytest.mark.slow
def test_full_profile_pruning_claims():
    from lintheory.claims import run_claim

    for cid in ("coto.train.pruning_robustness.deep_linear", "coto.train.gain_shares.coto_balanced"):
        rec = run_claim(cid, profile="full")
        assert rec["verdict"] == "holds", rec["details"]
