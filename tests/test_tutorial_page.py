"""The tutorial page shows what its commands print today (docs/tutorial/outputs/ is current)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rounded(obj):
    if isinstance(obj, float):
        return float(f"{obj:.6g}")
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
            assert committed == text, f"{name} is stale: run python docs/tutorial/make_outputs.py"


def test_tutorial_page_includes_every_output():
    page = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    for name in ("verify.txt", "printed_record.json", "holds_record.json", "errata.md"):
        assert f'--8<-- "docs/tutorial/outputs/{name}"' in page
    assert '--8<-- "docs/tutorial/ridge_suite.py"' in page
