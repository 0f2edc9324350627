"""Tests of the torch trainer of lintheory.s2ft (the trained-model route)."""

import numpy as np
import pytest

from lintheory.errors import InputError, NotConvergedError
from lintheory.s2ft import channel_split_instance, lora_fit, s2ft_fit, sample_id
from lintheory.s2ft.train import train_adapter

#: trained GD network vs closed form (max-abs on F)
TRAIN_TOL = 1e-7


def _small():
    inst = channel_split_instance(3, widths=(5, 4, 4, 3), ell=2, r=1, channels=(0, 1), in_rows=(0,),
                                  out_rows=(3,))
    X, Y = sample_id(inst, 30, 4)
    return inst, X, Y


def test_s2ft_gd_matches_closed_form():
    inst, X, Y = _small()
    res = train_adapter(inst.layers, inst.ell, X, Y, method="s2ft", channels=inst.channels, device="cpu")
    assert np.abs(res.F - s2ft_fit(inst.layers, inst.ell, inst.channels, X, Y)).max() < TRAIN_TOL
    assert np.all(res.delta[2:] == 0.0)                 # only rows S move
    assert res.losses[0] >= res.loss


def test_trainer_bad_input():
    inst, X, Y = _small()
    with pytest.raises(InputError, match="method"):
        train_adapter(inst.layers, inst.ell, X, Y, method="dora")
    with pytest.raises(InputError, match="channels"):
        train_adapter(inst.layers, inst.ell, X, Y, method="s2ft")
    with pytest.raises(InputError, match="rank"):
        train_adapter(inst.layers, inst.ell, X, Y, method="lora")
    with pytest.raises(InputError, match="optimizer"):
        train_adapter(inst.layers, inst.ell, X, Y, method="full", optimizer="lbfgs")


def test_trainer_reports_non_convergence():
    inst, X, Y = _small()
    with pytest.raises(NotConvergedError):
        train_adapter(inst.layers, inst.ell, X, Y, method="full", steps=2, device="cpu")


@pytest.mark.slow
def test_lora_gd_matches_closed_form_larger():
    inst = channel_split_instance(0, widths=(20, 16, 16, 12), ell=2, r=2, channels=(0, 1, 2, 3),
                                  in_rows=(0, 1), out_rows=(14, 15))
    X, Y = sample_id(inst, 400, 1)
    res = train_adapter(inst.layers, inst.ell, X, Y, method="lora", r=2, steps=50_000, device="cpu")
    assert np.abs(res.F - lora_fit(inst.layers, inst.ell, 2, X, Y)).max() < 1e-6
