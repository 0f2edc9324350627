"""Start-up cost: torch, cvxpy and matplotlib are imported only where a claim or command needs them.

Each check runs in a fresh interpreter (this one has imported everything already).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

HEAVY = ("torch", "cvxpy", "matplotlib", "sympy", "scipy.stats", "clarabel")


def _imported_after(code: str) -> list[str]:
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


LIBRARY = "\n".join([
    "import lintheory, lintheory.svm, lintheory.svm.data, lintheory.svm.closed_form",
    *[f"import lintheory.{p}.closed_form, lintheory.{p}.data"
      for p in ("lora_margin", "s2ft", "adadare", "perturb_merge", "coto")],
    "from lintheory._threads import single_threaded",
    "with single_threaded(): pass",
])


def test_library_modules_import_no_heavy_module():
    """One interpreter for all of them: none imports a heavy module, so neither does each alone."""
    from lintheory._device import _torch_gpu_build

    code = LIBRARY
    import glob

    if _torch_gpu_build() == "cpu" or not glob.glob("/dev/nvidia*"):
        # on a CPU machine --device auto is resolved without torch (a CUDA one must ask it)
        code += "\nfrom lintheory._device import resolve_device\nassert resolve_device('auto') == 'cpu'"
    assert _imported_after(code) == []


def test_torch_build_read_without_torch_and_torch_in_single_threaded_has_one_thread():
    pytest.importorskip("torch")
    code = ("from lintheory._device import _torch_gpu_build\n"
            "from lintheory._threads import single_threaded\n"
            "b = _torch_gpu_build()\n"
            "import sys; assert 'torch' not in sys.modules\n"
            "with single_threaded():\n"
            "    import torch\n"
            "    n = torch.get_num_threads()\n"
            "want = 'cuda' if torch.version.cuda else 'hip' if torch.version.hip else 'cpu'\n"
            "print('RESULT', b, want, n)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    _, got, want, threads = out.stdout.split()
    assert got == want and threads == "1"


@pytest.mark.parametrize("d", [2, 3, 8, 33])
def test_random_orthogonal_is_scipys_ortho_group(d):
    from scipy.stats import ortho_group

    from lintheory.svm.data import random_orthogonal

    for seed in (0, 1, 2**31 - 5):
        ours = random_orthogonal(d, seed)
        assert np.array_equal(ours, ortho_group.rvs(d, random_state=np.random.default_rng(seed)))
        assert np.max(np.abs(ours @ ours.T - np.eye(d))) < 1e-12
