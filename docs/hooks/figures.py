"""mkdocs hook: the paper pages' figures, made by ``lintheory figures`` at build time.

The pages embed ``../figures/<paper>_<name>.png``; no figure is checked in, so none can
go stale.  The PNGs are made into a cache folder keyed by a hash of everything they are
computed from (the figure modules, the lintheory package, the style file and the
matplotlib version), so a rebuild with unchanged sources reuses them, and added to the
site as ``figures/<key>.png``.

Environment
-----------
LINTHEORY_DOCS_FIGURES_CACHE
    The cache folder (default: ``<tmp>/lintheory-docs-figures``).
LINTHEORY_DOCS_FIGURES_JOBS
    Worker processes for the figures (default 1).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.figures")

ROOT = Path(__file__).resolve().parents[2]
SITE_SUBDIR = "figures"


def source_hash() -> str:
    """Hash of the files the figures are computed from, and of matplotlib's version."""
    import matplotlib

    import lintheory

    h = hashlib.sha256(f"matplotlib {matplotlib.__version__}".encode())
    pkg = Path(lintheory.__file__).resolve().parent
    figs = ROOT / "figures"
    if not figs.is_dir():  # docs built from an installed package
        import figures as _figs

        figs = Path(_figs.__file__).resolve().parent
    files = sorted([*pkg.rglob("*.py"), *pkg.rglob("*.mplstyle"), *pkg.rglob("*.toml"),
                    *figs.rglob("*.py")])
    for f in files:
        if "__pycache__" in f.parts:
            continue
        root = figs if f.is_relative_to(figs) else pkg
        h.update(f"{root.name}/{f.relative_to(root)}".encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def figures_dir() -> Path:
    """The folder holding every figure's PNG for the current sources (made if missing)."""
    from lintheory.plotting import figure_registry, run_figures

    base = Path(os.environ.get("LINTHEORY_DOCS_FIGURES_CACHE")
                or Path(tempfile.gettempdir()) / "lintheory-docs-figures")
    out = base / source_hash()
    keys = list(figure_registry())
    missing = [k for k in keys if not (out / f"{k}.png").exists()]
    if missing:
        jobs = int(os.environ.get("LINTHEORY_DOCS_FIGURES_JOBS", "1"))
        log.info("making %d figures into %s", len(missing), out)
        run_figures(out, missing, profile="quick", seed=0, device="cpu", jobs=jobs)
    return out


def on_files(files, config):
    from mkdocs.structure.files import File

    for png in sorted(figures_dir().glob("*.png")):
        files.append(File.generated(config, f"{SITE_SUBDIR}/{png.name}", abs_src_path=str(png)))
    return files
