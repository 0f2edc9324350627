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

__all__ = ["figure", "FigureContext", "figure_registry", "run_figures", "make_figure", "STYLE_PATH"]

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
                device: str = "cpu", jobs: int = 1,
                on_done: Callable[[str, list], None] | None = None) -> list[Path]:
    """Make the selected figures and write PDF and PNG files into ``out_dir``.

    ``only`` selects by full key (``svm_simplex_etf``), by name, or by paper.  With
    ``jobs > 1`` the figures are made in parallel, one figure per unit of work
    (:func:`lintheory.executor.map_unordered`); each is a function of its key, profile,
    seed and device only, so the figures do not depend on ``jobs``.
    """
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
    units = [{"key": spec.key, "out_dir": str(out), "profile": profile, "seed": seed, "device": device}
             for spec in chosen]
    written: list[Path] = []
    if jobs > 1:
        from .executor import map_unordered

        results = map_unordered(_make_figure_worker, units, jobs=jobs)
    else:
        results = (make_figure(**u) for u in units)
    for key, paths in results:
        paths = [Path(p) for p in paths]
        written += paths
        if on_done is not None:
            on_done(key, paths)
    return written


def make_figure(key: str, out_dir: str, profile: str = "quick", seed: int = 0,
                device: str = "cpu") -> tuple[str, list[str]]:
    """Make one figure and write ``<out_dir>/<key>.pdf`` and ``.png``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = figure_registry()[key]
    paths = []
    with plt.style.context(str(STYLE_PATH)):
        fig = spec.make(FigureContext(profile=profile, seed=seed, device=device))
        for ext in ("pdf", "png"):
            p = Path(out_dir) / f"{key}.{ext}"
            fig.savefig(p)
            paths.append(str(p))
        plt.close(fig)
    return key, paths


def _make_figure_worker(unit: dict) -> tuple[str, list[str]]:
    """:func:`make_figure` in a worker process, with one BLAS/torch thread."""
    from .executor import _cap_worker_threads

    _cap_worker_threads()
    return make_figure(**unit)


def legend_below(ax, *, ncol: int = 1, offset: float = 0.16, **kw):
    """Put ``ax``'s legend under the axes (below its x label), where it covers no data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    ncol : int
        Legend columns.
    offset : float
        Gap from the axes' bottom edge to the legend's top, in axes fractions; large
        enough to clear the tick labels and the x label of a 3-5 inch tall axes.
    **kw
        Passed to :meth:`~matplotlib.axes.Axes.legend`.
    """
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -offset), ncol=ncol, **kw)
