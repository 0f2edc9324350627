"""The tutorial page shows what its commands print today (docs/tutorial/outputs/ is current)."""

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


#: Errors at the level of float64 rounding (the trained route's 6e-16 vs 1.7e-15 between two
#: fresh installs of the same versions) are noise, not content: they compare as 0.
EPS_LEVEL = 1e-12
_TINY = re.compile(r"\b\d\.\d+e-(\d+)\b")


def _rounded(obj):
    if isinstance(obj, float):
        return 0.0 if abs(obj) < EPS_LEVEL else float(f"{obj:.6g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items() if k != "note"}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def test_tutorial_outputs_are_current(monkeypatch):
    from lintheory import claims as C
    from lintheory import suites as S

    monkeypatch.setattr(C, "_REGISTRY", dict(C._REGISTRY))
    monkeypatch.setattr(S, "_LOADED", dict(S._LOADED))
    monkeypatch.setattr(S, "_EXTRA", dict(S._EXTRA))
    spec = importlib.util.spec_from_file_location("make_outputs", ROOT / "docs" / "tutorial" / "make_outputs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fresh = mod.outputs(ROOT)
    for name, text in fresh.items():
        committed = (ROOT / "docs" / "tutorial" / "outputs" / name).read_text(encoding="utf-8")
        if name.endswith(".json"):
            assert _rounded(json.loads(committed)) == _rounded(json.loads(text)), name
        else:
            assert _text(committed) == _text(text), f"{name} is stale: run python docs/tutorial/make_outputs.py"


def _text(out: str) -> str:
    """``out`` with every number below :data:`EPS_LEVEL` written as 0 (the rest unchanged)."""
    return _TINY.sub(lambda m: "0" if float(m.group(0)) < EPS_LEVEL else m.group(0), out)


def test_text_comparison_ignores_only_rounding_noise():
    assert _text("holds  6.38e-16  1e-07") == _text("holds  1.68e-15  1e-07")
    assert _text("holds  6.38e-11  1e-07") != _text("holds  1.68e-11  1e-07")
    assert _text("fails  4.44e-01") != _text("fails  4.45e-01")


def test_tutorial_page_includes_every_output():
    page = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    for name in ("verify.txt", "printed_record.json", "holds_record.json", "errata.md"):
        assert f'--8<-- "docs/tutorial/outputs/{name}"' in page
    assert '--8<-- "docs/tutorial/ridge_suite.py"' in page
