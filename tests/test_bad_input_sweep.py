"""Bad-input sweep over every public function of the six paper packages (issue 13, part 5).

Every name in each package's ``__all__`` that is a function gets one valid *baseline* call and a set of
perturbed calls generated from a small spec: NaN / inf entries, empty arrays, one dimension too many or
too few, complex entries, integer dtype, Python lists, torch tensors, extreme scales (1e-150, 1e150) and
non-integral / negative / NaN counts.  Each case has an expectation:

* ``"error"``: the call must raise a :class:`lintheory.errors.LintheoryError` whose message names the
  offending argument;
* ``"same"``: the call must return the baseline's answer (lists, tensors, integral counts);
* ``"match_float"``: integer dtype -- the outcome must equal the float64 call on the same values (the
  same answer, or the same lintheory error class);
* ``"scaled"``: the answer must equal the baseline transformed by the routine's exact scaling law (an
  invariance such as ``W_svm(cX) = W_svm(X)/c``), computed independently of the call;
* ``"either"``: a clear lintheory error or the baseline's answer (``3.0`` for a count of 3).

Every case is classified as *clear error*, *valid accepted*, *silent wrong* (a wrong answer or a NaN, or
no error where one is due), *generic traceback* (any exception that is not a LintheoryError) or *valid
refused*; the test fails on the last three.  ``python tests/test_bad_input_sweep.py`` prints the counts.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter

import numpy as np
import pytest
import torch

from lintheory import adadare, coto, lora_margin, perturb_merge, s2ft, svm
from lintheory.errors import LintheoryError

# ----------------------------------------------------------------------------------------------------------
# comparison of results

#: relative tolerance of "the same answer" (the routes are deterministic; float32/int casts are exact here)
SAME_RTOL = 1e-9
#: relative tolerance of a scaling law at 1e±150 (the rescaled routes lose a few ulps, solvers ~1e-8)
SCALE_RTOL = 1e-6


def _leaves(obj, prefix="r"):
    """Flatten a result into ``(path, value)`` leaves: numbers, arrays, strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if not f.name.startswith("_"):
                yield from _leaves(getattr(obj, f.name), f"{prefix}.{f.name}")
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            yield from _leaves(obj[k], f"{prefix}[{k!r}]")
    elif isinstance(obj, (list, tuple)) and not (obj and all(isinstance(x, (int, float, bool, np.number))
                                                          for x in obj)):
        for i, x in enumerate(obj):
            yield from _leaves(x, f"{prefix}[{i}]")
    elif isinstance(obj, torch.Tensor):
        yield prefix, obj.detach().cpu().numpy()
    elif callable(obj):
        return
    else:
        yield prefix, obj


def _numeric(v):
    if isinstance(v, (str, bytes)) or v is None:
        return None
    try:
        a = np.asarray(v)
    except Exception:
        return None
    if a.dtype.kind in "biufc":
        return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    return None


def non_finite(result) -> list[str]:
    """Paths of the leaves of ``result`` holding NaN (inf is judged against the baseline instead)."""
    bad = []
    for path, v in _leaves(result):
        a = _numeric(v)
        if a is not None and np.isnan(a).any():
            bad.append(path)
    return bad


def same(result, expected, rtol=SAME_RTOL) -> str | None:
    """``None`` when ``result`` equals ``expected`` leaf by leaf (relative ``rtol``), else the first mismatch."""
    got, want = dict(_leaves(result)), dict(_leaves(expected))
    if got.keys() != want.keys():
        return f"fields differ: {sorted(set(got) ^ set(want))[:4]}"
    for k, w in want.items():
        g = got[k]
        wa, ga = _numeric(w), _numeric(g)
        if wa is None or ga is None:
            if (wa is None) != (ga is None):
                return f"{k}: {g!r} vs {w!r}"
            if isinstance(w, np.ndarray) or isinstance(g, np.ndarray):
                if not np.array_equal(np.asarray(g), np.asarray(w)):
                    return f"{k}: {g!r} vs {w!r}"
            elif g != w:
                return f"{k}: {g!r} vs {w!r}"
            continue
        if ga.shape != wa.shape:
            return f"{k}: shape {ga.shape} vs {wa.shape}"
        if np.isnan(ga).any():
            return f"{k}: NaN"
        fin = np.isfinite(wa)
        if not np.array_equal(ga[~fin], wa[~fin]):
            return f"{k}: non-finite entries differ"
        scale = np.max(np.abs(wa[fin])) if fin.any() else 0.0
        err = np.max(np.abs(ga[fin] - wa[fin])) if fin.any() else 0.0
        if err > rtol * max(scale, 1e-300) and err > 0:
            return f"{k}: relative error {err / max(scale, 1e-300):.3g}"
    return None


# ----------------------------------------------------------------------------------------------------------
# specs


@dataclasses.dataclass
class Spec:
    """A public function, a valid baseline call and what may be perturbed.

    ``args``/``kwargs`` are the baseline.  A *key* names an argument: an int (position in ``args``) or a
    str (keyword); ``(key, i)`` is element ``i`` of a list argument.  ``arrays`` may be perturbed
    elementwise, ``shape_free`` keys broadcast (no wrong-shape cases), ``empty_ok`` keys accept empty
    arrays; ``counts`` are integer arguments; ``scales`` are ``(keys, law)`` with ``law(baseline, c)``
    the exact answer when every key is multiplied by ``c``; ``extra`` are hand-written cases
    ``(label, mutate, expectation)`` with ``mutate(args, kwargs)`` editing copies in place.
    """

    name: str
    fn: object
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    arrays: tuple = ()
    shape_free: tuple = ()
    empty_ok: tuple = ()
    counts: tuple = ()
    scales: tuple = ()
    extra: tuple = ()
    no_torch: tuple = ()
    no_int: tuple = ()


def _ortho(n, d, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, n)))
    return q.T.copy()


def _scale_field(**laws):
    """A law on a dataclass/dict baseline: ``field -> power`` of the scale factor (0: invariant)."""
    def law(base, c):
        if isinstance(base, dict):
            out = dict(base)
            for k, pw in laws.items():
                out[k] = np.asarray(base[k]) * c ** pw
            return out
        if dataclasses.is_dataclass(base):
            return dataclasses.replace(base, **{k: np.asarray(getattr(base, k)) * c ** pw
                                                if np.ndim(getattr(base, k)) else getattr(base, k) * c ** pw
                                                for k, pw in laws.items()})
        raise TypeError(type(base))
    return law


