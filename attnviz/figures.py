"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out (no streamlit here).

Matrices are drawn with rows = queries (top to bottom) and columns = keys, labelled with unique strings.
Values are shipped as float32 typed arrays; cells show 2 decimals when the matrix is small, and hover shows the
full stored value. Callers adjust titles and sizes with ``update_layout``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "CELL_TEXT_LIMIT",
    "DIVERGING",
    "SEQUENTIAL",
    "bar_chart",
    "grid_shape",
    "heatmap_grid",
    "line_chart",
    "matrix_heatmap",
    "to_numpy",
]

DIVERGING = "RdBu_r"  # signed values: blue < 0 < red, centred on 0
SEQUENTIAL = "Blues"  # weights in [0, 1]
CELL_TEXT_LIMIT = 400  # above this many cells, no per-cell text (zoom and hover instead)
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def to_numpy(matrix) -> np.ndarray:
    """A float32 numpy copy of a tensor or array-like, with ±inf (masked cells) turned into NaN (blank)."""
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().cpu().numpy()
    array = np.array(matrix, dtype=np.float32)
    array[~np.isfinite(array)] = np.nan
    return array


def _labels(labels: Sequence[str] | None, n: int, prefix: str) -> list[str]:
    if labels is None:
        return [f"{prefix}{i}" for i in range(n)]
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels given for {n} {prefix or 'entries'}")
    if len(set(labels)) != n:
        raise ValueError("axis labels must be unique; prefix repeated tokens with their position")
    return labels


def _colour(kind: str, z: np.ndarray) -> dict:
    if kind == "weights":
        return {"colorscale": SEQUENTIAL, "zmin": 0.0, "zmax": 1.0}
    if kind == "signed":
        finite = z[np.isfinite(z)]
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        bound = bound or 1.0
        return {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -bound, "zmax": bound}
    if kind == "sequential":
        return {"colorscale": "Viridis"}
    raise ValueError(f"kind must be 'signed', 'weights' or 'sequential', got {kind!r}")


def _heatmap_trace(
    z: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    *,
    kind: str,
    row_title: str,
    col_title: str,
    decimals: int,
    show_text: bool | None,
    showscale: bool = True,
    coloraxis: str | None = None,
) -> go.Heatmap:
    if show_text is None:
        show_text = z.size <= CELL_TEXT_LIMIT
    trace = go.Heatmap(
        z=z,
        x=col_labels,
        y=row_labels,
        hovertemplate=f"{row_title} %{{y}}<br>{col_title} %{{x}}<br>value %{{z}}<extra></extra>",
        texttemplate=f"%{{z:.{decimals}f}}" if show_text else None,
        hoverongaps=True,
        xgap=1 if show_text else 0,
        ygap=1 if show_text else 0,
    )
    if coloraxis is not None:
        trace.update(coloraxis=coloraxis)
    else:
        trace.update(showscale=showscale, **_colour(kind, z))
    return trace


def matrix_heatmap(
    matrix,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    kind: str = "signed",
    row_title: str = "query",
    col_title: str = "key",
    decimals: int = 2,
    show_text: bool | None = None,
    height: int | None = None,
) -> go.Figure:
    """Annotated heatmap of a 2-D matrix ``(rows, cols)``.

    ``kind``: ``"signed"`` (diverging scale centred on 0), ``"weights"`` (sequential, fixed to [0, 1]) or
    ``"sequential"``. Non-finite cells (masked) are left blank. Per-cell text appears when the matrix has at
    most :data:`CELL_TEXT_LIMIT` cells unless ``show_text`` says otherwise.
    """
    z = to_numpy(matrix)
    if z.ndim != 2:
        raise ValueError(f"matrix_heatmap takes a 2-D matrix, got shape {z.shape}")
    rows = _labels(row_labels, z.shape[0], row_title)
    cols = _labels(col_labels, z.shape[1], col_title)
    fig = go.Figure(
        _heatmap_trace(
            z,
            rows,
            cols,
            kind=kind,
            row_title=row_title,
            col_title=col_title,
            decimals=decimals,
            show_text=show_text,
        )
    )
    fig.update_layout(
        title={"text": title, "y": 0.99, "yanchor": "top"},
        height=height or _auto_height(z.shape[0]),
        margin={**_MARGIN, "t": 100 if title else 70},
        xaxis={"title": {"text": col_title}, "type": "category", "side": "top", "tickangle": -45},
        yaxis={"title": {"text": row_title}, "type": "category", "autorange": "reversed"},
    )
    return fig


