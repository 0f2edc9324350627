"""Every figure is readable at its saved size (issue 13, part 7).

For each figure of ``lintheory figures`` (quick profile, seed 0):

- every visible text is at least ``MIN_FONT_PT`` points at the saved size (the PNG is
  saved at ``savefig.dpi`` with a tight box, which crops but never scales);
- every legend entry can be seen: its swatch's colour differs from what is behind it
  in the legend, and the plotted artists with its label are not fully covered by others
  (hiding them changes pixels);
- no legend covers data: inside a legend's box, the data of the axes (lines, markers,
  bars, meshes, images) paints at most ``MAX_COVERED_PX`` pixels.

The checks render the figure with the Agg canvas at the saved dpi and compare images
with one artist hidden at a time, after freezing the layout so nothing moves.
"""

from __future__ import annotations

import numpy as np
import pytest

MIN_FONT_PT = 8.0
#: a pixel counts as changed when a channel moves by more than this (0..255): antialiasing
#: of two coinciding lines differs by less
PIXEL_DIFF = 40
#: the checks render at this dpi (half the saved 160: a quarter of the pixels, same layout)
CHECK_DPI = 80
#: an entry whose artists change fewer pixels than this (at CHECK_DPI) is called invisible
MIN_VISIBLE_PX = 8
#: data pixels a legend's box may hold (antialiasing halos at its edge, at CHECK_DPI)
MAX_COVERED_PX = 10


def _registry():
    from lintheory.plotting import figure_registry

    return figure_registry()


def _keys():
    try:
        return list(_registry())
    except Exception:  # pragma: no cover - collection must not crash on a broken figure
        return []


@pytest.fixture(scope="module")
def style():
    import matplotlib

    matplotlib.use("Agg")
    from lintheory.plotting import STYLE_PATH

    return str(STYLE_PATH)


def render(fig) -> np.ndarray:
    """The figure's RGB pixels at its current dpi (int16, for differences)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(np.int16)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b).max(axis=2) > PIXEL_DIFF


def _legends(fig):
    out = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    return out + [(None, leg) for leg in fig.legends]


def _data_artists(ax):
    return [a for a in (*ax.lines, *ax.collections, *ax.patches, *ax.images)
            if a.get_visible()]


def _draws_something(a) -> bool:
    """False for legend proxies: an empty collection or a line without data."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D

    if isinstance(a, Collection):
        return len(a.get_paths()) > 0
    if isinstance(a, Line2D):
        return len(a.get_xdata()) > 0
    return True


def _labelled(axes, label: str):
    return [a for ax in axes for a in _data_artists(ax)
            if a.get_label() == label and _draws_something(a)]


def font_problems(fig) -> list[str]:
    from matplotlib.text import Text

    fig.canvas.draw()
    bad = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT:
            bad.append(f"{t.get_text()[:40]!r} at {t.get_fontsize():.1f} pt")
    return bad


def _colors_of(handle) -> list:
    """The RGBAs a legend swatch paints: a line's colour and its markers'; a patch's face,
    and its edge and hatch when drawn."""
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    out = []
    if isinstance(handle, Line2D):
        if handle.get_linestyle() not in ("None", "", " ", "none"):
            out.append(to_rgba(handle.get_color(), handle.get_alpha()))
        if handle.get_marker() not in (None, "None", "", " ", "none"):
            out += [to_rgba(handle.get_markerfacecolor(), handle.get_alpha()),
                    to_rgba(handle.get_markeredgecolor(), handle.get_alpha())]
        return out
    for getter in ("get_facecolor", "get_edgecolor"):
        try:
            c = np.asarray(getattr(handle, getter)(), float).reshape(-1, 4)
        except Exception:
            continue
        if c.size and (getter == "get_facecolor" or np.max(handle.get_linewidth()) > 0):
            out.append(tuple(c[0]))
    if getattr(handle, "get_hatch", lambda: None)():
        try:
            out.append(to_rgba(handle.get_hatchcolor()))
        except AttributeError:  # older matplotlib: the hatch takes the edge colour
            pass
    return out


def _box(bb, shape):
    h, w = shape[:2]
    if not np.all(np.isfinite([bb.x0, bb.x1, bb.y0, bb.y1])):
        return None
    x0, x1 = max(int(bb.x0), 0), min(int(np.ceil(bb.x1)) + 1, w)
    y0, y1 = max(int(h - bb.y1), 0), min(int(np.ceil(h - bb.y0)) + 1, h)
    return (slice(y0, y1), slice(x0, x1)) if x1 > x0 and y1 > y0 else None