def power(k):
    return lambda base, c: _times(base, c ** k)


def _times(base, f):
    if isinstance(base, dict):
        return {k: _times(v, f) for k, v in base.items()}
    if isinstance(base, (tuple, list)):
        return type(base)(_times(v, f) for v in base)
    if isinstance(base, (float, int, np.floating)):
        return float(base) * f
    return np.asarray(base) * f


invariant = power(0)


def invariant_fields(base, c):
    return base


# --- svm -----------------------------------------------------------------------------------------------
Xo = _ortho(4, 6)
yo = np.array([0, 0, 1, 1])
Wo = svm.orthonormal_svm(Xo, yo)
Xg = np.array([[2.0, 0.3, 0.1], [1.5, -0.2, 0.4], [-0.1, 2.2, 0.3], [0.2, 1.8, -0.5], [-0.3, 0.1, 2.5],
               [0.4, -0.2, 1.9]])
yg = np.array([0, 0, 1, 1, 2, 2])
Wg = np.array([[1.0, -0.2, 0.1], [-0.1, 1.1, 0.2], [0.05, -0.3, 0.9]])
# the exact SVM of orthonormal class-balanced data and its multipliers (1/K on every competitor)
Wo3 = svm.orthonormal_svm(_ortho(6, 7, seed=2), yg)
Xo3 = _ortho(6, 7, seed=2)
dual_o3 = np.where(np.eye(3)[yg] > 0, 0.0, 1.0 / 3)


def _drop_solver_fields(res):
    return {"W": res.W, "classes": res.classes, "margin": res.margin,
            "normalized_margin": res.normalized_margin, "status": res.status}


def _hms(X, y, n_classes=None, **kw):
    return _drop_solver_fields(svm.hard_margin_svm(X, y, n_classes, **kw))


def _hms_law(base, c):
    return {**base, "W": base["W"] / c, "normalized_margin": base["normalized_margin"] * c}


SVM = [
    Spec("svm.multiclass_margin", svm.multiclass_margin, (Wg, Xg, yg), arrays=(0, 1),
         scales=(((0,), power(1)), ((1,), power(1)))),
    Spec("svm.normalized_margin", svm.normalized_margin, (Wg, Xg, yg), arrays=(0, 1),
         scales=(((0,), invariant), ((1,), power(1)))),
    Spec("svm.sample_margins", svm.sample_margins, (Wg, Xg, yg), arrays=(0, 1),
         scales=(((0,), power(1)), ((1,), power(1)))),
    Spec("svm.hard_margin_svm", _hms, (Xg, yg), arrays=(0,), scales=(((0,), _hms_law),)),
    Spec("svm.kkt_certificate", svm.kkt_certificate, (Wo3, Xo3, yg, dual_o3), arrays=(0, 1, 3),
         scales=(((0,), None),)),
    Spec("svm.distance_to_optimum_bound", svm.distance_to_optimum_bound, (Wo3, Xo3, yg, dual_o3),
         arrays=(0, 1, 3)),
    Spec("svm.orthonormal_svm", svm.orthonormal_svm, (Xo, yo), arrays=(0,), no_int=(0,)),
    Spec("svm.max_normalized_margin", svm.max_normalized_margin, (2, 3), kwargs={"K": 4}, counts=(0, 1, "K")),
    Spec("svm.svm_frobenius_norm", svm.svm_frobenius_norm, (2, 3), kwargs={"K": 4}, counts=(0, 1, "K")),
]

# --- lora_margin ------------------------------------------------------------------------------------------
Xl = _ortho(6, 9, seed=1)
yl = np.array([0, 0, 2, 2, 3, 3])


LORA = [
    Spec("lora_margin.optimum", lora_margin.optimum, (6, 3, 2, 0.15), arrays=(3,), shape_free=(3,),
         counts=(0, 1, 2), empty_ok=(3,)),
    Spec("lora_margin.thresholds", lora_margin.thresholds, (6, 3, 2), counts=(0, 1, 2)),
    Spec("lora_margin.adapter", lora_margin.adapter, (Xl, yl, 5, 0.05), arrays=(0,), counts=(2,),
         no_int=(0,)),
    Spec("lora_margin.template", lora_margin.template, (3, 2, 1.0, 0.5, 0.25), counts=(0, 1)),
    Spec("lora_margin.intermediate_lambda", lora_margin.intermediate_lambda, (6, 3, 2, 1.5), arrays=(3,),
         shape_free=(3,), counts=(0, 1, 2), empty_ok=(3,)),
    Spec("lora_margin.check_problem", lora_margin.check_problem, (Xl, yl, 5), arrays=(0,), counts=(2,),
         no_int=(0,)),
    Spec("lora_margin.check_lora_rank", lora_margin.check_lora_rank, (3, 6, 3, 2, 0.01), counts=(0, 1, 2, 3)),
    Spec("lora_margin.rank_of_optimum", lora_margin.rank_of_optimum, (6, 3, 2, 0.01), counts=(0, 1, 2)),
    Spec("lora_margin.forgetting_margins", lora_margin.forgetting_margins, (4, 3, 2, 0.08),
         kwargs={"rho_pre": 2.0, "normalized_margin_pre": 0.5}, arrays=(3,), shape_free=(3,), counts=(0, 1, 2),
         empty_ok=(3,)),
    Spec("lora_margin.optimal_lambda", lora_margin.optimal_lambda, (6, 3, 2, 1.0), kwargs={"rho_pre": 2.0},
         counts=(0, 1, 2)),
    Spec("lora_margin.merge_coefficients", lora_margin.merge_coefficients, (1.0, np.array([2.0, 0.5])),
         kwargs={"rho_pre": 1.0, "task_thetas": np.array([2.0, 1.0])}, arrays=(1, "task_thetas"),
         scales=(((0, 1), _scale_field(value=1)), ((0, 1, "rho_pre", "task_thetas"), invariant_fields))),
    Spec("lora_margin.merged_margins", lora_margin.merged_margins, (np.array([0.5, 2.0]),),
         kwargs={"margin_pre": 1.0, "rho_pre": 1.0, "task_margins": np.array([2.0, 0.5]),
                 "task_thetas": np.array([2.0, 1.0])}, arrays=(0, "task_margins", "task_thetas"), shape_free=(0,),
         scales=((("margin_pre", "task_margins"), _scale_field(tasks=1, pre=1, union=1)),
                 (("rho_pre", "task_thetas"), _scale_field(tasks=-1, pre=-1, union=-1)))),
]


