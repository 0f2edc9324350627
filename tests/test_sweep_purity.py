"""No check keeps results by side effect from inside a nested function.

A sweep's ``evaluate`` may run in another process (``--jobs``, Dask), where appending a
measurement to a list of the check is lost; the record would then depend on the back
end.  ``tests/test_claims.py`` compares every claim's jobs=2 record with the serial one,
but a sweep of one instance under the quick profile never leaves this process, so this
static scan covers the full profile too: in the claim modules, no function defined
inside another may mutate (``.append``, ``.extend``, ``x[k] = ...``, ...) a name of the
enclosing function.  Return such measurements as ``(error, data)`` instead (collected
in ``Evidence.instance_data``).
"""

import ast
from pathlib import Path

import pytest

import lintheory
import proofs_check

MUTATORS = {"append", "extend", "update", "add", "insert", "setdefault", "pop", "remove", "clear"}
MODULES = sorted(Path(lintheory.__file__).parent.glob("*/claims.py")) + sorted(
    p for p in Path(proofs_check.__file__).parent.glob("*.py") if not p.name.startswith("__"))


def _base_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _own_names(fn) -> set:
    """Arguments of ``fn`` and the names it binds itself."""
    args = fn.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def side_effects(source: str) -> list[tuple[int, str]]:
    """(line, what) for every mutation of an enclosing name inside a nested function."""
    found = []
    for outer in ast.walk(ast.parse(source)):
        if not isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(outer):
            if inner is outer or not isinstance(inner, (ast.FunctionDef, ast.Lambda)):
                continue
            own = _own_names(inner)
            body = inner.body if isinstance(inner.body, list) else [inner.body]
            for stmt in body:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Nonlocal):
                        found.append((node.lineno, f"nonlocal {', '.join(node.names)}"))
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr in MUTATORS):
                        name = _base_name(node.func.value)
                        if name is not None and name not in own:
                            found.append((node.lineno, f"{name}...{node.func.attr}(...)"))
                    targets = (node.targets if isinstance(node, ast.Assign)
                               else [node.target] if isinstance(node, ast.AugAssign) else [])
                    for t in targets:
                        name = _base_name(t) if isinstance(t, (ast.Attribute, ast.Subscript)) else None
                        if name is not None and name not in own:
                            found.append((node.lineno, f"{name}[...] = ..."))
    return sorted(set(found))


def test_the_scan_finds_the_patterns_it_forbids():
    src = '''
def check(ctx):
    out, rec, n = [], {"a": []}, 0
    def ev(cfg):
        nonlocal n
        out.append(1)
        rec["a"].extend([2])
        rec["b"] = 3
        mine = []
        mine.append(4)
        return 0.0
    return ev
'''
    found = [what for _, what in side_effects(src)]
    assert found == ["nonlocal n", "out...append(...)", "rec...extend(...)", "rec[...] = ..."]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_check_keeps_results_by_side_effect(path):
    found = side_effects(path.read_text(encoding="utf-8"))
    assert not found, f"{path}: " + "; ".join(f"line {ln}: {what}" for ln, what in found)
