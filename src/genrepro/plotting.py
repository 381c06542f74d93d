"""Small figure helpers shared by the chapters (readable grids, honest labels)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display


def image_grid(images: np.ndarray, ncols: int = 8, titles: Sequence[str] | None = None,
               title: str | None = None, scale: float = 1.0, cmap: str = "gray",
               vmin: float | None = 0.0, vmax: float | None = None,
               autoscale: bool = False) -> plt.Figure:
    """Show ``images`` (N, H, W) in a grid of ``ncols`` columns; returns the figure.

    Gray levels span [vmin, vmax] (default 0 to the dtype's white), or each image's own
    range with ``autoscale=True`` (for mean-removed patches)."""
    images = np.asarray(images)
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    if vmax is None:
        vmax = 255 if images.dtype == np.uint8 else 1.0
    # room for a title over every image and for each line of the suptitle
    height = nrows * scale * (1.3 if titles is not None else 1.0) + (0.3 * (title.count("\n") + 1) if title else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < n:
            lo, hi = (images[i].min(), images[i].max()) if autoscale else (vmin, vmax)
            ax.imshow(images[i], cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_markdown(text: str) -> None:
    """Display Markdown from a code cell (rendered by the book with MyST)."""
    display(Markdown(text))


def markdown_cell(value: object) -> str:
    """One table cell's text, safe inside a GFM/MyST pipe table: every ``|`` not already
    escaped becomes ``\\|`` (also inside math and code, where the table parser removes the
    backslash again; so write a norm in a cell as ``\\Vert``), and line breaks, which would
    end the row, become spaces."""
    text = " ".join(str(value).splitlines())
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table from a header and rows of cells (each through :func:`markdown_cell`)."""
    if any(len(r) != len(header) for r in rows):
        raise ValueError(f"every row needs {len(header)} cells (one per header column); got "
                         f"{sorted({len(r) for r in rows})}")
    line = lambda cells: "| " + " | ".join(markdown_cell(c) for c in cells) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])