def _tiny_lam(args, kw):
    args[3] = 1e-310


def _huge_lam(args, kw):
    args[3] = 1e300


LORA[0].extra = (("lam=1e-310", _tiny_lam, "finite"), ("lam=1e300", _huge_lam, "finite"))
_forget_extra = (("lam=1e-310", _tiny_lam, "finite"),)
LORA[8].extra = _forget_extra

# --- s2ft --------------------------------------------------------------------------------------------------
_rs = np.random.default_rng(3)
Ls = [_rs.normal(size=(3, 3)), _rs.normal(size=(3, 3))]
Xs_ = _rs.normal(size=(30, 3))
Ys_ = Xs_ @ _rs.normal(size=(3, 3)).T
Bs = _rs.normal(size=(3, 3))
Sx = np.eye(3) + 0.1 * np.ones((3, 3))
Bo = Bs + 0.3 * _rs.normal(size=(3, 3))
S2 = [
    Spec("s2ft.full_fit", s2ft.full_fit, (Ls, 1, Xs_, Ys_), arrays=((0, 0), 2, 3), counts=(1,),
         scales=(((3,), None),)),
    Spec("s2ft.s2ft_fit", s2ft.s2ft_fit, (Ls, 1, [1], Xs_, Ys_), arrays=((0, 0), 3, 4), counts=(1,),
         scales=(((4,), None),)),
    Spec("s2ft.lora_fit", s2ft.lora_fit, (Ls, 1, 1, Xs_, Ys_), arrays=((0, 0), 3, 4), counts=(1, 2),
         scales=(((4,), None),)),
    Spec("s2ft.excess_risk", s2ft.excess_risk, (np.zeros((3, 3)), Bs, Sx), arrays=(0, 1, 2),
         scales=(((2,), power(1)), ((0, 1), power(2)))),
    Spec("s2ft.full_population", s2ft.full_population, (Ls, 1, Bs, Sx), arrays=((0, 0), 2, 3), counts=(1,),
         scales=(((2,), None), ((3,), None))),
    Spec("s2ft.s2ft_population", s2ft.s2ft_population, (Ls, 1, [0], Bs, Sx), arrays=((0, 0), 3, 4),
         counts=(1,), scales=(((3,), None),)),
    Spec("s2ft.lora_population", s2ft.lora_population, (Ls, 1, 1, Bs, Sx), arrays=((0, 0), 3, 4),
         counts=(1, 2), scales=(((3,), None),)),
    Spec("s2ft.lora_factors", s2ft.lora_factors, (Ls, 1, 1, Xs_, Ys_), arrays=((0, 0), 3, 4), counts=(1, 2)),
    Spec("s2ft.s2ft_adapter", s2ft.s2ft_adapter, (Ls, 1, [1], Xs_, Ys_), arrays=((0, 0), 3, 4), counts=(1,),
         scales=(((4,), None),)),
    Spec("s2ft.network_parts", s2ft.network_parts, (Ls, 2), arrays=((0, 0),), counts=(1,)),
    Spec("s2ft.s2ft_ood_identity", s2ft.s2ft_ood_identity, (Ls, 1, [0], Bs, Bo, Sx),
         arrays=((0, 0), 3, 4, 5), counts=(1,)),
    Spec("s2ft.s2ft_ood_bound_sharp", s2ft.s2ft_ood_bound_sharp, (Ls, 1, [0], Bs, Bo, Sx),
         arrays=((0, 0), 3, 4, 5), counts=(1,), scales=(((3, 4), None),)),
    Spec("s2ft.no_free_lunch_slack", s2ft.no_free_lunch_slack, (np.zeros((3, 3)), Bs, Bo, Sx),
         arrays=(0, 1, 2, 3), scales=(((0, 1, 2), power(1)),)),
    Spec("s2ft.random_instance", s2ft.random_instance, (0,), kwargs={"max_dim": 4},
         counts=("max_dim",)),
    Spec("s2ft.channel_split_instance", s2ft.channel_split_instance, (0,),
         kwargs={"widths": (8, 6, 6, 5), "channels": (1, 3), "in_rows": (1,), "out_rows": (2,), "ell": 2,
                 "r": 2}, counts=("ell", "r")),
    Spec("s2ft.sample_id", s2ft.sample_id, (s2ft.random_instance(0, max_dim=4), 5, 0), counts=(1,)),
]

# --- adadare -------------------------------------------------------------------------------------------------
ha = np.array([1.0, 2.0, 0.5, 4.0])
da = np.array([1.0, -3.0, 0.5, 2.0])
qa = np.array([0.5, 0.1, 0.9, 0.0])