def legend_problems(fig, dpi: float = CHECK_DPI) -> list[str]:
    """Invisible legend swatches, legend entries whose artists are fully covered, legends over data."""
    fig.set_dpi(dpi)
    render(fig)
    fig.set_layout_engine("none")  # freeze: hiding an artist must not move the others
    base = render(fig)
    bad = []
    renderer = fig.canvas.get_renderer()
    for ax, leg in _legends(fig):
        leg.set_visible(False)
        no_leg = render(fig)  # what is behind the legend
        handles = getattr(leg, "legend_handles", None) or getattr(leg, "legendHandles", [])
        for handle, text in zip(handles, leg.get_texts()):
            label = text.get_text()
            colors = _colors_of(handle) if handle is not None else []
            box = _box(handle.get_window_extent(renderer), base.shape) if handle is not None else None
            if colors and box is not None:
                behind = np.median(no_leg[box].reshape(-1, 3), axis=0)
                contrast = 0.0
                for color in colors:
                    rgb = np.array(color[:3]) * 255
                    painted = color[3] * rgb + (1 - color[3]) * behind  # its alpha over the background
                    contrast = max(contrast, np.abs(painted - behind).max())
                if contrast < PIXEL_DIFF:
                    bad.append(f"legend swatch of {label!r} is invisible (contrast {contrast:.0f}/255 "
                               "with what is behind it)")
            # an axes' legend speaks for the artists of its axes, a figure legend for all
            artists = _labelled([ax] if ax is not None else fig.axes, label)
            if artists:
                for a in artists:
                    a.set_visible(False)
                n = changed(no_leg, render(fig)).sum()
                for a in artists:
                    a.set_visible(True)
                if n < MIN_VISIBLE_PX:
                    bad.append(f"{label!r} is hidden under other artists ({n} px of its own)")
        # data under the legend box
        axes = [ax] if ax is not None else fig.axes
        hidden = [a for x in axes for a in _data_artists(x)]
        for a in hidden:
            a.set_visible(False)
        no_data = render(fig)
        for a in hidden:
            a.set_visible(True)
        leg.set_visible(True)
        box = _box(leg.get_window_extent(renderer), base.shape)
        covered = int(changed(no_leg, no_data)[box].sum()) if box is not None else 0
        if covered > MAX_COVERED_PX:
            where = "figure legend" if ax is None else f"legend of {ax.get_title()[:40]!r}"
            bad.append(f"{where} covers {covered} data pixels")
    return bad


@pytest.mark.parametrize("key", _keys())
def test_figure_fonts_and_legends(key, style):
    import matplotlib.pyplot as plt

    from lintheory.plotting import FigureContext

    with plt.style.context(style):
        fig = _registry()[key].make(FigureContext(profile="quick", seed=0, device="cpu"))
        try:
            problems = font_problems(fig) + legend_problems(fig)
        finally:
            plt.close(fig)
    assert not problems, f"{key}: " + "; ".join(problems)


def test_the_checks_catch_hidden_entries_small_fonts_and_covered_data(style):
    """The checks themselves, on a figure with every defect the issue names."""
    import matplotlib.pyplot as plt
    with plt.style.context(style):
        fig, ax = plt.subplots(figsize=(4, 3))
        x = np.linspace(0, 1, 50)
        ax.plot(x, x, "-", lw=3, label="visible")
        ax.plot(x, x, "-", lw=1, label="under", zorder=1)  # drawn under the thick line
        ax.fill_between(x, -1, 2, color="C2", zorder=0)  # the whole axes in C2
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.fill_between([], [], color="C2", label="same as background")  # a proxy on its own colour
        ax.legend(fontsize=6, loc="upper left")
        problems = legend_problems(fig)
        fonts = font_problems(fig)
        plt.close(fig)
    text = "; ".join(problems)
    assert "'under' is hidden" in text and "'visible'" not in text
    assert "covers" in text
    assert "swatch of 'same as background' is invisible" in text
    assert "'same as background' is hidden" not in text  # a proxy: nothing of its own to hide
    assert fonts and all("6.0 pt" in f for f in fonts)
