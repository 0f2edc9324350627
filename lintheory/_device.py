"""Device selection shared by the CLI, the trainers and the figure scripts."""

from __future__ import annotations

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def _torch_gpu_build() -> str | None:
    """Which GPU runtime the installed torch was built for, read from ``torch/version.py``
    without importing torch (about 2 s): ``"cuda"``, ``"hip"``, ``"cpu"`` (neither), or
    ``None`` when the file cannot be read or parsed (then only torch can tell)."""
    import importlib.util
    import os
    import re

    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec is not None else []:
        try:
            with open(os.path.join(loc, "version.py"), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        found = {}
        for key in ("cuda", "hip"):
            m = re.search(rf"^{key}\s*(?::[^=]*)?=\s*(.+?)\s*$", text, re.M)
            if m is None:
                return None
            found[key] = m.group(1) not in ("None", "''", '""')
        return "cuda" if found["cuda"] else "hip" if found["hip"] else "cpu"
    return None


def cuda_available() -> bool:
    """Whether torch can use a CUDA device.

    Answered without importing torch when it is certainly no: a CPU-only torch build, or a
    CUDA build on Linux without any ``/dev/nvidia*`` device node (the driver cannot run).
    ``--device auto`` then costs nothing on a CPU machine; otherwise this is
    ``torch.cuda.is_available()``.
    """
    import glob
    import sys

    if "torch" not in sys.modules:
        build = _torch_gpu_build()
        if build == "cpu":
            return False
        if build == "cuda" and sys.platform.startswith("linux") and not glob.glob("/dev/nvidia*"):
            return False
    try:
        import torch
    except ImportError:  # pragma: no cover - core dependency
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when CUDA is present, else ``"cpu"``; ``"cuda"`` without CUDA is an error."""
    if device not in DEVICES:
        raise InputError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise InputError("--device cuda was asked for but torch sees no CUDA device "
                         "(torch.cuda.is_available() is False)")
    return device