ADA = [
    Spec("adadare.coordinate_loss", adadare.coordinate_loss, (qa, 0.5), arrays=(0,), shape_free=(0,),
         empty_ok=(0,)),
    Spec("adadare.drop_and_rescale", adadare.drop_and_rescale, (da, qa, 0.5), kwargs={"seed": 0},
         arrays=(0, 1), scales=(((0,), power(1)),)),
    Spec("adadare.drop_probabilities", adadare.drop_probabilities, (ha, da, 0.5), arrays=(0, 1),
         scales=(((0,), invariant), ((1,), invariant), ((0, 1), invariant))),
    Spec("adadare.drop_probabilities[paper]", adadare.drop_probabilities, (ha, da, 0.5, "paper"),
         arrays=(0, 1), scales=(((0,), invariant), ((1,), invariant), ((0, 1), invariant))),
    Spec("adadare.solve_drop_probabilities", lambda *a, **k: adadare.solve_drop_probabilities(*a, **k).probs,
         (ha, da, 0.5), arrays=(0, 1), scales=(((0, 1), invariant),)),
    Spec("adadare.expected_diag_loss", adadare.expected_diag_loss, (ha, da, qa, 0.5), arrays=(0, 1, 2),
         scales=(((0,), power(1)), ((1,), power(2)))),
    Spec("adadare.expected_layer_loss", adadare.expected_layer_loss, (da.reshape(2, 2), qa.reshape(2, 2), 0.5),
         kwargs={"gram": np.array([[1.0, 0.5], [0.5, 1.0]])}, arrays=(0, 1, "gram"),
         scales=((("gram",), power(1)), ((0,), power(2)))),
    Spec("adadare.loss_parts", adadare.loss_parts, (ha, da, qa, 0.5), arrays=(0, 1, 2),
         scales=(((0,), power(1)),)),
    Spec("adadare.expected_l1", adadare.expected_l1, (da, 0.5), arrays=(0,), scales=(((0,), power(1)),)),
    Spec("adadare.gamma_bound", lambda d, e: adadare.gamma_bound(d, e).bound, (da, 2.0), arrays=(0,),
         scales=(((0,), power(-1)), ((0, 1), invariant))),
    Spec("adadare.l1_exceedance_probability", adadare.l1_exceedance_probability, (da, qa, 1.0, 4.0),
         arrays=(0, 1), scales=(((0, 3), invariant),)),
    Spec("adadare.optimal_gamma", adadare.optimal_gamma, (ha, da, qa), arrays=(0, 1, 2),
         scales=(((0,), invariant), ((1,), invariant))),
    Spec("adadare.scores", adadare.scores, (ha, da), arrays=(0, 1), scales=(((1,), power(1)),)),
    Spec("adadare.hessian_diag_from_activations", adadare.hessian_diag_from_activations,
         (np.array([[1.0, 2.0], [0.5, -1.0]]), 2), arrays=(0,), counts=(1,), scales=(((0,), power(2)),)),
    Spec("adadare.cvxpy_drop_probabilities", lambda *a, **k: adadare.cvxpy_drop_probabilities(*a, **k).probs,
         (ha, da, 0.5), arrays=(0, 1)),
    Spec("adadare.kkt_residuals", lambda *a, **k: adadare.kkt_residuals(*a, **k)["max"],
         (np.sqrt(ha) * np.abs(da), adadare.drop_probabilities(ha, da, 0.5), 0.5), arrays=(0, 1)),
]


def _iter_drop(layers, p, **kw):
    return dict(adadare.iter_drop_probabilities(layers, p, **kw))


def _layer(f):
    def m(args, kw):
        args[0] = {"fc": f(np.asarray(args[0]["fc"]))}
    return m


ADA.append(Spec("adadare.iter_drop_probabilities", _iter_drop, ({"fc": da},), kwargs={"h_diag": {"fc": ha}},
                extra=(("delta nan", _layer(lambda d: _with_nan(d, np.nan)), "error"),
                       ("delta complex", _layer(lambda d: d + 1j), "error"),
                       ("delta torch", _layer(torch.as_tensor), "same"),
                       ("delta list", _layer(lambda d: d.tolist()), "same"),
                       ("delta empty", _layer(lambda d: d[:0]), "error"),
                       ("delta*1e-150", _layer(lambda d: d * 1e-150), "same"))))
ADA[-1].args = ({"fc": da}, 0.5)


def _paper_tiny(args, kw):
    args[0] = np.asarray(args[0]) * 1e-150
    args[1] = np.asarray(args[1]) * 1e-150


def _wf_tiny(args, kw):
    args[0] = np.asarray(args[0]) * 1e-300
    args[1] = np.asarray(args[1]) * 1e-200


ADA[3].extra = (("h,delta*1e-150", _paper_tiny, "same"), ("h*1e-300,delta*1e-200", _wf_tiny, "same"))
ADA[2].extra = (("h*1e-300,delta*1e-200", _wf_tiny, "same"),)
ADA[4].extra = (("h*1e-300,delta*1e-200", _wf_tiny, "same"),)
for _s in ADA:
    if _s.name in ("adadare.expected_l1", "adadare.gamma_bound"):
        _s.shape_free, _s.empty_ok = (0,), (0,)
    if _s.name == "adadare.hessian_diag_from_activations":
        _s.empty_ok = (0,)

# --- perturb_merge ---------------------------------------------------------------------------------------------
th0 = np.zeros(3)
opt1, opt2 = np.array([1.0, 0.0, 0.5]), np.array([0.0, 1.0, 0.2])
H1 = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 1.5]])
H2 = np.diag([1.0, 3.0, 2.0])
dl = opt2 - opt1
Hq = np.array([[2.0, 0.5], [0.5, 1.0]])


def _quad(th):
    """A quadratic loss that works on numpy arrays and on torch tensors (differentiably)."""
    if isinstance(th, torch.Tensor):
        return 0.5 * th @ torch.as_tensor(Hq, dtype=th.dtype) @ th
    return 0.5 * th @ Hq @ th


def _alpha_fields(res):
    return {"alpha": res.alpha, "unconstrained": res.unconstrained, "clipped": res.clipped}


def _sched(eps=0.5, **kw):
    return perturb_merge.perturbation_schedule(eps, **kw)


torch.manual_seed(0)
_mlin = torch.nn.Linear(2, 1, bias=False).double()
with torch.no_grad():
    _mlin.weight.copy_(torch.tensor([[0.3, -0.2]], dtype=torch.float64))
_Xt = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=torch.float64)
_yt = torch.tensor([1.0, 1.0, 0.5], dtype=torch.float64)


def _mse(out, t):
    return 0.5 * ((out.squeeze(-1) - t) ** 2).mean()


def _nan_data(args, kw):
    X = args[2][0].clone()
    X[0, 0] = float("nan")
    args[2] = (X, args[2][1])


def _empty_data(args, kw):
    args[2] = (args[2][0][:0], args[2][1][:0])


_fisher_extra = (("data NaN", _nan_data, "error"), ("data empty", _empty_data, "error"))

