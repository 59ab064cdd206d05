"""Figure builders for the image-attention page: arrays in, ``go.Figure`` out (no streamlit).

Images are shipped once per panel as a PNG data URI (a few kB) instead of 112 × 112 × 3 numbers; attention is a
heatmap over the image whose colour scale fades to transparent at 0, so the image shows where attention is low.
Coordinates are pixel indices: pixel i spans i − 0.5 … i + 0.5, the y axis points down as in the image.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.i18n import gettext as _
from attnviz.image.maps import CELL_EDGES
from attnviz.image.model import GRID, IMAGE_SIZE

__all__ = [
    "ATTENTION_SCALE",
    "attention_overlay_figure",
    "cell_centres",
    "image_grid_figure",
    "png_data_uri",
    "probability_figure",
    "training_curves_figure",
]

# transparent at 0, then yellow → orange → red, more opaque as attention grows
ATTENTION_SCALE = (
    (0.0, "rgba(255, 255, 0, 0)"),
    (0.15, "rgba(255, 230, 0, 0.35)"),
    (0.5, "rgba(255, 140, 0, 0.7)"),
    (1.0, "rgba(220, 0, 0, 0.9)"),
)
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def png_data_uri(image: np.ndarray, *, grey: bool = False) -> str:
    """``(H, W, 3)`` uint8 → ``data:image/png;base64,…``; with ``grey``, a lightened greyscale JPEG (overlays
    read better on it, and it is a fraction of the size: it is repeated in every panel)."""
    from PIL import Image

    array = np.asarray(image, dtype=np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {array.shape}")
    picture = Image.fromarray(array)
    if grey:
        picture = Image.fromarray((np.asarray(picture.convert("L"), dtype=np.float32) * 0.6 + 90).astype(np.uint8))
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=85)
        return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def cell_centres() -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of the 400 grid cells' centres, token order (row-major): point i is position divmod(i, 20)."""
    edges = np.asarray(CELL_EDGES)
    centres = (edges[:-1] + edges[1:]) / 2  # (20,)
    rows, cols = np.divmod(np.arange(GRID * GRID), GRID)
    return centres[cols], centres[rows]


def _image_axes(fig: go.Figure, **where) -> None:
    hidden = {"showticklabels": False, "showgrid": False, "zeroline": False, "ticks": "", "showline": False}
    fig.update_xaxes(range=[-0.5, IMAGE_SIZE - 0.5], **hidden, **where)
    fig.update_yaxes(range=[IMAGE_SIZE - 0.5, -0.5], **hidden, **where)


def _query_rectangle(box: tuple[float, float, float, float], **where) -> dict:
    x0, x1, y0, y1 = box
    return {
        "type": "rect",
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "line": {"color": "#00e5ff", "width": 2.5},
        **where,
    }


