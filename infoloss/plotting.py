"""The course's plotting style and a slider figure that stays interactive in static HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

COLORS = {"ce": "#1f77b4", "mse": "#d62728", "smooth": "#2ca02c", "other": "#9467bd"}


def use_style() -> None:
    """Apply the course style: readable sizes, light grid, no top/right spines."""
    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 11,
            "legend.frameon": False,
            "animation.embed_limit": 40.0,
        }
    )


def slider_figure(
    draw: Callable[[Any, Any], None],
    values: Sequence[Any],
    *,
    figsize: tuple[float, float] = (6.0, 3.6),
    dpi: int = 72,
    start: int = 0,
):
    """A figure with a slider that works without a kernel.

    ``draw(ax, value)`` draws one frame on a cleared axis for one parameter value. The
    frames are pre-rendered and embedded with matplotlib's ``to_jshtml``, so moving the
    slider in the rendered book swaps images in the browser. Returns an IPython
    ``HTML`` object (display it as the last expression of a cell).
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    if len(values) < 2:
        raise ValueError("slider_figure needs at least two parameter values")
    # constrained layout re-fits the axes on every frame, so axis labels are never cut off
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")

    def frame(i: int):
        ax.clear()
        draw(ax, values[i])
        return ()

    anim = FuncAnimation(fig, frame, frames=len(values), interval=250, blit=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    # matplotlib's template links Font Awesome 4 from a CDN; the book theme already ships
    # Font Awesome locally, so drop the link to keep the page offline.
    html = re.sub(r'<link[^>]*font-awesome[^>]*>', "", html)
    if start:
        html = html.replace("value=\"0\"", f"value=\"{start}\"", 1)
    return HTML(html)