PM = [
    Spec("perturb_merge.optimal_alpha", lambda *a, **k: _alpha_fields(perturb_merge.optimal_alpha(*a, **k)),
         (th0 + opt1, [opt1, opt2], [H1, H2], dl), arrays=(0, (1, 0), (2, 0), 3),
         scales=((((2, 0), (2, 1)), invariant), ((0, (1, 0), (1, 1), 3), invariant),
                 ((0, (1, 0), (1, 1), 3, (2, 0), (2, 1)), invariant))),
    Spec("perturb_merge.merge_objective", perturb_merge.merge_objective, (0.5, opt1, [opt1, opt2], [H1, H2], dl),
         arrays=(1, (2, 0), (3, 0), 4), scales=((((3, 0), (3, 1)), power(1)),)),
    Spec("perturb_merge.bound_terms", lambda *a: perturb_merge.bound_terms(*a).value,
         (opt1, [opt1, opt2], [H1, H2], dl), arrays=(0, (1, 0), (2, 0), 3)),
    Spec("perturb_merge.fisher_merge_point", perturb_merge.fisher_merge_point, ([opt1, opt2], [H1, H2]),
         arrays=((0, 0), (1, 0)), scales=((((1, 0), (1, 1)), invariant),)),
    Spec("perturb_merge.pm_sequence", lambda *a, **k: perturb_merge.pm_sequence(*a, **k)["alphas"],
         ([H1, H2], [opt1, opt2], th0), arrays=((0, 0), (1, 0), 2),
         scales=((((0, 0), (0, 1)), invariant),)),
    Spec("perturb_merge.fd_quadratic_form", perturb_merge.fd_quadratic_form,
         (_quad, np.array([0.3, -1.0]), np.array([1.0, 2.0]), 0.5), arrays=(1, 2)),
    Spec("perturb_merge.perturbation_schedule", perturb_merge.perturbation_schedule, (0.5,),
         kwargs={"p0": 1 / 3}),
    Spec("perturb_merge.regularised_loss", perturb_merge.regularised_loss,
         (_quad, np.zeros(2), np.ones(2), _sched(lam=0.1)), arrays=(1, 2)),
    Spec("perturb_merge.expected_perturbed_loss", perturb_merge.expected_perturbed_loss,
         (_quad, np.zeros(2), np.ones(2), _sched(p0=1 / 3)), arrays=(1, 2)),
    Spec("perturb_merge.perturbation_shrink_factor", perturb_merge.perturbation_shrink_factor, (1 / 12,)),
    Spec("perturb_merge.empirical_fisher_diag", perturb_merge.empirical_fisher_diag, (_mlin, _mse, (_Xt, _yt)),
         extra=_fisher_extra),
    Spec("perturb_merge.empirical_fisher_diag_loop", perturb_merge.empirical_fisher_diag_loop,
         (_mlin, _mse, (_Xt, _yt)), extra=_fisher_extra),
    Spec("perturb_merge.empirical_fisher", perturb_merge.empirical_fisher, (_mlin, _mse, (_Xt, _yt)),
         extra=_fisher_extra),
    Spec("perturb_merge.hessian_matrix", perturb_merge.hessian_matrix, (_mlin, _mse, (_Xt, _yt)),
         extra=_fisher_extra),
    Spec("perturb_merge.hessian_diag", perturb_merge.hessian_diag, (_mlin, _mse, (_Xt, _yt)),
         extra=_fisher_extra),
    Spec("perturb_merge.hvp_operator", lambda *a: perturb_merge.hvp_operator(*a)(np.array([1.0, 2.0])),
         (_mlin, _mse, (_Xt, _yt)), extra=_fisher_extra),
    Spec("perturb_merge.hvp_operator[v]", lambda v: perturb_merge.hvp_operator(_mlin, _mse, (_Xt, _yt))(v),
         (np.array([1.0, 2.0]),), arrays=(0,), scales=(((0,), power(1)),)),
]


def _pm_eps(v):
    def m(args, kw):
        args[0] = v
    return m


PM[6].extra = (("eps=0", _pm_eps(0.0), "error"), ("eps=nan", _pm_eps(float("nan")), "error"),
               ("eps=2", _pm_eps(2.0), "error"))
PM[9].extra = (("lam=nan", _pm_eps(float("nan")), "error"), ("lam=-1", _pm_eps(-1.0), "error"))

# --- coto -------------------------------------------------------------------------------------------------------
_rc = np.random.default_rng(5)
Wc = [np.eye(2) + 0.1 * _rc.normal(size=(2, 2)) for _ in range(3)]
dWc = [0.3 * _rc.normal(size=(2, 2)) for _ in range(3)]
Xc = _rc.normal(size=(4, 2))
Yc = _rc.normal(size=(4, 2))
preds_c = coto.forward_all_masks(Wc, dWc, Xc)
table_c = coto.losses_all_masks(Wc, dWc, Xc, Yc)
wv = np.array([1.0, 2.0, 3.0])


def _additive(m):
    m = np.asarray(m, dtype=float)
    return float(wv @ m + 0.5 * m[0] * m[1])


def _nan_value(m):
    return float("nan")


def _set(key, v):
    def m(args, kw):
        if isinstance(key, int):
            args[key] = v
        else:
            kw[key] = v
    return m


