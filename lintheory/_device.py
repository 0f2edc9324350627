"""Device selection shared by the CLI, the trainers and the figure scripts."""

from __future__ import annotations

from .errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
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