def image_grid_figure(
    image: np.ndarray,
    query_box: tuple[float, float, float, float],
    *,
    mask_outline: np.ndarray | None = None,
    title: str = "",
    height: int = 420,
) -> go.Figure:
    """The image with the 20 × 20 grid of positions and the query cell outlined. One invisible marker per cell
    (trace 1, 400 points in token order) makes a click anywhere select the nearest cell."""
    edges = np.asarray(CELL_EDGES)
    fig = go.Figure()
    fig.add_trace(go.Image(source=png_data_uri(image), hoverinfo="skip"))
    x, y = cell_centres()
    rows, cols = np.divmod(np.arange(GRID * GRID), GRID)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={"size": 12, "color": "rgba(0, 0, 0, 0)", "symbol": "square"},
            selected={"marker": {"opacity": 0}},
            unselected={"marker": {"opacity": 0}},
            customdata=np.stack([rows, cols], axis=1),
            hovertemplate=_("position (row {row}, col {col})").format(row="%{customdata[0]}", col="%{customdata[1]}")
            + "<extra></extra>",
            name=_("positions"),
            showlegend=False,
        )
    )
    lines = [{"type": "line", "x0": e, "x1": e, "y0": -0.5, "y1": IMAGE_SIZE - 0.5} for e in edges[1:-1]] + [
        {"type": "line", "y0": e, "y1": e, "x0": -0.5, "x1": IMAGE_SIZE - 0.5} for e in edges[1:-1]
    ]
    for line in lines:
        line["line"] = {"color": "rgba(255, 255, 255, 0.45)", "width": 1}
    shapes = [*lines, _query_rectangle(query_box)]
    if mask_outline is not None:
        ys, xs = np.nonzero(np.asarray(mask_outline))
        if len(xs):
            fig.add_trace(
                go.Scatter(
                    x=[xs.min() - 0.5, xs.max() + 0.5, xs.max() + 0.5, xs.min() - 0.5, xs.min() - 0.5],
                    y=[ys.min() - 0.5, ys.min() - 0.5, ys.max() + 0.5, ys.max() + 0.5, ys.min() - 0.5],
                    mode="lines",
                    line={"color": "white", "width": 1, "dash": "dot"},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    fig.update_layout(
        title={"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 14}},
        height=height,
        margin={**_MARGIN, "t": 56},
        shapes=shapes,
        hovermode="closest",
        hoverdistance=-1,
        clickmode="event+select",
        dragmode=False,
        plot_bgcolor="white",
    )
    _image_axes(fig)
    return fig


def attention_overlay_figure(
    image: np.ndarray,
    overlays: Sequence[np.ndarray],
    row_titles: Sequence[str],
    col_titles: Sequence[str],
    *,
    query_box: tuple[float, float, float, float] | None = None,
    zmax: float | None = None,
    panel_px: int = 180,
) -> go.Figure:
    """A grid of attention maps over the (greyed) image: one row per model, one column per map.

    ``overlays`` holds one ``(n_maps, S, S)`` array per row (S divides 112: each value covers 112/S pixels). All
    panels share one colour scale (0 … ``zmax``, by default the largest value), so rows compare directly.
    """
    overlays = [np.asarray(o, dtype=np.float64) for o in overlays]
    if len(overlays) != len(row_titles):
        raise ValueError(f"{len(overlays)} overlay stacks but {len(row_titles)} row titles")
    n_cols = len(col_titles)
    for stack in overlays:
        if stack.ndim != 3 or stack.shape[0] != n_cols or stack.shape[1] != stack.shape[2]:
            raise ValueError(f"each overlay stack must be ({n_cols}, S, S), got {stack.shape}")
    zmax = float(max(s.max() for s in overlays)) if zmax is None else float(zmax)
    zmax = zmax if zmax > 0 else 1.0
    fig = make_subplots(
        rows=len(overlays),
        cols=n_cols,
        subplot_titles=[*col_titles, *[""] * (n_cols * (len(overlays) - 1))],  # columns named once, on top
        horizontal_spacing=0.01,
        vertical_spacing=0.06,
    )
    source = png_data_uri(image, grey=True)
    shapes = []
    for i, stack in enumerate(overlays):
        step = IMAGE_SIZE / stack.shape[-1]
        for j in range(n_cols):
            where = {"row": i + 1, "col": j + 1}
            fig.add_trace(go.Image(source=source, hoverinfo="skip"), **where)
            fig.add_trace(
                go.Heatmap(
                    z=stack[j].astype(np.float32),
                    x0=(step - 1) / 2,
                    dx=step,
                    y0=(step - 1) / 2,
                    dy=step,
                    zmin=0.0,
                    zmax=zmax,
                    colorscale=[list(c) for c in ATTENTION_SCALE],
                    showscale=i == 0 and j == n_cols - 1,
                    colorbar={"title": {"text": _("weight")}, "len": 0.6},
                    hovertemplate=f"{row_titles[i]} · {col_titles[j]}<br>"
                    + _("weight {value}").format(value="%{z:.4f}")
                    + "<extra></extra>",
                ),
                **where,
            )
            if query_box is not None:
                index = i * n_cols + j + 1
                suffix = "" if index == 1 else str(index)
                shapes.append(_query_rectangle(query_box, xref=f"x{suffix}", yref=f"y{suffix}"))
    fig.update_layout(
        height=panel_px * len(overlays) + 60,
        margin=_MARGIN,
        shapes=shapes,
        plot_bgcolor="white",
        dragmode=False,
    )
    fig.update_annotations(font_size=11)
    _image_axes(fig)
    for i, name in enumerate(row_titles):  # each row named by its model, left of its first panel
        fig.update_yaxes(title={"text": name, "font": {"size": 11}}, row=i + 1, col=1)
    return fig


def probability_figure(
    class_names: Sequence[str], probabilities: Sequence[np.ndarray], names: Sequence[str]
) -> go.Figure:
    """Grouped horizontal bars: each model's probability for each class."""
    fig = go.Figure()
    for name, probs in zip(names, probabilities, strict=True):
        probs = np.asarray(probs, dtype=np.float64)
        fig.add_trace(
            go.Bar(
                x=probs,
                y=list(class_names),
                orientation="h",
                name=name,
                text=[f"{p:.0%}" for p in probs],
                textposition="auto",
                hovertemplate="%{y}: %{x:.3f}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        height=150 + 30 * len(class_names) * max(1, len(names)),
        margin={**_MARGIN, "l": 80},
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0, "xanchor": "left"},
        showlegend=True,
        title={"text": _("Predicted class"), "x": 0.02, "xanchor": "left"},
    )
    return fig


def training_curves_figure(
    losses: Sequence[float], eval_steps: Sequence[int], accuracies: Sequence[float], *, target: float = 0.9
) -> go.Figure:
    """Loss per step (with a running mean over 20 steps) and held-out accuracy, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("training loss (cross-entropy)"), _("held-out accuracy")))
    steps = np.arange(1, len(losses) + 1)
    losses = np.asarray(losses, dtype=np.float64)
    fig.add_trace(
        go.Scatter(x=steps, y=losses, mode="lines", name=_("loss per step"), line={"color": "#b0c4de", "width": 1}),
        row=1,
        col=1,
    )
    if len(losses):
        window = min(20, len(losses))
        running = np.convolve(losses, np.ones(window) / window, mode="valid")
        fig.add_trace(
            go.Scatter(
                x=steps[window - 1 :], y=running, mode="lines", name=_("mean of {window} steps").format(window=window)
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(x=list(eval_steps), y=list(accuracies), mode="lines+markers", name=_("held-out accuracy")),
        row=1,
        col=2,
    )
    fig.add_hline(y=target, line_dash="dot", line_color="grey", row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text=_("step"))
    fig.update_layout(height=300, margin=_MARGIN, legend={"orientation": "h", "y": -0.3})
    return fig