Br = [0.5 * _rc.normal(size=(3, 2)) for _ in range(2)]
Ar = [0.5 * _rc.normal(size=(2, 3)) for _ in range(2)]
COTO = [
    Spec("coto.activation_probability", coto.activation_probability, (300, 1200),
         arrays=(0,), shape_free=(0,), empty_ok=(0,),
         extra=(("T=nan", _set(1, float("nan")), "error"), ("T=0", _set(1, 0), "error"),
                ("T=str", _set(1, "1200"), "error"), ("T=1200.0", _set(1, 1200.0), "same"))),
    Spec("coto.sample_masks", coto.sample_masks, (0.5, 4, 3), kwargs={"seed": 0}, counts=(1, 2)),
    Spec("coto.expected_compute_fraction", coto.expected_compute_fraction, ("paper",), kwargs={"T": 1000},
         counts=("T",)),
    Spec("coto.all_masks", coto.all_masks, (3,), counts=(0,)),
    Spec("coto.mask_sizes", coto.mask_sizes, (3,), counts=(0,)),
    Spec("coto.mask_probabilities", coto.mask_probabilities, (0.25, 3), counts=(1,)),
    Spec("coto.binomial_weights", coto.binomial_weights, (0.5, 3), counts=(1,)),
    Spec("coto.forward", coto.forward, (Wc, dWc, Xc, [True, False, True]), arrays=((0, 0), (1, 0), 2),
         scales=(((2,), power(1)),)),
    Spec("coto.forward_all_masks", coto.forward_all_masks, (Wc, dWc, Xc), arrays=((0, 0), (1, 0), 2),
         scales=(((2,), power(1)),)),
    Spec("coto.losses_all_masks", coto.losses_all_masks, (Wc, dWc, Xc, Yc), arrays=((0, 0), (1, 0), 2, 3),
         scales=(((2, 3), power(2)),)),
    Spec("coto.loss_values", coto.loss_values, (preds_c, Yc), arrays=(0, 1), shape_free=(0,), empty_ok=(0,), scales=(((0, 1), power(2)),)),
    Spec("coto.size_averages", coto.size_averages, (table_c,), arrays=(0,), scales=(((0,), power(1)),)),
    Spec("coto.expected_loss", coto.expected_loss, (table_c, 0.3), arrays=(0,), scales=(((0,), power(1)),)),
    Spec("coto.size_j_mean_predictions", coto.size_j_mean_predictions, (preds_c,), arrays=(0,),
         scales=(((0,), power(1)),)),
    Spec("coto.jensen_chain", coto.jensen_chain, (preds_c, Yc, 0.3), arrays=(0, 1)),
    Spec("coto.mse_jensen_gap", coto.mse_jensen_gap, (preds_c, 0.3), arrays=(0,), scales=(((0,), power(2)),)),
    Spec("coto.expected_prediction_deep_linear", coto.expected_prediction_deep_linear, (Wc, dWc, Xc, 0.3),
         arrays=((0, 0), (1, 0), 2), scales=(((2,), power(1)),)),
    Spec("coto.size_j_predictions_dp", coto.size_j_predictions_dp, (Wc, dWc, Xc), arrays=((0, 0), (1, 0), 2),
         scales=(((2,), power(1)),)),
    Spec("coto.multilinear_mse_deep_linear", coto.multilinear_mse_deep_linear,
         (Wc, dWc, Xc, Yc, np.array([0.2, 0.5, 0.9])), arrays=((0, 0), (1, 0), 2, 3, 4), shape_free=(4,),
         scales=(((2, 3), power(2)),)),
    Spec("coto.shapley_deep_linear_mse", coto.shapley_deep_linear_mse, (Wc, dWc, Xc, Yc),
         arrays=((0, 0), (1, 0), 2, 3), scales=(((2, 3), power(2)),)),
    Spec("coto.additive_expected_mse", coto.additive_expected_mse, (np.ones((2, 2)), 0.3 * np.ones((3, 2, 2)), 0.5),
         arrays=(0, 1), scales=(((0, 1), power(2)),)),
    Spec("coto.additive_fixed_p_optimum", coto.additive_fixed_p_optimum, (np.ones(2), 3, 0.5), arrays=(0,),
         counts=(1,), shape_free=(0,), scales=(((0,), power(1)),)),
    Spec("coto.quadratic_game_shapley", coto.quadratic_game_shapley, (np.ones(2), 0.4 * np.ones((3, 2))),
         arrays=(0, 1), scales=(((0, 1), power(2)),)),
    Spec("coto.conditional_weights_require_active", coto.conditional_weights_require_active, (0.5, 3),
         counts=(1,)),
    Spec("coto.value_table", coto.value_table, (_additive, 3), counts=(1,)),
    Spec("coto.shapley_exact", coto.shapley_exact, (_additive, 3), counts=(1,),
         extra=(("value NaN", _set(0, _nan_value), "error"),)),
    Spec("coto.shapley_from_table", coto.shapley_from_table, (np.array([0.0, 1.0, 2.0, 5.0]),), arrays=(0,),
         scales=(((0,), power(1)),)),
    Spec("coto.shapley_permutations_exact", coto.shapley_permutations_exact, (np.array([0.0, 1.0, 2.0, 5.0]),),
         arrays=(0,), scales=(((0,), power(1)),)),
    Spec("coto.shapley_multilinear", coto.shapley_multilinear, (np.array([0.0, 1.0, 2.0, 5.0]),), arrays=(0,),
         scales=(((0,), power(1)),)),
    Spec("coto.shapley_permutation_mc", lambda *a, **k: coto.shapley_permutation_mc(*a, **k).values,
         (_additive, 3, 8), kwargs={"seed": 0}, counts=(1, 2),
         extra=(("value NaN", _set(0, _nan_value), "error"),)),
    Spec("coto.shapley_owen_mc", lambda *a, **k: coto.shapley_owen_mc(*a, **k).values,
         (_additive, 3, 4), kwargs={"seed": 0}, counts=(1, 2),
         extra=(("value NaN", _set(0, _nan_value), "error"),)),
    Spec("coto.contribution_shares", coto.contribution_shares, (np.array([-1.0, -3.0]),), arrays=(0,),
         scales=(((0,), invariant),)),
    Spec("coto.performance_from_loss", lambda f: coto.performance_from_loss(f)(np.array([1, 0, 1])),
         (lambda m: float(np.sum(m) + 1.0),)),
    Spec("coto.fuse_lora", coto.fuse_lora, (Br[0], Ar[0], Br[1], Ar[1], 0.5), arrays=(0, 1, 2, 3)),
    Spec("coto.ensemble_lora", coto.ensemble_lora, (Br[0], Ar[0], Br[1], Ar[1], 0.5), arrays=(0, 1, 2, 3)),
    Spec("coto.fusion_minus_ensemble", coto.fusion_minus_ensemble, (Br[0], Ar[0], Br[1], Ar[1], 0.5),
         arrays=(0, 1, 2, 3)),
    Spec("coto.loss_barrier", coto.loss_barrier, (np.array([0, 0.5, 1]), np.array([1.0, 3.0, 1.0])),
         arrays=(0, 1), scales=(((1,), power(1)),)),
    Spec("coto.pruning_patterns", coto.pruning_patterns, (6,), counts=(0,)),
    Spec("coto.keep_mask", coto.keep_mask, (3, [1]), counts=(0,)),
    Spec("coto.mask_index", coto.mask_index, (np.array([True, False, True]),)),
    Spec("coto.theorem31_rhs_printed", coto.theorem31_rhs_printed, (preds_c, Yc, 0.3), arrays=(0, 1),
         scales=(((0, 1), power(2)),)),
    Spec("coto.theorem31_printed_counterexample", coto.theorem31_printed_counterexample, (0.25,)),
]