def _auto_height(rows: int) -> int:
    return int(min(700, max(220, 110 + 34 * rows)))


def grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    """``(rows, cols)`` of a grid holding ``n`` panels, at most ``max_cols`` wide."""
    if n < 1:
        raise ValueError(f"a grid needs at least one panel, got {n}")
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def heatmap_grid(
    stack,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    panel_titles: Sequence[str] | None = None,
    title: str = "",
    kind: str = "weights",
    row_title: str = "query",
    col_title: str = "key",
    max_cols: int = 4,
    decimals: int = 2,
    show_text: bool | None = None,
    panel_height: int | None = None,
) -> go.Figure:
    """One heatmap per leading index of ``stack`` ``(N, rows, cols)`` (e.g. per head), on a shared colour scale.

    The grid's size follows ``N``; ``panel_titles`` default to ``"head 0"``, ``"head 1"``, ...
    """
    z = to_numpy(stack)
    if z.ndim != 3:
        raise ValueError(f"heatmap_grid takes a stack (N, rows, cols), got shape {z.shape}")
    n = z.shape[0]
    titles = list(panel_titles) if panel_titles is not None else [f"head {h}" for h in range(n)]
    if len(titles) != n:
        raise ValueError(f"{len(titles)} panel titles for {n} panels")
    rows = _labels(row_labels, z.shape[1], row_title)
    cols = _labels(col_labels, z.shape[2], col_title)
    grid_rows, grid_cols = grid_shape(n, max_cols)
    fig = make_subplots(
        rows=grid_rows,
        cols=grid_cols,
        subplot_titles=titles,
        horizontal_spacing=0.06 if grid_cols > 1 else 0.0,
        vertical_spacing=min(0.12, 0.3 / grid_rows) if grid_rows > 1 else 0.0,
    )
    if show_text is None:
        show_text = z[0].size <= CELL_TEXT_LIMIT // 2 and grid_cols <= 2
    for h in range(n):
        r, c = divmod(h, grid_cols)
        fig.add_trace(
            _heatmap_trace(
                z[h],
                rows,
                cols,
                kind=kind,
                row_title=row_title,
                col_title=col_title,
                decimals=decimals,
                show_text=show_text,
                coloraxis="coloraxis",
            ),
            row=r + 1,
            col=c + 1,
        )
    fig.update_layout(coloraxis={**_colour(kind, z), "colorbar": {"thickness": 12}})
    fig.update_xaxes(type="category", showticklabels=z.shape[2] <= 24, tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed", showticklabels=z.shape[1] <= 24)
    per_panel = panel_height or int(min(420, max(200, 60 + 26 * z.shape[1])))
    fig.update_layout(
        title={"text": title},
        height=per_panel * grid_rows + 80,
        margin={**_MARGIN, "t": 80},
    )
    return fig


def bar_chart(
    values,
    labels: Sequence[str],
    *,
    title: str = "",
    value_title: str = "weight",
    label_title: str = "key",
    highlight: int | None = None,
) -> go.Figure:
    """Vertical bars of a 1-D vector over labelled items (e.g. one query's weights over the keys)."""
    v = to_numpy(values).reshape(-1)
    labels = _labels(labels, v.shape[0], label_title)
    colours = ["#1f77b4"] * len(labels)
    if highlight is not None and 0 <= highlight < len(colours):
        colours[highlight] = "#d62728"
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=v,
            marker_color=colours,
            hovertemplate=f"{label_title} %{{x}}<br>{value_title} %{{y}}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title},
        height=320,
        margin={**_MARGIN, "t": 50},
        xaxis={"title": {"text": label_title}, "type": "category", "tickangle": -45},
        yaxis={"title": {"text": value_title}},
    )
    return fig


def line_chart(
    x,
    series: dict[str, object],
    *,
    title: str = "",
    x_title: str = "position",
    y_title: str = "value",
) -> go.Figure:
    """One line per named series over a shared x axis (e.g. chosen PE dimensions over positions)."""
    xs = to_numpy(x).reshape(-1)
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=to_numpy(values).reshape(-1),
                mode="lines",
                name=name,
                hovertemplate=f"{x_title} %{{x}}<br>{name}: %{{y}}<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": title},
        height=340,
        margin={**_MARGIN, "t": 50},
        xaxis={"title": {"text": x_title}},
        yaxis={"title": {"text": y_title}},
    )
    return fig
