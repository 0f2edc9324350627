"""The figure mechanism behind ``lintheory figures``.

Each figure is a function ``make(ctx) -> matplotlib.figure.Figure`` registered with
:func:`figure` in a module of the top-level :mod:`figures` package (one module per
figure).  :func:`run_figures` imports those modules, applies the shipped style
(``lintheory.mplstyle``) and writes ``<paper>_<name>.pdf`` and ``.png``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import InputError

__all__ = ["figure", "FigureContext", "figure_registry", "run_figures", "STYLE_PATH"]

STYLE_PATH = Path(__file__).with_name("lintheory.mplstyle")


@dataclass(frozen=True)
class FigureContext:
    """What a figure function is told: profile, seed and device."""

    profile: str = "quick"
    seed: int = 0
    device: str = "cpu"

    def pick(self, quick, full):
        return quick if self.profile == "quick" else full


@dataclass(frozen=True)
class FigureSpec:
    paper: str
    name: str
    description: str
    make: Callable[[FigureContext], object]

    @property
    def key(self) -> str:
        return f"{self.paper}_{self.name}"


_FIGURES: dict[str, FigureSpec] = {}


def figure(paper: str, name: str, description: str = "") -> Callable:
    """Register ``make(ctx) -> Figure`` as figure ``<paper>_<name>``."""

    def decorate(fn):
        spec = FigureSpec(paper, name, description or (fn.__doc__ or "").strip().split("\n")[0], fn)
        _FIGURES[spec.key] = spec
        return fn

    return decorate


def figure_registry() -> dict[str, FigureSpec]:
    """All figures of the :mod:`figures` package, by ``<paper>_<name>``."""
    import figures as _pkg

    for mod in pkgutil.iter_modules(_pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"figures.{mod.name}")
    return dict(sorted(_FIGURES.items()))


def run_figures(out_dir, only=None, *, profile: str = "quick", seed: int = 0,
                device: str = "cpu", on_done: Callable[[str, list], None] | None = None) -> list[Path]:
    """Make the selected figures and write PDF and PNG files into ``out_dir``.

    ``only`` selects by full key (``svm_simplex_etf``), by name, or by paper.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reg = figure_registry()
    chosen = list(reg.values())
    if only:
        chosen = [s for s in chosen if s.key in only or s.name in only or s.paper in only]
        unknown = [o for o in only
                   if not any(o in (s.key, s.name, s.paper) for s in reg.values())]
        if unknown:
            raise InputError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(reg)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = FigureContext(profile=profile, seed=seed, device=device)
    written: list[Path] = []
    for spec in chosen:
        with plt.style.context(str(STYLE_PATH)):
            fig = spec.make(ctx)
            paths = []
            for ext in ("pdf", "png"):
                p = out / f"{spec.key}.{ext}"
                fig.savefig(p)
                paths.append(p)
            plt.close(fig)
        written += paths
        if on_done is not None:
            on_done(spec.key, paths)
    return written