def _p_bad(v, key=0):
    return _set(key, v)


for _s in COTO:
    if _s.name in ("coto.mask_probabilities", "coto.binomial_weights", "coto.sample_masks"):
        _s.extra = (("p=nan", _p_bad(float("nan")), "error"), ("p=1.5", _p_bad(1.5), "error"))
    if _s.name in ("coto.fuse_lora", "coto.ensemble_lora", "coto.fusion_minus_ensemble"):
        _s.extra = (("lam=nan", _p_bad(float("nan"), 4), "error"),)

LABELS = np.array(["cat", "dog", "emu", "fox", "gnu"])


def _relabel(f, key=1):
    def m(args, kw):
        _put(args, kw, key, f(np.asarray(_get(args, kw, key))))
    return m


def _expect_same_as(spec, **overrides):
    """The baseline's answer with some fields replaced (the label-dependent ones)."""
    def check(res):
        base = baseline(spec)
        if isinstance(base, dict):
            base = {**base, **overrides}
        return same(res, base)
    return check


def _scale_X(c, key=0):
    def m(args, kw):
        _put(args, kw, key, np.asarray(_get(args, kw, key)) * c)
    return m


_hms_spec = SVM[3]
_hms_spec.extra = (
    ("labels*10", _relabel(lambda y: y * 10), _expect_same_as(_hms_spec, classes=np.array([0, 10, 20]))),
    ("labels str", _relabel(lambda y: LABELS[y]), _expect_same_as(_hms_spec, classes=LABELS[:3])),
    ("labels float", _relabel(lambda y: y + 0.5), _expect_same_as(_hms_spec, classes=np.array([0.5, 1.5, 2.5]))),
    ("labels 2-d", _relabel(lambda y: y[:, None]), "error"),
    ("labels nan", _relabel(lambda y: np.where(y == 0, np.nan, y)), "error"),
    ("labels mixed", lambda a, k: a.__setitem__(1, [0, 0, "b", "b", 2, 2]), "error"),
    ("labels None", lambda a, k: a.__setitem__(1, [0, 0, None, None, 2, 2]), "error"),
    ("X*1e-200", _scale_X(1e-200), lambda r: same(r, _hms_law(baseline(_hms_spec), 1e-200), SCALE_RTOL)),
    ("X*1e160", _scale_X(1e160), lambda r: same(r, _hms_law(baseline(_hms_spec), 1e160), SCALE_RTOL)),
    ("X*1e-300", _scale_X(1e-300), lambda r: same(r, _hms_law(baseline(_hms_spec), 1e-300), SCALE_RTOL)),
)
for _s in SVM[:3]:
    _s.extra = (("labels*10", _relabel(lambda y: y * 10, 2), "same"),
                ("labels str", _relabel(lambda y: LABELS[y], 2), "same"),
                ("labels 2-d", _relabel(lambda y: y[:, None], 2), "error"))
SVM[6].extra = (("labels*10", _relabel(lambda y: y * 10), "same"),
                ("labels str", _relabel(lambda y: LABELS[y]), "same"),
                ("X*1e-200", _scale_X(1e-200), "error"))
for _s in (LORA[2], LORA[5]):
    _s.extra = (("labels str", _relabel(lambda y: LABELS[y]), "error"),
                ("labels str + classes", lambda a, k: (_relabel(lambda y: LABELS[y])(a, k),
                                                       k.update(classes=LABELS)), "same"),
                ("labels*10 + classes", lambda a, k: (_relabel(lambda y: y * 10)(a, k),
                                                      k.update(classes=np.arange(5) * 10)), "same"))

SPECS = SVM + LORA + S2 + ADA + PM + COTO

# ----------------------------------------------------------------------------------------------------------
# case generation


def _get(args, kwargs, key):
    if isinstance(key, tuple):
        return _get(args, kwargs, key[0])[key[1]]
    return args[key] if isinstance(key, int) else kwargs[key]


def _put(args, kwargs, key, value):
    if isinstance(key, tuple):
        outer = list(_get(args, kwargs, key[0]))
        outer[key[1]] = value
        _put(args, kwargs, key[0], outer)
    elif isinstance(key, int):
        args[key] = value
    else:
        kwargs[key] = value


def _keyname(spec, key):
    import inspect
    if isinstance(key, tuple):
        return _keyname(spec, key[0])
    if isinstance(key, str):
        return key
    fn = spec.fn
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    if params and params[0] == "a" or (len(params) > key and params[key] in ("args",)):
        return None
    return params[key] if key < len(params) and not params[key].startswith("*") else None


@dataclasses.dataclass
class Case:
    spec: Spec
    label: str
    mutate: object
    expect: str            # error | same | match_float | scaled | either | finite
    arg: str | None = None  # the argument's name the error message should mention
    law: object = None
    factor: float = 1.0
    key: object = None

    @property
    def id(self):
        return f"{self.spec.name}:{self.label}"


def _mut_value(key, f):
    def m(args, kwargs):
        _put(args, kwargs, key, f(_get(args, kwargs, key)))
    return m


def _with_nan(v, val):
    a = np.array(v, dtype=float, copy=True)
    if a.ndim == 0:
        return np.float64(val)
    a.flat[0] = val
    return a


def cases_of(spec: Spec):
    out = []
    for key in spec.arrays:
        name = _keyname(spec, key)
        out += [Case(spec, f"{key}:nan", _mut_value(key, lambda v: _with_nan(v, np.nan)), "error", name),
                Case(spec, f"{key}:inf", _mut_value(key, lambda v: _with_nan(v, np.inf)), "error", name),
                Case(spec, f"{key}:complex", _mut_value(key, lambda v: np.asarray(v) + 1j), "error", name),
                Case(spec, f"{key}:list", _mut_value(key, lambda v: np.asarray(v).tolist()), "same")]
        if key not in spec.no_torch:
            out.append(Case(spec, f"{key}:torch", _mut_value(key, lambda v: torch.as_tensor(np.asarray(v))),
                            "same"))
            out.append(Case(spec, f"{key}:torch-grad",
                            _mut_value(key, lambda v: torch.tensor(np.asarray(v, dtype=float), requires_grad=True)),
                            "same"))
        if key not in spec.no_int:
            out.append(Case(spec, f"{key}:int", _mut_value(key, lambda v: np.rint(np.asarray(v) * 4)
                                                           .astype(np.int64)), "match_float", key=key))
        if key not in spec.shape_free:
            out += [Case(spec, f"{key}:ndim+1", _mut_value(key, lambda v: np.asarray(v)[None]), "error", name)]
            out += [Case(spec, f"{key}:ndim-1",
                         _mut_value(key, lambda v: np.asarray(v).ravel() if np.ndim(v) > 1
                                    else np.asarray(v)[0]), "error", name)]
        if key not in spec.empty_ok:
            out.append(Case(spec, f"{key}:empty",
                            _mut_value(key, lambda v: np.asarray(v)[:0] if np.ndim(v) else np.array([])),
                            "error", name))
    for key in spec.counts:
        name = _keyname(spec, key)
        out += [Case(spec, f"{key}:+0.5", _mut_value(key, lambda v: v + 0.5), "error", name),
                Case(spec, f"{key}:negative", _mut_value(key, lambda v: -1), "error", name),
                Case(spec, f"{key}:nan", _mut_value(key, lambda v: float("nan")), "error", name),
                Case(spec, f"{key}:str", _mut_value(key, lambda v: str(v)), "error", name),
                Case(spec, f"{key}:np.int64", _mut_value(key, lambda v: np.int64(v)), "same"),
                Case(spec, f"{key}:float", _mut_value(key, lambda v: float(v)), "either")]
    for keys, law in spec.scales:
        for c in (1e-150, 1e150):
            def m(args, kwargs, keys=keys, c=c):
                for k in keys:
                    _put(args, kwargs, k, np.asarray(_get(args, kwargs, k), dtype=float) * c)
            out.append(Case(spec, f"{'+'.join(map(str, keys))}*{c:.0e}", m, "scaled", law=law, factor=c))
    for label, mutate, expect in spec.extra:
        out.append(Case(spec, label, mutate, expect))
    return out


CASES = [c for s in SPECS for c in cases_of(s)]


def _call(spec, mutate=None):
    args, kwargs = list(spec.args), dict(spec.kwargs)
    if mutate is not None:
        mutate(args, kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.fn(*args, **kwargs)


_BASELINES: dict = {}


def baseline(spec):
    if spec.name not in _BASELINES:
        _BASELINES[spec.name] = _call(spec)
    return _BASELINES[spec.name]


def _float_version(args, kwargs, case):
    """The call of an int-dtype case with the same values as float64."""
    case.mutate(args, kwargs)
    _put(args, kwargs, case.key, np.asarray(_get(args, kwargs, case.key), dtype=np.float64))


def classify(case: Case) -> tuple[str, str]:
    """``(category, detail)`` of one case."""
    spec = case.spec
    try:
        res = _call(spec, case.mutate)
    except LintheoryError as exc:
        msg = str(exc)
        if case.expect in ("error", "either"):
            if case.arg and case.expect == "error" and case.arg.lower() not in msg.lower():
                return "unclear error", f"message does not name {case.arg!r}: {msg}"
            return "clear error", msg
        if case.expect == "match_float":
            try:
                _call(spec, lambda a, k: _float_version(a, k, case))
            except LintheoryError as exc2:
                if type(exc2) is type(exc):
                    return "clear error", msg
            except Exception as exc2:  # noqa: BLE001
                return "generic traceback", f"float version: {type(exc2).__name__}: {exc2}"
            return "valid refused", msg
        return "valid refused", f"{type(exc).__name__}: {msg}"
    except Exception as exc:  # noqa: BLE001
        return "generic traceback", f"{type(exc).__name__}: {exc}"
    bad = non_finite(res)
    if case.expect == "error":
        return "silent wrong", f"no error; returned {_short(res)}"
    if callable(case.expect) and bad:
        return "silent wrong", f"NaN in {bad[:3]}"
    if bad:
        return "silent wrong", f"NaN in {bad[:3]}"
    if case.expect == "finite":
        return "valid accepted", ""
    if case.expect in ("same", "either"):
        diff = same(res, baseline(spec))
    elif case.expect == "match_float":
        try:
            ref = _call(spec, lambda a, k: _float_version(a, k, case))
        except LintheoryError as exc:
            return "silent wrong", f"float version raises {exc}, int version returns"
        diff = same(res, ref)
    elif callable(case.expect):
        diff = case.expect(res)
    elif case.expect == "scaled":
        if case.law is None:       # no exact law (an affine fit): a finite answer is all that is asked
            return "valid accepted", ""
        diff = same(res, case.law(baseline(spec), case.factor), rtol=SCALE_RTOL)
    else:
        raise AssertionError(case.expect)
    return ("valid accepted", "") if diff is None else ("silent wrong", diff)


def _short(res):
    s = repr(res)
    return s if len(s) < 120 else s[:117] + "..."


GOOD = ("clear error", "valid accepted")


def test_every_public_function_has_a_spec():
    import importlib
    import inspect
    covered = {s.name.split("[")[0] for s in SPECS}
    missing = []
    for pkg in ("svm", "lora_margin", "s2ft", "adadare", "perturb_merge", "coto"):
        mod = importlib.import_module(f"lintheory.{pkg}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj) and not inspect.isclass(obj) and f"{pkg}.{name}" not in covered:
                missing.append(f"{pkg}.{name}")
    assert not missing


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_baseline_is_valid_and_finite(spec):
    res = baseline(spec)
    assert not non_finite(res)


#: cases known to fail (none now: adadare.kkt_residuals and coto.theorem31_rhs_printed validate
#: their arrays since the sweep found them); a new one goes here with its reason, never silently
KNOWN: set = set()


def _param(case):
    marks = [pytest.mark.xfail(reason="known: module outside this sweep's fixes", strict=False)] \
        if case.id in KNOWN else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case):
    category, detail = classify(case)
    assert category in GOOD, f"{category}: {detail}"


def sweep():
    rows = [(c.id, *classify(c)) for c in CASES]
    return rows


if __name__ == "__main__":
    import sys
    rows = sweep()
    counts = Counter(r[1] for r in rows)
    for cid, cat, detail in rows:
        if cat not in GOOD or "-v" in sys.argv:
            print(f"{cat:18s} {cid:70s} {detail[:160]}")
    print(len(rows), "cases:", dict(counts))
